import ArgumentParser
import Foundation
import Img2Vid
import Media
import Moderation

/// `img2vid check`: the moderation layer's input and prompt stages alone, to learn whether a
/// request would pass without paying for a generation.
struct CheckCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Run the moderation input and prompt stages alone: would this request pass?",
        discussion: """
            Loads no model and generates nothing. The decisions go to the policy's audit log like
            those of generate (command "check").

            Examples:
              img2vid check --image photo.jpg
              img2vid check --image photo.jpg --prompt "a lighthouse at dusk" --policy my-policy.json --json

            Exit codes: 0 the request would pass, 5 it would be rejected, 2 usage error (bad policy),
            3 bad input image, 4 missing detector weights, 1 anything else.
            """
    )

    /// The `--json` object of `img2vid check`.
    struct Report: Encodable {
        var status: String
        var policy: String
        var moderation: [ModerationDecision]
        var error: String?
        var exitCode: Int32

        enum CodingKeys: String, CodingKey {
            case status, policy, moderation, error
            case exitCode = "exit_code"
        }
    }

    @Option(help: "Input image (PNG, JPEG or WebP).")
    var image: String

    @Option(help: "Refuse input images with more pixels than this.")
    var maxInputPixels: Int = ImageDecoder.defaultMaxPixels

    @OptionGroup var moderation: ModerationOptions
    @OptionGroup var reporting: ReportingOptions

    func run() async throws {
        var running: RunningRequest<[ModerationDecision]>?
        var policyName = "none"
        do {
            let policy = try moderation.loadPolicy(quiet: reporting.quiet)
            policyName = policy?.source ?? "none"
            let layer = try policy.map { try ModerationLayer(policy: $0) }
            var request = CheckRequest(imagePath: image, texts: moderation.texts)
            request.maxInputPixels = maxInputPixels
            // Without a policy the engine still says whether the image is readable: generate would fail on it.
            running = Engine(moderation: layer).start(request)
            let decisions = try await running!.value()
            ModerationOptions.printNotes(decisions, except: nil, quiet: reporting.quiet)
            pass(policy: policyName, decisions: decisions)
        } catch let error as GenerationError {
            let decisions = running?.decisions ?? []
            ModerationOptions.printNotes(decisions, except: error.description, quiet: reporting.quiet)
            reporting.fail(error.description, exitCode: error.exitCode,
                           report: Report(status: error.exitCode == 5 ? "rejected" : "error", policy: policyName,
                                          moderation: decisions, error: error.description, exitCode: error.exitCode))
            throw ExitCode(error.exitCode)
        }
    }

    private func pass(policy: String, decisions: [ModerationDecision]) {
        if !reporting.json && !reporting.quiet {
            let stages = Set(decisions.map(\.stage)).map(\.rawValue).sorted().joined(separator: " and ")
            let checked = decisions.isEmpty ? "no checks ran" : "\(decisions.count) checks at \(stages)"
            print("pass: the request would pass the moderation policy \(policy) (\(checked))")
        }
        reporting.emit(Report(status: "pass", policy: policy, moderation: decisions, error: nil, exitCode: 0))
    }
}
