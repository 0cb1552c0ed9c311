import Foundation

/// Every matrix product of the runtime (linear layers, convolutions, attention), at the
/// precision in force (`ComputePrecision.current`, read on the calling thread).
///
/// - f32: oneDNN's f32 matmul on the OpenMP team the runtime's loops use (`f32Library`), or
///   OpenBLAS sgemm.
/// - bf16: both operands rounded to bfloat16 (round to nearest even), products accumulated in
///   f32 (torch.autocast's bf16 matmul/conv). On CPUs with native bf16 dot products oneDNN's
///   bf16 matmul runs it (brgemm avx512_core_bf16 / AMX, about twice sgemm's speed); elsewhere the
///   same numbers are produced by rounding the operands to bf16 values held in f32 and calling
///   sgemm (no faster than f32: `auto` never picks bf16 there).
///   Products of at most `bf16MinimumMultiplyAdds` multiply-adds (temporal attention over
///   frames, cross-attention to the image token) stay in f32: converting their operands costs
///   more than the product, and f32 is the more accurate of the two.
public enum GEMM {
    /// Below this many multiply-adds (m*n*k) a product runs in f32 at any precision. A knob so that
    /// an accuracy measurement can put every product of a small model through bf16, as
    /// torch.autocast does (`PrecisionTests` sets it to 0); 262,144 otherwise.
    public static let bf16MinimumMultiplyAdds = Locked(262_144)

    /// Which library runs f32 products.
    public enum F32Library: String, Sendable {
        case openBLAS = "openblas", oneDNN = "onednn"
    }
    /// Forces one library for every f32 product (`IMG2VID_F32_GEMM=openblas|onednn`, for
    /// measurements); nil means `f32Library`'s default.
    public static let f32LibraryOverride = Locked<F32Library?>(
        ProcessInfo.processInfo.environment["IMG2VID_F32_GEMM"].flatMap(F32Library.init(rawValue:)))

    /// The library an f32 product of `n` output columns runs on (`f32LibraryOverride` aside).
    /// oneDNN's f32 matmul, when the runtime's loops share its OpenMP team (`OpenMPTeam`), for
    /// products narrower than `oneDNNMaximumColumns`; OpenBLAS sgemm otherwise. Measured in
    /// docs/PERFORMANCE.md (session 6, 2 AVX2 cores): oneDNN is 1.1-2x faster on the UNet's
    /// linear layers, attention and 32x32 convolutions and on the Winograd products (at most
    /// 3,640 columns per chunk), and 1.1-3x slower on the VAE decoder's wide convolution products
    /// (4,096 to 65,536 pixel columns), where OpenBLAS stays.
    public static func f32Library(columns n: Int) -> F32Library {
        if let forced = f32LibraryOverride.value { return forced }
        return choosesByWidth && n < oneDNNMaximumColumns ? .oneDNN : .openBLAS
    }
    static let oneDNNMaximumColumns = 4096
    /// Whether the width rule is in force: oneDNN is there and shares the loops' OpenMP team.
    static var choosesByWidth: Bool { OpenMPTeam.isUsed.value && OneDNN.isAvailable }

    /// What `f32Library(columns:)` chooses, in a word, for reports: "onednn+openblas" (by width),
    /// or the one library in use.
    public static var f32LibraryName: String {
        if let forced = f32LibraryOverride.value { return forced.rawValue }
        return choosesByWidth ? "onednn+openblas" : F32Library.openBLAS.rawValue
    }

    /// Products of at most this many multiply-adds run on OpenBLAS whatever `f32Library` says:
    /// OpenBLAS 0.3.21 runs them on the calling thread (interface/gemm.c: SMP_THRESHOLD_MIN 65536
    /// times GEMM_MULTITHREAD_THRESHOLD 4), so no pool is woken, and
    /// oneDNN's per-call cost (memory objects, stream) is larger than the product (temporal
    /// attention over frames: about 3 µs per sgemm).
    static let smallProductLimit = 65_536 * 4

    /// Row-major `C[m,n] = alpha op(A) op(B) + beta C`; `lda`, `ldb`, `ldc` default to the dense
    /// row strides of the operands as stored (A is `[k, m]` when `transA`, B `[n, k]` when `transB`).
    public static func multiply(
        precision: ComputePrecision = ComputePrecision.current,
        transA: Bool = false, transB: Bool = false,
        m: Int, n: Int, k: Int,
        alpha: Float = 1,
        a: UnsafePointer<Float>, lda: Int? = nil,
        b: UnsafePointer<Float>, ldb: Int? = nil,
        beta: Float = 0,
        c: UnsafeMutablePointer<Float>, ldc: Int? = nil
    ) {
        let lda = lda ?? (transA ? m : k)
        let ldb = ldb ?? (transB ? k : n)
        let ldc = ldc ?? n
        guard precision == .bf16, m * n * k > bf16MinimumMultiplyAdds.value else {
            if m > 0, n > 0, m * n * k > smallProductLimit, f32Library(columns: n) == .oneDNN {
                OpProfile.countGEMM(m: m, n: n, k: k)
                if OpProfile.isCountOnly { return }
                var done = false
                OpProfile.measureGEMM(m: m, n: n, k: k, transA: transA, transB: transB) {
                    done = OneDNN.gemm(operands: .f32, transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha,
                                       a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
                }
                if done { return }
                return BLAS.sgemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha,
                                  a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc, counted: true)
            }
            return BLAS.sgemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha,
                              a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
        }
        if m == 0 || n == 0 { return }
        OpProfile.countGEMM(m: m, n: n, k: k)
        if OpProfile.isCountOnly { return }
        // Operands as stored: A is aRows x aCols, B is bRows x bCols; packed densely.
        let (aRows, aCols) = transA ? (k, m) : (m, k)
        let (bRows, bCols) = transB ? (n, k) : (k, n)
        if OneDNN.hasNativeBF16 {
            let aBytes = aRows * aCols * 2, bBytes = bRows * bCols * 2
            let pa = BufferPool.allocate(byteCount: aBytes).bindMemory(to: UInt16.self, capacity: aRows * aCols)
            let pb = BufferPool.allocate(byteCount: bBytes).bindMemory(to: UInt16.self, capacity: bRows * bCols)
            defer {
                BufferPool.release(UnsafeMutableRawPointer(pa), byteCount: aBytes)
                BufferPool.release(UnsafeMutableRawPointer(pb), byteCount: bBytes)
            }
            OpProfile.measure(.pack) {
                BFloat16.pack(a, rows: aRows, cols: aCols, ld: lda, into: pa)
                BFloat16.pack(b, rows: bRows, cols: bCols, ld: ldb, into: pb)
            }
            let done = OpProfile.measure(.gemm) {
                OneDNN.gemm(operands: .bf16, transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha,
                                a: pa, lda: aCols, b: pb, ldb: bCols, beta: beta, c: c, ldc: ldc)
            }
            if done { return }
        }
        // Emulation: the same bf16 operands, held as f32, through sgemm.
        let aCount = aRows * aCols, bCount = bRows * bCols
        let ra = BufferPool.allocate(byteCount: aCount * 4).bindMemory(to: Float.self, capacity: aCount)
        let rb = BufferPool.allocate(byteCount: bCount * 4).bindMemory(to: Float.self, capacity: bCount)
        defer {
            BufferPool.release(UnsafeMutableRawPointer(ra), byteCount: aCount * 4)
            BufferPool.release(UnsafeMutableRawPointer(rb), byteCount: bCount * 4)
        }
        OpProfile.measure(.pack) {
            BFloat16.round(a, rows: aRows, cols: aCols, ld: lda, into: ra)
            BFloat16.round(b, rows: bRows, cols: bCols, ld: ldb, into: rb)
        }
        BLAS.sgemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: ra, lda: aCols,
                   b: rb, ldb: bCols, beta: beta, c: c, ldc: ldc, counted: true)
    }
}
