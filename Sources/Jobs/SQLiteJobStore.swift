import Foundation
import GRDB
#if canImport(Glibc)
import Glibc
#endif

/// The job store of one machine: an SQLite database (WAL mode, so `img2vid keys` and readers can
/// use it while the server writes) under the data folder. Every status change, its event and its
/// webhook delivery are written in one transaction.
public final class SQLiteJobStore: JobStore {
    /// Renders a task as the JSON of status events and webhook bodies (the API's task object).
    public typealias Renderer = @Sendable (TaskRecord) -> String

    private let db: DatabasePool
    private let render: Renderer
    public let path: String

    public init(path: String, render: @escaping Renderer = SQLiteJobStore.plainRender) throws {
        self.path = path
        self.render = render
        var config = Configuration()
        config.busyMode = .timeout(10)
        db = try DatabasePool(path: path, configuration: config)
        try Self.migrator.migrate(db)
    }

    /// A minimal rendering for processes that never send events (the `keys` command, tests).
    public static let plainRender: Renderer = { task in
        #"{"task_id":"\#(task.id)","task_status":"\#(task.status.rawValue)"}"#
    }

    static var migrator: DatabaseMigrator {
        var m = DatabaseMigrator()
        m.registerMigration("v1") { db in
            try db.execute(sql: """
                CREATE TABLE task (
                    id TEXT PRIMARY KEY NOT NULL,
                    key_id TEXT,
                    status TEXT NOT NULL,
                    status_message TEXT NOT NULL DEFAULT '',
                    external_task_id TEXT,
                    input TEXT NOT NULL,
                    image_path TEXT NOT NULL,
                    policy TEXT NOT NULL,
                    callback_url TEXT,
                    created_at INTEGER NOT NULL,
                    updated_at INTEGER NOT NULL,
                    attempt INTEGER NOT NULL DEFAULT 0,
                    worker_id TEXT,
                    lease_expires_at INTEGER,
                    progress TEXT,
                    cancel_requested INTEGER NOT NULL DEFAULT 0,
                    cancelled INTEGER NOT NULL DEFAULT 0,
                    moderation TEXT,
                    result_file_id TEXT,
                    result_path TEXT,
                    result_duration REAL,
                    error_kind TEXT
                );
                CREATE INDEX task_queue ON task(status, created_at);
                CREATE INDEX task_key ON task(key_id, created_at);
                CREATE UNIQUE INDEX task_file ON task(result_file_id);
                CREATE TABLE task_event (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    task_id TEXT NOT NULL REFERENCES task(id),
                    kind TEXT NOT NULL,
                    data TEXT NOT NULL,
                    created_at INTEGER NOT NULL
                );
                CREATE INDEX task_event_task ON task_event(task_id, id);
                CREATE TABLE webhook_delivery (
                    id TEXT PRIMARY KEY NOT NULL,
                    task_id TEXT NOT NULL REFERENCES task(id),
                    url TEXT NOT NULL,
                    body TEXT NOT NULL,
                    attempts INTEGER NOT NULL DEFAULT 0,
                    state TEXT NOT NULL DEFAULT 'pending',
                    next_attempt_at INTEGER NOT NULL,
                    last_status_code INTEGER,
                    last_error TEXT,
                    created_at INTEGER NOT NULL,
                    delivered_at INTEGER
                );
                CREATE INDEX webhook_due ON webhook_delivery(state, next_attempt_at);
                CREATE INDEX webhook_task ON webhook_delivery(task_id, created_at);
                CREATE TABLE api_key (
                    id TEXT PRIMARY KEY NOT NULL,
                    name TEXT NOT NULL UNIQUE,
                    salt TEXT NOT NULL,
                    hash TEXT NOT NULL,
                    policy TEXT,
                    max_concurrent INTEGER,
                    max_queued INTEGER,
                    created_at INTEGER NOT NULL,
                    revoked_at INTEGER
                );
                """)
        }
        // external_task_id names one task per key (JobStore.submit); '' stands for "no key".
        m.registerMigration("v2-external-task-id") { db in
            try db.execute(sql: """
                CREATE UNIQUE INDEX task_external ON task(COALESCE(key_id, ''), external_task_id)
                    WHERE external_task_id IS NOT NULL;
                """)
        }
        return m
    }

    public static func now() -> Int64 { Int64((Date().timeIntervalSince1970 * 1000).rounded()) }

    // MARK: Tasks

    public func submit(_ new: NewTask) async throws -> (task: TaskRecord, created: Bool) {
        let now = Self.now()
        let task = TaskRecord(id: new.id, keyId: new.keyId, status: .submitted, externalTaskId: new.externalTaskId,
                              input: new.input, imagePath: new.imagePath, policy: new.policy, callbackURL: new.callbackURL,
                              createdAt: now, updatedAt: now)
        let input = try Self.json(task.input)
        return try await db.write { db in
            if let external = new.externalTaskId, let existing = try Self.fetchTask(db, externalTaskId: external, keyId: new.keyId) {
                return (existing, false)
            }
            if let limit = new.unfinishedLimit, let key = new.keyId {
                let rows = try Row.fetchAll(db, sql: """
                    SELECT status, COUNT(*) AS n FROM task WHERE key_id = ? AND status IN ('submitted', 'processing') GROUP BY status
                    """, arguments: [key])
                let count = { (status: String) -> Int in rows.first { $0["status"] == status }?["n"] ?? 0 }
                let processing = count("processing"), waiting = count("submitted")
                if processing + waiting >= limit { throw UnfinishedLimitReached(processing: processing, waiting: waiting, limit: limit) }
            }
            try db.execute(sql: """
                INSERT INTO task (id, key_id, status, external_task_id, input, image_path, policy, callback_url, created_at, updated_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [task.id, task.keyId, task.status.rawValue, task.externalTaskId, input, task.imagePath,
                                 task.policy, task.callbackURL, now, now])
            try self.statusChanged(db, task)
            return (task, true)
        }
    }

    public func task(id: String) async throws -> TaskRecord? {
        try await db.read { db in try Self.fetchTask(db, id: id) }
    }

    public func task(externalTaskId: String, keyId: String?) async throws -> TaskRecord? {
        try await db.read { db in try Self.fetchTask(db, externalTaskId: externalTaskId, keyId: keyId) }
    }

    static func fetchTask(_ db: Database, externalTaskId: String, keyId: String?) throws -> TaskRecord? {
        try Row.fetchOne(db, sql: "SELECT * FROM task WHERE COALESCE(key_id, '') = ? AND external_task_id = ?",
                         arguments: [keyId ?? "", externalTaskId]).map(Self.decodeTask)
    }

    public func task(fileId: String) async throws -> TaskRecord? {
        try await db.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM task WHERE result_file_id = ? AND status = 'succeed'", arguments: [fileId])
                .map(Self.decodeTask)
        }
    }

    public func tasks(keyId: String?, page: Int, pageSize: Int) async throws -> (tasks: [TaskRecord], total: Int) {
        try await db.read { db in
            let filter = keyId == nil ? "" : "WHERE key_id = ?"
            let args: StatementArguments = keyId.map { [$0] } ?? []
            let total = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM task \(filter)", arguments: args) ?? 0
            let rows = try Row.fetchAll(db, sql: "SELECT * FROM task \(filter) ORDER BY created_at DESC, rowid DESC LIMIT ? OFFSET ?",
                                        arguments: args + [pageSize, max(0, page - 1) * pageSize])
            return (try rows.map(Self.decodeTask), total)
        }
    }

    public func requestCancel(id: String) async throws -> TaskRecord? {
        try await db.write { db in
            guard var task = try Self.fetchTask(db, id: id) else { return nil }
            switch task.status {
            case .submitted:
                task.markCancelledBeforeStart(at: Self.now())
                try db.execute(sql: """
                    UPDATE task SET status = 'failed', cancelled = 1, cancel_requested = 1, error_kind = 'cancelled',
                    status_message = ?, updated_at = ? WHERE id = ?
                    """, arguments: [task.statusMessage, task.updatedAt, id])
                try self.statusChanged(db, task)
            case .processing:
                task.cancelRequested = true
                try db.execute(sql: "UPDATE task SET cancel_requested = 1 WHERE id = ?", arguments: [id])
            case .succeed, .failed:
                break
            }
            return task
        }
    }

    // MARK: Workers

    public func claim(workerId: String, leaseSeconds: Double) async throws -> TaskRecord? {
        try await db.write { db in
            let now = Self.now()
            guard let row = try Row.fetchOne(db, sql: """
                SELECT t.* FROM task t LEFT JOIN api_key k ON k.id = t.key_id
                WHERE (t.status = 'submitted' OR (t.status = 'processing' AND t.lease_expires_at < ?))
                  AND (k.max_concurrent IS NULL OR (SELECT COUNT(*) FROM task p
                       WHERE p.key_id = t.key_id AND p.status = 'processing' AND p.id != t.id) < k.max_concurrent)
                ORDER BY t.created_at, t.rowid LIMIT 1
                """, arguments: [now]) else { return nil }
            var task = try Self.decodeTask(row)
            task.status = .processing
            task.attempt += 1
            task.updatedAt = now
            task.progress = TaskProgress(stage: "queued")
            try db.execute(sql: """
                UPDATE task SET status = 'processing', attempt = ?, worker_id = ?, lease_expires_at = ?, updated_at = ?, progress = ?
                WHERE id = ?
                """, arguments: [task.attempt, workerId, now + Int64(leaseSeconds * 1000), now, try Self.json(task.progress!), task.id])
            try self.statusChanged(db, task)
            return task
        }
    }

    public func heartbeat(id: String, attempt: Int, leaseSeconds: Double) async throws -> Bool? {
        try await db.write { db in
            try db.execute(sql: "UPDATE task SET lease_expires_at = ? WHERE id = ? AND attempt = ? AND status = 'processing'",
                           arguments: [Self.now() + Int64(leaseSeconds * 1000), id, attempt])
            guard db.changesCount == 1 else { return nil }
            return try Bool.fetchOne(db, sql: "SELECT cancel_requested FROM task WHERE id = ?", arguments: [id]) ?? false
        }
    }

    public func progress(id: String, attempt: Int, _ progress: TaskProgress) async throws -> Bool {
        let json = try Self.json(progress)
        return try await db.write { db in
            let now = Self.now()
            try db.execute(sql: "UPDATE task SET progress = ?, updated_at = ? WHERE id = ? AND attempt = ? AND status = 'processing'",
                           arguments: [json, now, id, attempt])
            guard db.changesCount == 1 else { return false }
            let data = #"{"task_id":"\#(id)",\#(json.dropFirst())"#
            try db.execute(sql: "INSERT INTO task_event (task_id, kind, data, created_at) VALUES (?, 'progress', ?, ?)",
                           arguments: [id, data, now])
            return true
        }
    }

    public func finish(id: String, attempt: Int, _ outcome: TaskOutcome) async throws -> Bool {
        try await db.write { db in
            guard var task = try Self.fetchTask(db, id: id), task.status == .processing, task.attempt == attempt else { return false }
            task.updatedAt = Self.now()
            switch outcome {
            case .succeeded(let fileId, let path, let duration):
                task.status = .succeed
                task.statusMessage = ""
                task.resultFileId = fileId
                task.resultPath = path
                task.resultDuration = duration
                if var p = task.progress { p.stage = "done"; p.etaSeconds = 0; task.progress = p }
            case .failed(let kind, let message, let moderation):
                task.status = .failed
                task.errorKind = kind
                task.statusMessage = message
                task.moderation = moderation
            case .cancelled:
                task.status = .failed
                task.cancelled = true
                task.errorKind = "cancelled"
                task.statusMessage = "cancelled while processing; no video was written"
            }
            try db.execute(sql: """
                UPDATE task SET status = ?, status_message = ?, result_file_id = ?, result_path = ?, result_duration = ?,
                error_kind = ?, moderation = ?, cancelled = ?, progress = ?, updated_at = ?, lease_expires_at = NULL
                WHERE id = ? AND attempt = ?
                """, arguments: [task.status.rawValue, task.statusMessage, task.resultFileId, task.resultPath, task.resultDuration,
                                 task.errorKind, try task.moderation.map(Self.json), task.cancelled,
                                 try task.progress.map(Self.json), task.updatedAt, id, attempt])
            try self.statusChanged(db, task)
            return true
        }
    }

    public func requeueAbandoned() async throws -> Int {
        try await db.write { db in
            let ids = try String.fetchAll(db, sql: "SELECT id FROM task WHERE status = 'processing'")
            for id in ids {
                guard var task = try Self.fetchTask(db, id: id) else { continue }
                task.status = .submitted
                task.progress = nil
                task.updatedAt = Self.now()
                try db.execute(sql: """
                    UPDATE task SET status = 'submitted', progress = NULL, worker_id = NULL, lease_expires_at = NULL, updated_at = ?
                    WHERE id = ?
                    """, arguments: [task.updatedAt, id])
                try self.statusChanged(db, task)
            }
            return ids.count
        }
    }

    // MARK: Limits and metrics

    public func counts(keyId: String?) async throws -> [TaskStatus: Int] {
        try await db.read { db in
            let filter = keyId == nil ? "" : "WHERE key_id = ?"
            let rows = try Row.fetchAll(db, sql: "SELECT status, COUNT(*) AS n FROM task \(filter) GROUP BY status",
                                        arguments: keyId.map { [$0] } ?? [])
            var counts: [TaskStatus: Int] = [:]
            for row in rows {
                if let status = TaskStatus(rawValue: row["status"]) { counts[status] = row["n"] }
            }
            return counts
        }
    }

    // MARK: Events

    public func events(taskId: String, after afterId: Int64) async throws -> [TaskEvent] {
        try await db.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM task_event WHERE task_id = ? AND id > ? ORDER BY id",
                             arguments: [taskId, afterId]).map { row in
                TaskEvent(id: row["id"], taskId: row["task_id"], kind: row["kind"], data: row["data"], createdAt: row["created_at"])
            }
        }
    }

    // MARK: Webhooks

    public func dueDeliveries(now: Int64, limit: Int) async throws -> [WebhookDelivery] {
        try await db.read { db in
            try Row.fetchAll(db, sql: """
                SELECT * FROM webhook_delivery WHERE state = 'pending' AND next_attempt_at <= ?
                ORDER BY created_at, rowid LIMIT ?
                """, arguments: [now, limit]).map(Self.decodeDelivery)
        }
    }

    public func recordAttempt(deliveryId: String, statusCode: Int?, error: String?, delivered: Bool, nextAttemptAt: Int64?) async throws {
        try await db.write { db in
            let state = delivered ? "delivered" : (nextAttemptAt == nil ? "failed" : "pending")
            try db.execute(sql: """
                UPDATE webhook_delivery SET attempts = attempts + 1, state = ?, last_status_code = ?, last_error = ?,
                next_attempt_at = COALESCE(?, next_attempt_at), delivered_at = ? WHERE id = ?
                """, arguments: [state, statusCode, error, nextAttemptAt, delivered ? Self.now() : nil, deliveryId])
        }
    }

    public func deliveries(taskId: String) async throws -> [WebhookDelivery] {
        try await db.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM webhook_delivery WHERE task_id = ? ORDER BY created_at, rowid",
                             arguments: [taskId]).map(Self.decodeDelivery)
        }
    }

    // MARK: Keys

    public func addKey(_ key: APIKey) async throws {
        try await db.write { db in
            try db.execute(sql: """
                INSERT INTO api_key (id, name, salt, hash, policy, max_concurrent, max_queued, created_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [key.id, key.name, key.salt, key.hash, key.policy, key.maxConcurrent, key.maxQueued, key.createdAt])
        }
    }

    public func keys() async throws -> [APIKey] {
        try await db.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM api_key ORDER BY created_at, rowid").map { row in
                APIKey(id: row["id"], name: row["name"], salt: row["salt"], hash: row["hash"], policy: row["policy"],
                       maxConcurrent: row["max_concurrent"], maxQueued: row["max_queued"], createdAt: row["created_at"],
                       revokedAt: row["revoked_at"])
            }
        }
    }

    public func revokeKey(_ idOrName: String) async throws -> Bool {
        try await db.write { db in
            try db.execute(sql: "UPDATE api_key SET revoked_at = ? WHERE (id = ? OR name = ?) AND revoked_at IS NULL",
                           arguments: [Self.now(), idOrName, idOrName])
            return db.changesCount > 0
        }
    }

    public func hasActiveKeys() async throws -> Bool {
        try await db.read { db in try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM api_key WHERE revoked_at IS NULL)") ?? false }
    }

    // MARK: Availability

    /// SQLite's answers that mean the database cannot serve now (SQLite docs, "Result and Error
    /// Codes"): SQLITE_FULL (the disk is full), SQLITE_IOERR (a disk I/O error; counted as full when
    /// the file system has no free blocks left, as a write that hits ENOSPC in a memory-mapped or
    /// truncated file reports it), SQLITE_READONLY, SQLITE_CANTOPEN, and SQLITE_BUSY/LOCKED after the
    /// 10 s busy timeout. SQLite rolls the failed transaction back, so nothing of it is stored.
    public func unavailability(_ error: any Error) -> JobStoreUnavailable? {
        if let unavailable = error as? JobStoreUnavailable { return unavailable }
        guard let error = error as? DatabaseError else { return nil }
        let folder = (path as NSString).deletingLastPathComponent
        let what = "the job database \(path)"
        switch error.resultCode {
        case .SQLITE_FULL:
            return JobStoreUnavailable(.full, "\(what) cannot grow: the disk is full (SQLITE_FULL); free space in \(folder)")
        case .SQLITE_IOERR:
            if Self.isFull(folder) {
                return JobStoreUnavailable(.full, "\(what) cannot grow: the disk is full (\(error.extendedResultCode)); free space in \(folder)")
            }
            return JobStoreUnavailable(.ioError, "\(what): disk I/O error (\(error.extendedResultCode))")
        case .SQLITE_READONLY:
            return JobStoreUnavailable(.readOnly, "\(what) is read-only (\(error.extendedResultCode)); check the permissions and mount of \(folder)")
        case .SQLITE_CANTOPEN:
            return JobStoreUnavailable(.unreachable, "\(what) cannot be opened (SQLITE_CANTOPEN)")
        case .SQLITE_BUSY, .SQLITE_LOCKED:
            return JobStoreUnavailable(.busy, "\(what) stayed locked by another connection for longer than 10 s (\(error.resultCode))")
        default:
            return nil
        }
    }

    /// Whether the file system holding `folder` has no block left for an unprivileged writer.
    static func isFull(_ folder: String) -> Bool {
        var stats = statvfs()
        guard statvfs(folder, &stats) == 0 else { return false }
        return stats.f_bavail == 0
    }

    // MARK: Rows

    /// The status event and (with a callback URL) the webhook delivery of a status change.
    private func statusChanged(_ db: Database, _ task: TaskRecord) throws {
        let body = render(task)
        let now = task.updatedAt
        try db.execute(sql: "INSERT INTO task_event (task_id, kind, data, created_at) VALUES (?, 'status', ?, ?)",
                       arguments: [task.id, body, now])
        if let url = task.callbackURL {
            try db.execute(sql: """
                INSERT INTO webhook_delivery (id, task_id, url, body, next_attempt_at, created_at) VALUES (?, ?, ?, ?, ?, ?)
                """, arguments: ["msg_" + RandomToken.make(bytes: 16), task.id, url, body, now, now])
        }
    }

    static func fetchTask(_ db: Database, id: String) throws -> TaskRecord? {
        try Row.fetchOne(db, sql: "SELECT * FROM task WHERE id = ?", arguments: [id]).map(decodeTask)
    }

    static func decodeTask(_ row: Row) throws -> TaskRecord {
        TaskRecord(id: row["id"], keyId: row["key_id"], status: TaskStatus(rawValue: row["status"]) ?? .failed,
                   statusMessage: row["status_message"], externalTaskId: row["external_task_id"],
                   input: try decode(TaskInput.self, row["input"]), imagePath: row["image_path"], policy: row["policy"],
                   callbackURL: row["callback_url"], createdAt: row["created_at"], updatedAt: row["updated_at"],
                   attempt: row["attempt"], progress: try (row["progress"] as String?).map { try decode(TaskProgress.self, $0) },
                   cancelRequested: row["cancel_requested"], cancelled: row["cancelled"],
                   moderation: try (row["moderation"] as String?).map { try decode(TaskModeration.self, $0) },
                   resultFileId: row["result_file_id"], resultPath: row["result_path"], resultDuration: row["result_duration"],
                   errorKind: row["error_kind"])
    }

    static func decodeDelivery(_ row: Row) -> WebhookDelivery {
        WebhookDelivery(id: row["id"], taskId: row["task_id"], url: row["url"], body: row["body"], attempts: row["attempts"],
                        state: row["state"], nextAttemptAt: row["next_attempt_at"], lastStatusCode: row["last_status_code"],
                        lastError: row["last_error"], createdAt: row["created_at"], deliveredAt: row["delivered_at"])
    }

    static func json<T: Encodable>(_ value: T) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    static func decode<T: Decodable>(_ type: T.Type, _ text: String) throws -> T {
        try JSONDecoder().decode(type, from: Data(text.utf8))
    }
}
