/// What the safety term did in one denoising step (for `img2vid compare --json`).
public struct SLDStepStatistics: Equatable, Sendable, Codable {
    /// Step index (0-based).
    public var step: Int
    /// Whether the safety term was subtracted (step >= warmup steps).
    public var applied: Bool
    /// Share of elements with mu > 0, over all concepts.
    public var activeFraction: Double
    /// L2 norm of gamma (the summed safety term, momentum included) over the whole prediction.
    public var gammaNorm: Double

    public init(step: Int, applied: Bool, activeFraction: Double, gammaNorm: Double) {
        self.step = step
        self.applied = applied
        self.activeFraction = activeFraction
        self.gammaNorm = gammaNorm
    }

    enum CodingKeys: String, CodingKey {
        case step, applied
        case activeFraction = "active_fraction"
        case gammaNorm = "gamma_norm"
    }
}
