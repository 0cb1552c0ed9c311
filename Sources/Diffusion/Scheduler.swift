import Tensor

/// A noise scheduler: the sigma/timestep schedule of a sampler and its update rule.
///
/// Mirrors the part of diffusers' `SchedulerMixin` API the pipelines use (`set_timesteps`, `timesteps`,
/// `init_noise_sigma`, `scale_model_input`, `step`), with one difference: steps are addressed by their index in
/// `timesteps` instead of diffusers' hidden `_step_index` counter, so a scheduler is an immutable value once its
/// timesteps are set and the caller (the denoising loop) owns the progress. Stochastic samplers (AnimateLCM's
/// consistency sampler) draw their noise from a `RandomSource` the caller passes to `step`; deterministic ones
/// (Euler) leave it untouched.
public protocol Scheduler: Sendable {
    /// The model's timestep input for each inference step, in sampling order.
    var timesteps: [Float] { get }
    /// The noise level of each step plus the final one (`timesteps.count + 1` values).
    var sigmas: [Float] { get }
    /// Standard deviation of the initial noise: the pipeline multiplies unit normal latents by it.
    var initNoiseSigma: Float { get }
    /// Recomputes `timesteps` (and whatever schedule the scheduler keeps) for `numInferenceSteps` steps.
    mutating func setTimesteps(_ numInferenceSteps: Int) throws
    /// The model input for step `stepIndex` (diffusers' `scale_model_input`).
    func scaleModelInput(_ sample: Tensor, stepIndex: Int) -> Tensor
    /// The sample after step `stepIndex`, from the model's output at that step (diffusers' `step(...).prev_sample`),
    /// drawing any noise the step adds from `random`.
    func step(modelOutput: Tensor, stepIndex: Int, sample: Tensor, random: inout some RandomSource) -> Tensor
}

/// Why a scheduler cannot be built or set up from a configuration.
public enum SchedulerError: Error, Equatable, CustomStringConvertible {
    /// A configuration value this implementation does not support (field name as in scheduler_config.json).
    case unsupported(field: String, value: String, supported: [String])
    /// A configuration value that is out of range or inconsistent with another one.
    case invalidConfig(String)
    /// A step count below 1.
    case invalidStepCount(Int)
    /// More steps than the sampler's schedule has (AnimateLCM: one per training timestep, 40).
    case tooManySteps(Int, max: Int, sampler: String)

    public var description: String {
        switch self {
        case let .unsupported(field, value, supported):
            return "scheduler config: \(field) = \(value) is not supported; use one of: \(supported.joined(separator: ", "))"
        case let .invalidConfig(message):
            return "scheduler config: \(message)"
        case let .invalidStepCount(n):
            return "number of inference steps must be at least 1 (got \(n))"
        case let .tooManySteps(n, max, sampler):
            return "the \(sampler) sampler takes at most \(max) steps (got \(n)); it is made for 1-8 (the authors use 4)"
        }
    }
}
