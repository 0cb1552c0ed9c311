import ArgumentParser
import Foundation

/// `--model NAME=PATH ...` with the demo model as `demo` by default, and the default name: what
/// `img2vid worker` configures (the same rules as `serve`'s).
struct ModelMap {
    var models: [String: String] = [:]
    var defaultName: String

    init(specs: [String], defaultModel: String?) throws {
        if let demo = ServeCommand.demoModel() { models["demo"] = demo }
        var order: [String] = []
        for spec in specs {
            guard let eq = spec.firstIndex(of: "="), eq != spec.startIndex else { throw ValidationError("--model expects NAME=PATH, got '\(spec)'") }
            let name = String(spec[..<eq]), path = String(spec[spec.index(after: eq)...])
            guard FileManager.default.fileExists(atPath: (path as NSString).appendingPathComponent("model_index.json")) else {
                throw ValidationError("--model \(name)=\(path): no diffusers pipeline folder there (model_index.json missing)")
            }
            models[name] = path
            order.append(name)
        }
        guard let name = defaultModel ?? (models["demo"] != nil ? "demo" : order.first), models[name] != nil else {
            throw ValidationError("no model: the demo model was not found and no --model NAME=PATH was given (or --default-model names none)")
        }
        defaultName = name
    }
}
