import Foundation
import Tensor

/// The multistep consistency sampler of AnimateLCM-SVD.
///
/// Mirrors `AnimateLCMSVDStochasticIterativeScheduler` (G-U-N/AnimateLCM, animatelcm_svd/animatelcm_scheduler.py),
/// a variant of diffusers' `CMStochasticIterativeScheduler` for SVD's v-prediction UNet, including its float
/// precisions:
/// - `set_timesteps(n)` (numpy float64): ratio = N / n (integer division, N = `num_train_timesteps`), ramp_i =
///   i ratio / (N - 1) for i in 0..<n, sigma_i = (sigma_max^(1/rho) + ramp_i (sigma_min^(1/rho) - sigma_max^(1/rho)))^rho;
///   the model timesteps are 0.25 ln(sigma_i + 1e-44) in float64 (the UNet casts them to float32); the sigmas,
///   followed by a final 0, are stored as float32. With n < N the last sigma is not sigma_min (4 steps end at 0.497).
/// - `init_noise_sigma` = sqrt(sigma_max^2 + 1), a Python float the pipeline's float32 multiply rounds to float32.
/// - `scale_model_input`: x / sqrt(sigma^2 + sigma_data^2) in float32.
/// - `step` (float32): c_skip = sigma_data^2 / (sigma^2 + sigma_data^2) (torch computes `reciprocal(...) * sigma_data^2`),
///   c_out = -sigma sigma_data / sqrt(sigma^2 + sigma_data^2); denoised = c_out * output + c_skip * x, clamped to
///   [-1, 1] when `clip_denoised`; then, when the schedule has more than one step, fresh standard normal noise z is
///   drawn and x_next = denoised + (z s_noise) clamp(sigma_next, 0, sigma_max). With one step nothing is drawn.
///
/// The step noise: diffusers' SVD pipeline calls `scheduler.step` without a generator, so the noise comes from
/// torch's global generator; the authors' demo seeds with `torch.manual_seed(seed)`, which is that same generator,
/// so the noise augmentation, the initial latents and each step's noise are one stream in that order. The caller
/// passes that stream to `step(modelOutput:stepIndex:sample:random:)`.
public struct AnimateLCMScheduler: Scheduler, Sendable {
    public let config: AnimateLCMSchedulerConfig
    /// The noise level of each step, plus the final 0 (`numInferenceSteps + 1` values), float32 as the reference stores them.
    public private(set) var sigmas: [Float] = []
    /// The model's timestep input for each step: float32 of 0.25 ln(sigma) computed in float64.
    public private(set) var timesteps: [Float] = []
    public private(set) var numInferenceSteps: Int?

    public init(config: AnimateLCMSchedulerConfig = .animateLCMSVD) throws {
        guard config.numTrainTimesteps >= 2 else {
            throw SchedulerError.invalidConfig("num_train_timesteps must be at least 2 (got \(config.numTrainTimesteps))")
        }
        for (name, value) in [("sigma_min", config.sigmaMin), ("sigma_max", config.sigmaMax), ("sigma_data", config.sigmaData), ("rho", config.rho)] {
            guard value > 0, value.isFinite else { throw SchedulerError.invalidConfig("\(name) must be a positive number (got \(value))") }
        }
        guard config.sigmaMin < config.sigmaMax else {
            throw SchedulerError.invalidConfig("sigma_min (\(config.sigmaMin)) must be below sigma_max (\(config.sigmaMax))")
        }
        guard config.sNoise >= 0, config.sNoise.isFinite else { throw SchedulerError.invalidConfig("s_noise must be a finite number >= 0") }
        self.config = config
    }

    /// `init_noise_sigma`: sqrt(sigma_max^2 + 1).
    public var initNoiseSigma: Float { Float((config.sigmaMax * config.sigmaMax + 1).squareRoot()) }

    /// The most steps a schedule can have: one per training timestep.
    public var maxSteps: Int { config.numTrainTimesteps }

    /// Mirrors `set_timesteps(num_inference_steps)`.
    public mutating func setTimesteps(_ numInferenceSteps: Int) throws {
        let n = numInferenceSteps
        guard n >= 1 else { throw SchedulerError.invalidStepCount(n) }
        guard n <= maxSteps else { throw SchedulerError.tooManySteps(n, max: maxSteps, sampler: "AnimateLCM") }
        let total = config.numTrainTimesteps
        let ratio = total / n
        let minInvRho = pow(config.sigmaMin, 1 / config.rho)
        let maxInvRho = pow(config.sigmaMax, 1 / config.rho)
        let difference = minInvRho - maxInvRho
        let sigmas64 = (0..<n).map { i -> Double in
            let ramp = Double(i * ratio) / Double(total - 1)
            return pow(maxInvRho + ramp * difference, config.rho)
        }
        timesteps = sigmas64.map { Float(0.25 * Foundation.log($0 + 1e-44)) }
        sigmas = sigmas64.map { Float($0) } + [0]
        self.numInferenceSteps = n
    }

    /// Mirrors `scale_model_input`: sample / sqrt(sigma^2 + sigma_data^2), the scalar in float32.
    public func scaleModelInput(_ sample: Tensor, stepIndex: Int) -> Tensor {
        precondition(stepIndex >= 0 && stepIndex < sigmas.count - 1, "step index \(stepIndex) outside 0..<\(sigmas.count - 1)")
        let sigma = sigmas[stepIndex]
        return divide(sample, by: (sigma * sigma + Float(config.sigmaData * config.sigmaData)).squareRoot())
    }

    /// Whether `step` draws noise: every step of a schedule of more than one step (the last one's is multiplied by 0).
    public var drawsNoise: Bool { timesteps.count > 1 }

    /// Mirrors `step(model_output, timestep, sample).prev_sample`, drawing the step's noise from `random`.
    public func step(modelOutput: Tensor, stepIndex: Int, sample: Tensor, random: inout some RandomSource) -> Tensor {
        let noise = drawsNoise ? random.normal(shape: sample.shape) : nil
        return step(modelOutput: modelOutput, stepIndex: stepIndex, sample: sample, noise: noise).prevSample
    }

    /// One step with given noise (nil: zeros): the next sample and the denoised estimate.
    public func step(modelOutput: Tensor, stepIndex: Int, sample: Tensor, noise: Tensor?) -> (prevSample: Tensor, denoised: Tensor) {
        precondition(modelOutput.shape == sample.shape, "model output \(modelOutput.shape) and sample \(sample.shape) differ")
        precondition(noise == nil || noise!.count == sample.count, "noise has \(noise!.count) values for a sample of \(sample.count)")
        precondition(stepIndex >= 0 && stepIndex < sigmas.count - 1, "step index \(stepIndex) outside 0..<\(sigmas.count - 1)")
        let sigma = sigmas[stepIndex]
        let sigmaNext = stepIndex + 1 < config.numTrainTimesteps ? sigmas[stepIndex + 1] : sigmas[sigmas.count - 1]
        let sigmaData2 = Float(config.sigmaData * config.sigmaData)
        let s = sigma * sigma + sigmaData2
        let cSkip = (1 / s) * sigmaData2                          // torch: reciprocal(s) * sigma_data^2
        let cOut = (-sigma * Float(config.sigmaData)) / s.squareRoot()
        let sigmaHat = min(max(sigmaNext, 0), Float(config.sigmaMax))
        let sNoise = Float(config.sNoise)
        let clip = config.clipDenoised
        var prev = Tensor(uninitialized: sample.shape)
        var denoised = Tensor(uninitialized: sample.shape)
        let z = noise ?? Tensor(zeros: [1])   // not read when there is no noise
        let hasNoise = noise != nil
        modelOutput.withUnsafeBufferPointer { m in
            sample.withUnsafeBufferPointer { x in
                z.withUnsafeBufferPointer { zb in
                    prev.withUnsafeMutableBufferPointer { p in
                        denoised.withUnsafeMutableBufferPointer { d in
                            let mp = m.baseAddress!, xp = x.baseAddress!, pp = p.baseAddress!, dp = d.baseAddress!
                            let zp = zb.baseAddress!
                            Parallel.forRanges(x.count) { range in
                                for i in range {
                                    let a = cOut * mp[i]
                                    let b = cSkip * xp[i]
                                    var value = a + b
                                    if clip { value = min(max(value, -1), 1) }
                                    dp[i] = value
                                    let zi: Float = hasNoise ? zp[i] * sNoise : 0
                                    pp[i] = value + zi * sigmaHat
                                }
                            }
                        }
                    }
                }
            }
        }
        return (prev, denoised)
    }
}
