import Logging
import PostgresNIO

/// The schema of the PostgreSQL job store, created and upgraded at start by numbered migrations
/// recorded in `img2vid_migration`. All of it runs in one transaction that first takes a
/// transaction-level advisory lock (PostgreSQL docs, "Advisory Locks": `pg_advisory_xact_lock`,
/// released at commit), so two processes starting at once do not race: the second waits, then
/// finds every version applied and does nothing (the way Oban's and River's migrators serialise).
public struct PostgresMigrator: Sendable {
    /// The advisory lock key: "img2vid" as ASCII in a bigint.
    public static let lockKey: Int64 = 0x696D_6732_7669_64

    /// One numbered step: statements run in order (one per query: the extended protocol takes one
    /// statement at a time).
    public struct Migration: Sendable {
        public var version: Int
        public var statements: [String]
    }

    public static let migrations: [Migration] = [
        Migration(version: 1, statements: [
            """
            CREATE TABLE task (
                id TEXT PRIMARY KEY,
                seq BIGSERIAL NOT NULL,
                key_id TEXT,
                status TEXT NOT NULL,
                status_message TEXT NOT NULL DEFAULT '',
                external_task_id TEXT,
                input TEXT NOT NULL,
                image BYTEA NOT NULL,
                image_ext TEXT NOT NULL,
                policy TEXT NOT NULL,
                callback_url TEXT,
                created_at BIGINT NOT NULL,
                updated_at BIGINT NOT NULL,
                attempt INTEGER NOT NULL DEFAULT 0,
                max_attempts INTEGER NOT NULL DEFAULT 3,
                worker_id TEXT,
                lease_expires_at BIGINT,
                progress TEXT,
                cancel_requested BOOLEAN NOT NULL DEFAULT FALSE,
                cancelled BOOLEAN NOT NULL DEFAULT FALSE,
                moderation TEXT,
                result_file_id TEXT UNIQUE,
                result BYTEA,
                result_duration DOUBLE PRECISION,
                error_kind TEXT
            )
            """,
            "CREATE INDEX task_queue ON task (seq) WHERE status IN ('submitted', 'processing')",
            "CREATE INDEX task_key ON task (key_id, created_at)",
            "CREATE INDEX task_finished ON task (updated_at) WHERE status IN ('succeed', 'failed')",
            // Idempotent resubmission: one task per (key, external_task_id).
            "CREATE UNIQUE INDEX task_external ON task ((COALESCE(key_id, '')), external_task_id) WHERE external_task_id IS NOT NULL",
            """
            CREATE TABLE task_attempt (
                task_id TEXT NOT NULL REFERENCES task(id) ON DELETE CASCADE,
                attempt INTEGER NOT NULL,
                worker_id TEXT NOT NULL,
                claimed_at BIGINT NOT NULL,
                ended_at BIGINT,
                outcome TEXT,
                reason TEXT,
                PRIMARY KEY (task_id, attempt)
            )
            """,
            """
            CREATE TABLE task_event (
                id BIGSERIAL PRIMARY KEY,
                task_id TEXT NOT NULL REFERENCES task(id) ON DELETE CASCADE,
                kind TEXT NOT NULL,
                data TEXT NOT NULL,
                created_at BIGINT NOT NULL
            )
            """,
            "CREATE INDEX task_event_task ON task_event (task_id, id)",
            """
            CREATE TABLE webhook_delivery (
                id TEXT PRIMARY KEY,
                seq BIGSERIAL NOT NULL,
                task_id TEXT NOT NULL REFERENCES task(id) ON DELETE CASCADE,
                url TEXT NOT NULL,
                body TEXT NOT NULL,
                attempts INTEGER NOT NULL DEFAULT 0,
                state TEXT NOT NULL DEFAULT 'pending',
                next_attempt_at BIGINT NOT NULL,
                last_status_code INTEGER,
                last_error TEXT,
                created_at BIGINT NOT NULL,
                delivered_at BIGINT
            )
            """,
            "CREATE INDEX webhook_due ON webhook_delivery (next_attempt_at) WHERE state = 'pending'",
            "CREATE INDEX webhook_task ON webhook_delivery (task_id, seq)",
            """
            CREATE TABLE api_key (
                id TEXT PRIMARY KEY,
                seq BIGSERIAL NOT NULL,
                name TEXT NOT NULL UNIQUE,
                salt TEXT NOT NULL,
                hash TEXT NOT NULL,
                policy TEXT,
                max_concurrent INTEGER,
                max_queued INTEGER,
                created_at BIGINT NOT NULL,
                revoked_at BIGINT
            )
            """,
        ]),
    ]

    /// Applies the missing migrations; answers the versions this call applied (empty when the
    /// schema was current).
    @discardableResult
    public static func migrate(_ client: PostgresClient, logger: Logger) async throws -> [Int] {
        try await client.withTransaction(logger: logger) { connection in
            try await connection.query("SELECT pg_advisory_xact_lock(\(lockKey))", logger: logger)
            try await connection.query("""
                CREATE TABLE IF NOT EXISTS img2vid_migration (
                    version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())
                """, logger: logger)
            var applied = Set<Int>()
            for try await version in try await connection.query("SELECT version FROM img2vid_migration", logger: logger).decode(Int.self) {
                applied.insert(version)
            }
            var done: [Int] = []
            for migration in migrations where !applied.contains(migration.version) {
                for statement in migration.statements {
                    try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                }
                try await connection.query("INSERT INTO img2vid_migration (version) VALUES (\(migration.version))", logger: logger)
                done.append(migration.version)
            }
            return done
        }
    }
}
