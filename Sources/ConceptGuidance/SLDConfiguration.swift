/// The five numbers of a Safe Latent Diffusion step, with the presets of diffusers' `SafetyConfig`
/// (pipelines/stable_diffusion_safe/safety_checker / `SafetyConfig`: WEAK, MEDIUM, STRONG, MAX).
///
/// | preset | warmup steps | guidance scale | threshold | momentum scale | momentum beta |
/// |---|---|---|---|---|---|
/// | weak | 15 | 20 | 0.0 | 0.0 | 0.0 |
/// | medium | 10 | 1000 | 0.01 | 0.3 | 0.4 |
/// | strong | 7 | 2000 | 0.025 | 0.5 | 0.7 |
/// | max | 0 | 5000 | 1.0 | 0.5 | 0.7 |
///
/// Values are kept as Double (Python floats); each is rounded to Float where the reference's float32
/// tensor arithmetic rounds it (a Python scalar times a float32 tensor is computed with the scalar cast
/// to float32; `1 - sld_mom_beta` is formed in double first).
public struct SLDConfiguration: Equatable, Sendable, Codable {
    /// `sld_guidance_scale`: how fast the per-element weight saturates at 1.
    public var guidanceScale: Double
    /// `sld_warmup_steps`: steps before the safety term is subtracted (the momentum still builds up).
    public var warmupSteps: Int
    /// `sld_threshold`: elements where cond - concept >= threshold are left alone.
    public var threshold: Double
    /// `sld_momentum_scale`: weight of the running momentum in each step's safety term.
    public var momentumScale: Double
    /// `sld_mom_beta`: momentum decay.
    public var momentumBeta: Double

    public init(guidanceScale: Double, warmupSteps: Int, threshold: Double, momentumScale: Double, momentumBeta: Double) {
        self.guidanceScale = guidanceScale
        self.warmupSteps = warmupSteps
        self.threshold = threshold
        self.momentumScale = momentumScale
        self.momentumBeta = momentumBeta
    }

    enum CodingKeys: String, CodingKey {
        case guidanceScale = "sld_guidance_scale"
        case warmupSteps = "sld_warmup_steps"
        case threshold = "sld_threshold"
        case momentumScale = "sld_momentum_scale"
        case momentumBeta = "sld_mom_beta"
    }

    /// The named settings of `--guidance`.
    public enum Preset: String, CaseIterable, Sendable, Codable {
        case off, weak, medium, strong, max

        /// diffusers' SafetyConfig values; nil for `off` (no concept branch at all).
        public var configuration: SLDConfiguration? {
            switch self {
            case .off: return nil
            case .weak: return SLDConfiguration(guidanceScale: 20, warmupSteps: 15, threshold: 0.0, momentumScale: 0.0, momentumBeta: 0.0)
            case .medium: return SLDConfiguration(guidanceScale: 1000, warmupSteps: 10, threshold: 0.01, momentumScale: 0.3, momentumBeta: 0.4)
            case .strong: return SLDConfiguration(guidanceScale: 2000, warmupSteps: 7, threshold: 0.025, momentumScale: 0.5, momentumBeta: 0.7)
            case .max: return SLDConfiguration(guidanceScale: 5000, warmupSteps: 0, threshold: 1.0, momentumScale: 0.5, momentumBeta: 0.7)
            }
        }
    }
}
