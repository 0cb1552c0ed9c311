/// How `img2vid serve` was started.
public struct ServerConfiguration: Sendable {
    public var host: String
    public var port: Int
    public var dataDirectory: String
    /// `model_name` -> model folder.
    public var models: [String: String]
    public var defaultModel: String
    /// The default moderation policy: a policy file path, or "none".
    public var policy: String
    /// Resolves a key's policy name (path, shipped name or none) to a path or "none".
    public var resolvePolicy: @Sendable (String) throws -> String
    public var slots: Int
    public var webhookSecret: String
    public var maxBodyBytes = 16 << 20
    public var maxInputPixels = 16_777_216
    public var webhookMaxAttempts = 8
    public var webhookBaseDelay = 1.0
    /// Seconds a request waits for the job store before it is answered 503 (code 5002).
    public var storeTimeout = 5.0
    /// The base of result URLs (`task_result.videos[].url`); default http://HOST:PORT.
    public var publicURL: String?

    public var baseURL: String {
        if let publicURL { return publicURL.hasSuffix("/") ? String(publicURL.dropLast()) : publicURL }
        let h = (host == "0.0.0.0" || host == "::") ? "127.0.0.1" : host
        return "http://\(h.contains(":") ? "[\(h)]" : h):\(port)"
    }

    public init(host: String, port: Int, dataDirectory: String, models: [String: String], defaultModel: String, policy: String,
                resolvePolicy: @escaping @Sendable (String) throws -> String, slots: Int, webhookSecret: String) {
        self.host = host
        self.port = port
        self.dataDirectory = dataDirectory
        self.models = models
        self.defaultModel = defaultModel
        self.policy = policy
        self.resolvePolicy = resolvePolicy
        self.slots = slots
        self.webhookSecret = webhookSecret
    }

    /// Loopback addresses: the only ones a server without keys may bind.
    public static func isLoopback(_ host: String) -> Bool {
        host == "127.0.0.1" || host == "::1" || host == "localhost" || host.hasPrefix("127.")
    }
}
