import Foundation
import Jobs
import Logging
import PostgresNIO

/// The job store of many machines: one PostgreSQL database that any number of API servers
/// (`img2vid serve --store postgres://...`) and workers (`img2vid worker`) share.
///
/// A queue is a table, as in Oban, River and Graphile Worker:
/// - **Claim** (`claim`): `SELECT ... FOR UPDATE SKIP LOCKED` in a short transaction picks the
///   oldest submitted task, or one whose lease expired; the claim is a lease (`lease_expires_at`)
///   that `heartbeat` renews, and `attempt + 1` is the new attempt's fencing token.
/// - **Fencing**: every worker write (`heartbeat`, `progress`, `finish`) says
///   `WHERE id = $1 AND attempt = $2 AND status = 'processing'`; a worker whose lease was taken
///   over changes nothing, and the refusal is logged.
/// - **Attempts**: each claim is a row of `task_attempt` with its worker and, once it ends, its
///   outcome and reason; a task whose lease expired `max_attempts` times fails with every reason.
/// - **Outbox**: a status change, its event and its webhook delivery are one transaction; the
///   deliveries are claimed with `SKIP LOCKED` too, so several processes deliver without sending
///   one message twice at once (a redelivery keeps its `webhook-id`).
/// - **Wake-up**: a submission sends `NOTIFY img2vid_task` in its transaction (delivered at
///   commit, PostgreSQL docs "NOTIFY"); workers LISTEN as a hint and poll with jitter anyway
///   (PgBouncer in transaction mode drops LISTEN).
/// - **Bytes**: the input image and the video are `bytea` columns, so no machine needs a shared
///   folder. The protocol speaks in paths, so the store copies bytes in from `imagePath` at
///   submit and from the video path at finish, and writes them out under `scratchDirectory` when
///   a worker claims a task (`imagePath`) or a server serves a file (`resultPath`).
public final class PostgresJobStore: JobStore {
    public typealias Renderer = @Sendable (TaskRecord) -> String

    public static let wakeChannel = "img2vid_task"
    /// First key of the per-API-key advisory locks of `submit` ("i2vk").
    static let keyLockSpace: Int32 = 0x6932_766B

    public struct Settings: Sendable {
        /// Where claimed inputs and served videos are written out.
        public var scratchDirectory: String
        /// Claims of one task before it fails (a claim whose lease expires counts).
        public var maxAttempts = 3
        /// Pool size of this process.
        public var maxConnections = 8
        /// How long a delivery claimed by one process is hidden from the others.
        public var deliveryLeaseMilliseconds: Int64 = 60_000
        /// Longest one store operation may take before it fails with `PostgresStoreError.timedOut`
        /// (`bounded`): a request postgres-nio left pending across a server restart then costs
        /// this long, not forever.
        public var operationTimeout: Double = 15

        public init(scratchDirectory: String) { self.scratchDirectory = scratchDirectory }
    }

    public let client: PostgresClient
    public let location: PostgresLocation
    public let settings: Settings
    private let render: Renderer
    private let runTask: Task<Void, Never>
    let logger: Logger

    /// Connects (the pool runs in a task of its own), applies the migrations under the advisory
    /// lock, and answers once the schema is current. Retries the first connection for `connectTimeout`.
    public static func open(_ location: PostgresLocation, settings: Settings, render: @escaping Renderer,
                            connectTimeout: Double = 30) async throws -> PostgresJobStore {
        let store = PostgresJobStore(location: location, settings: settings, render: render)
        let deadline = Date().addingTimeInterval(connectTimeout)
        while true {
            do {
                // A migration may wait for another process's (advisory lock) or build an index:
                // bounded by the whole connect timeout, not one operation's.
                try await store.bounded("migrate", seconds: connectTimeout) {
                    try await PostgresMigrator.migrate(store.client, logger: store.logger)
                }
                break
            } catch {
                if Date() > deadline {
                    store.close()
                    throw PostgresStoreError.unreachable(location.description, Self.describe(error))
                }
                try await Task.sleep(nanoseconds: 500_000_000)
            }
        }
        try FileManager.default.createDirectory(atPath: settings.scratchDirectory, withIntermediateDirectories: true)
        return store
    }

    private init(location: PostgresLocation, settings: Settings, render: @escaping Renderer) {
        self.location = location
        self.settings = settings
        self.render = render
        var logger = Logger(label: "img2vid.postgres")
        logger.logLevel = .critical
        self.logger = logger
        let client = PostgresClient(configuration: location.clientConfiguration(maxConnections: settings.maxConnections))
        self.client = client
        runTask = Task { await client.run() }
    }

    /// `body` within `settings.operationTimeout`. postgres-nio (1.33.2) can leave a request
    /// pending forever when the server ends its connection just as the request goes out (seen with
    /// `pg_ctl stop -m fast` under load: a worker's progress write never returned while its
    /// heartbeat, on another connection, kept renewing the lease, so the task never finished);
    /// `Deadline` cancels such a request and fails the operation with `timedOut` instead.
    /// A claim or finish that commits after the deadline is not lost: the claimed task's lease
    /// expires and another claim takes it (the late attempt counts against `maxAttempts`); a
    /// retried finish then finds the task finished and is refused as fenced.
    func bounded<T: Sendable>(_ operation: String, seconds: Double? = nil,
                              _ body: @escaping @Sendable () async throws -> T) async throws -> T {
        do {
            return try await Deadline.run(seconds: seconds ?? settings.operationTimeout, body)
        } catch let passed as Deadline.Passed {
            throw PostgresStoreError.timedOut(operation, passed.seconds)
        }
    }

    /// Stops the pool (its connections close).
    public func close() { runTask.cancel() }

    public static func now() -> Int64 { Int64((Date().timeIntervalSince1970 * 1000).rounded()) }

    /// Columns of a task without the bytes.
    static let columns = """
        id, key_id, status, status_message, external_task_id, input, image_ext, policy, callback_url, created_at, updated_at,
        attempt, progress, cancel_requested, cancelled, moderation, result_file_id, result_duration, error_kind
        """

    // MARK: Tasks

    /// Idempotent per key on `external_task_id`: a unique index on `(COALESCE(key_id, ''),
    /// external_task_id)` and `ON CONFLICT DO NOTHING` in one transaction, so two servers racing
    /// with the same id store one task (the client retried on another server).
    public func submit(_ new: NewTask) async throws -> (task: TaskRecord, created: Bool) {
        try await bounded("submit") { [self] in
            guard let image = FileManager.default.contents(atPath: new.imagePath) else { throw PostgresStoreError.missingFile(new.imagePath) }
            let now = Self.now()
            let input = try Self.json(new.input)
            let ext = (new.imagePath as NSString).pathExtension
            let maxAttempts = settings.maxAttempts
            return try await transaction { connection in
                if let external = new.externalTaskId, let existing = try await Self.firstTask(try await connection.query("""
                    SELECT \(unescaped: Self.columns) FROM task WHERE COALESCE(key_id, '') = \(new.keyId ?? "") AND external_task_id = \(external)
                    """, logger: logger)) {
                    return (existing, false)
                }
                if let limit = new.unfinishedLimit, let key = new.keyId {
                    // One submitter of a key at a time counts and inserts (a transaction-level advisory
                    // lock on the key): racing servers cannot both see room for the last task.
                    try await connection.query("SELECT pg_advisory_xact_lock(\(Self.keyLockSpace), hashtext(\(key)))", logger: logger)
                    var processing = 0, waiting = 0
                    for try await (status, n) in try await connection.query("""
                        SELECT status, COUNT(*) FROM task WHERE key_id = \(key) AND status IN ('submitted', 'processing') GROUP BY status
                        """, logger: logger).decode((String, Int).self) {
                        if status == "processing" { processing = n } else { waiting = n }
                    }
                    if processing + waiting >= limit { throw UnfinishedLimitReached(processing: processing, waiting: waiting, limit: limit) }
                }
                let rows = try await connection.query("""
                    INSERT INTO task (id, key_id, status, external_task_id, input, image, image_ext, policy, callback_url, created_at,
                                      updated_at, max_attempts)
                    VALUES (\(new.id), \(new.keyId), 'submitted', \(new.externalTaskId), \(input), \(image), \(ext), \(new.policy),
                            \(new.callbackURL), \(now), \(now), \(maxAttempts))
                    ON CONFLICT DO NOTHING
                    RETURNING \(unescaped: Self.columns)
                    """, logger: logger)
                if let task = try await Self.firstTask(rows) {
                    try await self.statusChanged(connection, task)
                    try await connection.query("SELECT pg_notify(\(Self.wakeChannel), \(task.id))", logger: logger)
                    return (task, true)
                }
                if let external = new.externalTaskId, let existing = try await Self.firstTask(try await connection.query("""
                    SELECT \(unescaped: Self.columns) FROM task WHERE COALESCE(key_id, '') = \(new.keyId ?? "") AND external_task_id = \(external)
                    """, logger: logger)) {
                    return (existing, false)
                }
                throw PostgresStoreError.duplicateTask(new.id)
            }
        }
    }

    public func task(externalTaskId: String, keyId: String?) async throws -> TaskRecord? {
        try await bounded("task") { [self] in
            try await Self.firstTask(try await client.query("""
                SELECT \(unescaped: Self.columns) FROM task WHERE COALESCE(key_id, '') = \(keyId ?? "") AND external_task_id = \(externalTaskId)
                """, logger: logger))
        }
    }

    public func task(id: String) async throws -> TaskRecord? {
        try await bounded("task") { [self] in
            try await Self.firstTask(try await client.query("SELECT \(unescaped: Self.columns) FROM task WHERE id = \(id)", logger: logger))
        }
    }

    /// The task, with its video written out under the scratch folder (`resultPath`).
    public func task(fileId: String) async throws -> TaskRecord? {
        try await bounded("task") { [self] in
            let path = (settings.scratchDirectory as NSString).appendingPathComponent("files/\(fileId).mp4")
            let rows = try await client.query("""
                SELECT \(unescaped: Self.columns), CASE WHEN \(FileManager.default.fileExists(atPath: path)) THEN NULL ELSE result END AS result
                FROM task WHERE result_file_id = \(fileId) AND status = 'succeed'
                """, logger: logger)
            for try await row in rows {
                var task = try Self.decodeTask(row)
                if let bytes = try row.makeRandomAccess()["result"].decode(Data?.self) {
                    try Self.writeAtomically(bytes, to: path)
                }
                task.resultPath = path
                return task
            }
            return nil
        }
    }

    public func tasks(keyId: String?, page: Int, pageSize: Int) async throws -> (tasks: [TaskRecord], total: Int) {
        try await bounded("tasks") { [self] in
            let offset = max(0, page - 1) * pageSize
            let all = keyId == nil
            var total = 0
            for try await n in try await client.query("SELECT COUNT(*) FROM task WHERE \(all) OR key_id = \(keyId)", logger: logger).decode(Int.self) {
                total = n
            }
            let rows = try await client.query("""
                SELECT \(unescaped: Self.columns) FROM task WHERE \(all) OR key_id = \(keyId)
                ORDER BY created_at DESC, seq DESC LIMIT \(pageSize) OFFSET \(offset)
                """, logger: logger)
            return (try await Self.allTasks(rows), total)
        }
    }

    public func requestCancel(id: String) async throws -> TaskRecord? {
        try await bounded("requestCancel") { [self] in
            try await transaction { connection in
                guard var task = try await Self.firstTask(try await connection.query(
                    "SELECT \(unescaped: Self.columns) FROM task WHERE id = \(id) FOR UPDATE", logger: logger)) else { return nil }
                switch task.status {
                case .submitted:
                    task.markCancelledBeforeStart(at: Self.now())
                    try await connection.query("""
                        UPDATE task SET status = 'failed', cancelled = TRUE, cancel_requested = TRUE, error_kind = 'cancelled',
                        status_message = \(task.statusMessage), updated_at = \(task.updatedAt), lease_expires_at = NULL WHERE id = \(id)
                        """, logger: logger)
                    try await self.statusChanged(connection, task)
                case .processing:
                    task.cancelRequested = true
                    try await connection.query("UPDATE task SET cancel_requested = TRUE WHERE id = \(id)", logger: logger)
                case .succeed, .failed:
                    break
                }
                return task
            }
        }
    }

    // MARK: Workers

    public func claim(workerId: String, leaseSeconds: Double) async throws -> TaskRecord? {
        try await bounded("claim") { [self] in
            let scratch = settings.scratchDirectory
            let claimed: (TaskRecord, Data)? = try await transaction { connection in
                let now = Self.now()
                try await self.failExhausted(connection, now: now)
                var candidate: String?
                for try await id in try await connection.query("""
                    SELECT t.id FROM task t LEFT JOIN api_key k ON k.id = t.key_id
                    WHERE (t.status = 'submitted' OR (t.status = 'processing' AND t.lease_expires_at < \(now)))
                      AND t.attempt < t.max_attempts
                      AND (k.max_concurrent IS NULL OR (SELECT COUNT(*) FROM task p WHERE p.key_id = t.key_id
                           AND p.status = 'processing' AND p.lease_expires_at >= \(now)) < k.max_concurrent)
                    ORDER BY t.seq LIMIT 1
                    FOR UPDATE OF t SKIP LOCKED
                    """, logger: logger).decode(String.self) {
                    candidate = id
                }
                guard let id = candidate else { return nil }
                // A lease that expired: its attempt ends with that reason.
                try await connection.query("""
                    UPDATE task_attempt SET ended_at = \(now), outcome = 'lost',
                    reason = 'lease expired: worker ' || worker_id || ' stopped renewing it (killed, stopped or cut off)'
                    WHERE task_id = \(id) AND ended_at IS NULL
                    """, logger: logger)
                let progress = try Self.json(TaskProgress(stage: "queued"))
                let lease = now + Int64(leaseSeconds * 1000)
                let rows = try await connection.query("""
                    UPDATE task SET status = 'processing', attempt = attempt + 1, worker_id = \(workerId), lease_expires_at = \(lease),
                    updated_at = \(now), progress = \(progress)
                    WHERE id = \(id)
                    RETURNING \(unescaped: Self.columns), image
                    """, logger: logger)
                for try await row in rows {
                    let task = try Self.decodeTask(row)
                    let image = try row.makeRandomAccess()["image"].decode(Data.self)
                    try await connection.query("""
                        INSERT INTO task_attempt (task_id, attempt, worker_id, claimed_at) VALUES (\(id), \(task.attempt), \(workerId), \(now))
                        """, logger: logger)
                    try await self.statusChanged(connection, task)
                    return (task, image)
                }
                return nil
            }
            guard let (claimedTask, image) = claimed else { return nil }
            var task = claimedTask
            let ext = (task.imagePath as NSString).pathExtension
            task.imagePath = (scratch as NSString).appendingPathComponent("inputs/\(task.id)-\(task.attempt).\(ext.isEmpty ? "png" : ext)")
            try Self.writeAtomically(image, to: task.imagePath)
            return task
        }
    }

    public func heartbeat(id: String, attempt: Int, leaseSeconds: Double) async throws -> Bool? {
        try await bounded("heartbeat") { [self] in
            let lease = Self.now() + Int64(leaseSeconds * 1000)
            for try await cancel in try await client.query("""
                UPDATE task SET lease_expires_at = \(lease) WHERE id = \(id) AND attempt = \(attempt) AND status = 'processing'
                RETURNING cancel_requested
                """, logger: logger).decode(Bool.self) {
                return cancel
            }
            fenced(id: id, attempt: attempt, write: "heartbeat")
            return nil
        }
    }

    public func progress(id: String, attempt: Int, _ progress: TaskProgress) async throws -> Bool {
        try await bounded("progress") { [self] in
            let json = try Self.json(progress)
            let data = #"{"task_id":"\#(id)",\#(json.dropFirst())"#
            let updated: Bool = try await transaction { connection in
                let now = Self.now()
                var hit = false
                for try await _ in try await connection.query("""
                    UPDATE task SET progress = \(json), updated_at = \(now) WHERE id = \(id) AND attempt = \(attempt) AND status = 'processing'
                    RETURNING id
                    """, logger: logger) { hit = true }
                guard hit else { return false }
                try await connection.query("INSERT INTO task_event (task_id, kind, data, created_at) VALUES (\(id), 'progress', \(data), \(now))",
                                           logger: logger)
                return true
            }
            if !updated { fenced(id: id, attempt: attempt, write: "progress") }
            return updated
        }
    }

    /// Ends the attempt; the video's bytes go into the row, and the local file is removed once committed.
    public func finish(id: String, attempt: Int, _ outcome: TaskOutcome) async throws -> Bool {
        try await bounded("finish") { [self] in
            var result: Data?
            var fileId: String?, duration: Double?, localPath: String?
            var status = TaskStatus.failed, message = "", errorKind: String?, moderation: String?, cancelled = false, attemptOutcome = "failed"
            switch outcome {
            case .succeeded(let id, let path, let seconds):
                guard let bytes = FileManager.default.contents(atPath: path) else { throw PostgresStoreError.missingFile(path) }
                result = bytes
                fileId = id
                duration = seconds
                localPath = path
                status = .succeed
                attemptOutcome = "succeeded"
            case .failed(let kind, let text, let decision):
                errorKind = kind
                message = text
                moderation = try decision.map(Self.json)
            case .cancelled:
                cancelled = true
                errorKind = "cancelled"
                message = "cancelled while processing; no video was written"
                attemptOutcome = "cancelled"
            }
            let statusText = status.rawValue
            let done: Bool = try await transaction { connection in
                let now = Self.now()
                let rows = try await connection.query("""
                    UPDATE task SET status = \(statusText), status_message = \(message), result_file_id = \(fileId), result = \(result),
                    result_duration = \(duration), error_kind = \(errorKind), moderation = \(moderation), cancelled = \(cancelled),
                    progress = CASE WHEN \(statusText) = 'succeed' AND progress IS NOT NULL
                                    THEN jsonb_set(jsonb_set(progress::jsonb, '{stage}', '"done"'), '{eta_s}', '0')::text ELSE progress END,
                    updated_at = \(now), lease_expires_at = NULL
                    WHERE id = \(id) AND attempt = \(attempt) AND status = 'processing'
                    RETURNING \(unescaped: Self.columns)
                    """, logger: logger)
                guard let task = try await Self.firstTask(rows) else { return false }
                try await connection.query("""
                    UPDATE task_attempt SET ended_at = \(now), outcome = \(attemptOutcome), reason = \(message)
                    WHERE task_id = \(id) AND attempt = \(attempt)
                    """, logger: logger)
                try await self.statusChanged(connection, task)
                return true
            }
            if done {
                if let localPath { try? FileManager.default.removeItem(atPath: localPath) }
                removeInputs(taskId: id)
            } else {
                fenced(id: id, attempt: attempt, write: "finish")
            }
            return done
        }
    }

    /// Start-up of a server: with many processes sharing the queue, only leases that already
    /// expired are released (a running task of another machine is left alone).
    public func requeueAbandoned() async throws -> Int {
        try await bounded("requeueAbandoned") { [self] in
            try await transaction { connection in
                let now = Self.now()
                try await self.failExhausted(connection, now: now)
                let rows = try await connection.query("""
                    SELECT \(unescaped: Self.columns) FROM task
                    WHERE status = 'processing' AND lease_expires_at < \(now) AND attempt < max_attempts
                    FOR UPDATE SKIP LOCKED
                    """, logger: logger)
                let tasks = try await Self.allTasks(rows)
                for var task in tasks {
                    task.status = .submitted
                    task.progress = nil
                    task.updatedAt = now
                    try await connection.query("""
                        UPDATE task SET status = 'submitted', progress = NULL, worker_id = NULL, lease_expires_at = NULL, updated_at = \(now)
                        WHERE id = \(task.id)
                        """, logger: logger)
                    try await connection.query("""
                        UPDATE task_attempt SET ended_at = \(now), outcome = 'lost', reason = 'lease expired: worker ' || worker_id || ' stopped renewing it'
                        WHERE task_id = \(task.id) AND ended_at IS NULL
                        """, logger: logger)
                    try await self.statusChanged(connection, task)
                }
                return tasks.count
            }
        }
    }

    /// Tasks whose lease expired on their last allowed attempt fail, with the reason of each attempt.
    private func failExhausted(_ connection: PostgresConnection, now: Int64) async throws {
        let rows = try await connection.query("""
            SELECT \(unescaped: Self.columns) FROM task
            WHERE status = 'processing' AND lease_expires_at < \(now) AND attempt >= max_attempts
            FOR UPDATE SKIP LOCKED LIMIT 16
            """, logger: logger)
        for var task in try await Self.allTasks(rows) {
            try await connection.query("""
                UPDATE task_attempt SET ended_at = \(now), outcome = 'lost',
                reason = 'lease expired: worker ' || worker_id || ' stopped renewing it (killed, stopped or cut off)'
                WHERE task_id = \(task.id) AND ended_at IS NULL
                """, logger: logger)
            var reasons: [String] = []
            for try await (attempt, worker, reason) in try await connection.query("""
                SELECT attempt, worker_id, COALESCE(reason, '') FROM task_attempt WHERE task_id = \(task.id) ORDER BY attempt
                """, logger: logger).decode((Int, String, String).self) {
                reasons.append("attempt \(attempt) on \(worker): \(reason)")
            }
            task.status = .failed
            task.errorKind = "error"
            task.statusMessage = "gave up after \(task.attempt) attempts: " + reasons.joined(separator: "; ")
            task.updatedAt = now
            try await connection.query("""
                UPDATE task SET status = 'failed', error_kind = 'error', status_message = \(task.statusMessage), updated_at = \(now),
                lease_expires_at = NULL WHERE id = \(task.id)
                """, logger: logger)
            try await statusChanged(connection, task)
        }
    }

    /// Per-attempt history: (attempt, worker, outcome, reason), oldest first.
    public func attempts(taskId: String) async throws -> [(attempt: Int, worker: String, outcome: String?, reason: String?)] {
        try await bounded("attempts") { [self] in
            var out: [(attempt: Int, worker: String, outcome: String?, reason: String?)] = []
            for try await (a, w, o, r) in try await client.query("""
                SELECT attempt, worker_id, outcome, reason FROM task_attempt WHERE task_id = \(taskId) ORDER BY attempt
                """, logger: logger).decode((Int, String, String?, String?).self) {
                out.append((a, w, o, r))
            }
            return out
        }
    }

    // MARK: Retention

    /// Deletes tasks finished before `olderThan` (ms since 1970) with their bytes, events,
    /// attempts and deliveries; answers how many.
    @discardableResult
    public func deleteFinished(olderThan: Int64) async throws -> Int {
        // One DELETE of everything old with its bytes: a large backlog takes longer than one
        // operation's bound, so retention gets ten minutes.
        try await bounded("deleteFinished", seconds: 600) { [self] in
            var count = 0
            for try await n in try await client.query("""
                WITH gone AS (DELETE FROM task WHERE status IN ('succeed', 'failed') AND updated_at < \(olderThan) RETURNING 1)
                SELECT COUNT(*) FROM gone
                """, logger: logger).decode(Int.self) { count = n }
            return count
        }
    }

    // MARK: Limits and metrics

    public func counts(keyId: String?) async throws -> [TaskStatus: Int] {
        try await bounded("counts") { [self] in
            var counts: [TaskStatus: Int] = [:]
            for try await (status, n) in try await client.query("""
                SELECT status, COUNT(*) FROM task WHERE \(keyId == nil) OR key_id = \(keyId) GROUP BY status
                """, logger: logger).decode((String, Int).self) {
                if let s = TaskStatus(rawValue: status) { counts[s] = n }
            }
            return counts
        }
    }

    // MARK: Events

    public func events(taskId: String, after afterId: Int64) async throws -> [TaskEvent] {
        try await bounded("events") { [self] in
            var events: [TaskEvent] = []
            for try await (id, task, kind, data, at) in try await client.query("""
                SELECT id, task_id, kind, data, created_at FROM task_event WHERE task_id = \(taskId) AND id > \(afterId) ORDER BY id
                """, logger: logger).decode((Int64, String, String, String, Int64).self) {
                events.append(TaskEvent(id: id, taskId: task, kind: kind, data: data, createdAt: at))
            }
            return events
        }
    }

    // MARK: Webhooks

    /// Claims up to `limit` due deliveries for this process: locked with `SKIP LOCKED` and pushed
    /// `deliveryLeaseMilliseconds` into the future, so another process does not send them meanwhile;
    /// `recordAttempt` then sets the real next time.
    public func dueDeliveries(now: Int64, limit: Int) async throws -> [WebhookDelivery] {
        try await bounded("dueDeliveries") { [self] in
            let hide = now + settings.deliveryLeaseMilliseconds
            return try await transaction { connection in
                let rows = try await connection.query("""
                    SELECT \(unescaped: Self.deliveryColumns) FROM webhook_delivery WHERE state = 'pending' AND next_attempt_at <= \(now)
                    ORDER BY seq LIMIT \(limit) FOR UPDATE SKIP LOCKED
                    """, logger: logger)
                var due: [WebhookDelivery] = []
                for try await row in rows { due.append(try Self.decodeDelivery(row)) }
                if !due.isEmpty {
                    try await connection.query("UPDATE webhook_delivery SET next_attempt_at = \(hide) WHERE id = ANY(\(due.map(\.id)))",
                                               logger: logger)
                }
                return due
            }
        }
    }

    public func recordAttempt(deliveryId: String, statusCode: Int?, error: String?, delivered: Bool, nextAttemptAt: Int64?) async throws {
        try await bounded("recordAttempt") { [self] in
            let state = delivered ? "delivered" : (nextAttemptAt == nil ? "failed" : "pending")
            let deliveredAt: Int64? = delivered ? Self.now() : nil
            try await client.query("""
                UPDATE webhook_delivery SET attempts = attempts + 1, state = \(state), last_status_code = \(statusCode), last_error = \(error),
                next_attempt_at = COALESCE(\(nextAttemptAt), next_attempt_at), delivered_at = \(deliveredAt) WHERE id = \(deliveryId)
                """, logger: logger)
        }
    }

    public func deliveries(taskId: String) async throws -> [WebhookDelivery] {
        try await bounded("deliveries") { [self] in
            var out: [WebhookDelivery] = []
            for try await row in try await client.query("""
                SELECT \(unescaped: Self.deliveryColumns) FROM webhook_delivery WHERE task_id = \(taskId) ORDER BY seq
                """, logger: logger) {
                out.append(try Self.decodeDelivery(row))
            }
            return out
        }
    }

    // MARK: Keys

    public func addKey(_ key: APIKey) async throws {
        try await bounded("addKey") { [self] in
            try await client.query("""
                INSERT INTO api_key (id, name, salt, hash, policy, max_concurrent, max_queued, created_at)
                VALUES (\(key.id), \(key.name), \(key.salt), \(key.hash), \(key.policy), \(key.maxConcurrent), \(key.maxQueued), \(key.createdAt))
                """, logger: logger)
        }
    }

    public func keys() async throws -> [APIKey] {
        try await bounded("keys") { [self] in
            var out: [APIKey] = []
            for try await (id, name, salt, hash, policy, maxC, maxQ, created, revoked) in try await client.query("""
                SELECT id, name, salt, hash, policy, max_concurrent, max_queued, created_at, revoked_at FROM api_key ORDER BY created_at, seq
                """, logger: logger).decode((String, String, String, String, String?, Int?, Int?, Int64, Int64?).self) {
                out.append(APIKey(id: id, name: name, salt: salt, hash: hash, policy: policy, maxConcurrent: maxC, maxQueued: maxQ,
                                  createdAt: created, revokedAt: revoked))
            }
            return out
        }
    }

    public func revokeKey(_ idOrName: String) async throws -> Bool {
        try await bounded("revokeKey") { [self] in
            var hit = false
            for try await _ in try await client.query("""
                UPDATE api_key SET revoked_at = \(Self.now()) WHERE (id = \(idOrName) OR name = \(idOrName)) AND revoked_at IS NULL RETURNING id
                """, logger: logger) { hit = true }
            return hit
        }
    }

    public func hasActiveKeys() async throws -> Bool {
        try await bounded("hasActiveKeys") { [self] in
            for try await any in try await client.query("SELECT EXISTS (SELECT 1 FROM api_key WHERE revoked_at IS NULL)", logger: logger)
                .decode(Bool.self) { return any }
            return false
        }
    }

    // MARK: Rows

    /// The status event and (with a callback URL) the webhook delivery of a status change, in the
    /// caller's transaction: the outbox row commits or rolls back with the change.
    private func statusChanged(_ connection: PostgresConnection, _ task: TaskRecord) async throws {
        let body = render(task)
        let now = task.updatedAt
        try await connection.query("INSERT INTO task_event (task_id, kind, data, created_at) VALUES (\(task.id), 'status', \(body), \(now))",
                                   logger: logger)
        if let url = task.callbackURL {
            try await connection.query("""
                INSERT INTO webhook_delivery (id, task_id, url, body, next_attempt_at, created_at)
                VALUES (\("msg_" + Self.token()), \(task.id), \(url), \(body), \(now), \(now))
                """, logger: logger)
        }
    }

    /// `client.withTransaction`, with the closure's own error thrown as itself (postgres-nio wraps
    /// it in `PostgresTransactionError`), so `UnfinishedLimitReached` reaches the API as such.
    private func transaction<Result>(_ body: (PostgresConnection) async throws -> sending Result) async throws -> sending Result {
        do {
            return try await client.withTransaction(logger: logger, body)
        } catch let error as PostgresTransactionError {
            throw error.closureError ?? error
        }
    }

    /// A write refused by the fencing token: logged, never applied.
    private func fenced(id: String, attempt: Int, write: String) {
        FileHandle.standardError.write(Data(
            "img2vid: fenced: task \(id) attempt \(attempt) is no longer this worker's (lease lost); \(write) refused\n".utf8))
    }

    private func removeInputs(taskId: String) {
        let folder = (settings.scratchDirectory as NSString).appendingPathComponent("inputs")
        for name in (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? [] where name.hasPrefix(taskId + "-") {
            try? FileManager.default.removeItem(atPath: (folder as NSString).appendingPathComponent(name))
        }
    }

    static let deliveryColumns =
        "id, task_id, url, body, attempts, state, next_attempt_at, last_status_code, last_error, created_at, delivered_at"

    static func firstTask(_ rows: PostgresRowSequence) async throws -> TaskRecord? {
        var first: TaskRecord?
        for try await row in rows where first == nil { first = try decodeTask(row) }
        return first
    }

    static func allTasks(_ rows: PostgresRowSequence) async throws -> [TaskRecord] {
        var out: [TaskRecord] = []
        for try await row in rows { out.append(try decodeTask(row)) }
        return out
    }

    static func decodeTask(_ row: PostgresRow) throws -> TaskRecord {
        let r = row.makeRandomAccess()
        let id = try r["id"].decode(String.self)
        let ext = try r["image_ext"].decode(String.self)
        return TaskRecord(
            id: id, keyId: try r["key_id"].decode(String?.self),
            status: TaskStatus(rawValue: try r["status"].decode(String.self)) ?? .failed,
            statusMessage: try r["status_message"].decode(String.self), externalTaskId: try r["external_task_id"].decode(String?.self),
            input: try decode(TaskInput.self, try r["input"].decode(String.self)),
            imagePath: "\(id).\(ext)", policy: try r["policy"].decode(String.self),
            callbackURL: try r["callback_url"].decode(String?.self), createdAt: try r["created_at"].decode(Int64.self),
            updatedAt: try r["updated_at"].decode(Int64.self), attempt: try r["attempt"].decode(Int.self),
            progress: try r["progress"].decode(String?.self).map { try decode(TaskProgress.self, $0) },
            cancelRequested: try r["cancel_requested"].decode(Bool.self), cancelled: try r["cancelled"].decode(Bool.self),
            moderation: try r["moderation"].decode(String?.self).map { try decode(TaskModeration.self, $0) },
            resultFileId: try r["result_file_id"].decode(String?.self), resultPath: nil,
            resultDuration: try r["result_duration"].decode(Double?.self), errorKind: try r["error_kind"].decode(String?.self))
    }

    static func decodeDelivery(_ row: PostgresRow) throws -> WebhookDelivery {
        let r = row.makeRandomAccess()
        return WebhookDelivery(id: try r["id"].decode(String.self), taskId: try r["task_id"].decode(String.self),
                               url: try r["url"].decode(String.self), body: try r["body"].decode(String.self),
                               attempts: try r["attempts"].decode(Int.self), state: try r["state"].decode(String.self),
                               nextAttemptAt: try r["next_attempt_at"].decode(Int64.self),
                               lastStatusCode: try r["last_status_code"].decode(Int?.self), lastError: try r["last_error"].decode(String?.self),
                               createdAt: try r["created_at"].decode(Int64.self), deliveredAt: try r["delivered_at"].decode(Int64?.self))
    }

    static func json<T: Encodable>(_ value: T) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    static func decode<T: Decodable>(_ type: T.Type, _ text: String) throws -> T {
        try JSONDecoder().decode(type, from: Data(text.utf8))
    }

    static func token() -> String {
        (0..<16).map { _ in String(format: "%02x", UInt8.random(in: 0...255)) }.joined()
    }

    static func writeAtomically(_ bytes: Data, to path: String) throws {
        let folder = (path as NSString).deletingLastPathComponent
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try bytes.write(to: URL(fileURLWithPath: path), options: .atomic)
    }

    // MARK: Availability

    /// The errors that mean the database cannot serve now: the connection refused, lost or closed
    /// (postgres-nio's connection errors, its pool closed or unable to connect), the server shutting
    /// down or starting (SQLSTATE class 08, 57P01-57P03), out of resources (class 53; 53100 is a full
    /// disk), a read-only standby (25006) or an I/O error (58030). A failed transaction is rolled
    /// back by the server, so nothing of it is stored.
    public func unavailability(_ error: any Error) -> JobStoreUnavailable? {
        if let unavailable = error as? JobStoreUnavailable { return unavailable }
        if let wrapped = error as? PostgresTransactionError {
            guard let inner = wrapped.beginError ?? wrapped.commitError ?? wrapped.closureError else { return nil }
            return unavailability(inner)
        }
        let store = "the job store at \(location)"
        if let error = error as? PostgresStoreError {
            switch error {
            case .unreachable, .timedOut: return JobStoreUnavailable(.unreachable, "\(error)")
            default: return nil
            }
        }
        if let error = error as? PSQLError {
            if let state = error.serverInfo?[.sqlState] {
                let why = Self.describe(error)
                switch state {
                case "53100": return JobStoreUnavailable(.full, "\(store): the database server's disk is full: \(why)")
                case "25006": return JobStoreUnavailable(.readOnly, "\(store) accepts no writes (a read-only standby?): \(why)")
                case "58030": return JobStoreUnavailable(.ioError, "\(store): disk I/O error: \(why)")
                case "57P01", "57P02", "57P03": return JobStoreUnavailable(.unreachable, "\(store) is shutting down or starting: \(why)")
                default:
                    if state.hasPrefix("08") { return JobStoreUnavailable(.unreachable, "\(store): connection failed: \(why)") }
                    if state.hasPrefix("53") { return JobStoreUnavailable(.unreachable, "\(store) is out of resources: \(why)") }
                    return nil
                }
            }
            switch error.code {
            case .connectionError, .serverClosedConnection, .clientClosedConnection, .uncleanShutdown, .poolClosed:
                let underlying = error.underlying.map { ": \($0)" } ?? ""
                return JobStoreUnavailable(.unreachable, "\(store) cannot be reached (\(error.code)\(underlying))")
            default:
                return nil
            }
        }
        // The pool's own errors (ConnectionPoolModule, not re-exported): it cannot connect (its
        // circuit breaker tripped) or a lease was cancelled.
        if String(reflecting: type(of: error)).contains("ConnectionPoolError") {
            return JobStoreUnavailable(.unreachable, "\(store) cannot be reached: the connection pool cannot connect (\(error))")
        }
        return nil
    }

    /// A PostgreSQL error in words (postgres-nio's own description hides the server's message).
    public static func describe(_ error: Error) -> String {
        if let error = error as? PSQLError {
            if let message = error.serverInfo?[.message] { return "\(message) (SQLSTATE \(error.serverInfo?[.sqlState] ?? "?"))" }
            return "\(error.code)"
        }
        return "\(error)"
    }
}
