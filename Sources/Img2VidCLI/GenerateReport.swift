import Img2Vid
import Moderation
import Tensor

/// The `--json` object of `img2vid generate` (README: JSON output).
struct GenerateReport: Encodable {
    struct Timings: Encodable {
        var stages: [String: Double]
        var steps: [Double]
    }

    var status: String
    var output: String?
    var frames: Int?
    var width: Int?
    var height: Int?
    var fps: Int?
    var seed: UInt64?
    var model: String?
    /// The precision the products ran at (f32 or bf16), nil when the request failed before.
    var precision: String?
    var timings: Timings?
    var peakRssBytes: Int
    var blasCore: String
    /// Every moderation decision (README: Moderation), snake_case keys.
    var moderation: [ModerationDecision] = []
    var error: String?
    var exitCode: Int32

    enum CodingKeys: String, CodingKey {
        case status, output, frames, width, height, fps, seed, model, precision, timings, moderation, error
        case peakRssBytes = "peak_rss_bytes"
        case blasCore = "blas_core"
        case exitCode = "exit_code"
    }

    /// Every key is written, nil values as `null`, so the object has one shape for ok and error.
    /// A field added above must be added here too.
    func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(status, forKey: .status)
        try c.encode(output, forKey: .output)
        try c.encode(frames, forKey: .frames)
        try c.encode(width, forKey: .width)
        try c.encode(height, forKey: .height)
        try c.encode(fps, forKey: .fps)
        try c.encode(seed, forKey: .seed)
        try c.encode(model, forKey: .model)
        try c.encode(precision, forKey: .precision)
        try c.encode(timings, forKey: .timings)
        try c.encode(peakRssBytes, forKey: .peakRssBytes)
        try c.encode(blasCore, forKey: .blasCore)
        try c.encode(moderation, forKey: .moderation)
        try c.encode(error, forKey: .error)
        try c.encode(exitCode, forKey: .exitCode)
    }

    init(result: GenerationResult) {
        status = "ok"
        output = result.outputPath
        frames = result.parameters.numFrames
        width = result.parameters.width
        height = result.parameters.height
        fps = result.parameters.fps
        seed = result.parameters.seed
        model = result.model
        precision = result.precision.rawValue
        timings = Timings(stages: Dictionary(uniqueKeysWithValues: result.stageSeconds.map { ($0.key.rawValue, $0.value) }),
                          steps: result.stepSeconds)
        peakRssBytes = ResourceUsage.peakResidentBytes
        blasCore = BLAS.coreName
        exitCode = 0
    }

    init(error: GenerationError, request: GenerationRequest) {
        status = error.exitCode == 5 ? "rejected" : "error"
        output = nil
        seed = request.seed
        model = request.modelPath
        peakRssBytes = ResourceUsage.peakResidentBytes
        blasCore = BLAS.coreName
        self.error = error.description
        exitCode = error.exitCode
    }
}
