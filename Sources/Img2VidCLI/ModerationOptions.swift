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
            return try ModerationPolicy.load(path: try Self.policyPath(name))
        } catch {
            throw GenerationError.wrap(error)
        }
    }

    /// The moderation layer of the policy in force, nil for `none`. Missing detector weights fail here.
    func layer(quiet: Bool) throws -> ModerationLayer? {
        guard let policy = try loadPolicy(quiet: quiet) else { return nil }
        return try ModerationLayer(policy: policy)
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
