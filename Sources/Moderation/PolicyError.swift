/// Why a policy cannot be used. Invalid policies are usage errors (exit 2); missing detector
/// weights fail closed with instructions (exit 4).
public enum PolicyError: Error, CustomStringConvertible, Equatable {
    /// The policy file is missing or unreadable.
    case unreadable(path: String)
    /// The policy is malformed: `reason` names the field.
    case invalid(source: String, reason: String)
    /// A detector's weights or model file is missing: not at `path` (next to the policy, or as
    /// given when absolute), nor at any of `searched` (the weight folders).
    case missingWeights(detector: String, path: String, searched: [String] = [])
    /// The detector type is known but not built into this binary.
    case detectorUnavailable(detector: String, type: String)
    /// The detector's files are there but it could not be built from them.
    case detectorFailedToLoad(detector: String, reason: String)

    public var description: String {
        switch self {
        case .unreadable(let path):
            return "cannot read the moderation policy \(path) (give --policy a JSON file, 'standard', or 'none')"
        case .invalid(let source, let reason):
            return "invalid moderation policy \(source): \(reason)"
        case .missingWeights(let detector, let path, let searched):
            let elsewhere = searched.isEmpty ? ""
                : "Also looked for it at \(searched.joined(separator: ", ")) (the installation's Weights/, --weights-dir, IMG2VID_WEIGHTS). "
            return "moderation detector '\(detector)' needs \(path), which is missing; failing closed. " + elsewhere
                + "Install the moderation weights with Scripts/setup, or choose another policy with --policy "
                + "(--policy none turns moderation off)"
        case .detectorUnavailable(let detector, let type):
            return "moderation detector '\(detector)' (type \(type)) is not available in this build; failing closed. "
                + "Choose a policy without it, or --policy none to turn moderation off"
        case .detectorFailedToLoad(let detector, let reason):
            return "moderation detector '\(detector)' could not be loaded; failing closed: \(reason)"
        }
    }
}
