/// What one checkpoint decided: every rule's decision and the strongest triggered action.
public struct ModerationVerdict: Sendable, Equatable {
    public var stage: ModerationStage
    public var decisions: [ModerationDecision]
    /// Output stage: frames to show after `blur` rules (the input frames when nothing was blurred).
    public var blurredFrames: Set<Int> = []

    public init(stage: ModerationStage, decisions: [ModerationDecision], blurredFrames: Set<Int> = []) {
        self.stage = stage
        self.decisions = decisions
        self.blurredFrames = blurredFrames
    }

    /// The decisions whose action applies.
    public var triggered: [ModerationDecision] { decisions.filter(\.triggered) }

    /// The strongest action that applies (reject > withhold > quarantine > blur > log), nil when
    /// nothing hit.
    public var action: ModerationAction? { triggered.map(\.action).max() }

    /// The decision behind `action` (the first of the strongest).
    public var decisive: ModerationDecision? {
        guard let action else { return nil }
        return triggered.first { $0.action == action }
    }

    /// True when the request may go on (nothing hit, or only log / blur).
    public var allows: Bool {
        guard let action else { return true }
        return action == .log || action == .blur
    }
}
