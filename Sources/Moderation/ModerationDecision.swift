import Foundation

/// The outcome of one rule on one scanned item (the image, a text, a frame): what the detector saw
/// for the rule's labels, against which threshold, what the rule then did, and what it cost.
/// Encoded with snake_case keys in reports and the audit log.
public struct ModerationDecision: Codable, Sendable, Equatable {
    public var stage: ModerationStage
    /// The policy's name for the detector (a key of `detectors`).
    public var detector: String
    /// The rule's label with the highest score; nil when the detector saw none of them.
    public var label: String?
    /// That label's score (0 when none was seen).
    public var score: Float
    public var threshold: Float
    /// The rule's action, or `reject` when the detector failed (fail closed).
    public var action: ModerationAction
    /// True when the score reached the threshold (or the detector failed) and the action applies.
    public var triggered: Bool
    /// Seconds the detector took on this item.
    public var seconds: Double
    /// Output stage: the 0-based index of the scanned frame.
    public var frame: Int?
    /// Why the detector failed, when it did.
    public var error: String?

    public init(stage: ModerationStage, detector: String, label: String?, score: Float, threshold: Float,
                action: ModerationAction, triggered: Bool, seconds: Double, frame: Int? = nil, error: String? = nil) {
        self.stage = stage
        self.detector = detector
        self.label = label
        self.score = score
        self.threshold = threshold
        self.action = action
        self.triggered = triggered
        self.seconds = seconds
        self.frame = frame
        self.error = error
    }

    enum CodingKeys: String, CodingKey {
        case stage, detector, label, score, threshold, action, triggered, seconds, frame, error
    }

    /// The decision in words: "rejected at input: detector nudenet saw FACE_FEMALE with score
    /// 0.81 >= 0.50", "blurred at output (frame 3): ...", "passed at prompt: ...".
    public var sentence: String {
        let verb = triggered ? action.pastTense : "passed"
        var place = "\(verb) at \(stage.rawValue)"
        if let frame, stage == .output { place += " (frame \(frame))" }
        if let error {
            return "\(place): detector \(detector) failed (\(error)); failing closed"
        }
        let s = String(format: "%.2f", score), t = String(format: "%.2f", threshold)
        guard let label else { return "\(place): detector \(detector) saw none of its labels (threshold \(t))" }
        return "\(place): detector \(detector) saw \(label) with score \(s) \(triggered ? ">=" : "<") \(t)"
    }
}
