import Foundation

/// The cancellation handle of one request: set from a signal handler, another task or another
/// thread (`cancel()`), checked by the request's work at safe points (between denoising steps and
/// decoded chunks, before anything is written). Swift task cancellation of the awaiting task sets
/// it too (`RunningRequest.value()`).
public final class CancellationFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var cancelled = false

    public init() {}

    public func cancel() {
        lock.lock()
        cancelled = true
        lock.unlock()
    }

    public var isCancelled: Bool {
        lock.lock()
        defer { lock.unlock() }
        return cancelled
    }
}
