import ConceptGuidance
import Media
import SVD

/// Everything `img2vid generate` asks for. Unset settings take the model's defaults.
public struct GenerationRequest: Sendable {
    public var imagePath: String
    public var outputPath: String
    public var modelPath: String
    public var variant: String?
    public var overwrite = false
    public var resize: ResizeMode = .crop
    public var maxInputPixels = ImageDecoder.defaultMaxPixels
    public var saveFramesDirectory: String?
    public var crf: Int?
    public var outputFPS: Int?

    public var numFrames: Int?
    public var steps: Int?
    public var width: Int?
    public var height: Int?
    public var fps: Int?
    public var motionBucketId: Int?
    public var noiseAugStrength: Float?
    public var minGuidanceScale: Float?
    public var maxGuidanceScale: Float?
    public var decodeChunkSize: Int?
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
        if let v = steps { p.numInferenceSteps = v }
        if let v = width { p.width = v }
        if let v = height { p.height = v }
        if let v = fps { p.fps = v }
        if let v = motionBucketId { p.motionBucketId = v }
        if let v = noiseAugStrength { p.noiseAugStrength = v }
        if let v = minGuidanceScale { p.minGuidanceScale = v }
        if let v = maxGuidanceScale { p.maxGuidanceScale = v }
        if let v = decodeChunkSize { p.decodeChunkSize = v }
        p.seed = seed
        return p
    }
}
