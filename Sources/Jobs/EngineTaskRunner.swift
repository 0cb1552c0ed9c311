import ConceptGuidance
import Foundation
import Img2Vid
import Moderation
import SVD
import Tensor

/// The adapter from `TaskRunner` to today's engine facade (`VideoGenerator`, wrapped in
/// `ModeratedGenerator` when the task has a policy). The only file of the task layer that knows
/// the engine's types; it is re-pointed at the engine's loaded-model cache when that lands.
/// Each run happens on its own thread (the facade is synchronous and CPU-bound), so the
/// cooperative pool that serves HTTP is never blocked.
public final class EngineTaskRunner: TaskRunner, @unchecked Sendable {
    /// `model_name` -> model folder.
    public let models: [String: String]
    public let defaultModel: String
    private let readiness = NSLockShim()
    private var ready = false
    private var loadError: String?

    public init(models: [String: String], defaultModel: String) {
        self.models = models
        self.defaultModel = defaultModel
    }

    /// Loads the default model once, on a background thread, to answer `/readyz`.
    public func warmUp() {
        guard let path = models[defaultModel] else { return }
        Thread.detachNewThread { [self] in
            do {
                _ = try StableVideoDiffusionPipeline.load(ModelFolder(path: path, variant: Self.variant(of: path)))
                readiness.withLock { ready = true }
            } catch {
                readiness.withLock { loadError = "\(error)" }
                FileHandle.standardError.write(Data("img2vid serve: the default model \(defaultModel) (\(path)) does not load: \(error)\n".utf8))
            }
        }
    }

    public func isReady() async -> Bool { readiness.withLock { ready } }
    public func hasModel(_ modelName: String) -> Bool { models[modelName] != nil }

    public func run(_ job: RunJob, progress: @escaping @Sendable (TaskProgress) -> Void, cancellation: RunCancellation) async throws -> RunOutput {
        guard let modelPath = models[job.input.modelName] else { throw TaskRunError.invalid("model_name: no model named \(job.input.modelName)") }
        return try await onThread { try Self.generate(job, modelPath: modelPath, progress: progress, cancellation: cancellation) }
    }

    public func preflight(imagePath: String, texts: [String], policy: String) async throws -> PreflightResult {
        if policy == "none" { return PreflightResult(decisions: [], rejection: nil, policySource: "none") }
        return try await onThread {
            let moderated: ModeratedGenerator
            do {
                moderated = try ModeratedGenerator(UnusedGenerator(), policy: try ModerationPolicy.load(path: policy))
            } catch {
                throw TaskRunError.failed("the moderation policy \(policy) cannot be used: \(GenerationError.wrap(error))")
            }
            do {
                let decisions = try moderated.check(imagePath: imagePath, texts: texts, command: "serve")
                return PreflightResult(decisions: decisions, rejection: nil, policySource: policy)
            } catch let error as GenerationError {
                switch error {
                case .rejected:
                    return PreflightResult(decisions: moderated.decisions, rejection: TaskModeration.decisive(in: moderated.decisions),
                                           policySource: policy)
                case .image: throw TaskRunError.invalid("image: \(error.description)")
                default: throw TaskRunError.failed(error.description)
                }
            }
        }
    }

    /// `fp16` for a folder that holds only `*.fp16.safetensors` UNet weights, else nil.
    public static func variant(of path: String) -> String? {
        let unet = (path as NSString).appendingPathComponent("unet")
        let fm = FileManager.default
        if fm.fileExists(atPath: (unet as NSString).appendingPathComponent("diffusion_pytorch_model.safetensors")) { return nil }
        return fm.fileExists(atPath: (unet as NSString).appendingPathComponent("diffusion_pytorch_model.fp16.safetensors")) ? "fp16" : nil
    }

    // MARK: Running

    private static func generate(_ job: RunJob, modelPath: String, progress: @escaping @Sendable (TaskProgress) -> Void,
                                 cancellation: RunCancellation) throws -> RunOutput {
        let flag = CancellationFlag()
        cancellation.onCancel { flag.cancel() }
        var request = GenerationRequest(imagePath: job.imagePath, outputPath: job.outputPath, modelPath: modelPath)
        request.variant = Self.variant(of: modelPath)
        let input = job.input
        request.overwrite = true
        request.numFrames = input.numFrames
        request.settings.width = input.width
        request.settings.height = input.height
        request.settings.numInferenceSteps = input.steps
        request.settings.fps = input.fps
        request.settings.motionBucketId = input.motionBucketId
        request.settings.noiseAugStrength = input.noiseAugStrength.map { Float($0) }
        request.settings.minGuidanceScale = input.minGuidanceScale.map { Float($0) }
        request.settings.maxGuidanceScale = input.maxGuidanceScale.map { Float($0) }
        request.seed = input.seed ?? 0
        if let preset = input.guidance.flatMap(SLDConfiguration.Preset.init(rawValue:)) { request.conceptGuidance.preset = preset }
        request.userTexts = input.userTexts

        var generator: Generator = VideoGenerator(cancellation: flag)
        var moderated: ModeratedGenerator?
        var policySource = "none"
        if job.policy != "none" {
            do {
                let policy = try ModerationPolicy.load(path: job.policy)
                policySource = policy.source
                moderated = try ModeratedGenerator(generator, policy: policy)
                generator = moderated!
            } catch {
                throw TaskRunError.failed("the moderation policy \(job.policy) cannot be used: \(GenerationError.wrap(error))")
            }
        }
        let tracker = ProgressTracker(report: progress)
        let precision = PrecisionSetting(rawValue: input.precision ?? "f32")?.resolved() ?? .f32
        do {
            let result = try ComputePrecision.$current.withValue(precision) {
                try generator.generate(request) { tracker.handle($0) }
            }
            let p = result.parameters
            return RunOutput(outputPath: result.outputPath, duration: Double(p.numFrames) / Double(max(1, p.fps)),
                             decisions: moderated?.decisions ?? [])
        } catch let error as GenerationError {
            switch error {
            case .cancelled: throw TaskRunError.cancelled
            case .rejected(let message):
                let decisions = moderated?.decisions ?? []
                let moderation = TaskModeration.decisive(in: decisions).map {
                    TaskModeration(decisive: $0, policy: policySource, decisions: decisions)
                }
                throw TaskRunError.rejected(message, moderation)
            case .usage(let message): throw TaskRunError.invalid(message)
            default: throw TaskRunError.failed(error.description)
            }
        }
    }

    /// Turns the engine's events into `TaskProgress` (stage, step of steps, seconds left).
    private final class ProgressTracker: @unchecked Sendable {
        let report: @Sendable (TaskProgress) -> Void
        var stage = "queued"
        var step = 0, steps = 0
        var stepSeconds: [Double] = []

        init(report: @escaping @Sendable (TaskProgress) -> Void) { self.report = report }

        func handle(_ event: GenerationEvent) {
            switch event {
            case .stageStarted(let s):
                stage = s.rawValue
            case .step(let index, let count, let seconds):
                step = index
                steps = count
                stepSeconds.append(seconds)
            case .decoded, .stageFinished:
                return
            }
            var eta: Double?
            if !stepSeconds.isEmpty {
                let mean = stepSeconds.reduce(0, +) / Double(stepSeconds.count)
                eta = (mean * Double(steps - step) * 100).rounded() / 100
            }
            report(TaskProgress(stage: stage, step: step, steps: steps, etaSeconds: eta))
        }
    }

    /// The preflight never generates.
    private final class UnusedGenerator: Generator {
        func generate(_ request: GenerationRequest, events: (GenerationEvent) -> Void) throws -> GenerationResult {
            throw GenerationError.usage("preflight does not generate")
        }
    }

    private func onThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread {
                do { continuation.resume(returning: try body()) } catch { continuation.resume(throwing: error) }
            }
        }
    }
}
