import Foundation

/// Bounds how long one store operation may take. postgres-nio (1.33.2) can leave a request
/// pending forever when the server ends its connection at the moment the request is sent (seen
/// with `pg_ctl stop -m fast` under load: a worker's progress write never returned while its
/// heartbeat, on another connection, kept renewing the lease, so the task never finished). The
/// operation runs in a task of its own; past `seconds` that task is cancelled and the caller gets
/// `PostgresStoreError.timedOut` at once, without waiting for a request that may never answer.
enum OperationDeadline {
    static func run<T: Sendable>(_ seconds: Double, _ operation: String,
                                 _ body: @escaping @Sendable () async throws -> T) async throws -> T {
        let outcome = OnceResult<T>()
        let work = Task { outcome.resolve(await Result(catching: body)) }
        let timer = Task {
            try await Task.sleep(nanoseconds: UInt64(seconds * 1e9))
            if outcome.resolve(.failure(PostgresStoreError.timedOut(operation, seconds))) { work.cancel() }
        }
        defer { timer.cancel() }
        return try await withTaskCancellationHandler {
            try await outcome.value()
        } onCancel: {
            work.cancel()
        }
    }
}

/// A result set once (the first `resolve` wins) and awaited by one caller.
private final class OnceResult<T: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var result: Result<T, Error>?
    private var waiter: CheckedContinuation<T, Error>?

    /// Whether this call set the result.
    @discardableResult
    func resolve(_ value: Result<T, Error>) -> Bool {
        lock.lock()
        guard result == nil else { lock.unlock(); return false }
        result = value
        let waiter = self.waiter
        self.waiter = nil
        lock.unlock()
        waiter?.resume(with: value)
        return true
    }

    func value() async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            lock.lock()
            if let result {
                lock.unlock()
                continuation.resume(with: result)
            } else {
                waiter = continuation
                lock.unlock()
            }
        }
    }
}

extension Result where Failure == Error {
    init(catching body: () async throws -> Success) async {
        do { self = .success(try await body()) } catch { self = .failure(error) }
    }
}
