import ArgumentParser
import Foundation
import Img2Vid
import Moderation

/// Moderation flags shared by `generate` and `check`.
struct ModerationOptions: ParsableArguments {
    @Option(help: ArgumentHelp(
        "Moderation policy: a JSON file, the name of a shipped policy (standard), or none to turn moderation off.",
        discussion: "Default: $IMG2VID_POLICY, else standard (Models/policies/standard.json). README: Moderation.",
        valueName: "path|standard|none"))
    var policy: String?

    @Option(help: "Text the request carries (checked by the policy's prompt rules; the model does not read it).")
    var prompt: String?

    @Option(help: ArgumentHelp(
        "A folder of detector weights, searched for a policy's relative weight paths after the policy's folder and the installation's Weights/.",
        discussion: "Default: $IMG2VID_WEIGHTS.", valueName: "path"))
    var weightsDir: String?

    /// Every user text of the request, for the prompt stage.
    var texts: [String] { prompt.map { [$0] } ?? [] }

    /// The policy named by --policy, $IMG2VID_POLICY or the default; nil for `none` (after saying
    /// so on stderr unless `quiet`).
    func loadPolicy(quiet: Bool) throws -> ModerationPolicy? {
        var name = policy ?? ProcessInfo.processInfo.environment["IMG2VID_POLICY"] ?? "standard"
        if name.isEmpty { name = "standard" }
        if name == "none" {
            if !quiet { Console.note("moderation is off (--policy none): no input, prompt or output checks") }
            return nil
        }
        do {
            var policy = try ModerationPolicy.load(path: try Self.policyPath(name))
            policy.weightFolders = weightFolders()
            return policy
        } catch {
            throw GenerationError.wrap(error)
        }
    }

    /// The moderation layer of the policy in force, nil for `none`. Missing detector weights fail here.
    func layer(quiet: Bool) throws -> ModerationLayer? {
        guard let policy = try loadPolicy(quiet: quiet) else { return nil }
        return try ModerationLayer(policy: policy)
    }

    /// Where a policy's relative detector weights are looked for after its own folder: the
    /// installation's `Weights/` (found beside the executable's checkout), then `--weights-dir`,
    /// else `$IMG2VID_WEIGHTS`.
    func weightFolders() -> [String] {
        Self.weightFolders(explicit: weightsDir)
    }

    /// The weight folders for an explicit `--weights-dir` (nil: `$IMG2VID_WEIGHTS`), for commands
    /// without this option group (`keys`).
    static func weightFolders(explicit weightsDir: String?) -> [String] {
        var folders: [String] = []
        var dir = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        for _ in 0..<6 {
            let candidate = dir.appendingPathComponent("Weights")
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: candidate.path, isDirectory: &isDirectory), isDirectory.boolValue {
                folders.append(candidate.path)
                break
            }
            dir.deleteLastPathComponent()
        }
        if let explicit = weightsDir ?? ProcessInfo.processInfo.environment["IMG2VID_WEIGHTS"], !explicit.isEmpty {
            folders.append(explicit)
        }
        return folders
    }

    /// A file path as given; a bare name (no slash, no .json) is a policy shipped under
    /// Models/policies of the executable's checkout.
    static func policyPath(_ name: String) throws -> String {
        if name.contains("/") || name.hasSuffix(".json") || FileManager.default.fileExists(atPath: name) { return name }
        var dir = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        for _ in 0..<6 {
            let candidate = dir.appendingPathComponent("Models/policies/\(name).json")
            if FileManager.default.fileExists(atPath: candidate.path) { return candidate.path }
            dir.deleteLastPathComponent()
        }
        throw GenerationError.usage("no moderation policy named '\(name)' (looked for Models/policies/\(name).json beside the executable); "
            + "give --policy a JSON file, standard, or none")
    }

    /// Prints the decisions that applied without being the reason of an error (log, blur, and
    /// the rest of several hits), one sentence each.
    static func printNotes(_ decisions: [ModerationDecision], except message: String?, quiet: Bool) {
        guard !quiet else { return }
        for d in decisions where d.triggered {
            let sentence = d.sentence
            if let message, message.hasPrefix(sentence) { continue }
            Console.note(sentence)
        }
    }
}
