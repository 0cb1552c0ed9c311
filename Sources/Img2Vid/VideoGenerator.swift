import ConceptGuidance
import Diffusion
import Foundation
import Media
import SVD
import Tensor

/// One generation, start to end: one request in, one video file out. The engine runs it on the
/// request's worker thread with the request's context (progress, cancellation) and its model from
/// the engine's cache; it keeps nothing between requests.
///
/// Order of work (each stage a plain call; nothing reaches back): check the output path, decode
/// and resize the image (unless the moderation layer has decoded it already), load the model,
/// check the settings, encode the image, denoise, decode frames, the frame review (moderation's
/// output stage), encode the video into a temporary file beside the target, rename it into place.
/// Nothing is left at the output path unless the whole run succeeds.
struct VideoGenerator {
    let request: GenerationRequest
    let precision: ComputePrecision
    let context: RequestContext
    /// The engine's model cache: the pipeline for a key, and whether this call loaded it.
    let models: (ModelKey) throws -> (pipeline: StableVideoDiffusionPipeline, loaded: Bool)

    func run(input: InputImage?, review: FrameReview?) throws -> GenerationResult {
        var stageSeconds: [GenerationStage: Double] = [:]
        func stage<T>(_ s: GenerationStage, _ body: () throws -> T) throws -> T {
            let (value, seconds) = try context.stage(s, body)
            stageSeconds[s] = seconds
            return value
        }

        // Output checks first: a bad extension or an existing file costs no work.
        let format = try VideoFormat.forPath(request.outputPath)
        let requestedOutput = try AtomicOutputFile(targetPath: request.outputPath, overwrite: request.overwrite)

        try request.conceptGuidance.validate()   // concept flags are checked before any work
        let image = try stage(.loadImage) {
            try input?.image ?? InputImage.read(path: request.imagePath, maxPixels: request.maxInputPixels, hashing: false).image
        }
        let (pipeline, loadedModel) = try stage(.loadModel) { try models(request.modelKey(precision: precision)) }
        let parameters = request.parameters(defaults: pipeline.defaultParameters)
        try parameters.validate(sizeMultiple: pipeline.sizeMultiple)
        try context.checkCancelled()

        let input = ImageResizer.resize(image, width: parameters.width, height: parameters.height, mode: request.resize)
            .normalizedTensor().reshaped([1, 3, parameters.height, parameters.width])
        var random = TorchGenerator(seed: parameters.seed)
        var denoiser = try stage(.encodeImage) { () throws -> SVDDenoiser in
            // Concept guidance (off unless asked for): one extra branch per concept.
            guard let sld = request.conceptGuidance.configuration else {
                return try pipeline.prepare(image: input, parameters: parameters, random: &random)
            }
            let embedding = pipeline.encodeImage(input)
            let concepts = try ConceptResolver.resolve(request.conceptGuidance, imageEmbedding: embedding) {
                try Self.imageConcept($0, pipeline: pipeline, maxPixels: request.maxInputPixels)
            }
            return try pipeline.prepare(image: input, parameters: parameters, random: &random,
                                        guidance: SafeLatentGuidance(configuration: sld, concepts: concepts.map(\.embedding)),
                                        imageEmbedding: embedding)
        }
        try context.checkCancelled()

        let stepSeconds = try stage(.denoise) { try Self.denoise(&denoiser, context: context) }
        let frames = try stage(.decode) { try Self.decode(denoiser.latents, pipeline: pipeline, chunkSize: parameters.decodeChunkSize, context: context) }

        // The frame review seam (moderation's output stage): before anything is written.
        var written = frames
        var outputPath = request.outputPath
        var saveFramesDirectory = request.saveFramesDirectory
        var output = requestedOutput
        switch try review?.review(frames) ?? .allow {
        case .allow: break
        case .replace(let replaced): written = replaced
        case .withhold(let reason): throw GenerationError.rejected(reason)
        case .quarantine(let path, let replaced):
            written = replaced ?? frames
            requestedOutput.discard()
            output = try AtomicOutputFile(targetPath: path, overwrite: false)
            outputPath = path
            saveFramesDirectory = nil
        }

        let modelName = (request.modelPath as NSString).lastPathComponent
        var framePaths: [String] = []
        try stage(.encodeVideo) {
            if let dir = saveFramesDirectory {
                framePaths = try PNGWriter.writeFrames(written, toDirectory: dir)
            }
            try context.checkCancelled()
            var options = VideoEncoder.Options(fps: parameters.fps, outputFPS: request.outputFPS, crf: request.crf)
            options.title = "img2vid \(Img2VidVersion.string): \(modelName), seed \(parameters.seed)"
            options.comment = Self.describe(parameters, model: modelName, format: format)
            try VideoEncoder.encode(written, to: output.temporaryPath, options: options)
            try context.checkCancelled()
            try output.commit()
        }
        return GenerationResult(outputPath: outputPath, parameters: parameters, model: modelName, precision: precision,
                                loadedModel: loadedModel, stageSeconds: stageSeconds, stepSeconds: stepSeconds, framePaths: framePaths)
    }

    /// Runs the remaining denoising steps, reporting each and stopping at the first step boundary
    /// after a cancel. Returns the seconds of each step.
    static func denoise(_ denoiser: inout SVDDenoiser, context: RequestContext) throws -> [Double] {
        var stepSeconds: [Double] = []
        while !denoiser.isFinished {
            let start = Date()
            denoiser.step()
            stepSeconds.append(Date().timeIntervalSince(start))
            context.emit(.step(index: denoiser.stepIndex, count: denoiser.stepCount, seconds: stepSeconds.last!))
            try context.checkCancelled()
        }
        return stepSeconds
    }

    /// Decodes latents into frames in chunks, reporting each chunk; a cancel stops after the chunk.
    static func decode(_ latents: Tensor, pipeline: StableVideoDiffusionPipeline, chunkSize: Int, context: RequestContext) throws -> [RGBImage] {
        var cancelled = false
        let decoded = pipeline.decode(latents, chunkSize: chunkSize) { done, total in
            context.emit(.decoded(done: done, total: total))
            cancelled = cancelled || context.cancellation.isCancelled
        }
        if cancelled { throw GenerationError.cancelled }
        return RGBImage.frames(fromNormalizedTensor: decoded)
    }

    /// An image concept: the mean image embedding [1, 1, D] of exemplar files, each at its own size through
    /// the model's CLIP preprocessing and image encoder (as diffusers' `_encode_image` takes a PIL image).
    static func imageConcept(_ paths: [String], pipeline: StableVideoDiffusionPipeline, maxPixels: Int) throws -> Tensor {
        ConceptResolver.mean(try paths.map { path in
            let image = try ImageDecoder.decode(path: path, maxPixels: maxPixels)
            return pipeline.encodeImage(image.normalizedTensor().reshaped([1, 3, image.height, image.width]))
        })
    }

    /// The settings as one line, stored in the container's comment.
    static func describe(_ p: SVDParameters, model: String, format: VideoFormat) -> String {
        "model=\(model) seed=\(p.seed) frames=\(p.numFrames) size=\(p.width)x\(p.height) steps=\(p.numInferenceSteps) "
            + "fps=\(p.fps) motion_bucket_id=\(p.motionBucketId) noise_aug_strength=\(p.noiseAugStrength) "
            + "guidance=\(p.minGuidanceScale)-\(p.maxGuidanceScale) decode_chunk_size=\(p.decodeChunkSize) rng=torch"
    }
}
