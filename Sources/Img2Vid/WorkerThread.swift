import Foundation

/// Runs a request's blocking work (model loads, UNet steps, encoding: seconds to hours of CPU) on
/// a thread of its own, so that it never occupies one of Swift concurrency's cooperative threads
/// (as many as cores) and awaiting tasks, progress streams and cancellation stay responsive.
enum WorkerThread {
    /// 16 MiB: the default 512 KiB of secondary threads is tight for deep model code.
    static let stackSize = 16 << 20

    static func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, Error>) in
            let thread = Thread {
                continuation.resume(with: Result { try body() })
            }
            thread.name = "img2vid request"
            thread.stackSize = stackSize
            thread.start()
        }
    }
}
