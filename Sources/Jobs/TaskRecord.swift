/// One task as the store holds it. Times are milliseconds since 1970 (Kling's `created_at`).
public struct TaskRecord: Sendable, Equatable {
    public var id: String
    /// The API key that submitted it (its id, never the key); nil when the server has no keys.
    public var keyId: String?
    public var status: TaskStatus
    /// Why it failed or was cancelled, in plain words; empty otherwise.
    public var statusMessage: String
    public var externalTaskId: String?
    public var input: TaskInput
    /// The stored input image (under the data folder).
    public var imagePath: String
    /// The moderation policy the worker applies: a policy file path, or "none".
    public var policy: String
    public var callbackURL: String?
    public var createdAt: Int64
    public var updatedAt: Int64
    /// Claims so far; the current attempt is the fencing token of status writes.
    public var attempt: Int
    public var progress: TaskProgress?
    public var cancelRequested: Bool
    public var cancelled: Bool
    public var moderation: TaskModeration?
    /// The video: its file id (`GET /v1/files/{id}`), path and duration in seconds.
    public var resultFileId: String?
    public var resultPath: String?
    public var resultDuration: Double?
    /// A machine-readable reason for `failed`: error, rejected, cancelled.
    public var errorKind: String?

    public init(id: String, keyId: String?, status: TaskStatus, statusMessage: String = "", externalTaskId: String?,
                input: TaskInput, imagePath: String, policy: String, callbackURL: String?, createdAt: Int64, updatedAt: Int64,
                attempt: Int = 0, progress: TaskProgress? = nil, cancelRequested: Bool = false, cancelled: Bool = false,
                moderation: TaskModeration? = nil, resultFileId: String? = nil, resultPath: String? = nil,
                resultDuration: Double? = nil, errorKind: String? = nil) {
        self.id = id
        self.keyId = keyId
        self.status = status
        self.statusMessage = statusMessage
        self.externalTaskId = externalTaskId
        self.input = input
        self.imagePath = imagePath
        self.policy = policy
        self.callbackURL = callbackURL
        self.createdAt = createdAt
        self.updatedAt = updatedAt
        self.attempt = attempt
        self.progress = progress
        self.cancelRequested = cancelRequested
        self.cancelled = cancelled
        self.moderation = moderation
        self.resultFileId = resultFileId
        self.resultPath = resultPath
        self.resultDuration = resultDuration
        self.errorKind = errorKind
    }

    /// A queued task cancelled before any worker claimed it: it ends `failed` with `cancelled`
    /// set, as every store records it (each store writes the same fields in its own SQL).
    public mutating func markCancelledBeforeStart(at now: Int64) {
        status = .failed
        cancelled = true
        cancelRequested = true
        errorKind = "cancelled"
        statusMessage = "cancelled before it started"
        updatedAt = now
    }
}

/// What a submission stores: everything but the fields the store assigns.
public struct NewTask: Sendable {
    public var id: String
    public var keyId: String?
    public var externalTaskId: String?
    public var input: TaskInput
    public var imagePath: String
    public var policy: String
    public var callbackURL: String?
    /// The most unfinished (submitted + processing) tasks the key may have, this one included
    /// (max_concurrent + max_queued); nil for no limit. The store checks it in the insert's transaction.
    public var unfinishedLimit: Int?

    public init(id: String, keyId: String?, externalTaskId: String?, input: TaskInput, imagePath: String, policy: String,
                callbackURL: String?, unfinishedLimit: Int? = nil) {
        self.unfinishedLimit = unfinishedLimit
        self.id = id
        self.keyId = keyId
        self.externalTaskId = externalTaskId
        self.input = input
        self.imagePath = imagePath
        self.policy = policy
        self.callbackURL = callbackURL
    }
}

/// How a claimed task ended, as its worker reports it.
public enum TaskOutcome: Sendable {
    case succeeded(fileId: String, path: String, duration: Double)
    case failed(kind: String, message: String, moderation: TaskModeration?)
    case cancelled
}
