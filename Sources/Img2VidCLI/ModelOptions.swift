import ArgumentParser
import Foundation

/// Which model folder to use; without `--model`, the bundled demo model.
struct ModelOptions: ParsableArguments {
    @Option(help: "A diffusers pipeline folder (default: the bundled demo model in Weights/demo).")
    var model: String?

    @Option(help: "Weight file variant, for example fp16 (reads *.fp16.safetensors).")
    var variant: String?

    /// `--model`, else `$IMG2VID_MODEL`, else `Weights/demo` found beside the executable's checkout.
    func resolvedPath() throws -> String {
        if let model { return model }
        if let env = ProcessInfo.processInfo.environment["IMG2VID_MODEL"], !env.isEmpty { return env }
        var dir = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        for _ in 0..<6 {
            let candidate = dir.appendingPathComponent("Weights/demo")
            if FileManager.default.fileExists(atPath: candidate.appendingPathComponent("model_index.json").path) {
                return candidate.path
            }
            dir.deleteLastPathComponent()
        }
        throw ValidationError("no model given and no bundled demo model found: pass --model with a diffusers pipeline folder (README: Getting weights)")
    }
}
