import SVD

/// What a finished generation produced, and what it cost.
public struct GenerationResult: Sendable {
    public let outputPath: String
    public let parameters: SVDParameters
    public let model: String
    /// Seconds per stage.
    public let stageSeconds: [GenerationStage: Double]
    /// Seconds per denoising step.
    public let stepSeconds: [Double]
    public let framePaths: [String]
}
