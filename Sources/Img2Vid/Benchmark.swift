import ConceptGuidance
import Diffusion
import Foundation
import Media
import SVD
import Tensor

/// `img2vid bench`: times one component of the SVD pipeline on a real model folder or on the real
/// architecture with seeded random weights (`RandomWeights`), on deterministic random inputs
/// (`TorchGenerator`, seed `inputSeed`). `warmup` untimed runs, then `runs` timed ones; the result
/// has the median, min and max, peak RSS, threads and the OpenBLAS kernel.
///
/// Only the models a component needs are built (the SVD-XT UNet alone is 1.5 B parameters: 6.1 GB
/// in f32, half in f16). `step` and `pipeline` need all three models. Real weights (`--model`)
/// come through the engine's model cache like a generation's; random ones are built per run.
/// Runs on the request's worker thread with the request's context (progress lines, cancellation).
struct Benchmark {
    let precision: ComputePrecision
    let context: RequestContext
    /// The engine's model cache.
    let models: (ModelKey) throws -> (pipeline: StableVideoDiffusionPipeline, loaded: Bool)

    /// Runs the benchmark. Errors are `GenerationError`s (usage 2, model 4, cancelled 130).
    /// Each stage and run is reported as a `.message` event.
    func run(_ request: BenchmarkRequest) throws -> BenchmarkResult {
        do {
            var result = try measure(request, progress: { context.emit(.message($0)) })
            result.precision = precision.rawValue
            result.cpuISA = OneDNN.isaName
            result.f32GEMM = GEMM.f32LibraryName
            return result
        } catch {
            throw GenerationError.wrap(error)
        }
    }

    /// Models, with what they cost.
    private struct Loaded {
        var unet: UNetSpatioTemporalConditionModel?
        var vae: AutoencoderKLTemporalDecoder?
        var imageEncoder: CLIPVisionModelWithProjection?
        var parameters = 0
        var dtypeCounts: [String: Int] = [:]
    }

    private func measure(_ request: BenchmarkRequest, progress: (String) -> Void) throws -> BenchmarkResult {
        guard request.runs >= 1 else { throw GenerationError.usage("--runs must be at least 1") }
        guard request.warmup >= 0 else { throw GenerationError.usage("--warmup must be 0 or more") }

        let folder: ModelFolder
        let weightsLabel: String
        switch request.weights {
        case .model(let path, let variant):
            folder = try ModelFolder(path: path, variant: variant)
            weightsLabel = path
        case .random(let path, let dtype, _):
            guard [.f32, .f16, .bf16].contains(dtype) else {
                throw GenerationError.usage("--weights-dtype must be f32, f16 or bf16")
            }
            folder = try ModelFolder(path: path)
            weightsLabel = "random"
        }

        // Settings: the pipeline's defaults for this model (its img2vid.json over diffusers'), then
        // the request's, as `generate` takes them.
        let unetConfig = try folder.config(UNetConfig.self, component: "unet")
        let vaeConfig = try folder.config(VAEConfig.self, component: "vae")
        let sizeMultiple = 1 << (max(vaeConfig.blockOutChannels.count, 1) - 1)
        // The sampler: the folder's, or --scheduler's with its published settings (the folder's img2vid.json
        // sampler fields then do not apply), as `generate` chooses it; a value of this request only.
        let folderScheduler = try folder.loadScheduler()
        let scheduler = folderScheduler.choosing(request.scheduler)
        var p = StableVideoDiffusionPipeline.defaultParameters(numFrames: unetConfig.numFrames, folderScheduler: folderScheduler.kind,
                                                               requested: request.scheduler, modelDefaults: try ModelDefaults.load(folder))
        if let f = request.numFrames { p.numFrames = f; p.decodeChunkSize = f }
        if let w = request.width { p.width = w }
        if let h = request.height { p.height = h }
        p = request.settings.applied(to: p)
        if let s = request.steps { p.numInferenceSteps = s }
        p.seed = request.inputSeed
        if let c = request.decodeChunkSize { p.decodeChunkSize = c }
        try p.validate(sizeMultiple: sizeMultiple)

        let component = request.component
        let needs: Set<String>
        switch component {
        case .unet: needs = ["unet"]
        case .imageEncoder: needs = ["image_encoder"]
        case .vaeEncode, .vaeDecode: needs = ["vae"]
        case .step, .pipeline: needs = ["unet", "vae", "image_encoder", "scheduler"]
        }

        progress("building \(needs.sorted().joined(separator: ", ")) (\(weightsLabel == "random" ? "random weights" : weightsLabel))")
        let loadStart = Date()
        let loaded = try load(needs, folder: folder, weights: request.weights, unetWeights: request.unetWeights)
        let loadSeconds = Date().timeIntervalSince(loadStart)
        progress(String(format: "built in %.2f s: %@ parameters", loadSeconds, "\(loaded.parameters)"))
        try checkCancelled()

        var random = TorchGenerator(seed: request.inputSeed)
        let f = p.numFrames, h = p.height / sizeMultiple, w = p.width / sizeMultiple
        let addedIds = [Float(p.fps - 1), Float(p.motionBucketId), p.noiseAugStrength]
        let shape: String
        var steps: Int? = nil
        var work: () throws -> Void
        var stageRuns: [[String: Double]] = []

        switch component {
        case .unet:
            let unet = loaded.unet!
            let channels = unetConfig.inChannels
            let batch = request.classifierFreeBatch ? 2 : 1
            let sample = random.normal(shape: [batch, f, channels, h, w])
            let crossDim = unetConfig.crossAttentionDim.values(count: unetConfig.blockOutChannels.count).first ?? 1024
            let embedding = random.normal(shape: [batch, 1, crossDim])
            let ids = Tensor(shape: [batch, 3], scalars: Array((0..<batch).map { _ in addedIds }.joined()))
            let timestep = Float(0.25 * log(700.0))
            shape = describe([batch, f, channels, h, w])
            work = { _ = unet(sample, timestep: timestep, encoderHiddenStates: embedding, addedTimeIds: ids) }
        case .imageEncoder:
            let encoder = loaded.imageEncoder!
            let size = encoder.config.imageSize
            let pixels = random.normal(shape: [1, encoder.config.numChannels, size, size])
            shape = describe([1, encoder.config.numChannels, size, size])
            work = { _ = encoder(pixels) }
        case .vaeEncode:
            let vae = loaded.vae!
            let image = clampedImage(&random, [1, vaeConfig.inChannels, p.height, p.width])
            shape = describe([1, vaeConfig.inChannels, p.height, p.width])
            work = { _ = vae.encodeMode(image) }
        case .vaeDecode:
            let vae = loaded.vae!
            let z = random.normal(shape: [f, vaeConfig.latentChannels, h, w])
            let chunk = min(f, request.decodeChunkSize ?? f)
            guard chunk >= 1 else { throw GenerationError.usage("--decode-chunk-size must be at least 1") }
            shape = describe([f, vaeConfig.latentChannels, h, w]) + (chunk < f ? " in chunks of \(chunk)" : "")
            work = {
                for start in stride(from: 0, to: f, by: chunk) {
                    let n = min(chunk, f - start)
                    _ = vae.decode(slice(z, axis: 0, range: start..<(start + n)), frames: n)
                }
            }
        case .step:
            let pipeline = StableVideoDiffusionPipeline(unet: loaded.unet!, vae: loaded.vae!, imageEncoder: loaded.imageEncoder!,
                                                        scheduler: folderScheduler)
            var q = p
            q.numInferenceSteps = max(request.warmup + request.runs, 3)    // one real step per run
            q.maxGuidanceScale = max(q.maxGuidanceScale, 3)                 // the guidance batch of 2
            let image = clampedImage(&random, [1, 3, p.height, p.width])
            let guidance = conceptGuidance(request, random: &random, unetConfig: unetConfig)
            var denoiser = try pipeline.prepare(image: image, parameters: q, scheduler: scheduler, random: &random, guidance: guidance)
            shape = describe([2 + guidance.extraConditionings.count, f, unetConfig.inChannels, h, w])
            steps = 1
            work = { denoiser.step() }
        case .pipeline:
            let pipeline = StableVideoDiffusionPipeline(unet: loaded.unet!, vae: loaded.vae!, imageEncoder: loaded.imageEncoder!,
                                                        scheduler: folderScheduler)
            let image = clampedImage(&random, [1, 3, p.height, p.width])
            let parameters = p
            let guidance = conceptGuidance(request, random: &random, unetConfig: unetConfig)
            try pipeline.validate(parameters, scheduler: scheduler)
            shape = "image " + describe([1, 3, p.height, p.width]) + " -> \(f) frames, \(scheduler.kind.rawValue)"
            steps = p.numInferenceSteps
            // The whole request as `generate` runs it, stage by stage: image embedding, VAE encode (with the noise
            // augmentation and initial latents), every step, chunked decode, MP4 encode to a temporary file.
            work = { [context] in
                var stage: [String: Double] = [:]
                var start = Date()
                func lap(_ name: String) { stage[name] = Date().timeIntervalSince(start); start = Date() }
                let embedding = pipeline.encodeImage(image)
                lap("encode_image")
                var noise = TorchGenerator(seed: parameters.seed)
                var denoiser = try pipeline.prepare(image: image, parameters: parameters, scheduler: scheduler, random: &noise,
                                                    guidance: guidance, imageEmbedding: embedding)
                lap("vae_encode")
                while !denoiser.isFinished {
                    denoiser.step()
                    try context.checkCancelled()
                }
                lap("denoise")
                let decoded = pipeline.decode(denoiser.latents, chunkSize: parameters.decodeChunkSize)
                lap("decode")
                let path = (NSTemporaryDirectory() as NSString).appendingPathComponent("img2vid-bench-\(UUID().uuidString).mp4")
                defer { try? FileManager.default.removeItem(atPath: path) }
                do {
                    try VideoEncoder.encode(RGBImage.frames(fromNormalizedTensor: decoded), to: path,
                                            options: VideoEncoder.Options(fps: parameters.fps, outputFPS: nil, crf: nil))
                } catch {
                    throw GenerationError.output("bench: encoding the video failed: \(error)")
                }
                lap("encode_video")
                stageRuns.append(stage)
            }
        }

        var times: [Double] = []
        var timedStages: [[String: Double]] = []
        var gflop: Double? = nil
        var profile: [String: Double]? = nil
        for i in 0..<(request.warmup + request.runs) {
            let counting = (request.countsFLOPs || request.profilesOps) && i == request.warmup
            if counting { OpProfile.start(timing: request.profilesOps) }
            let start = Date()
            try work()
            let elapsed = Date().timeIntervalSince(start)
            if counting {
                OpProfile.stop()
                if request.countsFLOPs { gflop = OpProfile.flops / 1e9 }
                if request.profilesOps {
                    let seconds = OpProfile.seconds
                    var named = Dictionary(uniqueKeysWithValues: seconds.map { ($0.key.name, $0.value) })
                    named["other"] = max(0, elapsed - seconds.values.reduce(0, +))
                    profile = named
                    for (shape, e) in OpProfile.gemmShapes.sorted(by: { $0.value.seconds > $1.value.seconds }).prefix(12) {
                        progress(String(format: "gemm %@ (m x n x k, T = transposed): %d calls, %.3f s, %.1f GFLOP/s",
                                        shape, e.calls, e.seconds, e.flops / 1e9 / max(e.seconds, 1e-9)))
                    }
                }
            }
            let isWarmup = i < request.warmup
            if !isWarmup {
                times.append(elapsed)
                if let last = stageRuns.last, stageRuns.count == i + 1 { timedStages.append(last) }
            }
            progress(String(format: "%@ %d/%d: %.3f s", isWarmup ? "warmup" : "run", isWarmup ? i + 1 : i - request.warmup + 1,
                            isWarmup ? request.warmup : request.runs, elapsed))
            try checkCancelled()
        }

        let dtype: String
        switch request.weights {
        case .random(_, let d, _): dtype = d.rawValue.lowercased()
        case .model: dtype = loaded.dtypeCounts.max { ($0.value, $1.key) < ($1.value, $0.key) }?.key.lowercased() ?? "unknown"
        }
        var result = BenchmarkResult(component: component.rawValue, shape: shape, runSeconds: times, warmup: request.warmup,
                               loadSeconds: loadSeconds, peakRssBytes: ResourceUsage.peakResidentBytes, threads: Parallel.threads,
                               blasCore: BLAS.coreName, weights: weightsLabel, weightsDtype: dtype, parameters: loaded.parameters,
                               numFrames: f, width: p.width, height: p.height, steps: steps, gflop: gflop)
        if component == .step || component == .pipeline { result.scheduler = scheduler.kind.rawValue }
        result.profileSeconds = profile
        if !timedStages.isEmpty {
            var medians: [String: Double] = [:]
            for key in timedStages[0].keys {
                let values = timedStages.compactMap { $0[key] }.sorted()
                medians[key] = values.count % 2 == 1 ? values[values.count / 2] : (values[values.count / 2 - 1] + values[values.count / 2]) / 2
            }
            result.stageSeconds = medians
        }
        return result
    }

    /// Builds the named models from the folder's configs, with its checkpoints or random weights; the UNet with
    /// `unetWeights`' weights when given (`--unet`, whatever the other components' come from).
    private func load(_ needs: Set<String>, folder: ModelFolder, weights: BenchmarkRequest.Weights, unetWeights: String?) throws -> Loaded {
        var loaded = Loaded()
        func count(_ checkpoint: SafeTensorsCheckpoint) {
            for name in checkpoint.names {
                guard let entry = checkpoint.entry(name) else { continue }
                loaded.parameters += entry.shape.reduce(1, *)
                loaded.dtypeCounts[entry.dtype.rawValue, default: 0] += 1
            }
        }
        // The weights the UNet was loaded from (the model key's file, as the engine counts them).
        func unetCheckpoint() throws -> SafeTensorsCheckpoint {
            try unetWeights.map { try SafeTensorsCheckpoint(path: $0) } ?? folder.checkpoint(component: "unet", base: "diffusion_pytorch_model")
        }
        switch weights {
        case .model(let path, let variant):
            // A component without the UNet shares the folder's cached model.
            let key = ModelKey(folder: path, variant: variant, precision: precision, unetWeights: needs.contains("unet") ? unetWeights : nil)
            let pipeline = try models(key).pipeline
            if needs.contains("unet") { loaded.unet = pipeline.unet; count(try unetCheckpoint()) }
            if needs.contains("vae") { loaded.vae = pipeline.vae; count(try folder.checkpoint(component: "vae", base: "diffusion_pytorch_model")) }
            if needs.contains("image_encoder") { loaded.imageEncoder = pipeline.imageEncoder; count(try folder.checkpoint(component: "image_encoder", base: "model")) }
        case .random(_, let dtype, let seed):
            if needs.contains("unet") {
                if unetWeights != nil {
                    loaded.unet = try folder.loadUNet(weightsFile: unetWeights)
                    count(try unetCheckpoint())
                } else {
                    let source = RandomWeights(seed: seed, dtype: dtype)
                    loaded.unet = try folder.buildUNet(weights: source)
                    loaded.parameters += source.parameterCount
                }
            }
            if needs.contains("vae") {
                let source = RandomWeights(seed: seed &+ 1, dtype: dtype)
                loaded.vae = try folder.buildVAE(weights: source)
                loaded.parameters += source.parameterCount
            }
            if needs.contains("image_encoder") {
                let source = RandomWeights(seed: seed &+ 2, dtype: dtype)
                loaded.imageEncoder = try folder.buildImageEncoder(weights: source)
                loaded.parameters += source.parameterCount
            }
        }
        return loaded
    }

    /// The guidance of `step`/`pipeline`: classifier-free, or Safe Latent Diffusion with the
    /// request's preset and one deterministic random concept embedding (same cost as a real one).
    private func conceptGuidance(_ request: BenchmarkRequest, random: inout TorchGenerator, unetConfig: UNetConfig) -> any Guidance {
        guard let preset = request.conceptGuidance, let configuration = preset.configuration else { return ClassifierFreeGuidance() }
        let crossDim = unetConfig.crossAttentionDim.values(count: unetConfig.blockOutChannels.count).first ?? 1024
        return SafeLatentGuidance(configuration: configuration, concepts: [random.normal(shape: [1, 1, crossDim])])
    }

    /// A deterministic stand-in image in [-1, 1]: normal noise scaled by 0.5, clamped.
    private func clampedImage(_ random: inout TorchGenerator, _ shape: [Int]) -> Tensor {
        var t = random.normal(shape: shape)
        t.withUnsafeMutableBufferPointer { p in
            for i in p.indices { p[i] = min(1, max(-1, 0.5 * p[i])) }
        }
        return t
    }

    private func describe(_ shape: [Int]) -> String { "[" + shape.map(String.init).joined(separator: ", ") + "]" }

    private func checkCancelled() throws {
        try context.checkCancelled()
    }
}
