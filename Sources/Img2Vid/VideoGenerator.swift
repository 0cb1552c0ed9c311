import ConceptGuidance
import Diffusion
import Foundation
import Media
import SVD
import Tensor

/// The engine facade: one request in, one video file out, with progress and cancellation.
///
/// Order of work (each stage a plain call; nothing reaches back): check the output path, decode
/// and resize the image, load the model, check the settings, encode the image, denoise, decode
/// frames, encode the video into a temporary file beside the target, rename it into place.
/// Nothing is left at the output path unless the whole run succeeds.
public final class VideoGenerator: Generator {
    public let cancellation: CancellationFlag

    public init(cancellation: CancellationFlag = CancellationFlag()) {
        self.cancellation = cancellation
    }

    public func generate(_ request: GenerationRequest, events: (GenerationEvent) -> Void = { _ in }) throws -> GenerationResult {
        do {
            return try run(request, events: events)
        } catch {
            throw GenerationError.wrap(error)
        }
    }

    private func run(_ request: GenerationRequest, events: (GenerationEvent) -> Void) throws -> GenerationResult {
        var stageSeconds: [GenerationStage: Double] = [:]
        func stage<T>(_ s: GenerationStage, _ body: () throws -> T) throws -> T {
            events(.stageStarted(s))
            let start = Date()
            let value = try body()
            let elapsed = Date().timeIntervalSince(start)
            stageSeconds[s] = elapsed
            events(.stageFinished(s, seconds: elapsed))
            return value
        }

        // Output checks first: a bad extension or an existing file costs no work.
        let format = try VideoFormat.forPath(request.outputPath)
        let requestedOutput = try AtomicOutputFile(targetPath: request.outputPath, overwrite: request.overwrite)

        try request.conceptGuidance.validate()   // concept flags are checked before any work
        let image = try stage(.loadImage) { try ImageDecoder.decode(path: request.imagePath, maxPixels: request.maxInputPixels) }
        let pipeline = try stage(.loadModel) {
            try StableVideoDiffusionPipeline.load(ModelFolder(path: request.modelPath, variant: request.variant),
                                                  unetFile: request.unetFile, scheduler: request.scheduler)
        }
        let parameters = request.parameters(defaults: pipeline.defaultParameters)
        try pipeline.validate(parameters)
        try checkCancelled()

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
        try checkCancelled()

        var stepSeconds: [Double] = []
        try stage(.denoise) {
            while !denoiser.isFinished {
                let start = Date()
                denoiser.step()
                stepSeconds.append(Date().timeIntervalSince(start))
                events(.step(index: denoiser.stepIndex, count: denoiser.stepCount, seconds: stepSeconds.last!))
                try checkCancelled()
            }
        }
        let decodedFrames = try stage(.decode) { () throws -> [RGBImage] in
            var cancelled = false
            let decoded = pipeline.decode(denoiser.latents, chunkSize: parameters.decodeChunkSize) { done, total in
                events(.decoded(done: done, total: total))
                cancelled = cancelled || cancellation.isCancelled
            }
            if cancelled { throw GenerationError.cancelled }
            return RGBImage.frames(fromNormalizedTensor: decoded)
        }

        // The frame review seam (moderation's output stage): before anything is written.
        var frames = decodedFrames
        var outputPath = request.outputPath
        var saveFramesDirectory = request.saveFramesDirectory
        var output = requestedOutput
        switch try request.frameReview?.review(frames) ?? .allow {
        case .allow: break
        case .replace(let replaced): frames = replaced
        case .withhold(let reason): throw GenerationError.rejected(reason)
        case .quarantine(let path, let replaced):
            frames = replaced ?? frames
            requestedOutput.discard()
            output = try AtomicOutputFile(targetPath: path, overwrite: false)
            outputPath = path
            saveFramesDirectory = nil
        }

        let modelName = (request.modelPath as NSString).lastPathComponent
        var framePaths: [String] = []
        try stage(.encodeVideo) {
            if let dir = saveFramesDirectory {
                framePaths = try PNGWriter.writeFrames(frames, toDirectory: dir)
            }
            try checkCancelled()
            var options = VideoEncoder.Options(fps: parameters.fps, outputFPS: request.outputFPS, crf: request.crf)
            options.title = "img2vid \(Img2VidVersion.string): \(modelName), seed \(parameters.seed)"
            options.comment = Self.describe(parameters, model: modelName, format: format)
            try VideoEncoder.encode(frames, to: output.temporaryPath, options: options)
            try checkCancelled()
            try output.commit()
        }
        return GenerationResult(outputPath: outputPath, parameters: parameters, model: modelName,
                                stageSeconds: stageSeconds, stepSeconds: stepSeconds, framePaths: framePaths)
    }

    /// An image concept: the mean image embedding [1, 1, D] of exemplar files, each at its own size through
    /// the model's CLIP preprocessing and image encoder (as diffusers' `_encode_image` takes a PIL image).
    public static func imageConcept(_ paths: [String], pipeline: StableVideoDiffusionPipeline, maxPixels: Int) throws -> Tensor {
        ConceptResolver.mean(try paths.map { path in
            let image = try ImageDecoder.decode(path: path, maxPixels: maxPixels)
            return pipeline.encodeImage(image.normalizedTensor().reshaped([1, 3, image.height, image.width]))
        })
    }

    private func checkCancelled() throws {
        if cancellation.isCancelled { throw GenerationError.cancelled }
    }

    /// The settings as one line, stored in the container's comment.
    static func describe(_ p: SVDParameters, model: String, format: VideoFormat) -> String {
        "model=\(model) seed=\(p.seed) frames=\(p.numFrames) size=\(p.width)x\(p.height) steps=\(p.numInferenceSteps) "
            + "fps=\(p.fps) motion_bucket_id=\(p.motionBucketId) noise_aug_strength=\(p.noiseAugStrength) "
            + "guidance=\(p.minGuidanceScale)-\(p.maxGuidanceScale) decode_chunk_size=\(p.decodeChunkSize) rng=torch"
    }
}
