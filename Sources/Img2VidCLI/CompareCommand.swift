import ArgumentParser
import ConceptGuidance
import Diffusion
import Foundation
import Img2Vid
import Media
import SVD
import Tensor

/// `img2vid compare`: the same image, seed and settings under several guidance presets, the videos side by
/// side with a label over each, and (with --json) per-variant timings, per-step guidance statistics and the
/// cosine of every output frame's image embedding to every concept.
struct CompareCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compare",
        abstract: "Generate the same seed with several guidance settings, side by side.",
        discussion: """
            Every variant starts from the same noise (same seed); only the guidance differs. The \
            model is loaded once. Settings left out take the model's defaults, as in generate.

            The JSON report (--json) gives, per variant: seconds per stage and per step, per step \
            the share of elements the safety term touched (mu > 0) and the norm of gamma, and the \
            cosine similarity of each output frame's image embedding (through the model's image \
            encoder) to each concept.

            Moderation applies as in generate (--policy, default standard): the input image and \
            every text (--prompt, --avoid-concept) are checked before the model loads, and the \
            side-by-side frames before they are written.

            Example:
              img2vid compare --image in.png --output cmp.mp4 --avoid-image smoke.png \\
                  --guidance off,medium,strong --json
            """)

    @Option(help: "Input image (PNG, JPEG or WebP).")
    var image: String

    @Option(help: "Output video (.mp4, .mkv, .webm or .gif) with the variants side by side.")
    var output: String

    @Option(help: ArgumentHelp("Comma-separated guidance presets, one variant each.", valueName: "presets"))
    var guidance: String = "off,medium,strong"

    @OptionGroup var concepts: ConceptOptions
    @OptionGroup var model: ModelOptions
    @OptionGroup var moderation: ModerationOptions

    @OptionGroup var pipelineOptions: PipelineOptions
    @Option(help: "Random seed shared by every variant.")
    var seed: UInt64 = 0
    @Option(help: "How to bring the image to --width x --height: crop, fit or stretch.")
    var resize: ResizeMode = .crop
    @Flag(help: "Replace an existing output file.")
    var overwrite = false

    @OptionGroup var runtime: RuntimeOptions
    @OptionGroup var reporting: ReportingOptions

    struct Report: Encodable {
        struct Variant: Encodable {
            var guidance: String
            var configuration: SLDConfiguration?
            var stageSeconds: [String: Double]
            var stepSeconds: [Double]
            var steps: [SLDStepStatistics]
            /// [frame][concept]
            var frameConceptCosine: [[Double]]
            /// Mean over frames, per concept.
            var meanConceptCosine: [Double]

            enum CodingKeys: String, CodingKey {
                case guidance, configuration, steps
                case stageSeconds = "stage_seconds"
                case stepSeconds = "step_seconds"
                case frameConceptCosine = "frame_concept_cosine"
                case meanConceptCosine = "mean_concept_cosine"
            }
        }

        var status = "ok"
        var output: String
        var seed: UInt64
        var frames: Int
        var width: Int
        var height: Int
        var steps: Int
        var concepts: [String]
        var variants: [Variant]
        var loadSeconds: Double

        enum CodingKeys: String, CodingKey {
            case status, output, seed, frames, width, height, steps, concepts, variants
            case loadSeconds = "load_seconds"
        }
    }

    /// The presets of --guidance, in order.
    func presets() throws -> [SLDConfiguration.Preset] {
        let names = guidance.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        let presets = names.compactMap(SLDConfiguration.Preset.init(rawValue:))
        guard !names.isEmpty, presets.count == names.count else {
            throw ValidationError("--guidance takes presets separated by commas: \(SLDConfiguration.Preset.allValueStrings.joined(separator: ", "))")
        }
        return presets
    }

    func validate() throws {
        _ = try presets()
    }

    func run() throws {
        runtime.apply()
        let presets = try presets()
        let settings = concepts.settings
        let progress = ProgressDisplay(enabled: reporting.showsProgress)
        let start = Date()

        // The settings as `generate` would take them (model defaults, then these flags).
        var request = GenerationRequest(imagePath: image, outputPath: output, modelPath: try model.resolvedPath())
        pipelineOptions.apply(to: &request)
        request.seed = seed

        let format = try ConceptsCommand.guarded { try VideoFormat.forPath(output) }
        let target = try ConceptsCommand.guarded { try AtomicOutputFile(targetPath: output, overwrite: overwrite) }
        // The moderation layer's input and prompt stages, before any model loads.
        let moderated: ModeratedGenerator? = try ConceptsCommand.guarded {
            guard let policy = try moderation.loadPolicy(quiet: reporting.quiet) else { return nil }
            let moderated = try ModeratedGenerator(VideoGenerator(), policy: policy)
            try moderated.check(imagePath: image, texts: moderation.texts + settings.avoidTexts, command: "compare")
            return moderated
        }
        if let on = presets.first(where: { $0 != .off }) {
            try ConceptsCommand.guarded { try settings.with(preset: on).validate() }
        }
        let decoded = try ConceptsCommand.guarded { try ImageDecoder.decode(path: image) }
        let pipeline = try ConceptsCommand.guarded { try StableVideoDiffusionPipeline.load(ModelFolder(path: request.modelPath, variant: model.variant)) }
        let parameters = request.parameters(defaults: pipeline.defaultParameters)
        try ConceptsCommand.guarded { try parameters.validate(sizeMultiple: pipeline.sizeMultiple) }
        let input = ImageResizer.resize(decoded, width: parameters.width, height: parameters.height, mode: resize)
            .normalizedTensor().reshaped([1, 3, parameters.height, parameters.width])
        let embedding = pipeline.encodeImage(input)
        let resolved: [Concept] = try ConceptsCommand.guarded {
            guard settings.hasConcepts else { return [] }
            return try ConceptResolver.resolve(settings.with(preset: presets.first { $0 != .off } ?? .medium), imageEmbedding: embedding) {
                try VideoGenerator.imageConcept($0, pipeline: pipeline, maxPixels: ImageDecoder.defaultMaxPixels)
            }
        }
        let loadSeconds = Date().timeIntervalSince(start)

        var variants: [Report.Variant] = []
        var videos: [[RGBImage]] = []
        for preset in presets {
            let configuration = settings.with(preset: preset).configuration
            var stages: [String: Double] = [:]
            var random = TorchGenerator(seed: parameters.seed)
            var t = Date()
            var denoiser: SVDDenoiser
            if let configuration {
                denoiser = try ConceptsCommand.guarded {
                    try pipeline.prepare(image: input, parameters: parameters, random: &random,
                                         guidance: SafeLatentGuidance(configuration: configuration, concepts: resolved.map(\.embedding)),
                                         imageEmbedding: embedding)
                }
            } else {
                denoiser = try ConceptsCommand.guarded { try pipeline.prepare(image: input, parameters: parameters, random: &random, imageEmbedding: embedding) }
            }
            stages["prepare"] = Date().timeIntervalSince(t)
            var stepSeconds: [Double] = []
            progress.handle(.stageStarted(.denoise))
            t = Date()
            while !denoiser.isFinished {
                let s = Date()
                denoiser.step()
                stepSeconds.append(Date().timeIntervalSince(s))
                progress.handle(.step(index: denoiser.stepIndex, count: denoiser.stepCount, seconds: stepSeconds.last!))
            }
            stages["denoise"] = Date().timeIntervalSince(t)
            progress.handle(.stageFinished(.denoise, seconds: stages["denoise"]!))
            t = Date()
            let frameTensor = pipeline.decode(denoiser.latents, chunkSize: parameters.decodeChunkSize)
            stages["decode"] = Date().timeIntervalSince(t)
            let frames = RGBImage.frames(fromNormalizedTensor: frameTensor)
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
            variants.append(Report.Variant(guidance: preset.rawValue, configuration: configuration, stageSeconds: stages, stepSeconds: stepSeconds,
                                           steps: (denoiser.guidance as? SafeLatentGuidance)?.statistics ?? [],
                                           frameConceptCosine: cosines, meanConceptCosine: means))
            videos.append(frames)
            if !reporting.quiet && !reporting.json {
                let summary = means.isEmpty ? "" : "  mean cosine to concepts: " + means.map { String(format: "%.4f", $0) }.joined(separator: ", ")
                Console.note("\(preset.rawValue): \(String(format: "%.1f", stages["denoise"]!)) s denoising\(summary)")
            }
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
        options.comment = "guidance=\(guidance) concepts=\(resolved.map(\.name).joined(separator: ";")) format=\(format)"
        // The moderation layer's output stage, on the frames as they would be written.
        if let moderated {
            let verdict = try ConceptsCommand.guarded { try moderated.outputReview(outputPath: output).review(composed) }
            var reason: String?
            if case .withhold(let r) = verdict { reason = r }
            ModerationOptions.printNotes(moderated.decisions, except: reason, quiet: reporting.quiet)
            switch verdict {
            case .allow:
                break
            case .replace(let reviewed):
                composed = reviewed
            case .withhold(let reason):
                ConceptsCommand.fail(reason, code: GenerationError.rejected(reason).exitCode)
            case .quarantine(let path, let frames):
                try ConceptsCommand.guarded { try VideoEncoder.encode(frames ?? composed, to: path, options: options) }
                let reason = "the output was quarantined: written to \(path) for review, not to \(output)"
                ConceptsCommand.fail(reason, code: GenerationError.rejected(reason).exitCode)
            }
        }
        try ConceptsCommand.guarded {
            try VideoEncoder.encode(composed, to: target.temporaryPath, options: options)
            try target.commit()
        }
        progress.finish("wrote \(output)")
        reporting.emit(Report(output: output, seed: parameters.seed, frames: parameters.numFrames, width: parameters.width,
                              height: parameters.height, steps: parameters.numInferenceSteps, concepts: resolved.map(\.name),
                              variants: variants, loadSeconds: loadSeconds))
    }
}
