import Foundation

/// The contents of a diffusers `scheduler_config.json` for the Euler family of schedulers.
///
/// Mirrors the `__init__` arguments of diffusers' `EulerDiscreteScheduler` (schedulers/scheduling_euler_discrete.py,
/// diffusers 0.42) under their own snake_case names: a downloaded `scheduler/scheduler_config.json` decodes
/// unchanged. Fields the file leaves out (or sets to `null`) take diffusers' defaults; fields this type does not
/// know (`clip_sample`, `set_alpha_to_one`, `skip_prk_steps`, ... which other schedulers read) are ignored, as
/// diffusers' `from_config` ignores them. String-valued options stay strings here and are checked when a scheduler
/// is built from the config, so an unsupported value is reported with the supported alternatives.
public struct SchedulerConfig: Codable, Equatable, Sendable {
    /// `_class_name`: the diffusers scheduler class the file was written for.
    public var className: String?
    /// `_diffusers_version`: the diffusers version that wrote the file.
    public var diffusersVersion: String?
    public var numTrainTimesteps: Int
    public var betaStart: Double
    public var betaEnd: Double
    /// `linear`, `scaled_linear` or `squaredcos_cap_v2`.
    public var betaSchedule: String
    /// Betas given directly (overrides `beta_schedule`).
    public var trainedBetas: [Double]?
    /// `epsilon`, `v_prediction` or `sample`.
    public var predictionType: String
    /// `linear` (or `log_linear`, which this implementation does not support).
    public var interpolationType: String
    public var useKarrasSigmas: Bool
    public var useExponentialSigmas: Bool
    public var useBetaSigmas: Bool
    /// Lower sigma bound of the Karras / exponential schedules; `nil`: the training schedule's smallest sigma.
    public var sigmaMin: Double?
    /// Upper sigma bound of the Karras / exponential schedules; `nil`: the training schedule's largest sigma.
    public var sigmaMax: Double?
    /// `linspace`, `leading` or `trailing`.
    public var timestepSpacing: String
    /// `discrete` or `continuous` (continuous applies with `v_prediction` only: timestep = 0.25 ln sigma).
    public var timestepType: String
    public var stepsOffset: Int
    public var rescaleBetasZeroSnr: Bool
    /// `zero` or `sigma_min`.
    public var finalSigmasType: String

    enum CodingKeys: String, CodingKey {
        case className = "_class_name"
        case diffusersVersion = "_diffusers_version"
        case numTrainTimesteps = "num_train_timesteps"
        case betaStart = "beta_start"
        case betaEnd = "beta_end"
        case betaSchedule = "beta_schedule"
        case trainedBetas = "trained_betas"
        case predictionType = "prediction_type"
        case interpolationType = "interpolation_type"
        case useKarrasSigmas = "use_karras_sigmas"
        case useExponentialSigmas = "use_exponential_sigmas"
        case useBetaSigmas = "use_beta_sigmas"
        case sigmaMin = "sigma_min"
        case sigmaMax = "sigma_max"
        case timestepSpacing = "timestep_spacing"
        case timestepType = "timestep_type"
        case stepsOffset = "steps_offset"
        case rescaleBetasZeroSnr = "rescale_betas_zero_snr"
        case finalSigmasType = "final_sigmas_type"
    }

    /// A config with diffusers' `EulerDiscreteScheduler` defaults for every field not given.
    public init(
        className: String? = nil,
        diffusersVersion: String? = nil,
        numTrainTimesteps: Int = 1000,
        betaStart: Double = 0.0001,
        betaEnd: Double = 0.02,
        betaSchedule: String = "linear",
        trainedBetas: [Double]? = nil,
        predictionType: String = "epsilon",
        interpolationType: String = "linear",
        useKarrasSigmas: Bool = false,
        useExponentialSigmas: Bool = false,
        useBetaSigmas: Bool = false,
        sigmaMin: Double? = nil,
        sigmaMax: Double? = nil,
        timestepSpacing: String = "linspace",
        timestepType: String = "discrete",
        stepsOffset: Int = 0,
        rescaleBetasZeroSnr: Bool = false,
        finalSigmasType: String = "zero"
    ) {
        self.className = className
        self.diffusersVersion = diffusersVersion
        self.numTrainTimesteps = numTrainTimesteps
        self.betaStart = betaStart
        self.betaEnd = betaEnd
        self.betaSchedule = betaSchedule
        self.trainedBetas = trainedBetas
        self.predictionType = predictionType
        self.interpolationType = interpolationType
        self.useKarrasSigmas = useKarrasSigmas
        self.useExponentialSigmas = useExponentialSigmas
        self.useBetaSigmas = useBetaSigmas
        self.sigmaMin = sigmaMin
        self.sigmaMax = sigmaMax
        self.timestepSpacing = timestepSpacing
        self.timestepType = timestepType
        self.stepsOffset = stepsOffset
        self.rescaleBetasZeroSnr = rescaleBetasZeroSnr
        self.finalSigmasType = finalSigmasType
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = SchedulerConfig()
        className = try c.decodeIfPresent(String.self, forKey: .className)
        diffusersVersion = try c.decodeIfPresent(String.self, forKey: .diffusersVersion)
        numTrainTimesteps = try c.decodeIfPresent(Int.self, forKey: .numTrainTimesteps) ?? d.numTrainTimesteps
        betaStart = try c.decodeIfPresent(Double.self, forKey: .betaStart) ?? d.betaStart
        betaEnd = try c.decodeIfPresent(Double.self, forKey: .betaEnd) ?? d.betaEnd
        betaSchedule = try c.decodeIfPresent(String.self, forKey: .betaSchedule) ?? d.betaSchedule
        trainedBetas = try c.decodeIfPresent([Double].self, forKey: .trainedBetas)
        predictionType = try c.decodeIfPresent(String.self, forKey: .predictionType) ?? d.predictionType
        interpolationType = try c.decodeIfPresent(String.self, forKey: .interpolationType) ?? d.interpolationType
        useKarrasSigmas = try c.decodeIfPresent(Bool.self, forKey: .useKarrasSigmas) ?? d.useKarrasSigmas
        useExponentialSigmas = try c.decodeIfPresent(Bool.self, forKey: .useExponentialSigmas) ?? d.useExponentialSigmas
        useBetaSigmas = try c.decodeIfPresent(Bool.self, forKey: .useBetaSigmas) ?? d.useBetaSigmas
        sigmaMin = try c.decodeIfPresent(Double.self, forKey: .sigmaMin)
        sigmaMax = try c.decodeIfPresent(Double.self, forKey: .sigmaMax)
        timestepSpacing = try c.decodeIfPresent(String.self, forKey: .timestepSpacing) ?? d.timestepSpacing
        timestepType = try c.decodeIfPresent(String.self, forKey: .timestepType) ?? d.timestepType
        stepsOffset = try c.decodeIfPresent(Int.self, forKey: .stepsOffset) ?? d.stepsOffset
        rescaleBetasZeroSnr = try c.decodeIfPresent(Bool.self, forKey: .rescaleBetasZeroSnr) ?? d.rescaleBetasZeroSnr
        finalSigmasType = try c.decodeIfPresent(String.self, forKey: .finalSigmasType) ?? d.finalSigmasType
    }

    /// Decodes a `scheduler_config.json` file.
    public static func load(contentsOf url: URL) throws -> SchedulerConfig {
        try JSONDecoder().decode(SchedulerConfig.self, from: Data(contentsOf: url))
    }

    /// The scheduler of stabilityai/stable-video-diffusion-img2vid and -img2vid-xt (their scheduler_config.json).
    public static let stableVideoDiffusion = SchedulerConfig(
        className: "EulerDiscreteScheduler",
        numTrainTimesteps: 1000,
        betaStart: 0.00085,
        betaEnd: 0.012,
        betaSchedule: "scaled_linear",
        predictionType: "v_prediction",
        interpolationType: "linear",
        useKarrasSigmas: true,
        sigmaMin: 0.002,
        sigmaMax: 700.0,
        timestepSpacing: "leading",
        timestepType: "continuous",
        stepsOffset: 1
    )
}
