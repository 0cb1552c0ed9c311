import Foundation

/// A value behind a lock: the process-wide state of the runtime (the buffer pool, thread count,
/// tuning knobs, profiling counters) that Swift 6's concurrency checking accepts without
/// an unchecked global. Each access takes the lock; keep it off per-element paths.
public final class Locked<Value: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: Value

    public init(_ value: Value) {
        stored = value
    }

    /// The current value (a copy); setting it replaces the value.
    public var value: Value {
        get {
            lock.lock()
            defer { lock.unlock() }
            return stored
        }
        set {
            lock.lock()
            stored = newValue
            lock.unlock()
        }
    }

    /// Runs `body` with the value, exclusively.
    public func withLock<R>(_ body: (inout Value) throws -> R) rethrows -> R {
        lock.lock()
        defer { lock.unlock() }
        return try body(&stored)
    }
}
