import CBLAS

/// Facts about the OpenBLAS library in use, reported wherever performance is reported.
public enum BLAS {
    /// OpenBLAS's active kernel ("Haswell", "SkylakeX", "Cooperlake", ...). It is chosen when the
    /// library loads, from `OPENBLAS_CORETYPE` if set, else from the CPU, so it cannot change in-process.
    public static var coreName: String {
        guard let name = openblas_get_corename() else { return "unknown" }
        return String(cString: name)
    }

    /// OpenBLAS's build configuration string.
    public static var config: String {
        guard let c = openblas_get_config() else { return "unknown" }
        return String(cString: c)
    }

    /// Row-major single-precision GEMM: C[m,n] = alpha * op(A) * op(B) + beta * C.
    /// `lda`, `ldb`, `ldc` default to the dense row strides of the operands as stored.
    /// `counted`: the caller has already counted this product's FLOPs (see `GEMM`).
    /// Model code calls `GEMM.multiply`, which honours the compute precision.
    @inlinable
    public static func sgemm(
        transA: Bool = false, transB: Bool = false,
        m: Int, n: Int, k: Int,
        alpha: Float = 1,
        a: UnsafePointer<Float>, lda: Int? = nil,
        b: UnsafePointer<Float>, ldb: Int? = nil,
        beta: Float = 0,
        c: UnsafeMutablePointer<Float>, ldc: Int? = nil,
        counted: Bool = false
    ) {
        if m == 0 || n == 0 { return }
        if !counted {
            OpProfile.countGEMM(m: m, n: n, k: k)
            if OpProfile.isCountOnly { return }
        }
        let lda = lda ?? (transA ? m : k)
        let ldb = ldb ?? (transB ? k : n)
        let ldc = ldc ?? n
        OpProfile.measureGEMM(m: m, n: n, k: k, transA: transA, transB: transB) {
            cblas_sgemm(
                CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
        }
    }
}
