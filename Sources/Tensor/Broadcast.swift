/// Broadcasting adds the diffusion models need, each one threaded pass with no temporaries.

/// x[n, c, ...] += bias[n, c] for x [N, C, rest...] and bias [N, C]
/// (diffusers' `hidden_states + temb[:, :, None, None]`).
public func addPerSampleChannelBias(_ x: inout Tensor, _ bias: Tensor) {
    let n = x.shape[0], c = x.shape[1]
    precondition(bias.shape == [n, c], "bias \(bias.shape) does not match \(x.shape)")
    let inner = x.count / (n * c)
    bias.withUnsafeBufferPointer { b in
        x.withUnsafeMutableBufferPointer { p in
            OpProfile.measure(.elementwise) { Parallel.forRanges(n * c, minChunk: max(1, 16384 / max(inner, 1))) { range in
                for nc in range {
                    let v = b[nc]
                    let base = nc * inner
                    for i in 0..<inner { p[base + i] += v }
                }
            } }
        }
    }
}

/// x[n, l, :] += bias[n, :] for x [N, L, C] and bias [N, C] (an embedding added to every token).
public func addPerSampleRowBias(_ x: inout Tensor, _ bias: Tensor) {
    let n = x.shape[0], c = x.shape[x.rank - 1]
    precondition(bias.shape == [n, c], "bias \(bias.shape) does not match \(x.shape)")
    let rows = x.count / (n * c)
    bias.withUnsafeBufferPointer { b in
        x.withUnsafeMutableBufferPointer { p in
            OpProfile.measure(.elementwise) { Parallel.forRanges(n * rows, minChunk: max(1, 16384 / c)) { range in
                for r in range {
                    let bb = (r / rows) * c
                    let base = r * c
                    for i in 0..<c { p[base + i] += b[bb + i] }
                }
            } }
        }
    }
}

/// out[n, l, :] = x[n, :] for l in 0..<rows: [N, C] -> [N, rows, C].
public func broadcastRows(_ x: Tensor, rows: Int) -> Tensor {
    let n = x.shape[0], c = x.shape[1]
    var out = Tensor(uninitialized: [n, rows, c])
    x.withUnsafeBufferPointer { src in
        out.withUnsafeMutableBufferPointer { dst in
            OpProfile.measure(.elementwise) { Parallel.forRanges(n * rows, minChunk: max(1, 16384 / max(c, 1))) { range in
                for r in range {
                    (dst.baseAddress! + r * c).update(from: src.baseAddress! + (r / rows) * c, count: c)
                }
            } }
        }
    }
    return out
}
