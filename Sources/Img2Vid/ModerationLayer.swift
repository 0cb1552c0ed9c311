import Foundation
import Media
import Moderation

/// The moderation layer around the engine's work, composed here and nowhere deeper: the pipeline
/// (and the model under it) knows nothing of it. Successor of `ModeratedGenerator`; it holds the
/// policy's configuration (the `Moderator` and its detectors) and nothing about any request: every
/// decision and audit record goes into the request's own `RequestContext`.
///
/// Order of a request (`run`): decode the input image and hash its file (SHA-256) -> **input**
/// stage -> **prompt** stage (every user text) -> the work, with a `FrameReview` that runs the
/// **output** stage on the frames before anything is written -> one audit-log line.
/// A rejection at input or prompt happens before the work starts, so no model is loaded and no
/// UNet runs.
///
/// Outcomes: reject / withhold throw `GenerationError.rejected` (exit 5, nothing written);
/// quarantine writes the video into the policy's quarantine folder and then throws `.rejected`
/// (exit 5: nothing at the requested path); blur writes blurred frames; log only records.
public struct ModerationLayer: Sendable {
    public let moderator: Moderator

    public init(moderator: Moderator) {
        self.moderator = moderator
    }

    /// Builds the policy's detectors (missing weights fail here, before any work).
    public init(policy: ModerationPolicy, registry: DetectorRegistry = .builtIn) throws {
        do {
            self.init(moderator: try Moderator(policy: policy, registry: registry))
        } catch {
            throw GenerationError.wrap(error)
        }
    }

    /// Runs `body` between the stages of the policy and appends one audit record for the request
    /// (command `command`). `body` gets the decoded input and, when the policy has output rules and
    /// the request writes `outputPath`, the output stage as a `FrameReview`; it returns its value
    /// and the file it wrote.
    func run<T>(command: String, imagePath: String, maxPixels: Int, texts: [String], outputPath: String?,
                context: RequestContext, _ body: (InputImage, FrameReview?) throws -> (T, written: String?)) throws -> T {
        var audit = AuditDraft(command: command, policy: moderator.policy.source, texts: texts)
        do {
            let input = try InputImage.read(path: imagePath, maxPixels: maxPixels, hashing: true)
            audit.inputSha256 = input.sha256
            try preflight(input.image, texts: texts, context: context)
            var review: OutputReview?
            if let outputPath, moderator.hasRules(at: .output) {
                review = OutputReview(moderator: moderator, outputPath: outputPath, inputHash: input.sha256, context: context)
            }
            let (value, written) = try body(input, review)
            audit.written = written
            if let quarantined = review?.quarantinedPath, let decisive = review?.verdict?.decisive, let outputPath {
                audit.outcome = "quarantined"
                try write(audit, context: context)
                throw GenerationError.rejected("\(decisive.sentence); the video was written to \(quarantined) for review, not to \(outputPath)")
            }
            audit.outcome = outcome(allowed: true, context.decisions)
            try write(audit, context: context)
            return value
        } catch let error as GenerationError {
            if audit.outcome == nil {
                audit.outcome = outcome(allowed: false, context.decisions)
                if case .rejected = error {} else { audit.outcome = "error"; audit.error = error.description }
                try write(audit, context: context)
            }
            throw error
        }
    }

    // MARK: Stages

    /// The input and prompt stages.
    private func preflight(_ image: RGBImage, texts: [String], context: RequestContext) throws {
        let input = moderator.checkInput(image)
        context.record(input.decisions)
        if !input.allows { throw GenerationError.rejected(input.decisive!.sentence) }
        let prompt = moderator.checkPrompt(texts)
        context.record(prompt.decisions)
        if !prompt.allows { throw GenerationError.rejected(prompt.decisive!.sentence) }
    }

    /// The outcome word of the audit log for the decisions so far.
    private func outcome(allowed: Bool, _ decisions: [ModerationDecision]) -> String {
        let actions = decisions.filter(\.triggered).map(\.action)
        guard let strongest = actions.max() else { return "allowed" }
        if allowed && (strongest == .reject || strongest == .withhold) { return "allowed" }
        return strongest.pastTense
    }

    private func write(_ audit: AuditDraft, context: RequestContext) throws {
        guard let log = moderator.auditLog else { return }
        let record = AuditRecord(command: audit.command, policy: audit.policy, inputSha256: audit.inputSha256,
                                 textSha256: audit.texts.map { SHA256.hex(Array($0.utf8)) },
                                 outcome: audit.outcome ?? "error", written: audit.written, error: audit.error,
                                 decisions: context.decisions)
        do {
            try log.append(record)
        } catch {
            throw GenerationError.wrap(error)
        }
        context.recordAudit(record)
    }

    private struct AuditDraft {
        var command: String
        var policy: String
        var texts: [String]
        var inputSha256: String?
        var outcome: String?
        var written: String?
        var error: String?
    }

    /// The output stage of one request, handed to the work as its frame review.
    private final class OutputReview: FrameReview, @unchecked Sendable {
        let moderator: Moderator
        let outputPath: String
        let inputHash: String?
        let context: RequestContext
        var verdict: ModerationVerdict?
        var quarantinedPath: String?

        init(moderator: Moderator, outputPath: String, inputHash: String?, context: RequestContext) {
            self.moderator = moderator
            self.outputPath = outputPath
            self.inputHash = inputHash
            self.context = context
        }

        func review(_ frames: [RGBImage]) throws -> FrameVerdict {
            let (verdict, reviewed) = moderator.checkOutput(frames)
            self.verdict = verdict
            context.record(verdict.decisions)
            switch verdict.action {
            case .reject?, .withhold?:
                return .withhold(reason: verdict.decisive!.sentence)
            case .quarantine?:
                guard let folder = moderator.quarantineFolder else {
                    return .withhold(reason: "\(verdict.decisive!.sentence); the policy names no quarantine folder, so nothing was written")
                }
                do {
                    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
                } catch {
                    return .withhold(reason: "\(verdict.decisive!.sentence); the quarantine folder \(folder) cannot be created, so nothing was written")
                }
                let stamp = AuditRecordTime.compact(Date())
                let name = "\(stamp)-\((inputHash ?? "unknown").prefix(12))-\((outputPath as NSString).lastPathComponent)"
                let path = (folder as NSString).appendingPathComponent(name)
                quarantinedPath = path
                return .quarantine(path: path, frames: verdict.blurredFrames.isEmpty ? nil : reviewed)
            case .blur?:
                return .replace(reviewed)
            case .log?, nil:
                return .allow
            }
        }
    }
}

/// File-name-safe timestamps for quarantined videos.
enum AuditRecordTime {
    static func compact(_ date: Date) -> String {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "UTC")
        f.dateFormat = "yyyyMMdd'T'HHmmss'Z'"
        return f.string(from: date)
    }
}
