import Foundation

/// A lock with a scoped `withLock` (Foundation's NSLock gains one only on newer platforms).
final class NSLockShim: @unchecked Sendable {
    private let lock = NSLock()
    func withLock<T>(_ body: () throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body()
    }
}
