import CBLAS
import Foundation
import Dispatch

/// The runtime's thread count and its parallel loop, shared by every non-GEMM op and OpenBLAS.
public enum Parallel {
    private static let threadCount = Locked(defaultThreadCount())

    /// Threads used by the runtime's own loops and by OpenBLAS.
    public static var threads: Int { threadCount.value }

    /// Sets the thread count for both the runtime and OpenBLAS (`--threads N`): one setting for
    /// the whole process, as OpenBLAS's is.
    public static func setThreads(_ n: Int) {
        precondition(n >= 1, "thread count must be at least 1")
        threadCount.withLock {
            $0 = n
            openblas_set_num_threads(Int32(n))
        }
    }

    private static func defaultThreadCount() -> Int {
        let n = max(1, ProcessInfo.processInfo.activeProcessorCount)
        return n
    }

    /// Runs `body(range)` over `0..<count` split into at most `threads` contiguous chunks.
    /// Work smaller than `minChunk` per thread runs inline on the caller's thread.
    @inlinable
    public static func forRanges(_ count: Int, minChunk: Int = 4096, _ body: (Range<Int>) -> Void) {
        if count <= 0 { return }
        let chunks = min(threads, max(1, count / max(minChunk, 1)))
        if chunks <= 1 {
            body(0..<count)
            return
        }
        // `body` writes disjoint ranges of buffers it captured (its callers' contract), and
        // concurrentPerform returns only when every chunk is done, so handing it to the worker
        // threads cannot outlive or race with the caller.
        withoutActuallyEscaping(body) { body in
            let work = ParallelBody(body: body)
            DispatchQueue.concurrentPerform(iterations: chunks) { c in
                let start = count * c / chunks
                let end = count * (c + 1) / chunks
                if start < end { work.body(start..<end) }
            }
        }
    }

    /// Runs `body(i)` for every `i` in `0..<count`, spread over the threads in contiguous blocks.
    /// For loops whose iterations are each substantial (rows, channels, groups, heads).
    @inlinable
    public static func forEach(_ count: Int, _ body: (Int) -> Void) {
        forRanges(count, minChunk: 1) { range in
            for i in range { body(i) }
        }
    }
}

/// A loop body handed to `Parallel`'s worker threads for the duration of one parallel loop.
@usableFromInline
struct ParallelBody: @unchecked Sendable {
    @usableFromInline let body: (Range<Int>) -> Void

    @usableFromInline
    init(body: @escaping (Range<Int>) -> Void) {
        self.body = body
    }
}
