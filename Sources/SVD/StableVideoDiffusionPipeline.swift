import Diffusion
import Tensor

/// Mirrors diffusers' StableVideoDiffusionPipeline (pipelines/stable_video_diffusion, 0.42) on CPU
/// in float32: image embedding, VAE image latents with noise augmentation, Euler denoising with
/// per-frame classifier-free guidance, chunked decoding.
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
    public let schedulerConfig: SchedulerConfig
    /// The model folder's own defaults (`img2vid.json`), empty when it has none.
    public let modelDefaults: SVDParameterOverrides

    public init(unet: UNetSpatioTemporalConditionModel, vae: AutoencoderKLTemporalDecoder,
                imageEncoder: CLIPVisionModelWithProjection, schedulerConfig: SchedulerConfig,
                modelDefaults: SVDParameterOverrides = SVDParameterOverrides()) {
        self.unet = unet
        self.vae = vae
        self.imageEncoder = imageEncoder
        self.schedulerConfig = schedulerConfig
        self.modelDefaults = modelDefaults
    }

    /// Loads every component of a diffusers pipeline folder; `unetWeights` replaces the UNet's
    /// weights with those of another file (same config).
    public static func load(_ folder: ModelFolder, unetWeights: String? = nil) throws -> StableVideoDiffusionPipeline {
        struct ModelIndex: Decodable { let _class_name: String? }
        let index = try folder.config(ModelIndex.self, component: "", name: "model_index.json")
        if let name = index._class_name, name != "StableVideoDiffusionPipeline" {
            throw ModelLoadingError.unsupportedPipeline(path: folder.path, className: name)
        }
        let scheduler = try folder.config(SchedulerConfig.self, component: "scheduler", name: "scheduler_config.json")
        return StableVideoDiffusionPipeline(unet: try folder.loadUNet(weightsFile: unetWeights), vae: try folder.loadVAE(),
                                            imageEncoder: try folder.loadImageEncoder(), schedulerConfig: scheduler,
                                            modelDefaults: try ModelDefaults.load(folder))
    }

    /// The pipeline's defaults for this model: frames from the UNet config, the rest as diffusers
    /// unless the folder's `img2vid.json` sets them.
    public var defaultParameters: SVDParameters { modelDefaults.applied(to: SVDParameters(numFrames: unet.config.numFrames)) }

    /// Pixel sizes must be multiples of the VAE's downscale factor (8 for SVD).
    public var sizeMultiple: Int { vae.downscale }

    /// `_encode_image`: image [1, 3, H, W] in [-1, 1] -> image embedding [1, 1, D].
    public func encodeImage(_ image: Tensor) -> Tensor {
        let (embeds, _) = imageEncoder(CLIPImagePreprocessor.pixelValues(image))
        return embeds.reshaped([embeds.shape[0], 1, embeds.shape[1]])
    }

    /// Everything before the denoising loop, drawing from `random` in the pipeline's order
    /// (noise augmentation first, then the initial latents). `image` is [1, 3, height, width] in [-1, 1].
    public func prepare(image: Tensor, parameters p: SVDParameters, random: inout some RandomSource,
                        guidance: any Guidance = ClassifierFreeGuidance(), imageEmbedding: Tensor? = nil) throws -> SVDDenoiser {
        try p.validate(sizeMultiple: sizeMultiple)
        precondition(image.shape == [1, 3, p.height, p.width], "image must be [1, 3, height, width]")
        let embedding = imageEmbedding ?? encodeImage(image)

        var augmented = random.normal(shape: image.shape)
        scaleInPlace(&augmented, by: p.noiseAugStrength)
        augmented = add(image, augmented)
        let imageLatents = vae.encodeMode(augmented)                    // [1, 4, h, w], unscaled

        var scheduler = try EulerDiscreteScheduler(config: schedulerConfig)
        try scheduler.setTimesteps(p.numInferenceSteps)
        let h = p.height / vae.downscale, w = p.width / vae.downscale
        var latents = random.normal(shape: [1, p.numFrames, unet.config.outChannels, h, w])
        scaleInPlace(&latents, by: scheduler.initNoiseSigma)

        return SVDDenoiser(unet: unet, scheduler: scheduler, latents: latents,
                           imageLatents: repeatInterleave(imageLatents, repeats: p.numFrames, axis: 0),
                           imageEmbedding: embedding,
                           addedTimeIds: [Float(p.fps - 1), Float(p.motionBucketId), p.noiseAugStrength],
                           frameScales: EulerDiscreteScheduler.torchLinspace(p.minGuidanceScale, p.maxGuidanceScale, p.numFrames),
                           classifierFree: p.usesClassifierFreeGuidance, guidance: guidance)
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
