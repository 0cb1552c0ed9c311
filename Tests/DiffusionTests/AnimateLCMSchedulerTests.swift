import Diffusion
import Foundation
import Tensor
import TestSupport
import XCTest

/// AnimateLCMScheduler against the reference transcription of the authors' AnimateLCMSVDStochasticIterativeScheduler
/// run in torch (Scripts/reference/animatelcm_fixtures.py -> Fixtures/animatelcm_scheduler.safetensors), with the
/// AnimateLCM-SVD demo's settings.
///
/// Tolerances: sigmas (float64 Karras schedule rounded to float32) exact; timesteps (float64 0.25 ln sigma rounded to
/// float32) at most 1 ulp (numpy's float64 log may differ from glibc's in the last bit before rounding);
/// init_noise_sigma exact. Denoising passes (seeded inputs, model outputs and step noise all drawn from one
/// `TorchGenerator` as the reference draws them from torch's global generator): every tensor within 1e-6 max-norm
/// relative error (the float32 operations are the same, in the same order).
final class AnimateLCMSchedulerTests: XCTestCase {
    func testScheduleMatchesReference() throws {
        let fixture = try Fixture("animatelcm_scheduler.safetensors")
        let config = try JSONDecoder().decode(AnimateLCMSchedulerConfig.self, from: Data(fixture.string("config").utf8))
        XCTAssertEqual(config, AnimateLCMSchedulerConfig(className: nil, numTrainTimesteps: 40, sigmaMin: 0.002, sigmaMax: 700,
                                                         sigmaData: 1, sNoise: 1, rho: 7, clipDenoised: false))
        var scheduler = try AnimateLCMScheduler(config: .animateLCMSVD)
        XCTAssertEqual(scheduler.initNoiseSigma, Float(Double(fixture.string("init_noise_sigma"))!))
        let steps = fixture.string("steps").split(separator: ",").map { Int($0)! }
        XCTAssertEqual(steps.first, 1)
        XCTAssertEqual(steps.last, 40)
        for n in steps {
            try scheduler.setTimesteps(n)
            XCTAssertEqual(scheduler.sigmas, try fixture.floats("sigmas_\(n)"), "sigmas for \(n) steps")
            XCTAssertEqual(scheduler.sigmas.count, n + 1)
            XCTAssertEqual(scheduler.sigmas.first, 700)
            XCTAssertEqual(scheduler.sigmas.last, 0)
            let expected = try fixture.floats("timesteps_\(n)")
            XCTAssertEqual(scheduler.timesteps.count, n)
            for (a, b) in zip(scheduler.timesteps, expected) {
                XCTAssertLessThanOrEqual(ulpDistance(a, b), 1, "timesteps for \(n) steps: \(a) vs \(b)")
            }
        }
        // The published 4-step schedule: 700, 128.6, 13.68, 0.497, then 0 (ramp 0, 10/39, 20/39, 30/39).
        try scheduler.setTimesteps(4)
        XCTAssertEqual(Double(scheduler.sigmas[1]), 128.56, accuracy: 0.01)
        XCTAssertEqual(Double(scheduler.sigmas[3]), 0.4969, accuracy: 0.001)
        XCTAssertEqual(Double(scheduler.timesteps[0]), 0.25 * log(700.0), accuracy: 1e-6)
    }

    func testDenoisingPassesMatchReference() throws {
        let fixture = try Fixture("animatelcm_scheduler.safetensors")
        let shape = fixture.string("shape").split(separator: ",").map { Int($0)! }
        for n in fixture.string("cases").split(separator: ",").map({ Int($0)! }) {
            var scheduler = try AnimateLCMScheduler()
            try scheduler.setTimesteps(n)
            var random = TorchGenerator(seed: UInt64(fixture.string("case\(n).seed"))!)
            var x = random.normal(shape: shape)
            scaleInPlace(&x, by: scheduler.initNoiseSigma)
            XCTAssertEqual(maxRelativeError(x, try fixture.tensor("case\(n).init")), 0, "\(n) steps: initial sample")
            for i in 0..<n {
                let scaled = scheduler.scaleModelInput(x, stepIndex: i)
                assertClose(scaled, try fixture.tensor("case\(n).step\(i).scaled"), tolerance: 1e-6, "\(n) steps: scaled input \(i)")
                let output = random.normal(shape: shape)
                XCTAssertEqual(maxRelativeError(output, try fixture.tensor("case\(n).step\(i).model_output")), 0, "\(n) steps: model output \(i)")
                var fork = random
                let noise = scheduler.drawsNoise ? fork.normal(shape: shape) : nil
                let (_, denoised) = scheduler.step(modelOutput: output, stepIndex: i, sample: x, noise: noise)
                assertClose(denoised, try fixture.tensor("case\(n).step\(i).denoised"), tolerance: 1e-6, "\(n) steps: denoised \(i)")
                x = scheduler.step(modelOutput: output, stepIndex: i, sample: x, random: &random)
                assertClose(x, try fixture.tensor("case\(n).step\(i).prev_sample"), tolerance: 1e-6, "\(n) steps: sample after step \(i)")
            }
        }
    }

    /// One step draws nothing (the reference adds zeros); more steps draw one tensor per step, the last included.
    func testNoiseDrawsFollowTheReference() throws {
        var one = try AnimateLCMScheduler()
        try one.setTimesteps(1)
        XCTAssertFalse(one.drawsNoise)
        var random = TorchGenerator(seed: 5)
        let untouched = random
        let x = random.normal(shape: [2, 4, 4])
        let out = one.step(modelOutput: x, stepIndex: 0, sample: x, random: &random)
        var check = untouched
        _ = check.normal(shape: [2, 4, 4])
        XCTAssertEqual(random.normal(shape: [16]).scalars, check.normal(shape: [16]).scalars, "a one-step schedule drew noise")
        // One step from sigma 700: denoised = c_out v + c_skip x with c_out = -700/sqrt(490001), c_skip = 1/490001.
        let s: Float = 700 * 700 + 1
        XCTAssertEqual(out.scalars[3], (-700 / s.squareRoot()) * x.scalars[3] + (1 / s) * x.scalars[3])

        var four = try AnimateLCMScheduler()
        try four.setTimesteps(4)
        XCTAssertTrue(four.drawsNoise)
        // The last step adds its noise times sigma_next = 0: the result is the denoised sample itself.
        let last = four.step(modelOutput: x, stepIndex: 3, sample: x, noise: random.normal(shape: [2, 4, 4]))
        XCTAssertEqual(last.prevSample.scalars, last.denoised.scalars)
    }

    func testClipDenoisedClamps() throws {
        var config = AnimateLCMSchedulerConfig.animateLCMSVD
        config.clipDenoised = true
        var scheduler = try AnimateLCMScheduler(config: config)
        try scheduler.setTimesteps(2)
        let x = Tensor(shape: [16], scalars: (0..<16).map { Float($0) - 8 })
        let (_, denoised) = scheduler.step(modelOutput: x, stepIndex: 0, sample: x, noise: Tensor(zeros: [16]))
        XCTAssertEqual(denoised.scalars.max(), 1)
        XCTAssertEqual(denoised.scalars.min(), -1)
    }

    func testStepCountsAndConfigsAreChecked() throws {
        var scheduler = try AnimateLCMScheduler()
        XCTAssertThrowsError(try scheduler.setTimesteps(0)) { XCTAssertEqual($0 as? SchedulerError, .invalidStepCount(0)) }
        XCTAssertThrowsError(try scheduler.setTimesteps(41)) {
            XCTAssertEqual($0 as? SchedulerError, .tooManySteps(41, max: 40, sampler: "AnimateLCM"))
            XCTAssertTrue("\($0)".contains("at most 40 steps"), "\($0)")
        }
        XCTAssertNoThrow(try scheduler.setTimesteps(40))
        var bad = AnimateLCMSchedulerConfig.animateLCMSVD
        bad.sigmaMin = 800
        XCTAssertThrowsError(try AnimateLCMScheduler(config: bad))
        bad = .animateLCMSVD
        bad.sigmaData = 0
        XCTAssertThrowsError(try AnimateLCMScheduler(config: bad))
    }

    /// A scheduler_config.json picks its sampler by `_class_name`; fields left out take the authors' class defaults.
    func testSchedulerSettingsDecodeByClassName() throws {
        let lcm = try SchedulerSettings.decode(Data("""
            {"_class_name": "AnimateLCMSVDStochasticIterativeScheduler", "num_train_timesteps": 40, "sigma_min": 0.002,
             "sigma_max": 700.0, "sigma_data": 1.0, "s_noise": 1.0, "rho": 7, "clip_denoised": false}
            """.utf8))
        XCTAssertEqual(lcm, .animateLCM(.animateLCMSVD))
        XCTAssertEqual(lcm.kind, .animatelcm)
        let partial = try SchedulerSettings.decode(Data(#"{"_class_name": "AnimateLCMSVDStochasticIterativeScheduler"}"#.utf8))
        XCTAssertEqual(partial, .animateLCM(AnimateLCMSchedulerConfig()))
        let url = URL(fileURLWithPath: fixturePath("svd_scheduler_config.json"))
        let euler = try SchedulerSettings.decode(Data(contentsOf: url))
        XCTAssertEqual(euler.kind, .euler)
        XCTAssertEqual(euler, .euler(try SchedulerConfig.load(contentsOf: url)))
        XCTAssertEqual(SchedulerSettings.defaults(for: .animatelcm), .animateLCM(.animateLCMSVD))
        XCTAssertEqual(SchedulerSettings.defaults(for: .euler), .euler(.stableVideoDiffusion))
        let built = try SchedulerSettings.defaults(for: .animatelcm).makeScheduler(steps: 4)
        XCTAssertEqual(built.timesteps.count, 4)
        XCTAssertTrue(built is AnimateLCMScheduler)
    }
}
