import Foundation

/// Runs an operation with a time limit that holds even when the operation ignores cancellation.
///
/// A task group would wait for its child to end before returning, and postgres-nio's pool keeps a
/// request for a connection waiting (up to a minute, its circuit breaker) while the database is
/// down; so the operation runs in a task of its own and the caller is resumed by whichever comes
/// first, its result or the deadline. On the deadline the operation is cancelled, and `late`
/// receives its result whenever it does end (a submission that committed after all, or failed).
/// Used by the server's `BoundedJobStore` and by `PostgresJobStore` for every operation.
public enum Deadline {
    /// The operation gave no answer within `seconds`.
    public struct Passed: Error, Sendable {
        public var seconds: Double
    }

    public static func run<T: Sendable>(seconds: Double,
                                 late: (@Sendable (Result<T, any Error>) -> Void)? = nil,
                                 _ operation: @escaping @Sendable () async throws -> T) async throws -> T {
        let gate = Gate<T>()
        let work = Task { try await operation() }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
                gate.install(continuation)
                let timer = Task {
                    try? await Task.sleep(nanoseconds: UInt64(min(max(0, seconds), 1e9) * 1_000_000_000))
                    if !Task.isCancelled, gate.finish(.failure(Passed(seconds: seconds))) { work.cancel() }
                }
                Task {
                    let result = await work.result
                    timer.cancel()
                    if !gate.finish(result) { late?(result) }
                }
            }
        } onCancel: {
            if gate.finish(.failure(CancellationError())) { work.cancel() }
        }
    }

    /// Resumes the continuation once, with the first result offered; one that comes before the
    /// continuation is installed (the caller was cancelled at once) is kept until it is.
    final class Gate<T: Sendable>: @unchecked Sendable {
        private let lock = NSLock()
        private var continuation: CheckedContinuation<T, any Error>?
        private var pending: Result<T, any Error>?
        private var done = false

        func install(_ continuation: CheckedContinuation<T, any Error>) {
            lock.lock()
            if let pending {
                lock.unlock()
                continuation.resume(with: pending)
                return
            }
            self.continuation = continuation
            lock.unlock()
        }

        /// False when a result was offered already (this one is too late).
        func finish(_ result: Result<T, any Error>) -> Bool {
            lock.lock()
            guard !done else { lock.unlock(); return false }
            done = true
            let continuation = self.continuation
            self.continuation = nil
            if continuation == nil { pending = result }
            lock.unlock()
            continuation?.resume(with: result)
            return true
        }
    }
}
