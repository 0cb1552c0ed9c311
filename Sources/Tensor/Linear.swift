/// Matrix products on `Tensor`s: `linear` (torch.nn.Linear), `matmul` (2-D) and `batchedMatmul`
/// (torch.bmm). Each runs on `BLAS.sgemm`, which uses OpenBLAS's own threads.

/// Mirrors torch.nn.functional.linear: `y = x W^T + b`.
///
/// - Parameters:
///   - x: `[..., in]`; every leading dimension is a batch dimension.
///   - weight: `[out, in]`, the layout of `torch.nn.Linear.weight` (read transposed, never copied).
///   - bias: `[out]`, or nil.
/// - Returns: `[..., out]`.
public func linear(_ x: Tensor, weight: Tensor, bias: Tensor?) -> Tensor {
    precondition(x.rank >= 1 && weight.rank == 2, "linear: x \(x.shape), weight \(weight.shape)")
    let inFeatures = x.shape[x.rank - 1]
    let outFeatures = weight.shape[0]
    precondition(weight.shape[1] == inFeatures, "linear: x \(x.shape) does not match weight \(weight.shape)")
    if let bias { precondition(bias.count == outFeatures, "linear: bias \(bias.shape) for weight \(weight.shape)") }
    let rows = inFeatures == 0 ? x.shape.dropLast().reduce(1, *) : x.count / inFeatures
    var y = Tensor(uninitialized: Array(x.shape.dropLast()) + [outFeatures])
    y.withUnsafeMutableBufferPointer { yp in
        guard let yBase = yp.baseAddress, rows > 0, outFeatures > 0 else { return }
        if inFeatures == 0 {
            yBase.update(repeating: 0, count: rows * outFeatures)
        } else {
            x.withUnsafeBufferPointer { xp in
                weight.withUnsafeBufferPointer { wp in
                    GEMM.multiply(transB: true, m: rows, n: outFeatures, k: inFeatures,
                               a: xp.baseAddress!, lda: inFeatures, b: wp.baseAddress!, ldb: inFeatures,
                               c: yBase, ldc: outFeatures)
                }
            }
        }
        guard let bias else { return }
        bias.withUnsafeBufferPointer { bp in
            let b = bp.baseAddress!
            OpProfile.measure(.elementwise) { Parallel.forRanges(rows, minChunk: max(1, 32_768 / outFeatures)) { range in
                for r in range {
                    let row = yBase + r * outFeatures
                    for j in 0..<outFeatures { row[j] += b[j] }
                }
            } }
        }
    }
    return y
}

/// `y += x W^T + b` in place: torch's `y = y + F.linear(x, W, b)` (a residual connection) with
/// the GEMM accumulating into `y` (beta = 1) and the bias added in the same pass that first
/// reads `y`, so there is neither an output tensor nor a separate add.
/// x `[..., in]`, weight `[out, in]`, bias `[out]` or nil, y `[..., out]` with the same rows.
public func linearAdd(_ x: Tensor, weight: Tensor, bias: Tensor?, to y: inout Tensor) {
    precondition(x.rank >= 1 && weight.rank == 2, "linearAdd: x \(x.shape), weight \(weight.shape)")
    let inFeatures = x.shape[x.rank - 1]
    let outFeatures = weight.shape[0]
    precondition(weight.shape[1] == inFeatures, "linearAdd: x \(x.shape) does not match weight \(weight.shape)")
    let rows = inFeatures == 0 ? 0 : x.count / inFeatures
    precondition(y.count == rows * outFeatures, "linearAdd: y \(y.shape) for \(rows) rows of \(outFeatures)")
    if let bias { precondition(bias.count == outFeatures, "linearAdd: bias \(bias.shape) for weight \(weight.shape)") }
    guard rows > 0, outFeatures > 0 else { return }
    y.withUnsafeMutableBufferPointer { yp in
        let yBase = yp.baseAddress!
        if let bias {
            bias.withUnsafeBufferPointer { bp in
                let b = bp.baseAddress!
                OpProfile.measure(.elementwise) {
                    Parallel.forRanges(rows, minChunk: max(1, 32_768 / outFeatures)) { range in
                        for r in range {
                            let row = yBase + r * outFeatures
                            for j in 0..<outFeatures { row[j] += b[j] }
                        }
                    }
                }
            }
        }
        x.withUnsafeBufferPointer { xp in
            weight.withUnsafeBufferPointer { wp in
                GEMM.multiply(transB: true, m: rows, n: outFeatures, k: inFeatures,
                           a: xp.baseAddress!, lda: inFeatures, b: wp.baseAddress!, ldb: inFeatures,
                           beta: 1, c: yBase, ldc: outFeatures)
            }
        }
    }
}

/// Mirrors torch.matmul for 2-D operands: `op(a) · op(b)`.
///
/// With `transposeA`, `a` is stored as `[K, M]` and read transposed (torch `a.T @ b`); with
/// `transposeB`, `b` is stored as `[N, K]`. No transposed copy is made.
/// - Returns: `[M, N]`.
public func matmul(_ a: Tensor, _ b: Tensor, transposeA: Bool = false, transposeB: Bool = false) -> Tensor {
    precondition(a.rank == 2 && b.rank == 2, "matmul: expects 2-D operands, got \(a.shape) and \(b.shape)")
    let m = transposeA ? a.shape[1] : a.shape[0]
    let k = transposeA ? a.shape[0] : a.shape[1]
    let kb = transposeB ? b.shape[1] : b.shape[0]
    let n = transposeB ? b.shape[0] : b.shape[1]
    precondition(k == kb, "matmul: inner dimensions differ: \(a.shape)\(transposeA ? "ᵀ" : "") x \(b.shape)\(transposeB ? "ᵀ" : "")")
    var c = Tensor(uninitialized: [m, n])
    c.withUnsafeMutableBufferPointer { cp in
        multiplyInto(cp.baseAddress, a: a, b: b, m: m, n: n, k: k, transposeA: transposeA, transposeB: transposeB,
                     aOffset: 0, bOffset: 0)
    }
    return c
}

/// Mirrors torch.bmm: `[B, M, K] x [B, K, N] -> [B, M, N]`, one sgemm per batch entry.
///
/// `transposeA` means `a` is stored `[B, K, M]`; `transposeB` means `b` is stored `[B, N, K]`.
public func batchedMatmul(_ a: Tensor, _ b: Tensor, transposeA: Bool = false, transposeB: Bool = false) -> Tensor {
    precondition(a.rank == 3 && b.rank == 3 && a.shape[0] == b.shape[0],
                 "batchedMatmul: expects [B, M, K] and [B, K, N], got \(a.shape) and \(b.shape)")
    let batch = a.shape[0]
    let m = transposeA ? a.shape[2] : a.shape[1]
    let k = transposeA ? a.shape[1] : a.shape[2]
    let kb = transposeB ? b.shape[2] : b.shape[1]
    let n = transposeB ? b.shape[1] : b.shape[2]
    precondition(k == kb, "batchedMatmul: inner dimensions differ: \(a.shape) x \(b.shape)")
    var c = Tensor(uninitialized: [batch, m, n])
    c.withUnsafeMutableBufferPointer { cp in
        for i in 0..<batch {
            multiplyInto(cp.baseAddress.map { $0 + i * m * n }, a: a, b: b, m: m, n: n, k: k,
                         transposeA: transposeA, transposeB: transposeB, aOffset: i * m * k, bOffset: i * k * n)
        }
    }
    return c
}

/// `c = op(a[aOffset...]) · op(b[bOffset...])` for dense operands; handles empty and `k == 0`.
private func multiplyInto(_ c: UnsafeMutablePointer<Float>?, a: Tensor, b: Tensor, m: Int, n: Int, k: Int,
                          transposeA: Bool, transposeB: Bool, aOffset: Int, bOffset: Int) {
    guard let c, m > 0, n > 0 else { return }
    if k == 0 {
        c.update(repeating: 0, count: m * n)
        return
    }
    a.withUnsafeBufferPointer { ap in
        b.withUnsafeBufferPointer { bp in
            GEMM.multiply(transA: transposeA, transB: transposeB, m: m, n: n, k: k,
                       a: ap.baseAddress! + aOffset, b: bp.baseAddress! + bOffset, c: c)
        }
    }
}
