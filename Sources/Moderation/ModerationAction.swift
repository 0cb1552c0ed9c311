/// What a rule does when its detector sees one of its labels at or above its threshold.
public enum ModerationAction: String, Codable, Sendable, CaseIterable, Comparable {
    /// Record the hit and allow (the way operators tune thresholds before enforcing them).
    case log
    /// Output stage: blur the frames that hit (and their unscanned neighbours) beyond
    /// recognition before writing.
    case blur
    /// Output stage: write the video only into the policy's quarantine folder, for human review.
    case quarantine
    /// Output stage: write nothing; the frames go nowhere.
    case withhold
    /// Stop the request: nothing generated (input, prompt) or written (output).
    case reject

    /// Stronger actions win when several rules hit: reject > withhold > quarantine > blur > log.
    var strength: Int {
        switch self {
        case .log: return 0
        case .blur: return 1
        case .quarantine: return 2
        case .withhold: return 3
        case .reject: return 4
        }
    }

    public static func < (a: ModerationAction, b: ModerationAction) -> Bool { a.strength < b.strength }

    /// The past participle used in messages ("rejected at input: ...").
    public var pastTense: String {
        switch self {
        case .log: return "logged"
        case .blur: return "blurred"
        case .quarantine: return "quarantined"
        case .withhold: return "withheld"
        case .reject: return "rejected"
        }
    }
}
