/// One entry of a task's event log (Server-Sent Events replay it; `id` is the SSE event id).
/// Kinds: `status` (a status change, the webhook's payload too), `progress` (a stage or step change).
public struct TaskEvent: Sendable, Equatable {
    /// Increasing over the whole store, so `Last-Event-ID` resumes after it.
    public var id: Int64
    public var taskId: String
    public var kind: String
    /// The JSON of the event's `data:` line.
    public var data: String
    public var createdAt: Int64

    public init(id: Int64, taskId: String, kind: String, data: String, createdAt: Int64) {
        self.id = id
        self.taskId = taskId
        self.kind = kind
        self.data = data
        self.createdAt = createdAt
    }
}
