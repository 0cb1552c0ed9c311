import ConceptGuidance
import Diffusion
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
    /// A UNet weight file to use instead of the model folder's (same `unet/config.json`; `--unet`: a single
    /// safetensors file such as AnimateLCM-SVD-xt.safetensors). Part of the loaded model's identity.
    public var unetWeights: String?
    /// The sampler (`--scheduler`), a per-request value passed to the pipeline (a cached pipeline is never
    /// changed); nil: the one the model folder's scheduler_config.json names. Its defaults (AnimateLCM: 4 steps,
    /// guidance 1.0-1.2, motion bucket 80, fps 8) apply unless the request sets them.
    public var scheduler: SchedulerKind?
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

    /// This request's sampler and settings on `pipeline`, checked before any work: the sampler it asks for (or the
    /// folder's own) and that sampler's defaults under the settings it sets. Values only: the pipeline, shared
    /// with other requests, is never changed.
    func resolved(on pipeline: StableVideoDiffusionPipeline) throws -> (parameters: SVDParameters, scheduler: SchedulerSettings) {
        let scheduler = pipeline.scheduler.choosing(self.scheduler)
        let parameters = self.parameters(defaults: pipeline.defaultParameters(scheduler: self.scheduler))
        try pipeline.validate(parameters, scheduler: scheduler)
        return (parameters, scheduler)
    }
}
