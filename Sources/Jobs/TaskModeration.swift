import Moderation

/// The decision that stopped a task or a submission, as the API reports it
/// (`data.moderation = {stage, detector, label, score, threshold, action, policy}`), plus every
/// decision taken on the request.
public struct TaskModeration: Codable, Sendable, Equatable {
    public var stage: String
    public var detector: String
    public var label: String?
    public var score: Double
    public var threshold: Double
    public var action: String
    public var policy: String
    /// The decision in plain words ("rejected at input: detector nudenet saw ... 0.81 >= 0.50").
    public var message: String
    public var decisions: [ModerationDecision]

    public init(decisive: ModerationDecision, policy: String, decisions: [ModerationDecision]) {
        stage = decisive.stage.rawValue
        detector = decisive.detector
        label = decisive.label
        score = (Double(decisive.score) * 10_000).rounded() / 10_000
        threshold = (Double(decisive.threshold) * 10_000).rounded() / 10_000
        action = decisive.action.rawValue
        self.policy = policy
        message = decisive.sentence
        self.decisions = decisions
    }

    /// The strongest triggered decision of `decisions`, if any applied.
    public static func decisive(in decisions: [ModerationDecision]) -> ModerationDecision? {
        decisions.filter(\.triggered).max { $0.action < $1.action }
    }
}
