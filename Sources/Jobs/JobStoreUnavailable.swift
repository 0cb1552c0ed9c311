/// The job store cannot serve right now: its database is down or unreachable, its disk is full or
/// read-only, or it did not answer in time. Not a bad request and not a bug: the same request may
/// succeed once the store is back, so the HTTP API answers 503 with `Retry-After` (docs/API.md,
/// codes 5002 and 5003) and a worker waits and tries again.
///
/// Stores never hide such failures: `JobStore.unavailability(_:)` says which of their errors mean
/// this, and the server's `BoundedJobStore` throws them as this type.
public struct JobStoreUnavailable: Error, Sendable, CustomStringConvertible {
    public enum Reason: String, Sendable {
        /// The database cannot be reached (connection refused or lost, server shutting down, pool
        /// cannot connect, the file cannot be opened).
        case unreachable
        /// The disk under the store is full (SQLITE_FULL, ENOSPC on the data folder, PostgreSQL 53100).
        case full
        /// The store's files or database accept no writes (SQLITE_READONLY, EROFS, a hot standby).
        case readOnly
        /// The disk reported an I/O error (SQLITE_IOERR, PostgreSQL 58030).
        case ioError
        /// Another process held the database locked for longer than the busy timeout.
        case busy
        /// The store gave no answer within the server's deadline (`--store-timeout`).
        case timedOut
    }

    public var reason: Reason
    /// What failed and where, in words (no password: PostgreSQL URLs are shown without it).
    public var detail: String

    public init(_ reason: Reason, _ detail: String) {
        self.reason = reason
        self.detail = detail
    }

    /// Whether the disk is full: the operator must free space (the HTTP API answers 5003, not 5002).
    public var isFull: Bool { reason == .full }

    public var description: String { detail }
}
