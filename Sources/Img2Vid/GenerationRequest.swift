import ConceptGuidance
import Media
import SVD
import Tensor

/// Everything `img2vid generate` asks for: a plain value, so a request can be queued, stored or
/// sent elsewhere. Unset settings take the model's defaults.
public struct GenerationRequest: Sendable {
    public var imagePath: String
    public var outputPath: String
    public var modelPath: String
    public var variant: String?
    /// A UNet weight file to use instead of the model folder's (same `unet/config.json`).
    public var unetWeights: String?
    /// The arithmetic of matrix products: resolved once per request (`auto` picks bf16 where the
    /// CPU has native bf16), part of the loaded model's identity, reported in the result.
    public var precision: PrecisionSetting = .auto
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

extension GenerationRequest {
    /// The model this request needs, at `precision`.
    func modelKey(precision: ComputePrecision) -> ModelKey {
        ModelKey(folder: modelPath, variant: variant, precision: precision, unetWeights: unetWeights)
    }
}
