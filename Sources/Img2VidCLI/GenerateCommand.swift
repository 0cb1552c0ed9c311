import ArgumentParser
import Foundation
import Img2Vid
import Media

struct GenerateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Generate a video from one image.",
        discussion: """
            Settings left out take the model's defaults: the frame count of its UNet config, what its \
            img2vid.json sets (the bundled demo model has one), and diffusers' pipeline defaults for \
            the rest (SVD-XT: 25 frames, 1024x576, 25 steps, fps 7, motion bucket 127, noise \
            augmentation 0.02, guidance 1.0 to 3.0).

            The output format follows the extension: .mp4 (H.264), .mkv (H.264), .webm (VP9), .gif. \
            The video is written to a temporary file beside the output and renamed into place when \
            complete: a failure or Ctrl-C leaves nothing at the output path.

            Examples:
              img2vid generate --image photo.jpg --output clip.mp4
              img2vid generate --image photo.jpg --output clip.webm \\
                  --model Weights/stable-video-diffusion-img2vid-xt --variant fp16 \\
                  --num-frames 14 --width 512 --height 320 --steps 15 --seed 7
              img2vid generate --image photo.png --output clip.gif --seed 3 \\
                  --save-frames frames/ --json

            Exit codes: 0 ok, 2 usage error, 3 bad input image, 4 bad model or weights,
            5 rejected by moderation, 130 interrupted, 1 anything else.
            """
    )

    @Option(help: "Input image (PNG, JPEG or WebP).")
    var image: String

    @Option(help: "Output video: .mp4, .mkv, .webm or .gif.")
    var output: String

    @OptionGroup var model: ModelOptions

    @OptionGroup var pipelineOptions: PipelineOptions

    @Option(help: "Frame rate of the written video, if different from --fps.")
    var outputFps: Int?

    @Option(help: "Random seed: the same seed gives the same video as diffusers on CPU.")
    var seed: UInt64 = 0

    @Option(help: "Noise generator: torch (torch.randn-compatible, the only one).")
    var rng: String = "torch"

    @Option(help: "How to bring the image to --width x --height: crop (cover, centre-crop), fit (letterbox) or stretch.")
    var resize: ResizeMode = .crop

    @Option(help: "Refuse input images with more pixels than this.")
    var maxInputPixels: Int = ImageDecoder.defaultMaxPixels

    @Option(help: "Also write every frame as PNG (frame_00.png, ...) into this folder.")
    var saveFrames: String?

    @Option(help: "H.264/VP9 quality, lower is better (default 18 for H.264).")
    var crf: Int?

    @Flag(help: "Replace an existing output file.")
    var overwrite = false

    @OptionGroup var moderation: ModerationOptions
    @OptionGroup var guidance: GuidanceOptions
    @OptionGroup var precision: PrecisionOptions
    @OptionGroup var runtime: RuntimeOptions
    @OptionGroup var reporting: ReportingOptions

    func validate() throws {
        guard rng == "torch" else { throw ValidationError("--rng supports only 'torch'") }
    }

    func run() async throws {
        runtime.apply()
        var request = GenerationRequest(imagePath: image, outputPath: output, modelPath: try model.resolvedPath())
        request.variant = model.variant
        request.overwrite = overwrite
        request.resize = resize
        request.maxInputPixels = maxInputPixels
        request.saveFramesDirectory = saveFrames
        request.crf = crf
        request.outputFPS = outputFps
        pipelineOptions.apply(to: &request)
        request.seed = seed
        request.precision = precision.setting
        request.conceptGuidance = guidance.settings
        request.userTexts = moderation.texts + request.conceptTexts

        let cancellation = CancellationFlag()
        let signals = SignalTrap(cancellation)
        defer { withExtendedLifetime(signals) {} }
        let progress = ProgressDisplay(enabled: reporting.showsProgress)
        var running: RunningRequest<GenerationResult>?
        do {
            let engine = runtime.engine(moderation: try moderation.layer(quiet: reporting.quiet))
            running = engine.start(request, cancellation: cancellation)
            for await event in running!.events { progress.handle(event) }
            let result = try await running!.value()
            var report = GenerateReport(result: result)
            report.moderation = result.moderation
            progress.finish("wrote \(result.outputPath)")
            ModerationOptions.printNotes(report.moderation, except: nil, quiet: reporting.quiet)
            reporting.emit(report)
        } catch let error as GenerationError {
            progress.abandon()
            var failed = GenerateReport(error: error, request: request)
            failed.moderation = running?.decisions ?? []
            ModerationOptions.printNotes(failed.moderation, except: error.description, quiet: reporting.quiet)
            reporting.fail(error.description, exitCode: error.exitCode, report: failed)
            throw ExitCode(error.exitCode)
        }
    }
}
