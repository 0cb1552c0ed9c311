import Foundation

/// The contents of the `scheduler_config.json` of AnimateLCM-SVD's sampler, `AnimateLCMSVDStochasticIterativeScheduler`
/// (G-U-N/AnimateLCM, animatelcm_svd/animatelcm_scheduler.py), under its own snake_case field names.
///
/// Fields the file leaves out take the defaults of that class's `__init__` (40 training steps, sigma 0.002-80,
/// sigma_data 0.5, s_noise 1, rho 7, clip_denoised true); `animateLCMSVD` holds the settings the authors' demo uses
/// with AnimateLCM-SVD-xt (sigma_max 700, sigma_data 1, clip_denoised false).
public struct AnimateLCMSchedulerConfig: Codable, Equatable, Sendable {
    /// The `_class_name` a model folder's scheduler_config.json holds for this sampler.
    public static let className = "AnimateLCMSVDStochasticIterativeScheduler"

    public var className: String?
    public var numTrainTimesteps: Int
    public var sigmaMin: Double
    public var sigmaMax: Double
    public var sigmaData: Double
    public var sNoise: Double
    public var rho: Double
    public var clipDenoised: Bool

    enum CodingKeys: String, CodingKey {
        case className = "_class_name"
        case numTrainTimesteps = "num_train_timesteps"
        case sigmaMin = "sigma_min"
        case sigmaMax = "sigma_max"
        case sigmaData = "sigma_data"
        case sNoise = "s_noise"
        case rho
        case clipDenoised = "clip_denoised"
    }

    /// A config with the defaults of the authors' class for every field not given.
    public init(className: String? = AnimateLCMSchedulerConfig.className, numTrainTimesteps: Int = 40, sigmaMin: Double = 0.002,
                sigmaMax: Double = 80, sigmaData: Double = 0.5, sNoise: Double = 1, rho: Double = 7, clipDenoised: Bool = true) {
        self.className = className
        self.numTrainTimesteps = numTrainTimesteps
        self.sigmaMin = sigmaMin
        self.sigmaMax = sigmaMax
        self.sigmaData = sigmaData
        self.sNoise = sNoise
        self.rho = rho
        self.clipDenoised = clipDenoised
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = AnimateLCMSchedulerConfig()
        className = try c.decodeIfPresent(String.self, forKey: .className)
        numTrainTimesteps = try c.decodeIfPresent(Int.self, forKey: .numTrainTimesteps) ?? d.numTrainTimesteps
        sigmaMin = try c.decodeIfPresent(Double.self, forKey: .sigmaMin) ?? d.sigmaMin
        sigmaMax = try c.decodeIfPresent(Double.self, forKey: .sigmaMax) ?? d.sigmaMax
        sigmaData = try c.decodeIfPresent(Double.self, forKey: .sigmaData) ?? d.sigmaData
        sNoise = try c.decodeIfPresent(Double.self, forKey: .sNoise) ?? d.sNoise
        rho = try c.decodeIfPresent(Double.self, forKey: .rho) ?? d.rho
        clipDenoised = try c.decodeIfPresent(Bool.self, forKey: .clipDenoised) ?? d.clipDenoised
    }

    /// The sampler settings of the authors' AnimateLCM-SVD-xt demo (animatelcm_svd/app.py): 40 training timesteps,
    /// Karras sigmas (rho 7) from 700 down to 0.002, sigma_data 1, s_noise 1, no clipping of the denoised sample.
    public static let animateLCMSVD = AnimateLCMSchedulerConfig(numTrainTimesteps: 40, sigmaMin: 0.002, sigmaMax: 700,
                                                                sigmaData: 1, sNoise: 1, rho: 7, clipDenoised: false)
}
