import Img2Vid
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
    var timings: Timings?
    var peakRssBytes: Int
    var blasCore: String
    var moderation: [String] = []
    var error: String?
    var exitCode: Int32

    enum CodingKeys: String, CodingKey {
        case status, output, frames, width, height, fps, seed, model, timings, moderation, error
        case peakRssBytes = "peak_rss_bytes"
        case blasCore = "blas_core"
        case exitCode = "exit_code"
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
        timings = Timings(stages: Dictionary(uniqueKeysWithValues: result.stageSeconds.map { ($0.key.rawValue, $0.value) }),
                          steps: result.stepSeconds)
        peakRssBytes = ResourceUsage.peakResidentBytes
        blasCore = BLAS.coreName
        exitCode = 0
    }

    init(error: GenerationError, request: GenerationRequest) {
        status = "error"
        output = nil
        seed = request.seed
        model = request.modelPath
        peakRssBytes = ResourceUsage.peakResidentBytes
        blasCore = BLAS.coreName
        self.error = error.description
        exitCode = error.exitCode
    }
}
