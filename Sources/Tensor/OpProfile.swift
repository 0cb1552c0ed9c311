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

    /// The profiler's state, behind one lock (the flags are read once per op, not per element).
    @usableFromInline
    struct State: Sendable {
        var isCountingFLOPs = false
        var isTiming = false
        var isCountOnly = false
        var flopTotal: Double = 0
        var owner: UInt = 0
        var totals = [UInt64](repeating: 0, count: Category.allCases.count)
        var stack: [(category: Category, since: UInt64)] = []
        var gemmShapes: [String: (calls: Int, seconds: Double, flops: Double)] = [:]
    }

    @usableFromInline
    static let state = Locked(State())

    /// True while FLOPs are being counted.
    public static var isCountingFLOPs: Bool { state.withLock { $0.isCountingFLOPs } }
    /// True while timers run.
    public static var isTiming: Bool { state.withLock { $0.isTiming } }
    /// True in count-only mode: GEMMs are counted but not computed (their outputs are left as
    /// they were), so the FLOPs of a model at any size can be counted in seconds.
    public static var isCountOnly: Bool { state.withLock { $0.isCountOnly } }

    /// The calling thread, as a number.
    @usableFromInline
    static func currentThread() -> UInt {
        #if canImport(Darwin)
        return UInt(bitPattern: pthread_self())
        #else
        return UInt(pthread_self())
        #endif
    }

    /// Starts counting FLOPs (and timing, with `timing: true`) from zero.
    public static func start(timing: Bool = false, countOnly: Bool = false) {
        let owner = currentThread()
        state.withLock { s in
            s = State()
            s.owner = owner
            s.isTiming = timing
            s.isCountOnly = countOnly
            s.isCountingFLOPs = true
        }
    }

    /// Stops counting and timing; the totals stay readable.
    public static func stop() {
        state.withLock { s in
            s.isCountingFLOPs = false
            s.isTiming = false
            s.isCountOnly = false
        }
    }

    /// FLOPs counted since `start()`.
    public static var flops: Double {
        state.withLock { $0.flopTotal }
    }

    /// Seconds per category since `start(timing: true)`.
    public static var seconds: [Category: Double] {
        let totals = state.withLock { $0.totals }
        var out: [Category: Double] = [:]
        for c in Category.allCases { out[c] = Double(totals[c.rawValue]) / 1e9 }
        return out
    }

    /// Adds 2 * m * n * k (one GEMM's multiply-adds, doubled).
    @inlinable
    public static func countGEMM(m: Int, n: Int, k: Int) {
        addFLOPs(2 * Double(m) * Double(n) * Double(k))
    }

    /// Adds FLOPs computed by direct loops or skipped by an exact shortcut (see the type's note).
    @inlinable
    public static func addNominal(_ flops: Double) {
        addFLOPs(flops)
    }

    @usableFromInline
    static func addFLOPs(_ f: Double) {
        state.withLock { s in
            if s.isCountingFLOPs { s.flopTotal += f }
        }
    }

    /// Per GEMM shape "m x n x k" (with "T" marks for transposed operands): calls, seconds and
    /// FLOPs, for GEMMs called on the timing thread (recorded only while timing).
    public static var gemmShapes: [String: (calls: Int, seconds: Double, flops: Double)] {
        state.withLock { $0.gemmShapes }
    }

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
        let thread = currentThread()
        let key = "\(m)\(transA ? "T" : "") x \(n)\(transB ? "T" : "") x \(k)"
        state.withLock { s in
            guard s.owner == thread else { return }
            var e = s.gemmShapes[key] ?? (0, 0, 0)
            e.calls += 1
            e.seconds += Double(nanoseconds) / 1e9
            e.flops += 2 * Double(m) * Double(n) * Double(k)
            s.gemmShapes[key] = e
        }
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
        let thread = currentThread()
        let now = DispatchTime.now().uptimeNanoseconds
        return state.withLock { s in
            guard s.owner == thread else { return false }
            if let top = s.stack.last { s.totals[top.category.rawValue] += now - top.since }
            s.stack.append((category, now))
            return true
        }
    }

    @usableFromInline
    static func leave() {
        let now = DispatchTime.now().uptimeNanoseconds
        state.withLock { s in
            let top = s.stack.removeLast()
            s.totals[top.category.rawValue] += now - top.since
            if !s.stack.isEmpty { s.stack[s.stack.count - 1].since = now }
        }
    }
}
