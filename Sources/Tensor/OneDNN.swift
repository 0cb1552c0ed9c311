import CDNNL
import Foundation

/// oneDNN (Debian `libdnnl` 2.6, the library PyTorch's CPU path uses): its CPU engine, the ISA it
/// runs at, and matrix products (bf16 or f32 operands, f32 accumulation).
///
/// Primitives are created once per shape and kept (`cache`), as oneDNN's own examples do; memory
/// objects wrap the caller's buffers for one call. oneDNN threads with OpenMP (libgomp), so a
/// product it runs uses `omp_get_max_threads()` threads of its own.
public enum OneDNN {
    /// The CPU engine, or nil when oneDNN cannot create one.
    static let engine: Handle? = {
        var e: dnnl_engine_t?
        guard dnnl_engine_create(&e, dnnl_cpu, 0) == dnnl_success, let e else { return nil }
        return Handle(e)
    }()

    /// An opaque oneDNN object that lives for the whole process (engine, primitives). oneDNN
    /// documents these as safe to use from several threads at once (execution takes a stream).
    final class Handle: @unchecked Sendable {
        let pointer: OpaquePointer
        init(_ pointer: OpaquePointer) { self.pointer = pointer }
    }

    /// True when oneDNN's CPU engine is there.
    public static var isAvailable: Bool { engine != nil }

    /// The instruction set oneDNN dispatches to here (after `ONEDNN_MAX_CPU_ISA`, if set).
    public static var isaName: String {
        let isa = dnnl_get_effective_cpu_isa()
        switch isa {
        case dnnl_cpu_isa_avx512_core_amx: return "avx512_core_amx"
        case dnnl_cpu_isa_avx512_core_bf16: return "avx512_core_bf16"
        case dnnl_cpu_isa_avx512_core_vnni: return "avx512_core_vnni"
        case dnnl_cpu_isa_avx512_core: return "avx512_core"
        case dnnl_cpu_isa_avx2_vnni: return "avx2_vnni"
        case dnnl_cpu_isa_avx2: return "avx2"
        case dnnl_cpu_isa_avx: return "avx"
        case dnnl_cpu_isa_sse41: return "sse41"
        default: return "isa 0x\(String(isa.rawValue, radix: 16))"
        }
    }

    /// True when oneDNN runs bf16 products on native bf16 dot-product instructions
    /// (avx512_core_bf16 or AMX), i.e. the CPU has them and `ONEDNN_MAX_CPU_ISA` does not cap them.
    public static let hasNativeBF16: Bool = {
        guard engine != nil else { return false }
        let isa = dnnl_get_effective_cpu_isa().rawValue
        let bf16 = dnnl_cpu_isa_avx512_core_bf16.rawValue
        return isa & bf16 == bf16
    }()

    /// True where bf16 products outrun f32 ones, so that `--precision auto` picks bf16: with AMX
    /// (tile products), or with avx512_core_bf16 on an AMD CPU (Zen 4 and later). Measured with
    /// `img2vid bench --component unet|vae-decode --num-frames 14 --width 512 --height 320
    /// --threads 2 --precision bf16|f32` (SVD-XT, random f16 weights):
    /// - 2-core AMD EPYC, avx512_bf16: UNet forward 39.9 s at bf16 against 56.8 s at f32.
    /// - 2-core Intel Xeon (model 207, AMX not exposed to the VM), avx512_bf16: UNet forward 88.3 s
    ///   at bf16 against 60.8 s at f32, decoder 253.6 s against 119.4 s. oneDNN 2.6's bf16 matmul
    ///   (`brg:avx512_core_bf16`) ran there at about half the f32 rate, so an Intel CPU without AMX
    ///   stays at f32.
    public static let bf16OutrunsF32: Bool = {
        guard hasNativeBF16 else { return false }
        if dnnl_get_effective_cpu_isa() == dnnl_cpu_isa_avx512_core_amx { return true }
        return CPUInfo.current.vendor == "AuthenticAMD"
    }()

    /// The element type of a matmul's A and B operands (C and accumulation are always f32).
    enum OperandType: Hashable {
        case f32, bf16

        var dnnlType: dnnl_data_type_t { self == .f32 ? dnnl_f32 : dnnl_bf16 }
    }

    /// libgomp's `omp_set_num_threads`, looked up in the process (libdnnl loads libgomp; Debian
    /// ships no unversioned libgomp.so to link against). OpenMP's team size is a per-thread
    /// setting, so each call sets it to `--threads` on whichever thread runs the product.
    private static let setOpenMPThreads: (@convention(c) (Int32) -> Void)? = {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "omp_set_num_threads") else { return nil }
        return unsafeBitCast(symbol, to: (@convention(c) (Int32) -> Void).self)
    }()

    /// The shape and attributes that make one matmul primitive.
    struct MatmulKey: Hashable {
        let m, n, k, lda, ldb, ldc: Int
        let transA, transB: Bool
        let alpha, beta: Float
        let operands: OperandType
    }

    /// A cached matmul primitive and the scratchpad each execution of it needs. Primitives are
    /// made with a user-managed scratchpad: with oneDNN's default (`library`) mode, builds without
    /// `DNNL_ENABLE_CONCURRENT_EXEC` (Debian's) give every primitive one shared scratchpad, so two
    /// products run at once from different threads (two requests) overwrite each other's
    /// intermediate results. The bf16 brgemm kernels use it; the engine's concurrency tests caught it
    /// on an avx512_core_bf16 host (wrong frames, and a kernel reading past its buffer).
    struct Matmul {
        let primitive: Handle
        let scratchpadDesc: dnnl_memory_desc_t
        let scratchpadBytes: Int
    }

    private final class PrimitiveCache: @unchecked Sendable {
        let lock = NSLock()
        var primitives: [MatmulKey: Matmul] = [:]
    }
    private static let cache = PrimitiveCache()

    /// Row-major `C = alpha op(A) op(B) + beta C` with A and B of type `operands` (f32, or bf16
    /// as UInt16 bit patterns; dense: `lda`/`ldb` are the row strides as stored), C in f32;
    /// products accumulate in f32. Runs on `Parallel.threads` OpenMP threads. Returns false when
    /// oneDNN has no implementation (the caller then computes it another way).
    static func gemm(operands: OperandType, transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float,
                     a: UnsafeRawPointer, lda: Int, b: UnsafeRawPointer, ldb: Int,
                     beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) -> Bool {
        guard let engine else { return false }
        let key = MatmulKey(m: m, n: n, k: k, lda: lda, ldb: ldb, ldc: ldc, transA: transA, transB: transB,
                            alpha: alpha, beta: beta, operands: operands)
        guard let matmul = matmulPrimitive(key, engine: engine) else { return false }
        var aDesc = matrixDesc(rows: m, cols: k, ld: lda, transposed: transA, type: operands.dnnlType)
        var bDesc = matrixDesc(rows: k, cols: n, ld: ldb, transposed: transB, type: operands.dnnlType)
        var cDesc = matrixDesc(rows: m, cols: n, ld: ldc, transposed: false, type: dnnl_f32)
        var scratchpadDesc = matmul.scratchpadDesc
        let scratchpad = BufferPool.allocate(byteCount: max(matmul.scratchpadBytes, 1))
        var aMem: dnnl_memory_t?, bMem: dnnl_memory_t?, cMem: dnnl_memory_t?, scratchpadMem: dnnl_memory_t?
        defer {
            if let aMem { dnnl_memory_destroy(aMem) }
            if let bMem { dnnl_memory_destroy(bMem) }
            if let cMem { dnnl_memory_destroy(cMem) }
            if let scratchpadMem { dnnl_memory_destroy(scratchpadMem) }
            BufferPool.release(scratchpad, byteCount: max(matmul.scratchpadBytes, 1))
        }
        guard dnnl_memory_create(&aMem, &aDesc, engine.pointer, UnsafeMutableRawPointer(mutating: a)) == dnnl_success,
              dnnl_memory_create(&bMem, &bDesc, engine.pointer, UnsafeMutableRawPointer(mutating: b)) == dnnl_success,
              dnnl_memory_create(&cMem, &cDesc, engine.pointer, UnsafeMutableRawPointer(c)) == dnnl_success,
              dnnl_memory_create(&scratchpadMem, &scratchpadDesc, engine.pointer, scratchpad) == dnnl_success
        else { return false }
        var stream: dnnl_stream_t?
        guard dnnl_stream_create(&stream, engine.pointer, dnnl_stream_default_flags.rawValue) == dnnl_success, let stream else { return false }
        defer { dnnl_stream_destroy(stream) }
        var args = [dnnl_exec_arg_t(arg: DNNL_ARG_SRC, memory: aMem), dnnl_exec_arg_t(arg: DNNL_ARG_WEIGHTS, memory: bMem),
                    dnnl_exec_arg_t(arg: DNNL_ARG_DST, memory: cMem),
                    dnnl_exec_arg_t(arg: DNNL_ARG_SCRATCHPAD, memory: scratchpadMem)]
        setOpenMPThreads?(Int32(Parallel.threads))
        guard dnnl_primitive_execute(matmul.primitive.pointer, stream, Int32(args.count), &args) == dnnl_success else { return false }
        return dnnl_stream_wait(stream) == dnnl_success
    }

    /// A row-major `rows x cols` matrix stored with row stride `ld`, or, `transposed`, stored as
    /// `cols x rows` with row stride `ld` and read transposed.
    private static func matrixDesc(rows: Int, cols: Int, ld: Int, transposed: Bool, type: dnnl_data_type_t) -> dnnl_memory_desc_t {
        var desc = dnnl_memory_desc_t()
        var dims: dnnl_dims_t = (Int64(rows), Int64(cols), 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var strides: dnnl_dims_t = transposed ? (1, Int64(ld), 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
                                              : (Int64(ld), 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        withUnsafePointer(to: &dims) { d in
            withUnsafePointer(to: &strides) { s in
                d.withMemoryRebound(to: Int64.self, capacity: 12) { dp in
                    s.withMemoryRebound(to: Int64.self, capacity: 12) { sp in
                        _ = dnnl_memory_desc_init_by_strides(&desc, 2, dp, type, sp)
                    }
                }
            }
        }
        return desc
    }

    private static func matmulPrimitive(_ key: MatmulKey, engine: Handle) -> Matmul? {
        cache.lock.lock()
        if let p = cache.primitives[key] {
            cache.lock.unlock()
            return p
        }
        cache.lock.unlock()
        var aDesc = matrixDesc(rows: key.m, cols: key.k, ld: key.lda, transposed: key.transA, type: key.operands.dnnlType)
        var bDesc = matrixDesc(rows: key.k, cols: key.n, ld: key.ldb, transposed: key.transB, type: key.operands.dnnlType)
        var cDesc = matrixDesc(rows: key.m, cols: key.n, ld: key.ldc, transposed: false, type: dnnl_f32)
        var opDesc = dnnl_matmul_desc_t()
        guard dnnl_matmul_desc_init(&opDesc, &aDesc, &bDesc, nil, &cDesc) == dnnl_success else { return nil }
        var attr: dnnl_primitive_attr_t?
        guard dnnl_primitive_attr_create(&attr) == dnnl_success, let attr else { return nil }
        defer { dnnl_primitive_attr_destroy(attr) }
        guard dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user) == dnnl_success else { return nil }
        if key.alpha != 1 {
            var scale = key.alpha
            guard dnnl_primitive_attr_set_output_scales(attr, 1, 0, &scale) == dnnl_success else { return nil }
        }
        if key.beta != 0 {
            var postOps: dnnl_post_ops_t?
            guard dnnl_post_ops_create(&postOps) == dnnl_success, let postOps else { return nil }
            defer { dnnl_post_ops_destroy(postOps) }
            guard dnnl_post_ops_append_sum(postOps, key.beta) == dnnl_success,
                  dnnl_primitive_attr_set_post_ops(attr, postOps) == dnnl_success else { return nil }
        }
        var pd: dnnl_primitive_desc_t?
        guard dnnl_primitive_desc_create(&pd, &opDesc, attr, engine.pointer, nil) == dnnl_success, let pd else { return nil }
        defer { dnnl_primitive_desc_destroy(pd) }
        guard let scratchpadDesc = dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0)?.pointee else { return nil }
        var primitive: dnnl_primitive_t?
        guard dnnl_primitive_create(&primitive, pd) == dnnl_success, let primitive else { return nil }
        var desc = scratchpadDesc
        let matmul = Matmul(primitive: Handle(primitive), scratchpadDesc: scratchpadDesc,
                            scratchpadBytes: dnnl_memory_desc_get_size(&desc))
        cache.lock.lock()
        defer { cache.lock.unlock() }
        if let existing = cache.primitives[key] {
            dnnl_primitive_destroy(primitive)
            return existing
        }
        cache.primitives[key] = matmul
        return matmul
    }
}
