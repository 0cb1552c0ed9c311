import Foundation
import Media
import Moderation

/// The moderation layer around a generator, composed here and nowhere deeper: the generator (and
/// the model under it) knows nothing of it.
///
/// Order of a request: decode the input image and hash its file (SHA-256) -> **input** stage ->
/// **prompt** stage (every user text) -> the wrapped generator, with a `FrameReview` that runs the
/// **output** stage on the decoded frames before anything is written -> one audit-log line.
/// A rejection at input or prompt happens before the wrapped generator is called, so no model is
/// loaded and no UNet runs.
///
/// Outcomes: reject / withhold throw `GenerationError.rejected` (exit 5, nothing written);
/// quarantine writes the video into the policy's quarantine folder and then throws
/// `.rejected` (exit 5: nothing at the requested path); blur writes blurred frames; log only
/// records. `decisions` holds every decision of the last request, whatever its outcome.
public final class ModeratedGenerator: Generator {
    public let generator: Generator
    public let moderator: Moderator
    /// The decisions of the last `generate` or `check`, in the order they were taken.
    public private(set) var decisions: [ModerationDecision] = []
    /// SHA-256 of the input file of the last `generate` or `check` (names quarantined videos).
    private var inputSha256: String?

    public init(_ generator: Generator, moderator: Moderator) {
        self.generator = generator
        self.moderator = moderator
    }

    /// Builds the policy's detectors (missing weights fail here, before any work).
    public convenience init(_ generator: Generator, policy: ModerationPolicy, registry: DetectorRegistry = .builtIn) throws {
        do {
            self.init(generator, moderator: try Moderator(policy: policy, registry: registry))
        } catch {
            throw GenerationError.wrap(error)
        }
    }

    public func generate(_ request: GenerationRequest, events: (GenerationEvent) -> Void) throws -> GenerationResult {
        decisions = []
        var audit = AuditDraft(command: "generate", policy: moderator.policy.source, texts: request.userTexts)
        do {
            try preflight(imagePath: request.imagePath, maxPixels: request.maxInputPixels, texts: request.userTexts, audit: &audit)
            let review = OutputReview(owner: self, outputPath: request.outputPath, inputHash: audit.inputSha256)
            var inner = request
            if moderator.hasRules(at: .output) { inner.frameReview = review }
            let result = try generator.generate(inner, events: events)
            audit.written = result.outputPath
            if let quarantined = review.quarantinedPath, let decisive = review.verdict?.decisive {
                audit.outcome = "quarantined"
                try write(audit)
                throw GenerationError.rejected("\(decisive.sentence); the video was written to \(quarantined) for review, not to \(request.outputPath)")
            }
            audit.outcome = outcome(allowed: true)
            try write(audit)
            return result
        } catch let error as GenerationError {
            if audit.outcome == nil {
                audit.outcome = outcome(allowed: false)
                if case .rejected = error {} else { audit.outcome = "error"; audit.error = error.description }
                try write(audit)
            }
            throw error
        }
    }

    /// The input and prompt stages alone (`img2vid check`): no model, no generation. Returns the
    /// decisions when the request would pass; throws `GenerationError.rejected` when it would not.
    /// `command` names the caller in the audit log (`compare` runs these stages, then its own
    /// generation, then `outputReview`).
    @discardableResult
    public func check(imagePath: String, maxInputPixels: Int = ImageDecoder.defaultMaxPixels, texts: [String],
                      command: String = "check") throws -> [ModerationDecision] {
        decisions = []
        var audit = AuditDraft(command: command, policy: moderator.policy.source, texts: texts)
        do {
            try preflight(imagePath: imagePath, maxPixels: maxInputPixels, texts: texts, audit: &audit)
            audit.outcome = outcome(allowed: true)
            try write(audit)
            return decisions
        } catch let error as GenerationError {
            if audit.outcome == nil {
                if case .rejected = error { audit.outcome = "rejected" } else { audit.outcome = "error"; audit.error = error.description }
                try write(audit)
            }
            throw error
        }
    }

    /// The output stage for a caller that decodes and writes its own frames (`img2vid compare`),
    /// after `check` passed: review the frames meant for `outputPath` before writing them.
    /// Its decisions are added to `decisions`.
    public func outputReview(outputPath: String) -> FrameReview {
        OutputReview(owner: self, outputPath: outputPath, inputHash: inputSha256)
    }

    // MARK: Stages

    /// Decodes and hashes the image, then runs the input and prompt stages.
    private func preflight(imagePath: String, maxPixels: Int, texts: [String], audit: inout AuditDraft) throws {
        defer { inputSha256 = audit.inputSha256 }
        let image: RGBImage
        do {
            if let data = FileManager.default.contents(atPath: imagePath) {
                let bytes = [UInt8](data)
                audit.inputSha256 = SHA256.hex(bytes)
                image = try ImageDecoder.decode(bytes: bytes, path: imagePath, maxPixels: maxPixels)
            } else {
                image = try ImageDecoder.decode(path: imagePath, maxPixels: maxPixels)
            }
        } catch {
            throw GenerationError.wrap(error)
        }
        let input = moderator.checkInput(image)
        decisions += input.decisions
        if !input.allows { throw GenerationError.rejected(input.decisive!.sentence) }
        let prompt = moderator.checkPrompt(texts)
        decisions += prompt.decisions
        if !prompt.allows { throw GenerationError.rejected(prompt.decisive!.sentence) }
    }

    fileprivate func record(_ found: [ModerationDecision]) {
        decisions += found
    }

    /// The outcome word of the audit log for the decisions so far.
    private func outcome(allowed: Bool) -> String {
        let actions = decisions.filter(\.triggered).map(\.action)
        guard let strongest = actions.max() else { return "allowed" }
        if allowed && (strongest == .reject || strongest == .withhold) { return "allowed" }
        return strongest.pastTense
    }

    private func write(_ audit: AuditDraft) throws {
        guard let log = moderator.auditLog else { return }
        do {
            try log.append(AuditRecord(command: audit.command, policy: audit.policy, inputSha256: audit.inputSha256,
                                       textSha256: audit.texts.map { SHA256.hex(Array($0.utf8)) },
                                       outcome: audit.outcome ?? "error", written: audit.written, error: audit.error,
                                       decisions: decisions))
        } catch {
            throw GenerationError.wrap(error)
        }
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

    /// The output stage, handed to the wrapped generator as its frame review.
    private final class OutputReview: FrameReview, @unchecked Sendable {
        unowned let owner: ModeratedGenerator
        let outputPath: String
        let inputHash: String?
        var verdict: ModerationVerdict?
        var quarantinedPath: String?

        init(owner: ModeratedGenerator, outputPath: String, inputHash: String?) {
            self.owner = owner
            self.outputPath = outputPath
            self.inputHash = inputHash
        }

        func review(_ frames: [RGBImage]) throws -> FrameVerdict {
            let (verdict, reviewed) = owner.moderator.checkOutput(frames)
            self.verdict = verdict
            owner.record(verdict.decisions)
            switch verdict.action {
            case .reject?, .withhold?:
                return .withhold(reason: verdict.decisive!.sentence)
            case .quarantine?:
                guard let folder = owner.moderator.quarantineFolder else {
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
