import ConceptGuidance
import Foundation
import Img2Vid
import Moderation
import Tensor

/// The adapter from `TaskRunner` to the engine (docs/ARCHITECTURE.md, "The engine"): the only file
/// of the task layer that knows the engine's types.
///
/// One `Engine` serves the whole process: every worker slot starts its task on it, so a model
/// loaded for one task stays in its `ModelCache` for the next (and two slots asking for the same
/// model wait for one load). Each task is a `RunningRequest`: its progress comes from the request's
/// own event stream, a cancel reaches it through `RunningRequest.cancel()` (it stops within one
/// denoising step), and it runs under the `ModerationLayer` of its own policy (the server's default
/// or the submitting key's), built once per policy file and shared by the tasks that use it.
public final class EngineTaskRunner: TaskRunner {
    /// `model_name` -> model folder.
    public let models: [String: String]
    public let defaultModel: String
    /// The engine of this process (its model cache is shared by all slots).
    public let engine: Engine
    /// Folders searched for a policy's relative detector weights after the policy's own folder.
    public let weightFolders: [String]
    private let layers = Locked<[String: ModerationLayer]>([:])
    private let readiness = Locked<Bool>(false)

    public init(models: [String: String], defaultModel: String, engine: Engine = Engine(), weightFolders: [String] = []) {
        self.models = models
        self.defaultModel = defaultModel
        self.engine = engine
        self.weightFolders = weightFolders
    }

    /// Loads the default model into the engine's cache in the background (at the precision a task
    /// without `precision` runs at), to answer `/readyz`.
    public func warmUp() {
        guard let path = models[defaultModel] else { return }
        let key = ModelKey(folder: path, variant: Self.variant(of: path), precision: PrecisionSetting.auto.resolved())
        Task { [self] in
            do {
                try await engine.preload(key)
                readiness.value = true
            } catch {
                FileHandle.standardError.write(Data("img2vid serve: the default model \(defaultModel) (\(path)) does not load: \(error)\n".utf8))
            }
        }
    }

    public func isReady() async -> Bool { readiness.value }
    public func hasModel(_ modelName: String) -> Bool { models[modelName] != nil }
    public var modelLoadCount: Int { engine.models.loadCount }

    public func run(_ job: RunJob, progress: @escaping @Sendable (TaskProgress) -> Void, cancellation: RunCancellation) async throws -> RunOutput {
        guard let modelPath = models[job.input.modelName] else { throw TaskRunError.invalid("model_name: no model named \(job.input.modelName)") }
        let layer = try layer(policy: job.policy)
        let running = engine.start(Self.request(job, modelPath: modelPath), moderation: layer)
        cancellation.onCancel { running.cancel() }
        let reporter = Task {
            var tracker = ProgressTracker()
            for await event in running.events {
                if let p = tracker.handle(event) { progress(p) }
            }
        }
        defer { reporter.cancel() }
        do {
            let result = try await running.value()
            await reporter.value
            let p = result.parameters
            return RunOutput(outputPath: result.outputPath, duration: Double(p.numFrames) / Double(max(1, p.fps)), decisions: result.moderation)
        } catch let error as GenerationError {
            switch error {
            case .cancelled: throw TaskRunError.cancelled
            case .rejected(let message):
                let decisions = running.decisions
                let moderation = TaskModeration.decisive(in: decisions).map {
                    TaskModeration(decisive: $0, policy: layer?.moderator.policy.source ?? "none", decisions: decisions)
                }
                throw TaskRunError.rejected(message, moderation)
            case .usage(let message): throw TaskRunError.invalid(message)
            default: throw TaskRunError.failed(error.description)
            }
        }
    }

    public func preflight(imagePath: String, texts: [String], policy: String) async throws -> PreflightResult {
        guard let layer = try layer(policy: policy) else { return PreflightResult(decisions: [], rejection: nil, policySource: "none") }
        let source = layer.moderator.policy.source
        let running = engine.start(CheckRequest(imagePath: imagePath, texts: texts), moderation: layer)
        do {
            return PreflightResult(decisions: try await running.value(), rejection: nil, policySource: source)
        } catch let error as GenerationError {
            switch error {
            case .rejected:
                return PreflightResult(decisions: running.decisions, rejection: TaskModeration.decisive(in: running.decisions), policySource: source)
            case .image: throw TaskRunError.invalid("image: \(error.description)")
            default: throw TaskRunError.failed(error.description)
            }
        }
    }

    /// The moderation layer of a policy file (built on first use, then shared); nil for "none".
    public func layer(policy path: String) throws -> ModerationLayer? {
        if path == "none" { return nil }
        if let layer = layers.value[path] { return layer }
        do {
            var policy = try ModerationPolicy.load(path: path)
            policy.weightFolders = weightFolders
            let layer = try ModerationLayer(policy: policy)
            layers.withLock { $0[path] = layer }
            return layer
        } catch {
            throw TaskRunError.failed("the moderation policy \(path) cannot be used: \(GenerationError.wrap(error))")
        }
    }

    /// `fp16` for a folder that holds only `*.fp16.safetensors` UNet weights, else nil.
    public static func variant(of path: String) -> String? {
        let unet = (path as NSString).appendingPathComponent("unet")
        let fm = FileManager.default
        if fm.fileExists(atPath: (unet as NSString).appendingPathComponent("diffusion_pytorch_model.safetensors")) { return nil }
        return fm.fileExists(atPath: (unet as NSString).appendingPathComponent("diffusion_pytorch_model.fp16.safetensors")) ? "fp16" : nil
    }

    /// The engine's request for a task: its settings over the model's defaults, written to the
    /// worker's output path (which the worker owns, so overwriting is safe).
    static func request(_ job: RunJob, modelPath: String) -> GenerationRequest {
        var request = GenerationRequest(imagePath: job.imagePath, outputPath: job.outputPath, modelPath: modelPath)
        request.variant = variant(of: modelPath)
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
        request.precision = input.precision.flatMap(PrecisionSetting.init(rawValue:)) ?? .auto
        return request
    }

    /// Turns the engine's events into `TaskProgress` (stage, step of steps, seconds left).
    private struct ProgressTracker {
        var stage = "queued"
        var step = 0, steps = 0
        var stepSeconds: [Double] = []

        /// The progress after `event`; nil for events that change none of it.
        mutating func handle(_ event: GenerationEvent) -> TaskProgress? {
            switch event {
            case .stageStarted(let s):
                stage = s.rawValue
            case .step(let index, let count, let seconds):
                step = index
                steps = count
                stepSeconds.append(seconds)
            case .decoded, .stageFinished, .moderation, .message:
                return nil
            }
            var eta: Double?
            if !stepSeconds.isEmpty {
                let mean = stepSeconds.reduce(0, +) / Double(stepSeconds.count)
                eta = (mean * Double(steps - step) * 100).rounded() / 100
            }
            return TaskProgress(stage: stage, step: step, steps: steps, etaSeconds: eta)
        }
    }
}
