/// An API key as stored: its id and name, the salted hash of the secret (never the secret), its
/// own moderation policy and limits, and whether it was revoked.
public struct APIKey: Sendable, Equatable {
    public var id: String
    public var name: String
    public var salt: String
    public var hash: String
    /// A policy file path, a shipped policy name, "none", or nil for the server's default.
    public var policy: String?
    /// Tasks of this key that may be processing at once (nil: no limit).
    public var maxConcurrent: Int?
    /// Tasks of this key that may wait (submitted) at once (nil: no limit).
    public var maxQueued: Int?
    public var createdAt: Int64
    public var revokedAt: Int64?

    public init(id: String, name: String, salt: String, hash: String, policy: String?, maxConcurrent: Int?, maxQueued: Int?,
                createdAt: Int64, revokedAt: Int64?) {
        self.id = id
        self.name = name
        self.salt = salt
        self.hash = hash
        self.policy = policy
        self.maxConcurrent = maxConcurrent
        self.maxQueued = maxQueued
        self.createdAt = createdAt
        self.revokedAt = revokedAt
    }
}
