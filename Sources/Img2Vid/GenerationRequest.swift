import ConceptGuidance
import Diffusion
import Media
import SVD

/// Everything `img2vid generate` asks for. Unset settings take the model's defaults.
public struct GenerationRequest: Sendable {
    public var imagePath: String
    public var outputPath: String
    public var modelPath: String
    public var variant: String?
    /// The sampler (`--scheduler`); nil: the one the model folder's scheduler_config.json names.
    public var scheduler: SchedulerKind?
    /// A single safetensors file with the UNet's weights (`--unet`), used instead of the folder's.
    public var unetFile: String?
    public var overwrite = false
    public var resize: ResizeMode = .crop
    public var maxInputPixels = ImageDecoder.defaultMaxPixels
    public var saveFramesDirectory: String?
    public var crf: Int?
    public var outputFPS: Int?

    /// Frames to generate; setting it also decodes them all at once unless `settings.decodeChunkSize` is set.
    public var numFrames: Int?
    /// The other pipeline settings asked for (`--steps`, `--width`, ...).
    public var settings = SVDParameterOverrides()
    public var seed: UInt64 = 0

    /// Every piece of user text (`--prompt`, text concepts). The model ignores it; the moderation
    /// layer's prompt stage reads it.
    public var userTexts: [String] = []
    /// Called with the decoded frames before anything is written (the moderation layer's output
    /// stage installs one); nil writes them as decoded.
    public var frameReview: FrameReview?
    /// Concept guidance (Safe Latent Diffusion); off unless asked for.
    public var conceptGuidance = ConceptGuidanceSettings()
    /// The text concepts (`--avoid-concept`), which the moderation layer's prompt stage must also see.
    public var conceptTexts: [String] { conceptGuidance.configuration == nil ? [] : conceptGuidance.avoidTexts }

    public init(imagePath: String, outputPath: String, modelPath: String) {
        self.imagePath = imagePath
        self.outputPath = outputPath
        self.modelPath = modelPath
    }

    /// The model's defaults with this request's settings applied.
    public func parameters(defaults: SVDParameters) -> SVDParameters {
        var p = defaults
        if let v = numFrames { p.numFrames = v; p.decodeChunkSize = v }
        p = settings.applied(to: p)
        p.seed = seed
        return p
    }
}
