import Moderation

/// What a running request reports, in order, on its own progress stream
/// (`RunningRequest.events`), so that a front end can show progress.
public enum GenerationEvent: Sendable {
    /// A stage began (`loadModel`, `encodeImage`, `denoise`, `decode`, `encodeVideo`).
    case stageStarted(GenerationStage)
    /// Denoising step `index` (1-based) of `count` finished after `seconds`.
    case step(index: Int, count: Int, seconds: Double)
    /// `done` of `total` frames decoded.
    case decoded(done: Int, total: Int)
    case stageFinished(GenerationStage, seconds: Double)
    /// A moderation decision of this request, as soon as it is taken (input, prompt, output).
    case moderation(ModerationDecision)
    /// A line for the operator (a `compare` variant's summary, a `bench` run's time).
    case message(String)
}

public enum GenerationStage: String, Sendable, CaseIterable, Codable {
    case loadImage = "load_image"
    case loadModel = "load_model"
    case encodeImage = "encode_image"
    case denoise
    case decode
    case encodeVideo = "encode_video"

    /// Words for the progress display.
    public var label: String {
        switch self {
        case .loadImage: return "load image"
        case .loadModel: return "load model"
        case .encodeImage: return "encode image"
        case .denoise: return "denoise"
        case .decode: return "decode frames"
        case .encodeVideo: return "encode video"
        }
    }
}
