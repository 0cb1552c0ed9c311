/// How far a running task is: the engine's stage, the denoising step, and an estimate of the
/// seconds left (from the mean step time so far; nil before the first step).
public struct TaskProgress: Codable, Sendable, Equatable {
    public var stage: String
    public var step: Int
    public var steps: Int
    public var etaSeconds: Double?

    public init(stage: String, step: Int = 0, steps: Int = 0, etaSeconds: Double? = nil) {
        self.stage = stage
        self.step = step
        self.steps = steps
        self.etaSeconds = etaSeconds
    }

    enum CodingKeys: String, CodingKey {
        case stage, step, steps, etaSeconds = "eta_s"
    }
}
