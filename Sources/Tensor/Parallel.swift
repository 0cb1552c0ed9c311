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
            let chunk: @Sendable (Int) -> Void = { c in
                let start = count * c / chunks
                let end = count * (c + 1) / chunks
                if start < end { work.body(start..<end) }
            }
            if OpenMPTeam.isUsed.value {
                OpenMPTeam.run(chunks: chunks, chunk)
            } else {
                DispatchQueue.concurrentPerform(iterations: chunks, execute: chunk)
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

/// Parallel loops on libgomp's thread team (the one oneDNN's products run on), through the
/// entry point compiled `#pragma omp parallel` regions call (`GOMP_parallel(fn, data,
/// num_threads, flags)`; the caller is thread 0 of the team and it returns when all are done).
///
/// Why: libgomp's idle workers spin (without yielding) for a while after each region, and so do
/// OpenBLAS's after each sgemm. With the runtime's loops on GCD threads and products on either
/// library, two or three pools took turns spinning on two cores. On one team, the threads that
/// just finished a product run the next loop. A loop inside a loop (or a product inside a loop)
/// runs on the calling thread alone: libgomp does not nest teams by default.
public enum OpenMPTeam {
    private typealias Region = @convention(c) (UnsafeMutableRawPointer?) -> Void
    private typealias ParallelEntry = @convention(c) (Region, UnsafeMutableRawPointer?, UInt32, UInt32) -> Void
    private typealias Query = @convention(c) () -> Int32

    private static func symbol<T>(_ name: String, as: T.Type) -> T? {
        guard let p = dlsym(UnsafeMutableRawPointer(bitPattern: 0), name) else { return nil }
        return unsafeBitCast(p, to: T.self)
    }
    private static let parallel = symbol("GOMP_parallel", as: ParallelEntry.self)
    private static let threadNumber = symbol("omp_get_thread_num", as: Query.self)
    private static let teamSize = symbol("omp_get_num_threads", as: Query.self)

    /// True when libgomp is loaded and its entry points were found.
    public static let isAvailable = parallel != nil && threadNumber != nil && teamSize != nil

    /// True when loops run on the OpenMP team: the default where libgomp is loaded;
    /// `IMG2VID_PARALLEL=gcd` puts them on GCD's `concurrentPerform` (for measurements).
    public static let isUsed = Locked(ProcessInfo.processInfo.environment["IMG2VID_PARALLEL"] != "gcd" && isAvailable)

    private final class Work {
        let chunks: Int
        let body: (Int) -> Void
        init(chunks: Int, body: @escaping (Int) -> Void) { self.chunks = chunks; self.body = body }
    }

    /// Runs `body(c)` for `c` in `0..<chunks` on a team of `chunks` threads (the caller is one of them).
    @usableFromInline
    static func run(chunks: Int, _ body: (Int) -> Void) {
        withoutActuallyEscaping(body) { body in
            let work = Work(chunks: chunks, body: body)
            withExtendedLifetime(work) {
                parallel!({ raw in
                    let work = Unmanaged<Work>.fromOpaque(raw!).takeUnretainedValue()
                    let size = Int(OpenMPTeam.teamSize!())
                    var c = Int(OpenMPTeam.threadNumber!())
                    while c < work.chunks {
                        work.body(c)
                        c += size
                    }
                }, Unmanaged.passUnretained(work).toOpaque(), UInt32(chunks), 0)
            }
        }
    }
}
