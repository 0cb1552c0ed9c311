/// Where the item a detector scans comes from: the checkpoint and, at the output stage, which
/// decoded frame of how many.
public struct DetectionContext: Sendable, Equatable {
    public var stage: ModerationStage
    /// 0-based index of the frame (output stage) or of the text (prompt stage).
    public var index: Int?
    /// Number of frames (output stage) or texts (prompt stage).
    public var count: Int?

    public init(stage: ModerationStage, index: Int? = nil, count: Int? = nil) {
        self.stage = stage
        self.index = index
        self.count = count
    }
}
