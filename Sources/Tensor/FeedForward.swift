/// A GEGLU feed-forward block added onto a residual, in row chunks:
///   residual += (a * gelu(gate)) W2^T + b2,   [a, gate] = x W1^T + b1
/// Mirrors diffusers' FeedForward(activation_fn="geglu") (models/attention.py: `net.0` GEGLU
/// projection, erf GELU, `net.2` Linear) followed by the residual add of the transformer blocks.
///
/// Rows go through in chunks of `FeedForwardGEGLU.chunkRows`, so the widest intermediate,
/// [rows, 2 x inner], never exists whole: at 1024x576, 25 frames and the guidance batch of 2 it
/// would take 9.4 GB at the first level; a chunk takes `chunkRows * 2 * inner` floats (2048 rows
/// x 2560: 21 MB). Each chunk's second GEMM accumulates straight into the residual rows
/// (beta = 1), so there is no separate add pass and no output tensor.
///
/// - Parameters:
///   - x: `[..., dim]`, the normalised input.
///   - residual: same shape as `x` with `dimOut == dim`, or `[..., dimOut]`; updated in place.
///   - projWeight: `[2 * inner, dim]`; projBias `[2 * inner]`.
///   - outWeight: `[dimOut, inner]`; outBias `[dimOut]`.
public func feedForwardGEGLU(_ x: Tensor, residual: inout Tensor, projWeight: Tensor, projBias: Tensor,
                             outWeight: Tensor, outBias: Tensor) {
    let dim = x.shape[x.rank - 1]
    let inner2 = projWeight.shape[0], inner = inner2 / 2
    let dimOut = outWeight.shape[0]
    precondition(projWeight.shape == [inner2, dim] && inner2 % 2 == 0, "feedForwardGEGLU: proj weight \(projWeight.shape) for dim \(dim)")
    precondition(outWeight.shape == [dimOut, inner], "feedForwardGEGLU: out weight \(outWeight.shape) for inner \(inner)")
    precondition(projBias.count == inner2 && outBias.count == dimOut, "feedForwardGEGLU: bias sizes")
    let rows = dim == 0 ? 0 : x.count / dim
    precondition(residual.count == rows * dimOut, "feedForwardGEGLU: residual \(residual.shape) for \(rows) rows of \(dimOut)")
    guard rows > 0 else { return }
    let chunk = max(1, min(FeedForwardGEGLU.chunkRows, rows))
    let hiddenBytes = chunk * inner2 * 4
    let hidden = BufferPool.allocate(byteCount: hiddenBytes).bindMemory(to: Float.self, capacity: chunk * inner2)
    defer { BufferPool.release(UnsafeMutableRawPointer(hidden), byteCount: hiddenBytes) }
    x.withUnsafeBufferPointer { px in
    projWeight.withUnsafeBufferPointer { pw1 in
    projBias.withUnsafeBufferPointer { pb1 in
    outWeight.withUnsafeBufferPointer { pw2 in
    outBias.withUnsafeBufferPointer { pb2 in
    residual.withUnsafeMutableBufferPointer { pr in
        let xs = px.baseAddress!, w1 = pw1.baseAddress!, b1 = pb1.baseAddress!
        let w2 = pw2.baseAddress!, b2 = pb2.baseAddress!, res = pr.baseAddress!
        var r0 = 0
        while r0 < rows {
            let n = min(chunk, rows - r0)
            GEMM.multiply(transB: true, m: n, n: inner2, k: dim, a: xs + r0 * dim, lda: dim, b: w1, ldb: dim, c: hidden, ldc: inner2)
            // GEGLU in place: hidden[r, 0..<inner] = (a + b1a) * gelu(gate + b1g); the output
            // bias b2 goes onto the residual rows in the same pass. Two loops per row, each with
            // one written pointer: one loop reading and writing both halves of the row is not
            // vectorised (the halves alias as far as the compiler knows) and ran 3.7x slower.
            OpProfile.measure(.activation) {
                Parallel.forRanges(n, minChunk: max(1, 16_384 / inner)) { range in
                    for r in range {
                        let a = hidden + r * inner2, g = a + inner, bGate = b1 + inner
                        for j in 0..<inner { g[j] = ActivationMath.gelu(g[j] + bGate[j]) }
                        let gelu = UnsafePointer(g)
                        for j in 0..<inner { a[j] = (a[j] + b1[j]) * gelu[j] }
                        let o = res + (r0 + r) * dimOut
                        for j in 0..<dimOut { o[j] += b2[j] }
                    }
                }
            }
            GEMM.multiply(transB: true, m: n, n: dimOut, k: inner, a: hidden, lda: inner2, b: w2, ldb: inner,
                       beta: 1, c: res + r0 * dimOut, ldc: dimOut)
            r0 += n
        }
    }}}}}}
}

/// Tuning of `feedForwardGEGLU`.
public enum FeedForwardGEGLU {
    /// Rows per chunk (set before running ops, not while they run).
    public static var chunkRows: Int {
        get { chunkRowsKnob.value }
        set { chunkRowsKnob.value = newValue }
    }
    private static let chunkRowsKnob = Locked(2048)
}
