// Elementwise arithmetic on f32 tensors: the small set a UNet needs (residual adds, scaling,
// per-channel and per-row bias broadcasts, AlphaBlender's mix). Every op runs over all threads
// with a plain loop over raw pointers (auto-vectorised).

enum ElementwiseLoops {
    /// Elements per thread chunk (smaller work runs inline).
    static let minChunk = 16_384

    /// out[i] = f(a[i], b[i]) into a new tensor shaped like `a`.
    @inline(__always)
    static func zip(_ a: Tensor, _ b: Tensor, _ f: (Float, Float) -> Float) -> Tensor {
        var out = Tensor(uninitialized: a.shape)
        a.withUnsafeBufferPointer { pa in
            b.withUnsafeBufferPointer { pb in
                out.withUnsafeMutableBufferPointer { po in
                    let x = pa.baseAddress!, y = pb.baseAddress!, o = po.baseAddress!
                    OpProfile.measure(.elementwise) { Parallel.forRanges(po.count, minChunk: minChunk) { range in
                        for i in range { o[i] = f(x[i], y[i]) }
                    } }
                }
            }
        }
        return out
    }
}

@inline(__always)
private func checkSameShape(_ a: Tensor, _ b: Tensor, _ op: String) {
    precondition(a.shape == b.shape, "\(op): shapes \(a.shape) and \(b.shape) differ")
}

/// a + b for tensors of the same shape (torch.add without broadcasting).
public func add(_ a: Tensor, _ b: Tensor) -> Tensor {
    checkSameShape(a, b, "add")
    return ElementwiseLoops.zip(a, b) { $0 + $1 }
}

/// a * b for tensors of the same shape (torch.mul without broadcasting).
public func mul(_ a: Tensor, _ b: Tensor) -> Tensor {
    checkSameShape(a, b, "mul")
    return ElementwiseLoops.zip(a, b) { $0 * $1 }
}

/// x += y for tensors of the same shape (residual connections).
public func addInPlace(_ x: inout Tensor, _ y: Tensor) {
    checkSameShape(x, y, "addInPlace")
    y.withUnsafeBufferPointer { py in
        x.withUnsafeMutableBufferPointer { px in
            let s = py.baseAddress!, d = px.baseAddress!
            OpProfile.measure(.elementwise) { Parallel.forRanges(px.count, minChunk: ElementwiseLoops.minChunk) { range in
                for i in range { d[i] += s[i] }
            } }
        }
    }
}

/// x * factor.
public func scale(_ x: Tensor, by factor: Float) -> Tensor {
    var out = Tensor(uninitialized: x.shape)
    x.withUnsafeBufferPointer { px in
        out.withUnsafeMutableBufferPointer { po in
            let s = px.baseAddress!, d = po.baseAddress!
            OpProfile.measure(.elementwise) { Parallel.forRanges(po.count, minChunk: ElementwiseLoops.minChunk) { range in
                for i in range { d[i] = s[i] * factor }
            } }
        }
    }
    return out
}

/// x / divisor, each element divided (torch's `tensor / scalar`, which rounds as a division, not as a product
/// with the reciprocal): the schedulers' `scale_model_input`.
public func divide(_ x: Tensor, by divisor: Float) -> Tensor {
    var out = Tensor(uninitialized: x.shape)
    x.withUnsafeBufferPointer { px in
        out.withUnsafeMutableBufferPointer { po in
            let s = px.baseAddress!, d = po.baseAddress!
            OpProfile.measure(.elementwise) { Parallel.forRanges(po.count, minChunk: ElementwiseLoops.minChunk) { range in
                for i in range { d[i] = s[i] / divisor }
            } }
        }
    }
    return out
}

/// x *= factor.
public func scaleInPlace(_ x: inout Tensor, by factor: Float) {
    x.withUnsafeMutableBufferPointer { px in
        let d = px.baseAddress!
        OpProfile.measure(.elementwise) { Parallel.forRanges(px.count, minChunk: ElementwiseLoops.minChunk) { range in
            for i in range { d[i] *= factor }
        } }
    }
}

/// x + bias[c] for x [N, C, ...] (NCHW or [N, C]) and bias [C]: torch's `x + bias[None, :, None, None]`,
/// as conv biases and diffusers' `hidden_states + temb[:, :, None, None]` per sample use it.
public func addBias(_ x: Tensor, channelBias bias: Tensor) -> Tensor {
    var out = x
    addBiasInPlace(&out, channelBias: bias)
    return out
}

/// In-place `addBias(_:channelBias:)`.
public func addBiasInPlace(_ x: inout Tensor, channelBias bias: Tensor) {
    precondition(x.rank >= 2 && bias.count == x.shape[1], "addBias: bias of \(bias.count) values for shape \(x.shape)")
    let channels = x.shape[1]
    let inner = x.shape[2...].reduce(1, *)
    let planes = x.shape[0] * channels
    bias.withUnsafeBufferPointer { pb in
        x.withUnsafeMutableBufferPointer { px in
            let b = pb.baseAddress!, d = px.baseAddress!
            OpProfile.measure(.elementwise) { Parallel.forRanges(planes, minChunk: max(1, ElementwiseLoops.minChunk / max(inner, 1))) { range in
                for plane in range {
                    let v = b[plane % channels]
                    let row = d + plane * inner
                    for i in 0..<inner { row[i] += v }
                }
            } }
        }
    }
}

/// x + row for x [..., D] and row [D]: torch's broadcasting `x + row` over the last dimension
/// (Linear biases, per-sample embeddings).
public func addRowBroadcast(_ x: Tensor, _ row: Tensor) -> Tensor {
    var out = x
    addRowBroadcastInPlace(&out, row)
    return out
}

/// In-place `addRowBroadcast`.
public func addRowBroadcastInPlace(_ x: inout Tensor, _ row: Tensor) {
    precondition(x.rank >= 1 && row.count == x.shape[x.rank - 1], "addRowBroadcast: row of \(row.count) values for shape \(x.shape)")
    let width = row.count
    let rows = width == 0 ? 0 : x.count / width
    row.withUnsafeBufferPointer { pr in
        x.withUnsafeMutableBufferPointer { px in
            let r = pr.baseAddress!, d = px.baseAddress!
            OpProfile.measure(.elementwise) { Parallel.forRanges(rows, minChunk: max(1, ElementwiseLoops.minChunk / max(width, 1))) { range in
                for i in range {
                    let line = d + i * width
                    for j in 0..<width { line[j] += r[j] }
                }
            } }
        }
    }
}

/// alpha * a + (1 - alpha) * b: diffusers' AlphaBlender (models/attention.py) with a scalar alpha
/// (`alpha * x_spatial + (1.0 - alpha) * x_temporal`; pass 1 - alpha for switch_spatial_to_temporal_mix).
public func blend(_ a: Tensor, _ b: Tensor, alpha: Float) -> Tensor {
    checkSameShape(a, b, "blend")
    let beta = 1 - alpha
    return ElementwiseLoops.zip(a, b) { alpha * $0 + beta * $1 }
}

/// In-place `blend` into the second operand: b = alpha * a + (1 - alpha) * b (bit-identical to
/// `blend(a, b, alpha:)`), saving the output tensor when `b` is not needed afterwards.
public func blendInPlace(_ a: Tensor, into b: inout Tensor, alpha: Float) {
    checkSameShape(a, b, "blendInPlace")
    let beta = 1 - alpha
    a.withUnsafeBufferPointer { pa in
        b.withUnsafeMutableBufferPointer { pb in
            let x = pa.baseAddress!, y = pb.baseAddress!
            OpProfile.measure(.elementwise) { Parallel.forRanges(pb.count, minChunk: ElementwiseLoops.minChunk) { range in
                for i in range { y[i] = alpha * x[i] + beta * y[i] }
            } }
        }
    }
}
