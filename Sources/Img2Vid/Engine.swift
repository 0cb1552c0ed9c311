import Foundation
import Media
import Moderation
import SVD
import Tensor

/// The engine of a process (a command, a server, a worker): it owns the loaded models and the
/// moderation layer's configuration, and runs requests, any number at once. Every command goes
/// through it: `generate`, `compare`, `check`, `bench` and `inspect`.
///
/// A request is self-contained (`RunningRequest`): its own cancellation, its own progress stream,
/// its own moderation decisions and audit records. The engine holds only what requests share:
/// the model cache (`models`, keyed by `ModelKey`, bounded by a byte budget, one load per model
/// however many requests wait for it) and the `ModerationLayer` (configuration only).
///
/// A request's precision (`PrecisionSetting`) is resolved once when it starts; it is part of the
/// key of the model the request uses, its model work runs inside
/// `ComputePrecision.$current.withValue(resolved)`, and the result reports it.
///
/// Each request's blocking work runs on a thread of its own (`WorkerThread`), never on one of Swift
/// concurrency's cooperative threads.
public final class Engine: Sendable {
    /// The loaded models, shared by every request.
    public let models: ModelCache
    /// The moderation layer (policy and detectors), nil to run without one.
    public let moderation: ModerationLayer?

    public init(modelCacheBytes: Int = ModelCache.defaultBudgetBytes, moderation: ModerationLayer? = nil) {
        self.models = ModelCache(budgetBytes: modelCacheBytes)
        self.moderation = moderation
    }

    // MARK: Requests

    /// Starts a generation: one image in, one video file out.
    public func start(_ request: GenerationRequest, cancellation: CancellationFlag = CancellationFlag()) -> RunningRequest<GenerationResult> {
        start(request, moderation: moderation, cancellation: cancellation)
    }

    /// Starts a generation under `moderation` instead of the engine's own layer (nil: none). A
    /// server holds one engine (one model cache) and each API key its own policy: the request runs
    /// under its key's layer, the models stay shared.
    public func start(_ request: GenerationRequest, moderation: ModerationLayer?,
                      cancellation: CancellationFlag = CancellationFlag()) -> RunningRequest<GenerationResult> {
        let precision = request.precision.resolved()
        return launch(precision: precision, cancellation: cancellation) { [self] context in
            let generator = VideoGenerator(request: request, precision: precision, context: context, models: pipeline(for:))
            var result: GenerationResult
            if let moderation {
                result = try moderation.run(command: "generate", imagePath: request.imagePath, maxPixels: request.maxInputPixels,
                                            texts: request.userTexts, outputPath: request.outputPath, context: context) { input, review in
                    let r = try generator.run(input: input, review: review)
                    return (r, r.outputPath)
                }
            } else {
                result = try generator.run(input: nil, review: nil)
            }
            result.moderation = context.decisions
            return result
        }
    }

    /// Runs a generation to its end: its result, or the `GenerationError` it ended with.
    /// Cancelling the calling task cancels it.
    public func generate(_ request: GenerationRequest, cancellation: CancellationFlag = CancellationFlag()) async throws -> GenerationResult {
        try await start(request, cancellation: cancellation).value()
    }

    /// Starts a comparison: the same seed under several guidance presets, written side by side.
    /// Moderated like a generation (audit command "compare").
    public func start(_ request: ComparisonRequest, cancellation: CancellationFlag = CancellationFlag()) -> RunningRequest<ComparisonReport> {
        let precision = request.generation.precision.resolved()
        return launch(precision: precision, cancellation: cancellation) { [self] context in
            let generation = request.generation
            // Output checks first: a bad extension or an existing file costs no work.
            let format = try VideoFormat.forPath(generation.outputPath)
            let target = try AtomicOutputFile(targetPath: generation.outputPath, overwrite: generation.overwrite)
            let comparison = VideoComparison(request: request, precision: precision, context: context, models: pipeline(for:))
            var result: ComparisonReport
            if let moderation {
                result = try moderation.run(command: "compare", imagePath: generation.imagePath, maxPixels: generation.maxInputPixels,
                                            texts: generation.userTexts, outputPath: generation.outputPath, context: context) { input, review in
                    try comparison.run(input: input, review: review, format: format, target: target)
                }
            } else {
                result = try comparison.run(input: nil, review: nil, format: format, target: target).0
            }
            result.moderation = context.decisions
            return result
        }
    }

    /// Starts a check: the moderation layer's input and prompt stages alone (`img2vid check`), no
    /// model. Its value is the decisions when the request would pass; it fails with
    /// `GenerationError.rejected` when it would not. Without a moderation layer it only decodes the
    /// image (a generation would fail on an unreadable one).
    public func start(_ request: CheckRequest) -> RunningRequest<[ModerationDecision]> {
        start(request, moderation: moderation)
    }

    /// Starts a check under `moderation` instead of the engine's own layer (a server's per-key policy).
    public func start(_ request: CheckRequest, moderation: ModerationLayer?) -> RunningRequest<[ModerationDecision]> {
        launch(precision: .f32, cancellation: CancellationFlag()) { context in
            guard let moderation else {
                _ = try InputImage.read(path: request.imagePath, maxPixels: request.maxInputPixels, hashing: false)
                return []
            }
            try moderation.run(command: "check", imagePath: request.imagePath, maxPixels: request.maxInputPixels,
                               texts: request.texts, outputPath: nil, context: context) { _, _ in ((), nil) }
            return context.decisions
        }
    }

    /// Starts a benchmark (`img2vid bench`); real weights come from the model cache.
    public func start(_ request: BenchmarkRequest, cancellation: CancellationFlag = CancellationFlag()) -> RunningRequest<BenchmarkResult> {
        let precision = request.precision.resolved()
        return launch(precision: precision, cancellation: cancellation) { [self] context in
            try Benchmark(precision: precision, context: context, models: pipeline(for:)).run(request)
        }
    }

    /// Starts an image concept's embedding (`img2vid concepts export --image`): the mean image
    /// embedding [1, 1, D] of exemplar files through the model's image encoder.
    public func startImageConcept(imagePaths: [String], modelPath: String, variant: String? = nil, maxPixels: Int,
                                  precision: PrecisionSetting = .auto) -> RunningRequest<Tensor> {
        let resolved = precision.resolved()
        return launch(precision: resolved, cancellation: CancellationFlag()) { [self] _ in
            let pipeline = try pipeline(for: ModelKey(folder: modelPath, variant: variant, precision: resolved)).pipeline
            return try VideoGenerator.imageConcept(imagePaths, pipeline: pipeline, maxPixels: maxPixels)
        }
    }

    /// Describes a model folder or a weight file (`img2vid inspect`); loads nothing into the cache.
    public func inspect(path: String, variant: String? = nil) -> ModelReport {
        ModelInspector.inspect(path: path, variant: variant)
    }

    // MARK: Models

    /// Loads the model of `key` into the cache ahead of any request (a server's `/readyz` turns
    /// ready once its default model is in). Loads nothing when it is there already.
    public func preload(_ key: ModelKey) async throws {
        try await launch(precision: key.precision, cancellation: CancellationFlag()) { [self] _ in
            _ = try pipeline(for: key)
        }.value()
    }

    /// The pipeline for `key` from the cache, loading it (once, however many requests ask) when
    /// it is not there. Called on a request's worker thread, inside its precision.
    func pipeline(for key: ModelKey) throws -> (pipeline: StableVideoDiffusionPipeline, loaded: Bool) {
        try models.pipeline(for: key) {
            let folder = try ModelFolder(path: key.folder, variant: key.variant)
            let pipeline = try StableVideoDiffusionPipeline.load(folder, unetWeights: key.unetWeights)
            return (pipeline, try Self.weightBytes(folder, unetWeights: key.unetWeights))
        }
    }

    /// Bytes of the weights a loaded pipeline holds: weights stay in their stored dtype (an f16
    /// checkpoint costs its f16 size), so this is the size of the tensors in its checkpoints.
    static func weightBytes(_ folder: ModelFolder, unetWeights: String?) throws -> Int {
        var checkpoints = [try folder.checkpoint(component: "vae", base: "diffusion_pytorch_model"),
                           try folder.checkpoint(component: "image_encoder", base: "model")]
        if let unetWeights {
            checkpoints.append(try SafeTensorsCheckpoint(path: unetWeights))
        } else {
            checkpoints.append(try folder.checkpoint(component: "unet", base: "diffusion_pytorch_model"))
        }
        return checkpoints.reduce(0) { total, checkpoint in
            total + checkpoint.names.reduce(0) { $0 + (checkpoint.entry($1).map { $0.dataRange.count } ?? 0) }
        }
    }

    // MARK: Running

    /// Runs `work` on a worker thread of its own, inside `precision`, with a new context: the
    /// request's progress stream, cancellation and records. Errors come out as `GenerationError`s.
    private func launch<Value: Sendable>(precision: ComputePrecision, cancellation: CancellationFlag,
                                         _ work: @escaping @Sendable (RequestContext) throws -> Value) -> RunningRequest<Value> {
        let (events, continuation) = AsyncStream.makeStream(of: GenerationEvent.self)
        let context = RequestContext(cancellation: cancellation, continuation: continuation)
        let task = Task<Value, Error> {
            defer { context.finish() }
            return try await withTaskCancellationHandler {
                try await WorkerThread.run {
                    do {
                        return try ComputePrecision.$current.withValue(precision) { try work(context) }
                    } catch {
                        throw GenerationError.wrap(error)
                    }
                }
            } onCancel: {
                cancellation.cancel()
            }
        }
        return RunningRequest(events: events, context: context, task: task)
    }
}
