import Diffusion
import Tensor

/// Mirrors diffusers' StableVideoDiffusionPipeline (pipelines/stable_video_diffusion, 0.42) on CPU
/// in float32: image embedding, VAE image latents with noise augmentation, denoising with per-frame
/// classifier-free guidance (Euler, or AnimateLCM-SVD's consistency sampler), chunked decoding.
///
/// The work is split so that a caller can drive it: `prepare` does everything before the loop and
/// returns an `SVDDenoiser` whose `step()` runs one denoising step at a time (progress,
/// cancellation, inspection, guidance plug-ins), then `decode` turns latents into frames.
public final class StableVideoDiffusionPipeline {
    public let unet: UNetSpatioTemporalConditionModel
    public let vae: AutoencoderKLTemporalDecoder
    public let imageEncoder: CLIPVisionModelWithProjection
    /// The sampler and its configuration (the folder's `scheduler/scheduler_config.json`, or `useScheduler`'s choice).
    public private(set) var scheduler: SchedulerSettings
    /// The model folder's own defaults (`img2vid.json`), empty when it has none.
    public var modelDefaults = SVDParameterOverrides()

    public init(unet: UNetSpatioTemporalConditionModel, vae: AutoencoderKLTemporalDecoder,
                imageEncoder: CLIPVisionModelWithProjection, scheduler: SchedulerSettings) {
        self.unet = unet
        self.vae = vae
        self.imageEncoder = imageEncoder
        self.scheduler = scheduler
    }

    /// A pipeline with an Euler-family scheduler config (the SVD releases').
    public convenience init(unet: UNetSpatioTemporalConditionModel, vae: AutoencoderKLTemporalDecoder,
                            imageEncoder: CLIPVisionModelWithProjection, schedulerConfig: SchedulerConfig) {
        self.init(unet: unet, vae: vae, imageEncoder: imageEncoder, scheduler: .euler(schedulerConfig))
    }

    /// Loads every component of a diffusers pipeline folder. `unetFile`: a single safetensors file holding the
    /// UNet's state dict in diffusers key names (AnimateLCM-SVD-xt.safetensors) used instead of the folder's UNet
    /// weights, with the folder's `unet/config.json` (`--unet`). `scheduler`: a sampler to use instead of the one
    /// the folder's `scheduler_config.json` names (`--scheduler`; see `useScheduler`).
    public static func load(_ folder: ModelFolder, unetFile: String? = nil, scheduler kind: SchedulerKind? = nil) throws -> StableVideoDiffusionPipeline {
        struct ModelIndex: Decodable { let _class_name: String? }
        let index = try folder.config(ModelIndex.self, component: "", name: "model_index.json")
        if let name = index._class_name, name != "StableVideoDiffusionPipeline" {
            throw ModelLoadingError.unsupportedPipeline(path: folder.path, className: name)
        }
        // Cheap checks first: the scheduler config and the UNet file's keys before any large weight is read.
        let scheduler = try folder.loadScheduler()
        let unet = try folder.loadUNet(file: unetFile)
        let pipeline = StableVideoDiffusionPipeline(unet: unet, vae: try folder.loadVAE(),
                                                    imageEncoder: try folder.loadImageEncoder(), scheduler: scheduler)
        pipeline.modelDefaults = try ModelDefaults.load(folder)
        if let kind { pipeline.useScheduler(kind) }
        return pipeline
    }

    /// Switches to `kind`'s sampler with its published settings for SVD (`SchedulerSettings.defaults(for:)`); nothing
    /// changes when the pipeline already runs that kind (a folder's own AnimateLCM config is kept). The folder's
    /// `img2vid.json` values that belong to its own sampler (steps, guidance, fps, motion bucket) are dropped, so the
    /// new sampler's defaults apply (`SchedulerKind.parameterDefaults`); sizes, noise augmentation and decode chunk stay.
    public func useScheduler(_ kind: SchedulerKind) {
        guard kind != scheduler.kind else { return }
        scheduler = .defaults(for: kind)
        modelDefaults = modelDefaults.droppingSamplerSettings()
    }

    /// The pipeline's defaults for this model: frames from the UNet config; the sampler's defaults (AnimateLCM:
    /// 4 steps, guidance 1.0-1.2, motion bucket 80, fps 8); the rest as diffusers; the folder's `img2vid.json` over all.
    public var defaultParameters: SVDParameters {
        Self.defaultParameters(numFrames: unet.config.numFrames, scheduler: scheduler.kind, modelDefaults: modelDefaults)
    }

    /// `defaultParameters` for a model not (yet) built: diffusers' defaults with `numFrames`, the sampler's
    /// defaults over them, the folder's `img2vid.json` over all.
    public static func defaultParameters(numFrames: Int, scheduler: SchedulerKind, modelDefaults: SVDParameterOverrides) -> SVDParameters {
        modelDefaults.applied(to: scheduler.parameterDefaults.applied(to: SVDParameters(numFrames: numFrames)))
    }

    /// Pixel sizes must be multiples of the VAE's downscale factor (8 for SVD).
    public var sizeMultiple: Int { vae.downscale }

    /// Checks settings against this model and sampler before any work (sizes, step count); throws `SVDParametersError`.
    public func validate(_ p: SVDParameters) throws {
        try p.validate(sizeMultiple: sizeMultiple)
        _ = try makeScheduler(steps: p.numInferenceSteps)
    }

    /// The sampler with the timesteps of `steps` steps: a bad step count is a usage error, a bad config a model error.
    func makeScheduler(steps: Int) throws -> any Scheduler {
        do {
            return try scheduler.makeScheduler(steps: steps)
        } catch let e as SchedulerError {
            switch e {
            case .invalidStepCount, .tooManySteps: throw SVDParametersError(message: "--steps: \(e.description)")
            default: throw ModelLoadingError.invalidConfig(path: "scheduler/scheduler_config.json", reason: e.description)
            }
        }
    }

    /// `_encode_image`: image [1, 3, H, W] in [-1, 1] -> image embedding [1, 1, D].
    public func encodeImage(_ image: Tensor) -> Tensor {
        let (embeds, _) = imageEncoder(CLIPImagePreprocessor.pixelValues(image))
        return embeds.reshaped([embeds.shape[0], 1, embeds.shape[1]])
    }

    /// Everything before the denoising loop, drawing from `random` in the pipeline's order
    /// (noise augmentation first, then the initial latents). `image` is [1, 3, height, width] in [-1, 1].
    /// The image embedding (pass `imageEmbedding` when the caller already computed it) and the VAE image
    /// latents are computed here, once, for all steps. The returned denoiser carries the stream on (a copy
    /// of `random` after the latents): a stochastic sampler draws each step's noise from it.
    public func prepare(image: Tensor, parameters p: SVDParameters, random: inout some RandomSource,
                        guidance: any Guidance = ClassifierFreeGuidance(), imageEmbedding: Tensor? = nil) throws -> SVDDenoiser {
        try p.validate(sizeMultiple: sizeMultiple)
        let scheduler = try makeScheduler(steps: p.numInferenceSteps)
        precondition(image.shape == [1, 3, p.height, p.width], "image must be [1, 3, height, width]")
        let embedding = imageEmbedding ?? encodeImage(image)

        var augmented = random.normal(shape: image.shape)
        scaleInPlace(&augmented, by: p.noiseAugStrength)
        augmented = add(image, augmented)
        let imageLatents = vae.encodeMode(augmented)                    // [1, 4, h, w], unscaled

        let h = p.height / vae.downscale, w = p.width / vae.downscale
        var latents = random.normal(shape: [1, p.numFrames, unet.config.outChannels, h, w])
        scaleInPlace(&latents, by: scheduler.initNoiseSigma)

        return SVDDenoiser(unet: unet, scheduler: scheduler, latents: latents,
                           imageLatents: repeatInterleave(imageLatents, repeats: p.numFrames, axis: 0),
                           imageEmbedding: embedding,
                           addedTimeIds: [Float(p.fps - 1), Float(p.motionBucketId), p.noiseAugStrength],
                           frameScales: EulerDiscreteScheduler.torchLinspace(p.minGuidanceScale, p.maxGuidanceScale, p.numFrames),
                           classifierFree: p.usesClassifierFreeGuidance, guidance: guidance, random: random)
    }

    /// `decode_latents`: latents [1, F, 4, h, w] -> frames [F, 3, H, W] (about [-1, 1]), decoding
    /// `chunkSize` frames at a time, each chunk as its own clip (as diffusers does).
    /// `onChunk(done, total)` reports progress after each chunk.
    public func decode(_ latents: Tensor, chunkSize: Int, onChunk: (Int, Int) -> Void = { _, _ in }) -> Tensor {
        let frames = latents.shape[1]
        var z = latents.reshaped(Array([frames] + latents.shape[2...]))
        scaleInPlace(&z, by: Float(1 / Double(vae.config.scalingFactor)))
        var chunks: [Tensor] = []
        for start in stride(from: 0, to: frames, by: chunkSize) {
            let n = min(chunkSize, frames - start)
            chunks.append(vae.decode(slice(z, axis: 0, range: start..<(start + n)), frames: n))
            onChunk(start + n, frames)
        }
        return concat(chunks, axis: 0)
    }
}
