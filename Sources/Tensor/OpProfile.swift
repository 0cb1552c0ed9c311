import Foundation

/// Optional instrumentation of the tensor ops for benchmarks: a FLOP counter and per-category
/// wall-clock timers. Both are off by default and cost one predictable branch per op when off.
///
/// - FLOPs are counted from the shapes as 2 x multiply-adds of every GEMM (`BLAS.sgemm`, which
///   every linear, matmul, convolution and attention product goes through) plus the direct-loop
///   frame attention, the convention of `torch.utils.flop_counter` that FACTS.md's PyTorch
///   figures use (4,125 GFLOP for one SVD-XT UNet forward at 14 frames, 256x256). Work the
///   runtime skips because it provably equals a cheaper computation (cross-attention to a single
///   token) is added with `addNominal`, so GFLOP/s compares with PyTorch's on the same model.
/// - Timers attribute wall time of the thread that called `start()` to the innermost category
///   being measured (nested measurements pause the outer one), so the categories add up to at
///   most the forward's wall time. Work that worker threads do inside an op counts to that op.
public enum OpProfile {
    public enum Category: Int, CaseIterable, Sendable {
        case gemm, im2col, norm, attention, elementwise, activation, copy, widen, pack

        public var name: String {
            switch self {
            case .gemm: return "gemm"
            case .im2col: return "im2col"
            case .norm: return "norm"
            case .attention: return "attention"
            case .elementwise: return "elementwise"
            case .activation: return "activation"
            case .copy: return "copy"
            case .widen: return "widen"
            case .pack: return "pack"
            }
        }
    }

    /// True while FLOPs are being counted.
    nonisolated(unsafe) public private(set) static var isCountingFLOPs = false
    /// True while timers run.
    nonisolated(unsafe) public private(set) static var isTiming = false
    /// True in count-only mode: GEMMs are counted but not computed (their outputs are left as
    /// they were), so the FLOPs of a model at any size can be counted in seconds.
    nonisolated(unsafe) public private(set) static var isCountOnly = false

    nonisolated(unsafe) private static var flopTotal: Double = 0
    private static let lock = NSLock()
    nonisolated(unsafe) private static var owner = pthread_self()
    nonisolated(unsafe) private static var totals = [UInt64](repeating: 0, count: Category.allCases.count)
    nonisolated(unsafe) private static var stack: [(category: Category, since: UInt64)] = []

    /// Starts counting FLOPs (and timing, with `timing: true`) from zero.
    public static func start(timing: Bool = false, countOnly: Bool = false) {
        lock.lock()
        flopTotal = 0
        lock.unlock()
        totals = [UInt64](repeating: 0, count: Category.allCases.count)
        stack = []
        gemmShapes = [:]
        owner = pthread_self()
        isTiming = timing
        isCountOnly = countOnly
        isCountingFLOPs = true
    }

    /// Stops counting and timing; the totals stay readable.
    public static func stop() {
        isCountingFLOPs = false
        isTiming = false
        isCountOnly = false
    }

    /// FLOPs counted since `start()`.
    public static var flops: Double {
        lock.lock()
        defer { lock.unlock() }
        return flopTotal
    }

    /// Seconds per category since `start(timing: true)`.
    public static var seconds: [Category: Double] {
        var out: [Category: Double] = [:]
        for c in Category.allCases { out[c] = Double(totals[c.rawValue]) / 1e9 }
        return out
    }

    /// Adds 2 * m * n * k (one GEMM's multiply-adds, doubled).
    @inlinable
    public static func countGEMM(m: Int, n: Int, k: Int) {
        if isCountingFLOPs { addFLOPs(2 * Double(m) * Double(n) * Double(k)) }
    }

    /// Adds FLOPs computed by direct loops or skipped by an exact shortcut (see the type's note).
    @inlinable
    public static func addNominal(_ flops: Double) {
        if isCountingFLOPs { addFLOPs(flops) }
    }

    @usableFromInline
    static func addFLOPs(_ f: Double) {
        lock.lock()
        flopTotal += f
        lock.unlock()
    }

    /// Per GEMM shape "m x n x k" (with "T" marks for transposed operands): calls, seconds and
    /// FLOPs, for GEMMs called on the timing thread (recorded only while timing).
    nonisolated(unsafe) public private(set) static var gemmShapes: [String: (calls: Int, seconds: Double, flops: Double)] = [:]

    /// Times one GEMM of the given shape (see `gemmShapes`).
    @inlinable
    public static func measureGEMM(m: Int, n: Int, k: Int, transA: Bool, transB: Bool, _ body: () -> Void) {
        if !isTiming { return body() }
        let t0 = DispatchTime.now().uptimeNanoseconds
        measure(.gemm, body)
        recordGEMM(m: m, n: n, k: k, transA: transA, transB: transB, nanoseconds: DispatchTime.now().uptimeNanoseconds - t0)
    }

    @usableFromInline
    static func recordGEMM(m: Int, n: Int, k: Int, transA: Bool, transB: Bool, nanoseconds: UInt64) {
        guard pthread_equal(pthread_self(), owner) != 0 else { return }
        let key = "\(m)\(transA ? "T" : "") x \(n)\(transB ? "T" : "") x \(k)"
        var e = gemmShapes[key] ?? (0, 0, 0)
        e.calls += 1
        e.seconds += Double(nanoseconds) / 1e9
        e.flops += 2 * Double(m) * Double(n) * Double(k)
        gemmShapes[key] = e
    }

    /// Runs `body`, attributing its wall time to `category` when timing (on the starting thread).
    @inlinable
    public static func measure<R>(_ category: Category, _ body: () throws -> R) rethrows -> R {
        if !isTiming { return try body() }
        guard enter(category) else { return try body() }
        defer { leave() }
        return try body()
    }

    @usableFromInline
    static func enter(_ category: Category) -> Bool {
        guard pthread_equal(pthread_self(), owner) != 0 else { return false }
        let now = DispatchTime.now().uptimeNanoseconds
        if let top = stack.last { totals[top.category.rawValue] += now - top.since }
        stack.append((category, now))
        return true
    }

    @usableFromInline
    static func leave() {
        let now = DispatchTime.now().uptimeNanoseconds
        let top = stack.removeLast()
        totals[top.category.rawValue] += now - top.since
        if !stack.isEmpty { stack[stack.count - 1].since = now }
    }
}
