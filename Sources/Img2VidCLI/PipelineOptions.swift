import ArgumentParser
import Img2Vid
import SVD

/// The generation settings `generate` and `compare` share, named as diffusers'
/// `StableVideoDiffusionPipeline.__call__` names them. Each one left out takes the model's default:
/// the frame count from its UNet config, what its `img2vid.json` sets (SVD's `ModelDefaults`; the
/// bundled demo model has one), and for the rest diffusers' pipeline defaults, which are SVD-XT's.
/// The help texts say so and give SVD-XT's values.
struct PipelineOptions: ParsableArguments {
    @Option(help: "Frames to generate (default: the model's num_frames; SVD-XT: 25).")
    var numFrames: Int?

    @Option(help: "Denoising steps (default: the model's; SVD-XT: 25).")
    var steps: Int?

    @Option(help: "Width in pixels, a multiple of the VAE's scale factor, 8 for SVD (default: the model's; SVD-XT: 1024).")
    var width: Int?

    @Option(help: "Height in pixels, a multiple of the VAE's scale factor, 8 for SVD (default: the model's; SVD-XT: 576).")
    var height: Int?

    @Option(help: "Frame rate the model is conditioned on and the video plays at (default: the model's; SVD-XT: 7).")
    var fps: Int?

    @Option(help: "Amount of motion, 0 (still) to 255 (most) (default: the model's; SVD-XT: 127).")
    var motionBucketId: Int?

    @Option(help: "Noise added to the conditioning image (default: the model's; SVD-XT: 0.02).")
    var noiseAugStrength: Float?

    @Option(help: "Guidance scale of the first frame (default: the model's; SVD-XT: 1.0).")
    var minGuidanceScale: Float?

    @Option(help: "Guidance scale of the last frame (default: the model's; SVD-XT: 3.0).")
    var maxGuidanceScale: Float?

    @Option(help: "Frames decoded at a time: lower uses less memory (default: the model's; SVD-XT: all frames).")
    var decodeChunkSize: Int?

    /// Puts these settings into `request`; those left out stay nil, so the model's defaults apply.
    func apply(to request: inout GenerationRequest) {
        request.numFrames = numFrames
        request.settings.numInferenceSteps = steps
        request.settings.width = width
        request.settings.height = height
        request.settings.fps = fps
        request.settings.motionBucketId = motionBucketId
        request.settings.noiseAugStrength = noiseAugStrength
        request.settings.minGuidanceScale = minGuidanceScale
        request.settings.maxGuidanceScale = maxGuidanceScale
        request.settings.decodeChunkSize = decodeChunkSize
    }
}
