/// Multi-head scaled dot-product attention, blockwise over queries.
///
/// Mirrors diffusers' `Attention` with `AttnProcessor2_0` from the head split on: the inputs are
/// viewed as `[B, L, heads, D]`, transposed to `[B, heads, L, D]`, passed to
/// torch.nn.functional.scaled_dot_product_attention (no mask, no dropout, `scale` default
/// `1/sqrt(D)`), and the result is transposed back to `[B, Lq, heads*D]`.
///
/// No head is ever copied out: each GEMM reads the head's `D` columns in place with a leading
/// dimension of `heads*D`, and writes its output rows straight into the result. Queries are
/// processed in blocks of `Attention.blockRows` rows, so the only score buffer is
/// `blockRows x Lk` floats per worker (at 1024x576, Lk = 9,216: 4.7 MB per worker with the
/// default 128 rows, where a full score matrix would take 340 MB per head).
///
/// - Parameters:
///   - query: `[B, Lq, heads*D]`.
///   - key, value: `[B, Lk, heads*D]`.
///   - heads: number of heads; must divide the channel count.
///   - scale: multiplies `Q K^T` before the softmax; nil means `1/sqrt(D)`.
/// - Returns: `[B, Lq, heads*D]`.
public func attention(query: Tensor, key: Tensor, value: Tensor, heads: Int, scale: Float? = nil) -> Tensor {
    let p = Attention.Problem(query: query, key: key, value: value, heads: heads, scale: scale)
    guard p.lq > 0, p.lk > 0, p.headDim > 0 else { return Tensor(zeros: query.shape) }
    var out = Tensor(uninitialized: query.shape)
    out.withUnsafeMutableBufferPointer { op in
        query.withUnsafeBufferPointer { qp in
            key.withUnsafeBufferPointer { kp in
                value.withUnsafeBufferPointer { vp in
                    Attention.run(p, q: qp.baseAddress!, k: kp.baseAddress!, v: vp.baseAddress!, o: op.baseAddress!)
                }
            }
        }
    }
    return out
}

/// Reference attention with the full `Lq x Lk` score matrix per (batch, head), one head at a
/// time. Same result as `attention`; for tests only (its memory grows as Lq * Lk).
public func naiveAttention(query: Tensor, key: Tensor, value: Tensor, heads: Int, scale: Float? = nil) -> Tensor {
    let p = Attention.Problem(query: query, key: key, value: value, heads: heads, scale: scale)
    guard p.lq > 0, p.lk > 0, p.headDim > 0 else { return Tensor(zeros: query.shape) }
    var out = Tensor(uninitialized: query.shape)
    let scores = UnsafeMutablePointer<Float>.allocate(capacity: p.lq * p.lk)
    defer { scores.deallocate() }
    out.withUnsafeMutableBufferPointer { op in
        query.withUnsafeBufferPointer { qp in
            key.withUnsafeBufferPointer { kp in
                value.withUnsafeBufferPointer { vp in
                    for b in 0..<p.batch {
                        for h in 0..<p.heads {
                            Attention.block(p, batch: b, head: h, rows: 0..<p.lq, q: qp.baseAddress!, k: kp.baseAddress!,
                                            v: vp.baseAddress!, o: op.baseAddress!, scores: scores, parallelSoftmax: false,
                                            precision: ComputePrecision.current)
                        }
                    }
                }
            }
        }
    }
    return out
}

/// The blockwise attention kernel and its scheduling.
///
/// Work is split into (batch, head, query block) items. How they are scheduled depends on
/// whether OpenBLAS threads the item's GEMMs itself: OpenBLAS 0.3.21 runs an sgemm on one
/// thread when `m*n*k <= 65536 * GEMM_MULTITHREAD_THRESHOLD (4)` = 262,144
/// (interface/gemm.c), and threads it otherwise; its thread count is global
/// (`openblas_set_num_threads` is not per thread), so a worker cannot ask for a single thread.
/// - Items whose GEMMs are small (`blockRows * Lk * D <= 262,144`: temporal attention over
///   frames, cross-attention to the single image token) run in parallel on `Parallel` threads,
///   each worker with its own score buffer; OpenBLAS stays single-threaded inside, so the
///   thread total is `Parallel.threads`.
/// - Larger items (spatial self-attention) run one after another: OpenBLAS threads each GEMM
///   and the row softmax runs on `Parallel`. Running them in parallel instead makes several
///   threads call a multi-threaded OpenBLAS at once, which measured 2 to 10 times slower.
///
/// Timings on the project's 2-core machine (OpenBLAS 0.3.21, its other core busy with other
/// jobs, best of 2-3; the absolute numbers are only good side by side):
///
/// | shape, heads 5 (D 64) | parallel items | serial items |
/// |---|---|---|
/// | [2, 4096, 320], block 128 | 3,500-7,200 ms | 700-740 ms |
/// | [2, 4096, 320], block 256 | 1,480-3,290 ms | 720-1,850 ms |
/// | [2, 4096, 320], block 512 | 1,720 ms | 1,120-1,180 ms |
/// | [8192, 14, 320] | 180-300 ms | 185-280 ms |
///
/// The temporal shape measured the same both ways because no second core was free during the
/// runs (a plain threaded softmax did not speed up either); parallel items is chosen there
/// because the serial schedule cannot use a second thread at all for GEMMs below OpenBLAS's
/// threshold. Its cost is dominated by sgemm call overhead (about 3 µs per (sequence, head)).
public enum Attention {
    /// Query rows per block (tuning knob for benchmarks and tests; set it before running ops,
    /// not while they run). 128 measured as fast as 256 and faster than 512 (see above) with
    /// half the scratch.
    public static var blockRows: Int {
        get { blockRowsKnob.value }
        set { blockRowsKnob.value = newValue }
    }
    private static let blockRowsKnob = Locked(128)

    /// How the (batch, head, query block) work items are scheduled.
    public enum Schedule: Sendable {
        /// Work items spread over `Parallel` threads, each with its own score buffer.
        case parallelItems
        /// Work items one after another; OpenBLAS threads each GEMM, the softmax runs on `Parallel`.
        case serialItems
    }
    /// Forces a schedule (benchmarks and tests); nil chooses automatically.
    public static var schedule: Schedule? {
        get { scheduleKnob.value }
        set { scheduleKnob.value = newValue }
    }
    private static let scheduleKnob = Locked<Schedule?>(nil)

    struct Problem {
        let batch, lq, lk, heads, headDim, channels: Int
        let scale: Float

        init(query: Tensor, key: Tensor, value: Tensor, heads: Int, scale: Float?) {
            precondition(query.rank == 3 && key.rank == 3 && value.rank == 3,
                         "attention: expects [B, L, heads*D] tensors, got \(query.shape), \(key.shape), \(value.shape)")
            precondition(key.shape == value.shape, "attention: key \(key.shape) and value \(value.shape) differ")
            precondition(query.shape[0] == key.shape[0] && query.shape[2] == key.shape[2],
                         "attention: query \(query.shape) does not match key \(key.shape)")
            precondition(heads >= 1 && query.shape[2] % heads == 0,
                         "attention: \(heads) heads do not divide \(query.shape[2]) channels")
            batch = query.shape[0]
            lq = query.shape[1]
            lk = key.shape[1]
            channels = query.shape[2]
            self.heads = heads
            headDim = channels / heads
            self.scale = scale ?? 1 / Float(headDim).squareRoot()
        }
    }

    /// Attention for query rows `rows` of one (batch, head): `S = scale Q K^T` into `scores`
    /// (`rows.count x lk`), row softmax, `O = P V` written into the head's columns of `o`.
    static func block(_ p: Problem, batch b: Int, head h: Int, rows: Range<Int>,
                      q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>,
                      o: UnsafeMutablePointer<Float>, scores: UnsafeMutablePointer<Float>, parallelSoftmax: Bool,
                      precision: ComputePrecision) {
        let ld = p.channels
        let m = rows.count
        let qBase = q + (b * p.lq + rows.lowerBound) * ld + h * p.headDim
        let kBase = k + b * p.lk * ld + h * p.headDim
        let vBase = v + b * p.lk * ld + h * p.headDim
        let oBase = o + (b * p.lq + rows.lowerBound) * ld + h * p.headDim
        GEMM.multiply(precision: precision, transB: true, m: m, n: p.lk, k: p.headDim, alpha: p.scale,
                   a: qBase, lda: ld, b: kBase, ldb: ld, c: scores, ldc: p.lk)
        if parallelSoftmax {
            OpProfile.measure(.attention) { Parallel.forRanges(m, minChunk: max(1, 16_384 / p.lk)) { r in
                Softmax.rows(scores + r.lowerBound * p.lk, rows: r.count, cols: p.lk, stride: p.lk)
            } }
        } else {
            Softmax.rows(scores, rows: m, cols: p.lk, stride: p.lk)
        }
        GEMM.multiply(precision: precision, m: m, n: p.headDim, k: p.lk, a: scores, lda: p.lk, b: vBase, ldb: ld, c: oBase, ldc: ld)
    }

    static func run(_ p: Problem, q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>,
                    o: UnsafeMutablePointer<Float>) {
        let blockRows = max(1, min(Attention.blockRows, p.lq))
        let blocks = (p.lq + blockRows - 1) / blockRows
        let items = p.batch * p.heads * blocks
        let precision = ComputePrecision.current  // worker threads do not see the task-local value
        let schedule = Attention.schedule
            ?? (blockRows * p.lk * p.headDim <= GEMM.smallProductLimit ? .parallelItems : .serialItems)
        switch schedule {
        case .parallelItems:
            OpProfile.measure(.attention) { Parallel.forRanges(items, minChunk: 1) { range in
                let scores = UnsafeMutablePointer<Float>.allocate(capacity: blockRows * p.lk)
                defer { scores.deallocate() }
                for item in range {
                    let blk = item % blocks
                    let bh = item / blocks
                    let lo = blk * blockRows
                    block(p, batch: bh / p.heads, head: bh % p.heads, rows: lo..<min(lo + blockRows, p.lq),
                          q: q, k: k, v: v, o: o, scores: scores, parallelSoftmax: false, precision: precision)
                }
            } }
        case .serialItems:
            let scores = UnsafeMutablePointer<Float>.allocate(capacity: blockRows * p.lk)
            defer { scores.deallocate() }
            for item in 0..<items {
                let blk = item % blocks
                let bh = item / blocks
                let lo = blk * blockRows
                block(p, batch: bh / p.heads, head: bh % p.heads, rows: lo..<min(lo + blockRows, p.lq),
                      q: q, k: k, v: v, o: o, scores: scores, parallelSoftmax: true, precision: precision)
            }
        }
    }
}
