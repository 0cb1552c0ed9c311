import ArgumentParser
import ConceptGuidance
import Foundation
import Img2Vid
import Media

/// `img2vid compare`: the same image, seed and settings under several guidance presets, the videos side by
/// side with a label over each, and (with --json) per-variant timings, per-step guidance statistics and the
/// cosine of every output frame's image embedding to every concept.
struct CompareCommand: AsyncParsableCommand {
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
            side-by-side frames before they are written; the decisions go to the policy's audit \
            log (command "compare"). Ctrl-C stops at the next step and writes nothing (exit 130).

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

    @OptionGroup var precision: PrecisionOptions
    @OptionGroup var runtime: RuntimeOptions
    @OptionGroup var reporting: ReportingOptions

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

    func run() async throws {
        runtime.apply()
        let presets = try presets()
        let settings = concepts.settings
        let progress = ProgressDisplay(enabled: reporting.showsProgress)

        // The settings as `generate` would take them (model defaults, then these flags).
        var generation = GenerationRequest(imagePath: image, outputPath: output, modelPath: try model.resolvedPath())
        generation.variant = model.variant
        generation.overwrite = overwrite
        generation.resize = resize
        pipelineOptions.apply(to: &generation)
        generation.seed = seed
        generation.precision = precision.setting
        generation.userTexts = moderation.texts + settings.avoidTexts
        var request = ComparisonRequest(generation: generation, presets: presets)
        request.concepts = settings

        let cancellation = CancellationFlag()
        let signals = SignalTrap(cancellation)
        defer { withExtendedLifetime(signals) {} }
        var running: RunningRequest<ComparisonReport>?
        do {
            let engine = runtime.engine(moderation: try moderation.layer(quiet: reporting.quiet))
            running = engine.start(request, cancellation: cancellation)
            for await event in running!.events {
                if case .message(let line) = event {
                    if !reporting.quiet && !reporting.json { Console.note(line) }
                } else {
                    progress.handle(event)
                }
            }
            let result = try await running!.value()
            ModerationOptions.printNotes(result.moderation, except: nil, quiet: reporting.quiet)
            progress.finish("wrote \(result.output)")
            reporting.emit(result)
        } catch let error as GenerationError {
            progress.abandon()
            ModerationOptions.printNotes(running?.decisions ?? [], except: error.description, quiet: reporting.quiet)
            Console.error(error.description)
            throw ExitCode(error.exitCode)
        }
    }
}
