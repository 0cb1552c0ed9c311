/// The three checkpoints of the moderation layer, in the order a request meets them.
public enum ModerationStage: String, Codable, Sendable, CaseIterable {
    /// The input image, decoded, before any model work.
    case input
    /// All user text of the request (the `--prompt`, text concepts).
    case prompt
    /// Decoded frames (every n-th), before anything is written.
    case output

    /// The actions a rule may take at this stage.
    public var allowedActions: [ModerationAction] {
        switch self {
        case .input, .prompt: return [.reject, .log]
        case .output: return [.reject, .withhold, .quarantine, .blur, .log]
        }
    }
}
