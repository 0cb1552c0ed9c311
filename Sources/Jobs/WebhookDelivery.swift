/// One webhook message to a task's `callback_url` (the outbox row): written in the same
/// transaction as the status change it reports, retried under the same `webhook-id` until a 2xx
/// or the attempts run out.
public struct WebhookDelivery: Sendable, Equatable {
    /// The Standard Webhooks message id (`webhook-id`), the same on every retry.
    public var id: String
    public var taskId: String
    public var url: String
    /// The exact body that is signed and sent.
    public var body: String
    public var attempts: Int
    /// pending, delivered, failed (attempts exhausted).
    public var state: String
    /// When the next attempt is due (ms since 1970).
    public var nextAttemptAt: Int64
    public var lastStatusCode: Int?
    public var lastError: String?
    public var createdAt: Int64
    public var deliveredAt: Int64?

    public init(id: String, taskId: String, url: String, body: String, attempts: Int, state: String, nextAttemptAt: Int64,
                lastStatusCode: Int?, lastError: String?, createdAt: Int64, deliveredAt: Int64?) {
        self.id = id
        self.taskId = taskId
        self.url = url
        self.body = body
        self.attempts = attempts
        self.state = state
        self.nextAttemptAt = nextAttemptAt
        self.lastStatusCode = lastStatusCode
        self.lastError = lastError
        self.createdAt = createdAt
        self.deliveredAt = deliveredAt
    }
}
