import Diffusion
import Tensor

/// Mirrors diffusers' StableVideoDiffusionPipeline (pipelines/stable_video_diffusion, 0.42) on CPU
/// in float32: image embedding, VAE image latents with noise augmentation, denoising with per-frame
/// classifier-free guidance (Euler, or AnimateLCM-SVD's consistency sampler), chunked decoding.
///
/// The work is split so that a caller can drive it: `prepare` does everything before the loop and
/// returns an `SVDDenoiser` whose `step()` runs one denoising step at a time (progress,
/// cancellation, inspection, guidance plug-ins), then `decode` turns latents into frames.
///
/// Immutable once loaded: the models are read, never written, by `prepare`, `step` and `decode`,
/// so one loaded pipeline serves any number of requests at once (each with its own `SVDDenoiser`).
public final class StableVideoDiffusionPipeline: @unchecked Sendable {
    public let unet: UNetSpatioTemporalConditionModel
    public let vae: AutoencoderKLTemporalDecoder
    public let imageEncoder: CLIPVisionModelWithProjection
    /// The folder's own sampler and its configuration (`scheduler/scheduler_config.json`): what a request runs
    /// unless it names another kind (`SchedulerSettings.choosing`).
    public let scheduler: SchedulerSettings
    /// The model folder's own defaults (`img2vid.json`), empty when it has none.
    public let modelDefaults: SVDParameterOverrides

    public init(unet: UNetSpatioTemporalConditionModel, vae: AutoencoderKLTemporalDecoder,
                imageEncoder: CLIPVisionModelWithProjection, scheduler: SchedulerSettings,
                modelDefaults: SVDParameterOverrides = SVDParameterOverrides()) {
        self.unet = unet
        self.vae = vae
        self.imageEncoder = imageEncoder
        self.scheduler = scheduler
        self.modelDefaults = modelDefaults
    }

    /// A pipeline with an Euler-family scheduler config (the SVD releases').
    public convenience init(unet: UNetSpatioTemporalConditionModel, vae: AutoencoderKLTemporalDecoder,
                            imageEncoder: CLIPVisionModelWithProjection, schedulerConfig: SchedulerConfig,
                            modelDefaults: SVDParameterOverrides = SVDParameterOverrides()) {
        self.init(unet: unet, vae: vae, imageEncoder: imageEncoder, scheduler: .euler(schedulerConfig), modelDefaults: modelDefaults)
    }

    /// Loads every component of a diffusers pipeline folder. `unetWeights`: a file whose weights replace the
    /// folder's UNet weights, with the folder's `unet/config.json` (`--unet`: a single safetensors file holding
    /// the UNet's state dict in diffusers key names, such as AnimateLCM-SVD-xt.safetensors); missing,
    /// unexpected and wrong-shaped keys are refused by name (`ModelLoadingError.mismatchedWeights`).
    public static func load(_ folder: ModelFolder, unetWeights: String? = nil) throws -> StableVideoDiffusionPipeline {
        struct ModelIndex: Decodable { let _class_name: String? }
        let index = try folder.config(ModelIndex.self, component: "", name: "model_index.json")
        if let name = index._class_name, name != "StableVideoDiffusionPipeline" {
            throw ModelLoadingError.unsupportedPipeline(path: folder.path, className: name)
        }
        // Cheap checks first: the scheduler config and the UNet file's keys before the VAE and image encoder are read.
        let scheduler = try folder.loadScheduler()
        let unet = try folder.loadUNet(weightsFile: unetWeights)
        return StableVideoDiffusionPipeline(unet: unet, vae: try folder.loadVAE(), imageEncoder: try folder.loadImageEncoder(),
                                            scheduler: scheduler, modelDefaults: try ModelDefaults.load(folder))
    }

    /// The defaults of a request that runs `kind`'s sampler (nil: the folder's own): frames from the UNet config;
    /// the sampler's defaults (AnimateLCM: 4 steps, guidance 1.0-1.2, motion bucket 80, fps 8); the rest as
    /// diffusers; the folder's `img2vid.json` over all (see the static form for another sampler).
    public func defaultParameters(scheduler kind: SchedulerKind? = nil) -> SVDParameters {
        Self.defaultParameters(numFrames: unet.config.numFrames, folderScheduler: scheduler.kind, requested: kind,
                               modelDefaults: modelDefaults)
    }

    /// `defaultParameters` for a model not (yet) built: diffusers' defaults with `numFrames`, the requested
    /// sampler's defaults over them, the folder's `img2vid.json` over all. When the request runs another sampler
    /// than the folder's, the `img2vid.json` values that belong to the folder's sampler (steps, guidance, fps,
    /// motion bucket) are dropped, so the requested sampler's defaults apply; sizes, noise augmentation and
    /// decode chunk stay.
    public static func defaultParameters(numFrames: Int, folderScheduler: SchedulerKind, requested: SchedulerKind?,
                                         modelDefaults: SVDParameterOverrides) -> SVDParameters {
        let kind = requested ?? folderScheduler
        let folderValues = kind == folderScheduler ? modelDefaults : modelDefaults.droppingSamplerSettings()
        return folderValues.applied(to: kind.parameterDefaults.applied(to: SVDParameters(numFrames: numFrames)))
    }

    /// Pixel sizes must be multiples of the VAE's downscale factor (8 for SVD).
    public var sizeMultiple: Int { vae.downscale }

    /// Checks settings against this model and a sampler (nil: the folder's own) before any work (sizes, step
    /// count); throws `SVDParametersError`.
    public func validate(_ p: SVDParameters, scheduler settings: SchedulerSettings? = nil) throws {
        try p.validate(sizeMultiple: sizeMultiple)
        _ = try makeScheduler(settings ?? scheduler, steps: p.numInferenceSteps)
    }

    /// The sampler with the timesteps of `steps` steps: a bad step count is a usage error, a bad config a model error.
    func makeScheduler(_ settings: SchedulerSettings, steps: Int) throws -> any Scheduler {
        do {
            return try settings.makeScheduler(steps: steps)
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
    /// of `random` after the latents): a stochastic sampler draws each step's noise from it. `scheduler` is the
    /// request's sampler (nil: the folder's own); the pipeline itself is never changed by a request.
    public func prepare(image: Tensor, parameters p: SVDParameters, scheduler settings: SchedulerSettings? = nil,
                        random: inout some RandomSource, guidance: any Guidance = ClassifierFreeGuidance(),
                        imageEmbedding: Tensor? = nil) throws -> SVDDenoiser {
        try p.validate(sizeMultiple: sizeMultiple)
        let scheduler = try makeScheduler(settings ?? scheduler, steps: p.numInferenceSteps)
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
