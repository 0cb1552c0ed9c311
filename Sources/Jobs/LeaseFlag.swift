import Foundation

/// Set by a worker's heartbeat when its lease is gone (another attempt took the task over, or it
/// could not be renewed before it expired): the run's result is then discarded, never written.
final class LeaseFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var flag = false

    var isSet: Bool { lock.withLock { flag } }

    func set() { lock.withLock { flag = true } }
}
