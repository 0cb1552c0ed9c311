/// The settings of one detector in a policy's `detectors` object, keyed by the name rules use.
///
/// One flat record: each detector type reads the fields it needs and validation says which are
/// missing. `type` defaults to the key, so `"nudenet": {...}` is a nudenet detector and
/// `"my-scanner": {"type": "exec", ...}` a second exec detector.
///
/// ```json
/// "nudenet":  {"weights": "../../Weights/moderation/nudenet-320n.safetensors", "frame_stride": 2}
/// "keywords": {"lists": {"LABEL": ["word", "two words"]}}
/// "semantic": {"model": "../../Weights/moderation/all-MiniLM-L6-v2", "phrases": {"LABEL": ["a phrase"]}}
/// "exec":     {"command": ["/opt/scan", "--json"], "timeout_seconds": 10}
/// ```
/// Relative paths are resolved against the policy file's folder.
public struct DetectorSettings: Codable, Sendable, Equatable {
    /// The detector type (a `DetectorRegistry` name); defaults to the key in `detectors`.
    public var type: String?
    /// nudenet: the safetensors weights converted by Scripts/setup.
    public var weights: String?
    /// semantic: the sentence-embedding model (folder or file).
    public var model: String?
    /// Output stage: scan every n-th decoded frame (1 = every frame). Default 1.
    public var frameStride: Int?
    /// keywords: label -> words or phrases.
    public var lists: [String: [String]]?
    /// semantic: label -> example phrases; the detector reports each label's best cosine.
    public var phrases: [String: [String]]?
    /// exec: the program and its arguments (no shell); the image path is appended, text goes to stdin.
    public var command: [String]?
    /// exec: seconds before the command is killed and the request rejected. Default 30.
    public var timeoutSeconds: Double?

    public init(type: String? = nil, weights: String? = nil, model: String? = nil, frameStride: Int? = nil,
                lists: [String: [String]]? = nil, phrases: [String: [String]]? = nil, command: [String]? = nil,
                timeoutSeconds: Double? = nil) {
        self.type = type
        self.weights = weights
        self.model = model
        self.frameStride = frameStride
        self.lists = lists
        self.phrases = phrases
        self.command = command
        self.timeoutSeconds = timeoutSeconds
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case type, weights, model, lists, phrases, command
        case frameStride = "frame_stride"
        case timeoutSeconds = "timeout_seconds"
    }

    /// Frames between two scans at the output stage (at least 1).
    public var stride: Int { max(frameStride ?? 1, 1) }
}
