import ArgumentParser
import Foundation
import ConceptGuidance
import Img2Vid
import Tensor

extension BenchmarkComponent: ExpressibleByArgument {}

struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Time model components (real architecture, random or real weights).",
        discussion: """
            Components: unet (one forward, batch 1), image-encoder (one CLIP forward), vae-encode, \
            vae-decode (all frames as one chunk, or --decode-chunk-size N), step (one denoising \
            step: the UNet on the guidance batch of 2, plus a concept branch with --guidance \
            PRESET, and the scheduler step), pipeline (a whole request: image encoder, VAE encode, \
            every denoising step, chunked VAE decode and MP4 encode to a temporary file; each \
            stage's median time is reported). --cfg runs the unet component on the guidance batch \
            of 2. --scheduler animatelcm (with its defaults: 4 steps, guidance 1.0-1.2, bucket 80, \
            fps 8) and --unet FILE (single-file UNet weights, for example AnimateLCM-SVD-xt) apply \
            to step and pipeline.

            gflop counts 2 x multiply-adds of every GEMM, conv and attention from the shapes (as \
            torch.utils.flop_counter), on the first timed run. Inputs are deterministic random \
            tensors.

            Without a model download, --config with --random-weights builds the real architecture \
            from its configs (SVD-XT: the UNet alone is 1.5 B parameters, 6.1 GB in f32; \
            --weights-dtype f16 halves that).

            Examples:
              img2vid bench --config Models/svd-xt --random-weights --component unet \\
                  --num-frames 8 --width 256 --height 256
              img2vid bench --model Weights/stable-video-diffusion-img2vid-xt \\
                  --variant fp16 --component step --runs 3 --json
              OPENBLAS_CORETYPE=SkylakeX img2vid bench --config Models/svd-xt \\
                  --random-weights --component vae-decode --threads 2
              img2vid bench --config Models/svd-xt --random-weights \\
                  --component vae-decode --num-frames 14 --width 256 --height 256 \\
                  --runs 1 --profile
              img2vid bench --config Models/svd-xt --random-weights --weights-dtype f16 \\
                  --component pipeline --scheduler animatelcm --num-frames 14 \\
                  --width 512 --height 320 --runs 1 --warmup 0

            Exit codes: 0 ok, 2 usage error, 4 bad model or weights, 130 interrupted, \
            1 anything else.
            """
    )

    @Option(help: "A diffusers pipeline folder with weights.")
    var model: String?

    @Option(help: "Weight file variant of --model, for example fp16.")
    var variant: String?

    @Option(help: "A folder of component configs (unet/, vae/, image_encoder/, scheduler/), used with --random-weights.")
    var config: String?

    @Flag(help: "Build the models from --config with seeded random weights.")
    var randomWeights = false

    @Option(help: "Stored dtype of random weights: f32, f16 or bf16.")
    var weightsDtype: String = "f32"

    @Option(help: "Seed of the random weights.")
    var weightsSeed: UInt64 = 0

    @Option(help: "What to time: \(BenchmarkComponent.allCases.map(\.rawValue).joined(separator: ", ")).")
    var component: BenchmarkComponent

    @Option(help: "Frames (default: the UNet config's num_frames).")
    var numFrames: Int?

    @Option(help: "Width in pixels (default: the model's; SVD-XT: 1024).")
    var width: Int?

    @Option(help: "Height in pixels (default: the model's; SVD-XT: 576).")
    var height: Int?

    @Option(help: "Denoising steps of --component pipeline (default: the model's; SVD-XT: 25).")
    var steps: Int?

    @Option(help: "Timed runs.")
    var runs: Int = 3

    @Flag(help: "unet: run the classifier-free guidance batch of 2 ([uncond, cond]) instead of 1.")
    var cfg = false

    @Option(help: "step, pipeline: concept guidance preset (off, weak, medium, strong, max); adds one UNet branch with a random concept embedding.")
    var guidance: SLDConfiguration.Preset?

    @Option(help: "vae-decode, pipeline: frames per decoder call (default: the model's; SVD-XT: all frames in one call).")
    var decodeChunkSize: Int?

    @Option(help: "Untimed runs before the timed ones.")
    var warmup: Int = 1

    @Flag(help: "Time the first timed run per op category (gemm, im2col, norm, attention, elementwise, activation, copy, widen, pack, other) and print the shares.")
    var profile = false

    @OptionGroup var sampler: SamplerOptions

    @Option(help: "step, pipeline: guidance scale of the first frame (default: the sampler's; Euler 1.0, AnimateLCM 1.0).")
    var minGuidanceScale: Float?

    @Option(help: "step, pipeline: guidance scale of the last frame (default: the sampler's; Euler 3.0, AnimateLCM 1.2). 1 runs one UNet branch.")
    var maxGuidanceScale: Float?

    @Option(help: "pipeline: motion bucket (default: the sampler's; Euler 127, AnimateLCM 80).")
    var motionBucketId: Int?

    @Option(help: "pipeline: frame rate the UNet is conditioned on and the video plays at (default: the sampler's; Euler 7, AnimateLCM 8).")
    var fps: Int?
    @OptionGroup var precision: PrecisionOptions

    @OptionGroup var runtime: RuntimeOptions
    @OptionGroup var reporting: ReportingOptions

    func validate() throws {
        switch (model, config) {
        case (nil, nil): throw ValidationError("pass --model PATH (real weights) or --config DIR --random-weights")
        case (.some, .some): throw ValidationError("pass either --model or --config, not both")
        case (nil, .some) where !randomWeights: throw ValidationError("--config needs --random-weights (it holds configs, not weights)")
        case (.some, nil) where randomWeights: throw ValidationError("--random-weights goes with --config DIR, not --model")
        default: break
        }
        guard ["f32", "f16", "bf16"].contains(weightsDtype.lowercased()) else {
            throw ValidationError("--weights-dtype must be f32, f16 or bf16")
        }
        if variant != nil && model == nil { throw ValidationError("--variant goes with --model") }
        guard runs >= 1 else { throw ValidationError("--runs must be at least 1") }
        guard warmup >= 0 else { throw ValidationError("--warmup must be 0 or more") }
        if let decodeChunkSize, decodeChunkSize < 1 { throw ValidationError("--decode-chunk-size must be at least 1") }
    }

    func run() async throws {
        runtime.apply()
        let weights: BenchmarkRequest.Weights
        if let model {
            weights = .model(path: model, variant: variant)
        } else {
            weights = .random(configPath: config!, dtype: DType(rawValue: weightsDtype.uppercased())!, seed: weightsSeed)
        }
        var request = BenchmarkRequest(weights: weights, component: component)
        request.numFrames = numFrames
        request.width = width
        request.height = height
        request.steps = steps
        request.runs = runs
        request.warmup = warmup
        request.classifierFreeBatch = cfg
        request.conceptGuidance = guidance
        request.decodeChunkSize = decodeChunkSize
        request.scheduler = sampler.scheduler
        request.unetWeights = sampler.unet
        request.settings.minGuidanceScale = minGuidanceScale
        request.settings.maxGuidanceScale = maxGuidanceScale
        request.settings.motionBucketId = motionBucketId
        request.settings.fps = fps
        request.precision = precision.setting
        request.profilesOps = profile

        let cancellation = CancellationFlag()
        let signals = SignalTrap(cancellation)
        defer { withExtendedLifetime(signals) {} }
        let showProgress = reporting.showsProgress
        let result: BenchmarkResult
        do {
            let running = runtime.engine().start(request, cancellation: cancellation)
            for await event in running.events {
                if case .message(let line) = event, showProgress { Console.note(line) }
            }
            result = try await running.value()
        } catch let error as GenerationError {
            Console.error(error.description)
            if reporting.json {
                reporting.emit(["status": "error", "error": error.description, "exit_code": "\(error.exitCode)"])
            }
            throw ExitCode(error.exitCode)
        }
        if reporting.json {
            reporting.emit(result)
        } else if !reporting.quiet {
            FileHandle.standardOutput.write(Data(Self.table(result).utf8))
        }
    }

    static func table(_ r: BenchmarkResult) -> String {
        let header = ["component", "shape", "runs", "median s", "min s", "max s", "GFLOP", "GFLOP/s", "peak RSS", "threads", "precision", "f32 GEMM", "BLAS core", "weights"]
        let row = [r.component, r.shape, "\(r.runs)", String(format: "%.3f", r.medianSeconds), String(format: "%.3f", r.minSeconds),
                   String(format: "%.3f", r.maxSeconds), r.gflop.map { String(format: "%.0f", $0) } ?? "-",
                   r.gflopsPerSecond.map { String(format: "%.1f", $0) } ?? "-",
                   InspectCommand.bytes(r.peakRssBytes), "\(r.threads)", "\(r.precision) (\(r.cpuISA))", r.f32GEMM, r.blasCore,
                   "\(r.weights == "random" ? "random" : (r.weights as NSString).lastPathComponent) \(r.weightsDtype)"]
        var text = InspectCommand.grid([header, row], rightAligned: [2, 3, 4, 5, 6, 7, 8, 9]) + "\n"
        text += "\(r.numFrames) frames, \(r.width)x\(r.height)" + (r.steps.map { ", \($0) step\($0 == 1 ? "" : "s") per run" } ?? "")
            + ", \(InspectCommand.count(r.parameters)) parameters, built in " + String(format: "%.2f s", r.loadSeconds)
            + (r.scheduler.map { ", \($0) sampler" } ?? "") + "\n"
        if let stages = r.stageSeconds {
            let order = ["encode_image", "vae_encode", "denoise", "decode", "encode_video"]
            let names = order.filter { stages[$0] != nil } + stages.keys.filter { !order.contains($0) }.sorted()
            text += "stages (median s): " + names.map { String(format: "%@ %.2f", $0, stages[$0]!) }.joined(separator: ", ")
                + String(format: "; total %.2f s\n", r.medianSeconds)
        }
        if let profile = r.profileSeconds {
            let total = max(profile.values.reduce(0, +), 1e-9)
            text += "op profile of the first timed run (s, share): " + profile.sorted { $0.value > $1.value }
                .map { String(format: "%@ %.2f (%.1f%%)", $0.key, $0.value, 100 * $0.value / total) }.joined(separator: ", ") + "\n"
        }
        return text
    }
}
