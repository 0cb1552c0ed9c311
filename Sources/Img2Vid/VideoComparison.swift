import ConceptGuidance
import Diffusion
import Foundation
import Media
import SVD
import Tensor

/// `compare`'s work: the model loaded once, the image decoded and encoded once, then one
/// generation per preset from the same noise, the frames side by side with a label over each,
/// the frame review (moderation's output stage), and one atomic write. Cancellation is checked
/// after every step and chunk; a cancelled comparison writes nothing.
struct VideoComparison {
    let request: ComparisonRequest
    let precision: ComputePrecision
    let context: RequestContext
    let models: (ModelKey) throws -> (pipeline: StableVideoDiffusionPipeline, loaded: Bool)

    /// `input` is the moderation layer's decoded image when it ran; `target` the output prepared
    /// (and checked) before any work.
    func run(input: InputImage?, review: FrameReview?, format: VideoFormat, target: AtomicOutputFile) throws -> (ComparisonReport, written: String) {
        let generation = request.generation
        let settings = request.concepts
        let presets = request.presets
        let start = Date()
        if let on = presets.first(where: { $0 != .off }) {
            try settings.with(preset: on).validate()
        }
        let decoded = try input?.image ?? InputImage.read(path: generation.imagePath, maxPixels: generation.maxInputPixels, hashing: false).image
        let (pipeline, _) = try models(generation.modelKey(precision: precision))
        let parameters = generation.parameters(defaults: pipeline.defaultParameters)
        try parameters.validate(sizeMultiple: pipeline.sizeMultiple)
        try context.checkCancelled()
        let image = ImageResizer.resize(decoded, width: parameters.width, height: parameters.height, mode: generation.resize)
            .normalizedTensor().reshaped([1, 3, parameters.height, parameters.width])
        let embedding = pipeline.encodeImage(image)
        let resolved: [Concept] = try {
            guard settings.hasConcepts else { return [] }
            return try ConceptResolver.resolve(settings.with(preset: presets.first { $0 != .off } ?? .medium), imageEmbedding: embedding) {
                try VideoGenerator.imageConcept($0, pipeline: pipeline, maxPixels: ImageDecoder.defaultMaxPixels)
            }
        }()
        let loadSeconds = Date().timeIntervalSince(start)
        try context.checkCancelled()

        var variants: [ComparisonReport.Variant] = []
        var videos: [[RGBImage]] = []
        for preset in presets {
            let configuration = settings.with(preset: preset).configuration
            var stages: [String: Double] = [:]
            var random = TorchGenerator(seed: parameters.seed)
            var t = Date()
            var denoiser: SVDDenoiser
            if let configuration {
                denoiser = try pipeline.prepare(image: image, parameters: parameters, random: &random,
                                                guidance: SafeLatentGuidance(configuration: configuration, concepts: resolved.map(\.embedding)),
                                                imageEmbedding: embedding)
            } else {
                denoiser = try pipeline.prepare(image: image, parameters: parameters, random: &random, imageEmbedding: embedding)
            }
            stages["prepare"] = Date().timeIntervalSince(t)
            let (stepSeconds, denoiseSeconds) = try context.stage(.denoise) { try VideoGenerator.denoise(&denoiser, context: context) }
            stages["denoise"] = denoiseSeconds
            t = Date()
            let frames = try VideoGenerator.decode(denoiser.latents, pipeline: pipeline, chunkSize: parameters.decodeChunkSize, context: context)
            stages["decode"] = Date().timeIntervalSince(t)
            t = Date()
            var cosines: [[Double]] = []
            if !resolved.isEmpty {
                for f in 0..<frames.count {
                    let e = pipeline.encodeImage(frames[f].normalizedTensor().reshaped([1, 3, frames[f].height, frames[f].width]))
                    cosines.append(resolved.map { ConceptResolver.cosine(e, $0.embedding) })
                }
            }
            stages["frame_embeddings"] = Date().timeIntervalSince(t)
            let means = resolved.indices.map { k in cosines.map { $0[k] }.reduce(0, +) / Double(max(cosines.count, 1)) }
            variants.append(ComparisonReport.Variant(guidance: preset.rawValue, configuration: configuration, stageSeconds: stages,
                                                     stepSeconds: stepSeconds, steps: (denoiser.guidance as? SafeLatentGuidance)?.statistics ?? [],
                                                     frameConceptCosine: cosines, meanConceptCosine: means))
            videos.append(frames)
            let summary = means.isEmpty ? "" : "  mean cosine to concepts: " + means.map { String(format: "%.4f", $0) }.joined(separator: ", ")
            context.emit(.message("\(preset.rawValue): \(String(format: "%.1f", denoiseSeconds)) s denoising\(summary)"))
            try context.checkCancelled()
        }

        // Side by side, one label per variant.
        var composed: [RGBImage] = []
        for f in 0..<parameters.numFrames {
            let grid = ComparisonGrid.compose(tiles: videos.map { $0[f].pixels }, tileWidth: parameters.width, tileHeight: parameters.height,
                                              labels: presets.map { $0.rawValue })
            composed.append(RGBImage(width: grid.width, height: grid.height, pixels: grid.pixels))
        }
        var options = VideoEncoder.Options(fps: parameters.fps)
        options.title = "img2vid \(Img2VidVersion.string) compare: \(presets.map(\.rawValue).joined(separator: ", ")), seed \(parameters.seed)"
        options.comment = "guidance=\(presets.map(\.rawValue).joined(separator: ",")) concepts=\(resolved.map(\.name).joined(separator: ";")) format=\(format)"

        // The moderation layer's output stage, on the frames as they would be written.
        var output = target
        switch try review?.review(composed) ?? .allow {
        case .allow: break
        case .replace(let reviewed): composed = reviewed
        case .withhold(let reason): throw GenerationError.rejected(reason)
        case .quarantine(let path, let frames):
            composed = frames ?? composed
            target.discard()
            output = try AtomicOutputFile(targetPath: path, overwrite: false)
        }
        try context.checkCancelled()
        _ = try context.stage(.encodeVideo) {
            try VideoEncoder.encode(composed, to: output.temporaryPath, options: options)
            try context.checkCancelled()
            try output.commit()
        }
        let result = ComparisonReport(output: output.targetPath, seed: parameters.seed, frames: parameters.numFrames, width: parameters.width,
                                      height: parameters.height, steps: parameters.numInferenceSteps, precision: precision,
                                      concepts: resolved.map(\.name), variants: variants, loadSeconds: loadSeconds)
        return (result, output.targetPath)
    }
}
