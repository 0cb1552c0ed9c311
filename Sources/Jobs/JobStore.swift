/// The durable job queue behind the task API: tasks, their event log, webhook deliveries (an
/// outbox written in the same transaction as each status change) and API keys.
///
/// One machine uses `SQLiteJobStore`; the PostgreSQL store of issue 17 implements the same
/// protocol. A claim is a lease (`leaseSeconds`) that `heartbeat` renews; the attempt number
/// returned by `claim` is a fencing token: `progress`, `heartbeat` and `finish` with an older
/// attempt change nothing and answer false/nil.
public protocol JobStore: Sendable {
    // MARK: Tasks
    /// Stores a new `submitted` task, its first event and (with a callback) its first webhook, and
    /// answers it with `created` true.
    ///
    /// Idempotent per caller on `external_task_id` (Kling's field for the caller's own id of a task):
    /// when `task.externalTaskId` is set and the same key (`keyId`, nil for a server without keys)
    /// already has a task with that id, nothing is stored and that task is answered with `created`
    /// false, whatever its status. Two submissions racing with the same id store one task: the check
    /// and the insert are one transaction (the PostgreSQL store: a unique index on
    /// `(coalesce(key_id, ''), external_task_id)` and `ON CONFLICT DO NOTHING`).
    ///
    /// With `task.unfinishedLimit`, the key's submitted + processing tasks are counted in the same
    /// transaction as the insert, so concurrent submissions never exceed it: at the limit nothing
    /// is stored and `UnfinishedLimitReached` is thrown (a repeated external_task_id is answered
    /// first, limit or not). PostgreSQL: lock the key's row (`SELECT ... FOR UPDATE`) before counting.
    func submit(_ task: NewTask) async throws -> (task: TaskRecord, created: Bool)
    /// The task a key (nil: the keyless server) submitted with `externalTaskId`.
    func task(externalTaskId: String, keyId: String?) async throws -> TaskRecord?
    func task(id: String) async throws -> TaskRecord?
    /// The succeeded task whose video has this file id.
    func task(fileId: String) async throws -> TaskRecord?
    /// A key's tasks (all tasks for nil), newest first; `page` counts from 1.
    func tasks(keyId: String?, page: Int, pageSize: Int) async throws -> (tasks: [TaskRecord], total: Int)
    /// Asks a task to stop: a submitted task fails at once as cancelled; a processing one is marked
    /// and its worker stops at the next step. Nil when there is no such task.
    func requestCancel(id: String) async throws -> TaskRecord?

    // MARK: Workers
    /// Claims the oldest submitted task (or one whose lease expired): status processing, attempt + 1.
    func claim(workerId: String, leaseSeconds: Double) async throws -> TaskRecord?
    /// Renews the lease; answers whether a cancel was requested, nil when the lease was lost.
    func heartbeat(id: String, attempt: Int, leaseSeconds: Double) async throws -> Bool?
    /// Records progress and its event; false when the lease was lost.
    @discardableResult
    func progress(id: String, attempt: Int, _ progress: TaskProgress) async throws -> Bool
    /// Ends a claimed task; false (and nothing written) when `attempt` is no longer current.
    @discardableResult
    func finish(id: String, attempt: Int, _ outcome: TaskOutcome) async throws -> Bool
    /// Start-up of a single-machine server: tasks left processing by a killed process are queued again.
    func requeueAbandoned() async throws -> Int

    // MARK: Limits and metrics
    /// Tasks of a key by status (submitted and processing count against its limits).
    func counts(keyId: String?) async throws -> [TaskStatus: Int]

    // MARK: Events
    /// A task's events after `afterId` (0: from the start), oldest first.
    func events(taskId: String, after afterId: Int64) async throws -> [TaskEvent]

    // MARK: Webhooks
    /// Pending deliveries due at `now`, oldest first.
    func dueDeliveries(now: Int64, limit: Int) async throws -> [WebhookDelivery]
    /// Records one attempt: delivered, retried at `nextAttemptAt`, or failed for good (nil next).
    func recordAttempt(deliveryId: String, statusCode: Int?, error: String?, delivered: Bool, nextAttemptAt: Int64?) async throws
    func deliveries(taskId: String) async throws -> [WebhookDelivery]

    // MARK: Keys
    func addKey(_ key: APIKey) async throws
    func keys() async throws -> [APIKey]
    /// Revokes by id or name; false when none matched.
    func revokeKey(_ idOrName: String) async throws -> Bool
    /// Whether any unrevoked key exists (no keys: the server binds loopback only).
    func hasActiveKeys() async throws -> Bool

    // MARK: Availability
    /// Whether `error`, thrown by one of this store's calls, means the store cannot serve now (its
    /// database down or unreachable, its disk full, read-only or failing) rather than a bad request
    /// or a bug: the same call may succeed once the store is back. Nil for any other error.
    func unavailability(_ error: any Error) -> JobStoreUnavailable?
}

extension JobStore {
    /// A store that classifies nothing itself: only errors that already are `JobStoreUnavailable`.
    public func unavailability(_ error: any Error) -> JobStoreUnavailable? { error as? JobStoreUnavailable }
}
