import Moderation
import SVD
import Tensor

/// What a finished generation produced, and what it cost.
public struct GenerationResult: Sendable {
    public let outputPath: String
    public let parameters: SVDParameters
    public let model: String
    /// The precision the request ran at (its `PrecisionSetting` resolved on this machine).
    public let precision: ComputePrecision
    /// True when this request loaded its model; false when the engine had it loaded already.
    public let loadedModel: Bool
    /// Seconds per stage.
    public let stageSeconds: [GenerationStage: Double]
    /// Seconds per denoising step.
    public let stepSeconds: [Double]
    public let framePaths: [String]
    /// Every moderation decision of the request, in the order taken (empty without a policy).
    public var moderation: [ModerationDecision] = []
}
