import Foundation

/// One line of the audit log: one request (or `check`) with every decision of its checkpoints.
/// The input image appears only as the SHA-256 of its file, user text only as SHA-256 hashes.
public struct AuditRecord: Codable, Sendable, Equatable {
    /// ISO 8601, UTC, seconds.
    public var time: String
    /// "generate" or "check".
    public var command: String
    /// The policy file.
    public var policy: String
    /// SHA-256 (hex) of the input image file's bytes.
    public var inputSha256: String?
    /// SHA-256 (hex) of each user text (UTF-8), in order.
    public var textSha256: [String]
    /// allowed, logged, blurred, quarantined, withheld, rejected, or error.
    public var outcome: String
    /// The file written, when one was (the output, or the quarantined copy).
    public var written: String?
    /// What went wrong, for outcome "error" (after the input passed).
    public var error: String?
    public var decisions: [ModerationDecision]

    public init(time: Date = Date(), command: String, policy: String, inputSha256: String?, textSha256: [String],
                outcome: String, written: String? = nil, error: String? = nil, decisions: [ModerationDecision]) {
        self.time = AuditRecord.timestamp(time)
        self.command = command
        self.policy = policy
        self.inputSha256 = inputSha256
        self.textSha256 = textSha256
        self.outcome = outcome
        self.written = written
        self.error = error
        self.decisions = decisions
    }

    enum CodingKeys: String, CodingKey {
        case time, command, policy, outcome, written, error, decisions
        case inputSha256 = "input_sha256"
        case textSha256 = "text_sha256"
    }

    static func timestamp(_ date: Date) -> String {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "UTC")
        f.dateFormat = "yyyy-MM-dd'T'HH:mm:ss'Z'"
        return f.string(from: date)
    }
}
