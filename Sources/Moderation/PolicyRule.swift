/// One rule of a policy: at `stage`, run `detector`; if it reports one of `labels` with a score at
/// or above `threshold`, take `action`.
///
/// JSON: `{"stage": "input", "detector": "nudenet", "labels": ["FEMALE_BREAST_EXPOSED"],
/// "threshold": 0.5, "action": "reject"}`. `labels` left out, empty or `["*"]` means any label;
/// `threshold` left out means 0.5.
public struct PolicyRule: Codable, Sendable, Equatable {
    public var stage: ModerationStage
    /// A key of the policy's `detectors` object.
    public var detector: String
    public var labels: [String]
    public var threshold: Float
    public var action: ModerationAction

    public init(stage: ModerationStage, detector: String, labels: [String] = [], threshold: Float = 0.5,
                action: ModerationAction) {
        self.stage = stage
        self.detector = detector
        self.labels = labels
        self.threshold = threshold
        self.action = action
    }

    enum CodingKeys: String, CodingKey {
        case stage, detector, labels, threshold, action
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let stageName = try c.decode(String.self, forKey: .stage)
        guard let stage = ModerationStage(rawValue: stageName) else {
            throw DecodingError.dataCorruptedError(forKey: .stage, in: c, debugDescription:
                "unknown stage '\(stageName)' (expected \(ModerationStage.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        let actionName = try c.decode(String.self, forKey: .action)
        guard let action = ModerationAction(rawValue: actionName) else {
            throw DecodingError.dataCorruptedError(forKey: .action, in: c, debugDescription:
                "unknown action '\(actionName)' (expected reject, withhold, quarantine, blur or log)")
        }
        self.stage = stage
        self.action = action
        detector = try c.decode(String.self, forKey: .detector)
        labels = try c.decodeIfPresent([String].self, forKey: .labels) ?? []
        threshold = try c.decodeIfPresent(Float.self, forKey: .threshold) ?? 0.5
    }

    /// True when the rule looks at `label`.
    public func covers(_ label: String) -> Bool {
        labels.isEmpty || labels.contains("*") || labels.contains(label)
    }
}
