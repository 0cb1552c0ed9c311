/// Zero-pads the last two dimensions of an NCHW tensor on the right and bottom only, as
/// diffusers' Downsample2D does with padding 0 (`F.pad(x, (0, 1, 0, 1))`) before its stride-2 conv.
public func padRightBottom(_ x: Tensor, _ amount: Int) -> Tensor {
    let planes = x.count / (x.shape[x.rank - 2] * x.shape[x.rank - 1])
    let h = x.shape[x.rank - 2], w = x.shape[x.rank - 1]
    let ph = h + amount, pw = w + amount
    var out = Tensor(zeros: Array(x.shape.dropLast(2)) + [ph, pw])
    x.withUnsafeBufferPointer { src in
        out.withUnsafeMutableBufferPointer { dst in
            OpProfile.measure(.copy) { Parallel.forRanges(planes, minChunk: 1) { range in
                for p in range {
                    for y in 0..<h {
                        (dst.baseAddress! + p * ph * pw + y * pw).update(from: src.baseAddress! + p * h * w + y * w, count: w)
                    }
                }
            } }
        }
    }
    return out
}
