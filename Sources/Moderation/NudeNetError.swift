/// Why the NudeNet detector could not be set up. Each message says how to fix it.
public enum NudeNetError: Error, Equatable, CustomStringConvertible {
    /// No file at the weights path (the usual cause: `Scripts/setup` ran without network access).
    case weightsMissing(path: String)
    /// The file exists but is not a readable safetensors file.
    case weightsUnreadable(path: String, reason: String)
    /// The file is safetensors but does not hold the YOLOv8n tensors NudeNet's 320n model has.
    case weightsMismatch(path: String, reason: String)

    static let remedy = "Run Scripts/fetch-nudenet (Scripts/setup does it; it needs the Python package index) to download and convert the nudenet 3.4.2 model, or choose --policy none to run without moderation."

    public var description: String {
        switch self {
        case .weightsMissing(let path):
            return "The nudenet weights are missing at \(path). \(Self.remedy)"
        case .weightsUnreadable(let path, let reason):
            return "The nudenet weights at \(path) cannot be read (\(reason)). Delete the file and rerun Scripts/fetch-nudenet, or choose --policy none."
        case .weightsMismatch(let path, let reason):
            return "\(path) does not hold the nudenet 320n model: \(reason) Delete the file and rerun Scripts/fetch-nudenet, or choose --policy none."
        }
    }
}
