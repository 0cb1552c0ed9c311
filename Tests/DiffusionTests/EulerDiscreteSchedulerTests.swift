import Diffusion
import Foundation
import Tensor
import TestSupport
import XCTest

/// EulerDiscreteScheduler against diffusers 0.42 (Scripts/reference/diffusion_fixtures.py ->
/// Fixtures/euler_scheduler.safetensors; each config's JSON is in the fixture's metadata).
///
/// Tolerances, in units in the last place of float32:
/// - SVD schedule (Karras sigmas from sigma_min/sigma_max in float64, cast to float32): sigmas exact.
/// - alphas_cumprod: exact (torch.linspace's fused form and cumprod's double accumulation are mirrored).
/// - Values that pass through torch's float32 sqrt (training sigmas, init_noise_sigma, and sigmas interpolated
///   from training sigmas): at most 1 ulp, because torch on x86-64 computes sqrt and log with MKL's vector math,
///   which is faithful but not correctly rounded, while Swift's are correctly rounded.
/// - Continuous timesteps 0.25 * ln(sigma) (values below 2 in magnitude): 2.5e-7 absolute, i.e. 1 ulp of the log
///   plus the effect of a 1-ulp sigma (0.25 * 2^-23); an ulp count is meaningless here near sigma = 1, where
///   the timestep crosses zero. Discrete timesteps derived via `_sigma_to_t`: 1e-6 relative.
/// - Denoising loops: max-norm relative error 1e-6 per tensor (the scalars above may be 1 ulp off; every
///   elementwise operation is otherwise the same float32 operation in the same order).
final class EulerDiscreteSchedulerTests: XCTestCase {
    func configs(_ fixture: Fixture) throws -> [String: SchedulerConfig] {
        var out: [String: SchedulerConfig] = [:]
        for key in fixture.file.metadata.keys where key.hasPrefix("config:") {
            out[String(key.dropFirst("config:".count))] = try JSONDecoder().decode(SchedulerConfig.self, from: Data(fixture.string(key).utf8))
        }
        return out
    }

    func maxUlp(_ a: [Float], _ b: [Float]) -> Int {
        precondition(a.count == b.count)
        return zip(a, b).map { ulpDistance($0, $1) }.max() ?? 0
    }

    func maxAbs(_ a: [Float], _ b: [Float]) -> Float {
        zip(a, b).map { abs($0 - $1) }.max() ?? 0
    }

    func maxRelative(_ a: [Float], _ b: [Float]) -> Float {
        let scale = b.map { abs($0) }.max() ?? 0
        return (zip(a, b).map { abs($0 - $1) }.max() ?? 0) / max(scale, 1e-30)
    }

    func testSVDScheduleMatchesDiffusers() throws {
        let fixture = try Fixture("euler_scheduler.safetensors")
        let steps = fixture.string("steps").split(separator: ",").map { Int($0)! }
        XCTAssertEqual(steps, [3, 4, 10, 25])
        var scheduler = try EulerDiscreteScheduler(config: .stableVideoDiffusion)
        for n in steps {
            try scheduler.setTimesteps(n)
            let sigmas = try fixture.floats("svd_sigmas_\(n)")
            XCTAssertEqual(scheduler.sigmas.count, n + 1)
            XCTAssertEqual(scheduler.sigmas, sigmas, "sigmas for \(n) steps")
            XCTAssertEqual(scheduler.sigmas.first, 700)
            XCTAssertEqual(scheduler.sigmas.last, 0)
            XCTAssertLessThanOrEqual(maxUlp(scheduler.timesteps, try fixture.floats("svd_timesteps_\(n)")), 1, "timesteps for \(n) steps")
            XCTAssertLessThanOrEqual(ulpDistance(scheduler.initNoiseSigma, try fixture.floats("svd_init_noise_sigma_\(n)")[0]), 1)
        }
        // FACTS.md: init_noise_sigma = sqrt(700^2 + 1); continuous timestep = 0.25 ln sigma.
        XCTAssertEqual(Double(scheduler.initNoiseSigma), (700.0 * 700.0 + 1).squareRoot(), accuracy: 1e-4)
        XCTAssertEqual(Double(scheduler.timesteps[0]), 0.25 * log(700.0), accuracy: 1e-6)
    }

    func testAllConfigsMatchDiffusers() throws {
        let fixture = try Fixture("euler_scheduler.safetensors")
        let all = try configs(fixture)
        XCTAssertEqual(all.count, 7)
        let steps = fixture.string("steps").split(separator: ",").map { Int($0)! }
        for (name, config) in all.sorted(by: { $0.key < $1.key }) {
            var scheduler = try EulerDiscreteScheduler(config: config)
            XCTAssertEqual(scheduler.alphasCumprod, try fixture.floats("\(name)_alphas_cumprod"), "\(name) alphas_cumprod")
            XCTAssertLessThanOrEqual(maxUlp(scheduler.sigmas, try fixture.floats("\(name)_train_sigmas")), 1, "\(name) training sigmas")
            let trainTimesteps = try fixture.floats("\(name)_train_timesteps")
            if scheduler.continuousTimesteps {
                XCTAssertLessThanOrEqual(maxAbs(scheduler.timesteps, trainTimesteps), 2.5e-7, "\(name) training timesteps")
            } else {
                XCTAssertEqual(scheduler.timesteps, trainTimesteps, "\(name) training timesteps")
            }
            for n in steps {
                try scheduler.setTimesteps(n)
                let sigmas = try fixture.floats("\(name)_sigmas_\(n)")
                let timesteps = try fixture.floats("\(name)_timesteps_\(n)")
                XCTAssertEqual(scheduler.sigmas.count, sigmas.count, "\(name) \(n)")
                XCTAssertEqual(scheduler.timesteps.count, timesteps.count, "\(name) \(n)")
                guard scheduler.sigmas.count == sigmas.count, scheduler.timesteps.count == timesteps.count else { continue }
                XCTAssertLessThanOrEqual(maxUlp(scheduler.sigmas, sigmas), 1, "\(name) sigmas, \(n) steps: \(scheduler.sigmas) vs \(sigmas)")
                if scheduler.continuousTimesteps {
                    XCTAssertLessThanOrEqual(maxAbs(scheduler.timesteps, timesteps), 2.5e-7, "\(name) timesteps, \(n) steps")
                } else {
                    XCTAssertLessThanOrEqual(maxRelative(scheduler.timesteps, timesteps), 1e-6, "\(name) timesteps, \(n) steps: \(scheduler.timesteps) vs \(timesteps)")
                }
                XCTAssertLessThanOrEqual(ulpDistance(scheduler.initNoiseSigma, try fixture.floats("\(name)_init_noise_sigma_\(n)")[0]), 1, "\(name) init_noise_sigma")
            }
        }
    }

    /// Three denoising steps on random samples and model outputs: scaled inputs, x0 and step outputs.
    func testDenoisingLoopsMatchDiffusers() throws {
        let fixture = try Fixture("euler_scheduler.safetensors")
        let all = try configs(fixture)
        let loops = fixture.string("loops").split(separator: ",").map(String.init)
        XCTAssertEqual(loops.count, 3)
        let n = fixture.int("loop_steps")
        for name in loops {
            var scheduler = try EulerDiscreteScheduler(config: all[name]!)
            try scheduler.setTimesteps(n)
            var sample = try fixture.tensor("loop_\(name)_sample_0")
            for i in 0..<n {
                let scaled = scheduler.scaleModelInput(sample, stepIndex: i)
                assertClose(scaled, try fixture.tensor("loop_\(name)_scaled_\(i)"), tolerance: 1e-6, "\(name) scaled \(i)")
                let output = try fixture.tensor("loop_\(name)_model_output_\(i)")
                let (prev, x0) = scheduler.stepWithPrediction(modelOutput: output, stepIndex: i, sample: sample)
                assertClose(x0, try fixture.tensor("loop_\(name)_pred_original_\(i)"), tolerance: 1e-6, "\(name) x0 \(i)")
                let expected = try fixture.tensor("loop_\(name)_sample_\(i + 1)")
                assertClose(prev, expected, tolerance: 1e-6, "\(name) sample \(i + 1)")
                XCTAssertEqual(scheduler.step(modelOutput: output, stepIndex: i, sample: sample).scalars, prev.scalars)
                // Continue from the reference so each step is checked on its own.
                sample = expected
            }
        }
    }

    func testStepFormulaOnHandValues() throws {
        var scheduler = try EulerDiscreteScheduler(config: .stableVideoDiffusion)
        try scheduler.setTimesteps(3)
        let sigma = scheduler.sigmas[1], next = scheduler.sigmas[2]
        let x = Tensor(shape: [2], scalars: [3, -1]), v = Tensor(shape: [2], scalars: [0.5, 2])
        let out = scheduler.step(modelOutput: v, stepIndex: 1, sample: x).scalars
        for i in 0..<2 {
            let s = Double(sigma)
            let x0 = Double(v.scalars[i]) * (-s / (s * s + 1).squareRoot()) + Double(x.scalars[i]) / (s * s + 1)
            let expected = Double(x.scalars[i]) + (Double(x.scalars[i]) - x0) / s * (Double(next) - s)
            XCTAssertEqual(Double(out[i]), expected, accuracy: 1e-5 * max(1, abs(expected)))
        }
        let scaled = scheduler.scaleModelInput(x, stepIndex: 0).scalars
        XCTAssertEqual(Double(scaled[0]), 3 / (700.0 * 700.0 + 1).squareRoot(), accuracy: 1e-8)
    }

    func testUnsupportedOptionsThrowActionableErrors() {
        var config = SchedulerConfig.stableVideoDiffusion
        config.predictionType = "flow"
        XCTAssertThrowsError(try EulerDiscreteScheduler(config: config)) { error in
            XCTAssertEqual(error as? SchedulerError, .unsupported(field: "prediction_type", value: "flow", supported: ["epsilon", "v_prediction", "sample"]))
            XCTAssertTrue("\(error)".contains("v_prediction"))
        }
        config = .stableVideoDiffusion
        config.useBetaSigmas = true
        XCTAssertThrowsError(try EulerDiscreteScheduler(config: config))
        config = .stableVideoDiffusion
        config.useExponentialSigmas = true
        XCTAssertThrowsError(try EulerDiscreteScheduler(config: config))
        config = .stableVideoDiffusion
        config.betaSchedule = "cubic"
        XCTAssertThrowsError(try EulerDiscreteScheduler(config: config))
        var scheduler = try! EulerDiscreteScheduler(config: .stableVideoDiffusion)
        XCTAssertThrowsError(try scheduler.setTimesteps(0)) { error in
            XCTAssertEqual(error as? SchedulerError, .invalidStepCount(0))
        }
    }
}
