import Diffusion
import Foundation
import Media
import SVD
import SVDTestSupport
import Tensor
import TestSupport
import XCTest

/// AnimateLCM-SVD sampling through the whole pipeline against diffusers' StableVideoDiffusionPipeline with the
/// reference transcription of the authors' scheduler (Scripts/reference/animatelcm_fixtures.py), on the tiny
/// random-weight pipeline (Fixtures/tiny/pipeline, fp16 files run in float32), seeded as the authors' demo seeds:
/// `torch.manual_seed(seed)`, one stream for the noise augmentation, the initial latents and every step's noise.
///
/// Tolerances: initial latents 1e-6 (same draws, one float32 multiply); sigmas exact; timesteps 1 ulp; latents after
/// each step and final latents 1e-4 max-norm relative (UNet float32 rounding, no amplification: the consistency step
/// replaces the sample by the denoised estimate plus fresh noise); frames 40 dB PSNR or better per frame on uint8
/// (the issue's bar; measured values are printed).
final class AnimateLCMPipelineTests: XCTestCase {
    func testOneStep() throws { try checkRun("s1") }
    func testTwoStepsGuided() throws { try checkRun("s2") }
    func testFourStepsDemoSettings() throws { try checkRun("s4") }
    func testFourStepsSingleBranchNonSquare() throws { try checkRun("s4-single") }
    func testEightSteps() throws { try checkRun("s8") }

    /// The tiny pipeline (its folder names diffusers' Euler scheduler); `unetWeights` as `--unet`.
    func tinyPipeline(unetWeights: String? = nil) throws -> StableVideoDiffusionPipeline {
        try StableVideoDiffusionPipeline.load(ModelFolder(path: fixturePath("tiny/pipeline"), variant: "fp16"), unetWeights: unetWeights)
    }

    /// `--scheduler animatelcm`: the request's sampler, the authors' published settings.
    let lcm = SchedulerSettings.defaults(for: .animatelcm)

    func checkRun(_ name: String) throws {
        let trace = try Fixture("animatelcm/trace-\(name).safetensors")
        let pipeline = try tinyPipeline()
        let expectedConfig = try JSONDecoder().decode(AnimateLCMSchedulerConfig.self,
                                                      from: Data(contentsOf: URL(fileURLWithPath: fixturePath("animatelcm/scheduler_config.json"))))
        XCTAssertEqual(pipeline.scheduler.choosing(.animatelcm), .animateLCM(expectedConfig))
        let p = SVDParameters(trace: trace)
        let image = try ImageDecoder.decode(path: fixturePath(trace.string("input")))
        let input = image.normalizedTensor().reshaped([1, 3, p.height, p.width])

        var random = TorchGenerator(seed: p.seed)
        var denoiser = try pipeline.prepare(image: input, parameters: p, scheduler: lcm, random: &random)
        XCTAssertEqual(denoiser.runsUnconditionalBranch, trace.string("do_classifier_free_guidance") == "1")
        assertClose(denoiser.latents, try trace.tensor("init_latents"), tolerance: 1e-6, "\(name): initial latents")
        XCTAssertEqual(denoiser.scheduler.sigmas, try trace.floats("sigmas"), "\(name): sigmas")
        for (a, b) in zip(denoiser.scheduler.timesteps, try trace.floats("timesteps")) {
            XCTAssertLessThanOrEqual(ulpDistance(a, b), 1, "\(name): timesteps \(a) vs \(b)")
        }
        var worstStep: Float = 0
        for i in 0..<denoiser.stepCount {
            denoiser.step()
            let error = maxRelativeError(denoiser.latents, try trace.tensor("step\(i).latents"))
            worstStep = max(worstStep, error)
            XCTAssertLessThanOrEqual(error, 1e-4, "\(name): latents after step \(i)")
        }
        let finalError = maxRelativeError(denoiser.latents, try trace.tensor("final_latents"))
        XCTAssertLessThanOrEqual(finalError, 1e-4, "\(name): final latents")

        let decoded = pipeline.decode(denoiser.latents, chunkSize: p.decodeChunkSize)
        let frames = RGBImage.frames(fromNormalizedTensor: decoded)
        XCTAssertEqual(frames.count, p.numFrames)
        let reference = try trace.file.tensor("frames_u8")
        assertFramesPSNR(frames.map(\.pixels), reference, atLeast: 40)
        let frameSize = reference.shape.suffix(3).reduce(1, *)
        let psnrs = frames.enumerated().map { f, frame in psnr(frame.pixels, Array(reference.bytes[(f * frameSize)..<((f + 1) * frameSize)])) }
        print(String(format: "AnimateLCM parity %@: %d steps, seed %@, guidance %@-%@: worst step latents %.2e, final %.2e; frame PSNR min %.1f dB, mean %.1f dB",
                     name, p.numInferenceSteps, "\(p.seed)", "\(p.minGuidanceScale)", "\(p.maxGuidanceScale)",
                     worstStep, finalError, psnrs.min()!, psnrs.filter(\.isFinite).reduce(0, +) / Double(max(psnrs.filter(\.isFinite).count, 1))))
    }

    /// Guidance 1 runs one UNet branch per step (half the work of the guided batch), and that branch alone is what
    /// the two-branch computation gives at scale 1: u + 1 (c - u) = c up to float32 rounding of the subtraction.
    func testGuidanceOneRunsOneBranchWithTheSameResult() throws {
        let pipeline = try tinyPipeline()
        let trace = try Fixture("animatelcm/trace-s4-single.safetensors")
        var p = SVDParameters(trace: trace)
        XCTAssertEqual(p.maxGuidanceScale, 1)
        let image = try ImageDecoder.decode(path: fixturePath(trace.string("input")))
        let input = image.normalizedTensor().reshaped([1, 3, p.height, p.width])

        var random = TorchGenerator(seed: p.seed)
        var single = try pipeline.prepare(image: input, parameters: p, scheduler: lcm, random: &random)
        XCTAssertFalse(single.runsUnconditionalBranch)
        XCTAssertEqual(single.branchesPerStep, 1)
        let before = single.latents
        OpProfile.start()
        single.step()
        OpProfile.stop()
        let singleFlops = OpProfile.flops

        // The same step by hand with both branches in one batch, combined at scale 1 for every frame.
        let frames = p.numFrames
        let sample = before.reshaped(Array([frames] + before.shape[2...]))
        var scheduler = try AnimateLCMScheduler()
        try scheduler.setTimesteps(p.numInferenceSteps)
        let scaled = scheduler.scaleModelInput(sample, stepIndex: 0)
        let batch = concat([concat([scaled, Tensor(zeros: single.imageLatents.shape)], axis: 1),
                            concat([scaled, single.imageLatents], axis: 1)], axis: 0).reshaped([2, frames, 8] + Array(sample.shape[2...]))
        let ids = [Float(p.fps - 1), Float(p.motionBucketId), p.noiseAugStrength]
        OpProfile.start()
        let out = pipeline.unet(batch, timestep: scheduler.timesteps[0],
                                encoderHiddenStates: concat([Tensor(zeros: single.imageEmbedding.shape), single.imageEmbedding], axis: 0),
                                addedTimeIds: Tensor(shape: [2, 3], scalars: ids + ids))
        OpProfile.stop()
        let pairFlops = OpProfile.flops
        XCTAssertEqual(singleFlops / pairFlops, 0.5, accuracy: 0.01, "one branch costs half the guided batch")
        let branches = chunk(out.reshaped(Array([2 * frames] + out.shape[2...])), 2, axis: 0)
        let guided = ClassifierFreeGuidance.guide(uncond: branches[0], cond: branches[1], frameScales: Array(repeating: 1, count: frames))
        XCTAssertLessThanOrEqual(maxRelativeError(guided, branches[1]), 1e-6, "u + 1 (c - u) vs c")
        // The step's noise: the stream after noise augmentation and initial latents.
        var stream = TorchGenerator(seed: p.seed)
        _ = stream.normal(shape: [1, 3, p.height, p.width])
        _ = stream.normal(shape: before.shape)
        let twoBranch = scheduler.step(modelOutput: guided, stepIndex: 0, sample: sample, random: &stream)
        XCTAssertLessThanOrEqual(maxRelativeError(single.latents.reshaped(twoBranch.shape), twoBranch), 1e-5,
                                 "single-branch step vs two branches at guidance 1")

        // With guidance above 1 the batch has both branches.
        p.maxGuidanceScale = 1.2
        var rnd = TorchGenerator(seed: p.seed)
        let guidedDenoiser = try pipeline.prepare(image: input, parameters: p, scheduler: lcm, random: &rnd)
        XCTAssertTrue(guidedDenoiser.runsUnconditionalBranch)
        XCTAssertEqual(guidedDenoiser.branchesPerStep, 2)
    }

    /// The image embedding passed to `prepare` is used as is (the caller computed it once); the image latents are
    /// computed in `prepare` and reused by every step.
    func testConditioningIsComputedOncePerRequest() throws {
        let pipeline = try tinyPipeline()
        var p = SVDParameters(numFrames: 4)
        p.width = 32
        p.height = 32
        p.numInferenceSteps = 2
        let input = Tensor(shape: [1, 3, 32, 32], scalars: (0..<(3 * 32 * 32)).map { Float(($0 * 37) % 200) / 100 - 1 })
        let embedding = pipeline.encodeImage(input)
        var counting = TorchGenerator(seed: 3)
        OpProfile.start()
        _ = try pipeline.prepare(image: input, parameters: p, scheduler: lcm, random: &counting, imageEmbedding: embedding)
        OpProfile.stop()
        let withEmbedding = OpProfile.flops
        var again = TorchGenerator(seed: 3)
        OpProfile.start()
        var denoiser = try pipeline.prepare(image: input, parameters: p, scheduler: lcm, random: &again)
        OpProfile.stop()
        let withoutEmbedding = OpProfile.flops
        OpProfile.start()
        _ = pipeline.encodeImage(input)
        OpProfile.stop()
        XCTAssertEqual(withoutEmbedding - withEmbedding, OpProfile.flops, accuracy: 1, "prepare encodes the image exactly once")
        let imageLatents = denoiser.imageLatents
        let embeddingUsed = denoiser.imageEmbedding
        XCTAssertEqual(embeddingUsed.scalars, embedding.scalars)
        // Every step is one UNet call on the guidance batch (guidance 1 -> 3 here: 2 branches) plus elementwise
        // work: no CLIP or VAE-encoder work per step.
        XCTAssertEqual(denoiser.branchesPerStep, 2)
        OpProfile.start()
        pipeline.unet(Tensor(zeros: [1, 4, 8, 4, 4]), timestep: 0, encoderHiddenStates: embeddingUsed,
                      addedTimeIds: Tensor(shape: [1, 3], scalars: [7, 80, 0.02]))
        OpProfile.stop()
        let unetFlops = OpProfile.flops
        for _ in 0..<2 {
            OpProfile.start()
            denoiser.step()
            OpProfile.stop()
            XCTAssertEqual(OpProfile.flops, 2 * unetFlops, accuracy: unetFlops * 1e-9, "one step = one UNet forward of 2 branches")
        }
        XCTAssertEqual(denoiser.imageLatents.scalars, imageLatents.scalars)
    }

    /// A model folder whose scheduler_config.json names AnimateLCMSVDStochasticIterativeScheduler selects it, with the
    /// authors' defaults; a request's `--scheduler` switches either way, as a value: the loaded pipeline (shared
    /// by concurrent requests) keeps its own sampler and defaults.
    func testFolderSchedulerConfigSelectsAnimateLCM() throws {
        let folder = try temporaryCopyOfTinyPipeline()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try FileManager.default.removeItem(atPath: folder + "/scheduler/scheduler_config.json")
        try FileManager.default.copyItem(atPath: fixturePath("animatelcm/scheduler_config.json"), toPath: folder + "/scheduler/scheduler_config.json")
        let pipeline = try StableVideoDiffusionPipeline.load(ModelFolder(path: folder, variant: "fp16"))
        XCTAssertEqual(pipeline.scheduler, .animateLCM(.animateLCMSVD))
        for d in [pipeline.defaultParameters(), pipeline.defaultParameters(scheduler: .animatelcm)] {
            XCTAssertEqual([d.numInferenceSteps, d.motionBucketId, d.fps], [4, 80, 8])
            XCTAssertEqual([d.minGuidanceScale, d.maxGuidanceScale], [1.0, 1.2])
            XCTAssertEqual(d.numFrames, pipeline.unet.config.numFrames)
            XCTAssertEqual([d.width, d.height], [1024, 576])
        }
        XCTAssertEqual(pipeline.scheduler.choosing(nil), pipeline.scheduler)
        XCTAssertEqual(pipeline.scheduler.choosing(.euler), .euler(.stableVideoDiffusion))
        let euler = pipeline.defaultParameters(scheduler: .euler)
        XCTAssertEqual([euler.numInferenceSteps, euler.motionBucketId, euler.fps], [25, 127, 7])
        XCTAssertEqual(euler.maxGuidanceScale, 3)
        // Asking for another sampler changed nothing in the pipeline.
        XCTAssertEqual(pipeline.scheduler, .animateLCM(.animateLCMSVD))
        XCTAssertEqual(pipeline.defaultParameters().numInferenceSteps, 4)

        // The fixture folder (Euler) with AnimateLCM asked for; its own Euler config otherwise.
        let tiny = try tinyPipeline()
        XCTAssertEqual(tiny.scheduler.kind, .euler)
        XCTAssertEqual(tiny.scheduler.choosing(.animatelcm), lcm)
        XCTAssertEqual(tiny.defaultParameters(scheduler: .animatelcm).numInferenceSteps, 4)
        XCTAssertEqual(tiny.defaultParameters().numInferenceSteps, 25)
    }

    /// A folder's img2vid.json written for its own sampler does not set the steps or guidance of another one.
    func testSwitchingSamplerDropsTheFoldersSamplerDefaults() throws {
        let folder = try temporaryCopyOfTinyPipeline()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try #"{"width": 64, "height": 40, "num_inference_steps": 12, "max_guidance_scale": 2.0, "fps": 7}"#
            .write(toFile: folder + "/img2vid.json", atomically: true, encoding: .utf8)
        let pipeline = try StableVideoDiffusionPipeline.load(ModelFolder(path: folder, variant: "fp16"))
        XCTAssertEqual(pipeline.defaultParameters().numInferenceSteps, 12)
        XCTAssertEqual(pipeline.defaultParameters(scheduler: .euler).numInferenceSteps, 12)
        let d = pipeline.defaultParameters(scheduler: .animatelcm)
        XCTAssertEqual([d.numInferenceSteps, d.fps, d.width, d.height], [4, 8, 64, 40])
        XCTAssertEqual(d.maxGuidanceScale, 1.2)
    }

    func testTooManyStepsIsAUsageErrorBeforeAnyWork() throws {
        let pipeline = try tinyPipeline()
        var p = pipeline.defaultParameters(scheduler: .animatelcm)
        p.width = 32
        p.height = 32
        p.numInferenceSteps = 41
        XCTAssertThrowsError(try pipeline.validate(p, scheduler: lcm)) { error in
            XCTAssertTrue(error is SVDParametersError, "\(type(of: error))")
            XCTAssertTrue("\(error)".contains("at most 40"), "\(error)")
        }
        XCTAssertNoThrow(try pipeline.validate(p), "Euler takes 41 steps")
        p.numInferenceSteps = 40
        XCTAssertNoThrow(try pipeline.validate(p, scheduler: lcm))
    }

    // MARK: - --unet FILE

    var tinyUNetFile: String { fixturePath("tiny/pipeline/unet/diffusion_pytorch_model.fp16.safetensors") }

    /// Writes the tiny UNet's tensors, changed by `edit`, as one safetensors file.
    func unetFile(_ edit: (inout [String: StoredTensor]) throws -> Void) throws -> String {
        let checkpoint = try SafeTensorsCheckpoint(path: tinyUNetFile)
        var tensors: [String: StoredTensor] = [:]
        for name in checkpoint.names { tensors[name] = try checkpoint.tensor(name) }
        try edit(&tensors)
        let path = NSTemporaryDirectory() + "img2vid-unet-\(UUID().uuidString).safetensors"
        try SafeTensorsWriter.write(tensors, to: path)
        return path
    }

    func unetOutput(_ unet: UNetSpatioTemporalConditionModel) -> Tensor {
        var random = TorchGenerator(seed: 9)
        let sample = random.normal(shape: [1, 2, 8, 4, 4])
        let embedding = random.normal(shape: [1, 1, 32])
        return unet(sample, timestep: 0.3, encoderHiddenStates: embedding, addedTimeIds: Tensor(shape: [1, 3], scalars: [7, 80, 0.02]))
    }

    func testUNetFileReplacesTheFoldersWeights() throws {
        let base = try tinyPipeline()
        let same = try tinyPipeline(unetWeights: tinyUNetFile)
        XCTAssertEqual(unetOutput(same.unet).scalars, unetOutput(base.unet).scalars)
        XCTAssertEqual(same.scheduler, base.scheduler, "the UNet file changes the weights only")
        // conv_out (the last layer) bias + 1: every output value moves by 1.
        let shifted = try unetFile { tensors in
            let bias = try tensors["conv_out.bias"]!.floatTensor()
            tensors["conv_out.bias"] = StoredTensor(Tensor(shape: bias.shape, scalars: bias.scalars.map { $0 + 1 }), as: .f32)
        }
        defer { try? FileManager.default.removeItem(atPath: shifted) }
        let moved = try tinyPipeline(unetWeights: shifted)
        let difference = zip(unetOutput(moved.unet).scalars, unetOutput(base.unet).scalars).map { $0 - $1 }
        XCTAssertEqual(difference.min()!, 1, accuracy: 1e-3)
        XCTAssertEqual(difference.max()!, 1, accuracy: 1e-3)
    }

    func testUNetFileKeyProblemsAreNamed() throws {
        let missing = try unetFile { $0["conv_out.bias"] = nil }
        let unexpected = try unetFile { $0["extra.lora_up.weight"] = StoredTensor(Tensor(zeros: [2, 2])) }
        let misshapen = try unetFile { $0["conv_in.bias"] = StoredTensor(Tensor(zeros: [7])) }
        defer { for f in [missing, unexpected, misshapen] { try? FileManager.default.removeItem(atPath: f) } }
        for (file, phrase, key) in [(missing, "missing tensors", "conv_out.bias"), (unexpected, "unexpected tensors", "extra.lora_up.weight"),
                                    (misshapen, "mis-shaped tensors", "conv_in.bias: expected [32], found [7]")] {
            XCTAssertThrowsError(try tinyPipeline(unetWeights: file)) { error in
                guard case ModelLoadingError.mismatchedWeights = error else { return XCTFail("\(error)") }
                let message = "\(error)"
                XCTAssertTrue(message.contains(phrase) && message.contains(key) && message.contains(file), message)
            }
        }
    }

    func testUNetFileThatIsNotSafeTensorsIsRefused() throws {
        let pickle = NSTemporaryDirectory() + "img2vid-unet-\(UUID().uuidString).bin"
        // The first bytes of a PyTorch zip pickle: read as a header length, far too large.
        try Data([0x50, 0x4B, 0x03, 0x04, 0x14, 0, 0, 0, 8, 0, 0, 0] + Array(repeating: 0, count: 64)).write(to: URL(fileURLWithPath: pickle))
        defer { try? FileManager.default.removeItem(atPath: pickle) }
        XCTAssertThrowsError(try tinyPipeline(unetWeights: pickle)) { error in
            guard case ModelLoadingError.badWeights = error else { return XCTFail("\(error)") }
            XCTAssertTrue("\(error)".contains("not a safetensors file"), "\(error)")
            XCTAssertTrue("\(error)".contains(pickle), "\(error)")
        }
        XCTAssertThrowsError(try tinyPipeline(unetWeights: "/nonexistent/AnimateLCM-SVD-xt.safetensors")) { error in
            guard case ModelLoadingError.missingUNetFile = error else { return XCTFail("\(error)") }
            XCTAssertTrue("\(error)".contains("--unet /nonexistent/AnimateLCM-SVD-xt.safetensors"), "\(error)")
        }
    }

    func temporaryCopyOfTinyPipeline() throws -> String {
        let folder = NSTemporaryDirectory() + "img2vid-tiny-\(UUID().uuidString)"
        try FileManager.default.copyItem(atPath: fixturePath("tiny/pipeline"), toPath: folder)
        return folder
    }
}
