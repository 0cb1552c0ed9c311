import Foundation
import Tensor

/// The Euler sampler of Karras et al. (2022), Algorithm 2, without churn.
///
/// Mirrors diffusers' `EulerDiscreteScheduler` (schedulers/scheduling_euler_discrete.py, diffusers 0.42), including
/// its float precisions: the training schedule (betas, `alphas_cumprod`, sigmas) is float32 as torch computes it
/// (torch.linspace's fused `start + step * i`, cumprod accumulated in double); the inference schedule (spacing,
/// interpolation, Karras / exponential sigmas, `_sigma_to_t`) is float64 as numpy computes it and is rounded to
/// float32 at the end, as diffusers' `astype(np.float32)` does; the per-step scalars (`sigma^2 + 1`, its square
/// root) and the elementwise update are float32, in diffusers' order of operations.
///
/// Supported: beta schedules `linear`, `scaled_linear`, `squaredcos_cap_v2` and `trained_betas`; predictions
/// `epsilon`, `v_prediction`, `sample`; spacings `linspace`, `leading`, `trailing` with `steps_offset`;
/// `interpolation_type` `linear`; Karras sigmas (rho 7) and exponential sigmas with `sigma_min`/`sigma_max` from the
/// config or the training schedule; `timestep_type` `continuous` (timestep = 0.25 ln sigma, with v_prediction, as
/// SVD uses) and `discrete`; `final_sigmas_type` `zero` and `sigma_min`. Not supported (the initialiser throws):
/// beta sigmas (need scipy's beta.ppf), `log_linear` interpolation, `rescale_betas_zero_snr`. `step` implements the
/// `s_churn = 0` path only (the default, and what SVD and every diffusers pipeline use): no noise is added, so the
/// update is deterministic and needs no random source.
///
/// Where torch itself is not correctly rounded, this implementation is: torch's float32 `sqrt` and `log` on x86-64
/// go through MKL's vector math, which is faithful (within 1 ulp) but not correctly rounded, so training-schedule
/// sigmas, continuous timesteps (`0.25 * sigma.log()`) and the `sqrt(sigma^2 + 1)` scalars can differ from
/// diffusers by 1 ulp. Karras sigmas from config bounds (the SVD schedule) match exactly.
public struct EulerDiscreteScheduler: Scheduler, Sendable {
    public enum Prediction: String, Sendable { case epsilon, vPrediction = "v_prediction", sample }
    public enum Spacing: String, Sendable { case linspace, leading, trailing }
    enum SigmaSchedule { case interpolated, karras, exponential }

    public let config: SchedulerConfig
    public let prediction: Prediction
    public let spacing: Spacing
    let sigmaSchedule: SigmaSchedule
    /// `timestep_type == "continuous"` and `prediction_type == "v_prediction"`: timesteps are 0.25 ln sigma.
    public let continuousTimesteps: Bool
    let finalSigmaIsMin: Bool

    /// Cumulative products of (1 - beta) over the training steps (float32, as diffusers' `alphas_cumprod`).
    public let alphasCumprod: [Float]
    /// Training sigmas sqrt((1 - alphas_cumprod) / alphas_cumprod) by training timestep (ascending).
    let trainingSigmas: [Float]

    /// The noise level of each step, plus the final one (`numInferenceSteps + 1` values).
    public private(set) var sigmas: [Float]
    /// The model's timestep input for each step.
    public private(set) var timesteps: [Float]
    /// `nil` until `setTimesteps` (before it, `sigmas`/`timesteps` hold the training schedule, as in diffusers).
    public private(set) var numInferenceSteps: Int?

    public init(config: SchedulerConfig) throws {
        self.config = config
        guard let prediction = Prediction(rawValue: config.predictionType == "original_sample" ? "sample" : config.predictionType) else {
            throw SchedulerError.unsupported(field: "prediction_type", value: config.predictionType,
                                             supported: ["epsilon", "v_prediction", "sample"])
        }
        self.prediction = prediction
        guard let spacing = Spacing(rawValue: config.timestepSpacing) else {
            throw SchedulerError.unsupported(field: "timestep_spacing", value: config.timestepSpacing,
                                             supported: ["linspace", "leading", "trailing"])
        }
        self.spacing = spacing
        guard config.interpolationType == "linear" else {
            throw SchedulerError.unsupported(field: "interpolation_type", value: config.interpolationType, supported: ["linear"])
        }
        guard ["discrete", "continuous"].contains(config.timestepType) else {
            throw SchedulerError.unsupported(field: "timestep_type", value: config.timestepType, supported: ["discrete", "continuous"])
        }
        guard ["zero", "sigma_min"].contains(config.finalSigmasType) else {
            throw SchedulerError.unsupported(field: "final_sigmas_type", value: config.finalSigmasType, supported: ["zero", "sigma_min"])
        }
        if config.useBetaSigmas {
            throw SchedulerError.unsupported(field: "use_beta_sigmas", value: "true", supported: ["false"])
        }
        if config.rescaleBetasZeroSnr {
            throw SchedulerError.unsupported(field: "rescale_betas_zero_snr", value: "true", supported: ["false"])
        }
        if config.useKarrasSigmas && config.useExponentialSigmas {
            throw SchedulerError.invalidConfig("only one of use_karras_sigmas and use_exponential_sigmas can be true")
        }
        sigmaSchedule = config.useKarrasSigmas ? .karras : config.useExponentialSigmas ? .exponential : .interpolated
        continuousTimesteps = config.timestepType == "continuous" && prediction == .vPrediction
        finalSigmaIsMin = config.finalSigmasType == "sigma_min"
        for (name, value) in [("sigma_min", config.sigmaMin), ("sigma_max", config.sigmaMax)] {
            if let v = value, !(v > 0 && v.isFinite) {
                throw SchedulerError.invalidConfig("\(name) must be a positive number (got \(v))")
            }
        }

        let n = config.numTrainTimesteps
        let betas: [Float]
        if let trained = config.trainedBetas {
            guard trained.count == n, n >= 2 else {
                throw SchedulerError.invalidConfig("trained_betas has \(trained.count) values for num_train_timesteps = \(n) (need equal counts, at least 2)")
            }
            betas = trained.map { Float($0) }
        } else {
            guard n >= 2 else { throw SchedulerError.invalidConfig("num_train_timesteps must be at least 2 (got \(n))") }
            switch config.betaSchedule {
            case "linear":
                betas = Self.torchLinspace(Float(config.betaStart), Float(config.betaEnd), n)
            case "scaled_linear":
                betas = Self.torchLinspace(Float(pow(config.betaStart, 0.5)), Float(pow(config.betaEnd, 0.5)), n).map { $0 * $0 }
            case "squaredcos_cap_v2":
                betas = Self.betasForCosineAlphaBar(n)
            default:
                throw SchedulerError.unsupported(field: "beta_schedule", value: config.betaSchedule,
                                                 supported: ["linear", "scaled_linear", "squaredcos_cap_v2"])
            }
        }
        guard betas.allSatisfy({ $0 >= 0 && $0 < 1 }) else {
            throw SchedulerError.invalidConfig("betas must lie in [0, 1)")
        }
        // torch.cumprod on CPU accumulates float32 in double (at::acc_type<float, false>).
        var acc = 1.0
        alphasCumprod = betas.map { beta in
            acc *= Double(1 - beta)
            return Float(acc)
        }
        trainingSigmas = alphasCumprod.map { ((1 - $0) / $0).squareRoot() }

        // Before set_timesteps diffusers holds the training schedule, flipped, plus a final 0.
        let flipped = Array(trainingSigmas.reversed())
        sigmas = flipped + [0]
        if continuousTimesteps {
            timesteps = flipped.map { 0.25 * Foundation.log($0) }
        } else {
            timesteps = (0..<n).reversed().map { Float($0) }
        }
        numInferenceSteps = nil
    }

    /// `init_noise_sigma`: the largest sigma for linspace/trailing spacing, sqrt(max^2 + 1) for leading.
    public var initNoiseSigma: Float {
        let maxSigma = sigmas.max() ?? 0
        switch spacing {
        case .linspace, .trailing: return maxSigma
        case .leading: return (maxSigma * maxSigma + 1).squareRoot()
        }
    }

    /// Mirrors `set_timesteps(num_inference_steps)`.
    public mutating func setTimesteps(_ numInferenceSteps: Int) throws {
        guard numInferenceSteps >= 1 else { throw SchedulerError.invalidStepCount(numInferenceSteps) }
        let steps = numInferenceSteps
        let nTrain = config.numTrainTimesteps

        // Timesteps of the spacing (float32 in diffusers; the values are held in Double here, exactly).
        var spaced: [Double]
        switch spacing {
        case .linspace:
            // np.linspace(0, N - 1, steps, dtype=np.float32)[::-1]
            spaced = Self.numpyLinspace(0, Double(nTrain - 1), steps).map { Double(Float($0)) }.reversed()
        case .leading:
            let ratio = nTrain / steps
            spaced = (0..<steps).reversed().map { Double(Float($0 * ratio) + Float(config.stepsOffset)) }
        case .trailing:
            // np.arange(N, 0, -N / steps).round() - 1, in float32.
            let ratio = Double(nTrain) / Double(steps)
            spaced = Self.numpyArange(Double(nTrain), 0, -ratio).map { Double(Float($0.rounded(.toNearestOrEven)) - 1) }
        }

        let ascending = trainingSigmas.map { Double($0) }
        let logSigmas = trainingSigmas.map { Double(Foundation.log($0)) }
        var sigmas64 = spaced.map { Self.numpyInterp($0, ascending) }
        switch sigmaSchedule {
        case .interpolated:
            break
        case .karras:
            let sigmaMin = config.sigmaMin ?? sigmas64.last!
            let sigmaMax = config.sigmaMax ?? sigmas64.first!
            let rho = 7.0
            let minInvRho = pow(sigmaMin, 1 / rho)
            let maxInvRho = pow(sigmaMax, 1 / rho)
            sigmas64 = Self.numpyLinspace(0, 1, steps).map { pow(maxInvRho + $0 * (minInvRho - maxInvRho), rho) }
            spaced = sigmas64.map { Self.sigmaToT($0, logSigmas) }
        case .exponential:
            let sigmaMin = config.sigmaMin ?? sigmas64.last!
            let sigmaMax = config.sigmaMax ?? sigmas64.first!
            sigmas64 = Self.numpyLinspace(Foundation.log(sigmaMax), Foundation.log(sigmaMin), steps).map { Foundation.exp($0) }
            spaced = sigmas64.map { Self.sigmaToT($0, logSigmas) }
        }
        let last: Double = finalSigmaIsMin ? Double(((1 - alphasCumprod[0]) / alphasCumprod[0]).squareRoot()) : 0
        sigmas = (sigmas64 + [last]).map { Float($0) }
        if continuousTimesteps {
            timesteps = sigmas.dropLast().map { 0.25 * Foundation.log($0) }
        } else {
            timesteps = spaced.map { Float($0) }
        }
        self.numInferenceSteps = steps
    }

    /// Mirrors `scale_model_input`: sample / sqrt(sigma^2 + 1), the scalar in float32.
    public func scaleModelInput(_ sample: Tensor, stepIndex: Int) -> Tensor {
        precondition(stepIndex >= 0 && stepIndex < sigmas.count - 1, "step index \(stepIndex) outside 0..<\(sigmas.count - 1)")
        let sigma = sigmas[stepIndex]
        return divide(sample, by: (sigma * sigma + 1).squareRoot())
    }

    /// `Scheduler`'s step: deterministic (s_churn = 0), so `random` is not drawn from.
    public func step(modelOutput: Tensor, stepIndex: Int, sample: Tensor, random: inout some RandomSource) -> Tensor {
        step(modelOutput: modelOutput, stepIndex: stepIndex, sample: sample)
    }

    /// Mirrors `step(model_output, timestep, sample).prev_sample` (s_churn = 0).
    public func step(modelOutput: Tensor, stepIndex: Int, sample: Tensor) -> Tensor {
        stepWithPrediction(modelOutput: modelOutput, stepIndex: stepIndex, sample: sample).prevSample
    }

    /// Mirrors `step(...)` returning both `prev_sample` and `pred_original_sample` (the denoised estimate x0).
    ///
    /// With sigma = sigmas[i] and s = sigma^2 + 1 (float32): v_prediction x0 = v * (-sigma / sqrt(s)) + x / s;
    /// epsilon x0 = x - sigma * eps; sample x0 = output. Then d = (x - x0) / sigma and
    /// x_next = x + d * (sigmas[i + 1] - sigma), each operation rounded to float32 as torch does.
    public func stepWithPrediction(modelOutput: Tensor, stepIndex: Int, sample: Tensor) -> (prevSample: Tensor, predOriginalSample: Tensor) {
        precondition(modelOutput.shape == sample.shape, "model output \(modelOutput.shape) and sample \(sample.shape) differ")
        precondition(stepIndex >= 0 && stepIndex < sigmas.count - 1, "step index \(stepIndex) outside 0..<\(sigmas.count - 1)")
        let sigma = sigmas[stepIndex]
        let sigmaHat = sigma  // gamma = 0: sigma * (0 + 1)
        let dt = sigmas[stepIndex + 1] - sigmaHat
        let s = sigma * sigma + 1
        let cOut = -sigma / s.squareRoot()
        let prediction = self.prediction
        var prev = Tensor(uninitialized: sample.shape)
        var pred = Tensor(uninitialized: sample.shape)
        modelOutput.withUnsafeBufferPointer { m in
            sample.withUnsafeBufferPointer { x in
                prev.withUnsafeMutableBufferPointer { p in
                    pred.withUnsafeMutableBufferPointer { q in
                        let mp = m.baseAddress!, xp = x.baseAddress!, pp = p.baseAddress!, qp = q.baseAddress!
                        Parallel.forRanges(x.count) { range in
                            for i in range {
                                let xi = xp[i]
                                let x0: Float
                                switch prediction {
                                case .vPrediction:
                                    let a = mp[i] * cOut
                                    let b = xi / s
                                    x0 = a + b
                                case .epsilon:
                                    let a = sigmaHat * mp[i]
                                    x0 = xi - a
                                case .sample:
                                    x0 = mp[i]
                                }
                                let derivative = (xi - x0) / sigmaHat
                                let delta = derivative * dt
                                qp[i] = x0
                                pp[i] = xi + delta
                            }
                        }
                    }
                }
            }
        }
        return (prev, pred)
    }

    // MARK: - Reference numerics

    /// `torch.linspace(start, end, steps, dtype=torch.float32)` on CPU (aten/src/ATen/native/cpu/RangeFactoriesKernel.cpp):
    /// `start + step * i` below the halfway index, `end - step * (steps - i - 1)` from it, each a fused multiply-add
    /// in torch's GCC build.
    public static func torchLinspace(_ start: Float, _ end: Float, _ steps: Int) -> [Float] {
        if steps == 1 { return [start] }
        let step = (end - start) / Float(steps - 1)
        let halfway = steps / 2
        return (0..<steps).map { i in
            i < halfway ? start.addingProduct(step, Float(i)) : end.addingProduct(-step, Float(steps - i - 1))
        }
    }

    /// `np.linspace(start, stop, num)` in float64: `i * step + start`, the last value exactly `stop`.
    static func numpyLinspace(_ start: Double, _ stop: Double, _ num: Int) -> [Double] {
        if num == 1 { return [start] }
        let step = (stop - start) / Double(num - 1)
        var out = (0..<num).map { Double($0) * step + start }
        out[num - 1] = stop
        return out
    }

    /// `np.arange(start, stop, step)` in float64: length ceil((stop - start) / step); values
    /// `start + i * delta` with delta = (start + step) - start, as numpy's `DOUBLE_fill` extrapolates them.
    static func numpyArange(_ start: Double, _ stop: Double, _ step: Double) -> [Double] {
        let length = Int(((stop - start) / step).rounded(.up))
        guard length > 0 else { return [] }
        let delta = (start + step) - start
        return (0..<length).map { $0 == 0 ? start : start + Double($0) * delta }
    }

    /// `np.interp(x, arange(len(fp)), fp)` for one x.
    static func numpyInterp(_ x: Double, _ fp: [Double]) -> Double {
        let last = fp.count - 1
        if x.isNaN { return x }
        if x <= 0 { return fp[0] }
        if x >= Double(last) { return fp[last] }
        let j = Int(x.rounded(.down))
        if Double(j) == x { return fp[j] }
        let slope = (fp[j + 1] - fp[j]) / 1.0
        return slope * (x - Double(j)) + fp[j]
    }

    /// Mirrors `_sigma_to_t`: the fractional training timestep whose log sigma interpolates to log(sigma).
    static func sigmaToT(_ sigma: Double, _ logSigmas: [Double]) -> Double {
        let logSigma = Foundation.log(max(sigma, 1e-10))
        // argmax of cumsum(dists >= 0): the last index with log_sigma >= log_sigmas[k] (0 if none), clipped.
        var low = 0
        for k in logSigmas.indices where logSigma - logSigmas[k] >= 0 { low = k }
        low = min(low, logSigmas.count - 2)
        let lo = logSigmas[low], hi = logSigmas[low + 1]
        var w = (lo - logSigma) / (lo - hi)
        w = min(max(w, 0), 1)
        return (1 - w) * Double(low) + w * Double(low + 1)
    }

    /// Mirrors `betas_for_alpha_bar(n)` with the cosine transform (Python floats, then a float32 tensor).
    static func betasForCosineAlphaBar(_ n: Int, maxBeta: Double = 0.999) -> [Float] {
        func alphaBar(_ t: Double) -> Double {
            let c = Foundation.cos((t + 0.008) / 1.008 * Double.pi / 2)
            return c * c
        }
        return (0..<n).map { i in
            let t1 = Double(i) / Double(n)
            let t2 = Double(i + 1) / Double(n)
            return Float(min(1 - alphaBar(t2) / alphaBar(t1), maxBeta))
        }
    }
}
