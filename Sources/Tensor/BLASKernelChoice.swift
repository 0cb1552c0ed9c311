/// Which OpenBLAS kernel this CPU should run when OpenBLAS's own choice is a slow fallback.
///
/// OpenBLAS (Debian 12 ships 0.3.21, built with `DYNAMIC_ARCH`) picks its kernel once, when the
/// library loads: from `OPENBLAS_CORETYPE` if set, else from the CPU's family and model numbers
/// (`driver/others/dynamic.c`, `get_coretype`). A CPU newer than the library is not in its table
/// and falls back to "Prescott", the SSE3 kernel: on a 2-core Intel Xeon with model number 207
/// (AVX-512, bf16) sgemm then runs at about 52 GFLOP/s against 180-316 with "SkylakeX", and
/// decoding 14 frames at 512x320 in f32 takes 158.6 s instead of 118.6 s (docs/PERFORMANCE.md,
/// "Session 10"). `replacement` names the kernel to ask for by the CPU's instruction sets.
public enum BLASKernelChoice {
    /// Kernels that use AVX2 and FMA or wider; any of these is left alone.
    static let vectorKernels: Set<String> = ["haswell", "zen", "skylakex", "cooperlake", "sapphirerapids"]

    /// The kernel to set in `OPENBLAS_CORETYPE`, or nil when OpenBLAS's choice stands: the user set
    /// the variable, OpenBLAS already runs a vector kernel, or the CPU has neither AVX-512 nor AVX2.
    /// - Parameters:
    ///   - loaded: the kernel OpenBLAS chose (`BLAS.coreName`).
    ///   - cpuFlags: the CPU's instruction-set flags (`CPUInfo.flags`).
    ///   - userSetting: `OPENBLAS_CORETYPE` as found in the environment.
    public static func replacement(loaded: String, cpuFlags: Set<String>, userSetting: String?) -> String? {
        if userSetting != nil || vectorKernels.contains(loaded.lowercased()) { return nil }
        // OpenBLAS's SkylakeX kernels need AVX-512 (F, BW, VL and DQ, as on every Skylake-SP and later core).
        if cpuFlags.isSuperset(of: ["avx512f", "avx512bw", "avx512vl", "avx512dq"]) { return "SkylakeX" }
        if cpuFlags.isSuperset(of: ["avx2", "fma"]) { return "Haswell" }
        return nil
    }
}
