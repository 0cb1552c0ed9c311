/// Mirrors torch.nn.functional.interpolate(x, scale_factor=2, mode="nearest") on NCHW (as
/// diffusers' Upsample2D before its conv): out[n, c, 2y + dy, 2x + dx] = x[n, c, y, x].
public func upsampleNearest2x(_ x: Tensor) -> Tensor {
    precondition(x.rank == 4, "upsampleNearest2x expects [N, C, H, W], got \(x.shape)")
    let (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
    var out = Tensor(uninitialized: [n, c, 2 * h, 2 * w])
    let rows = n * c * h
    x.withUnsafeBufferPointer { px in
        out.withUnsafeMutableBufferPointer { po in
            let s = px.baseAddress!, d = po.baseAddress!
            OpProfile.measure(.copy) { Parallel.forRanges(rows, minChunk: max(1, 8192 / max(w, 1))) { range in
                for r in range {
                    let src = s + r * w
                    let top = d + r * 4 * w
                    for j in 0..<w {
                        let v = src[j]
                        top[2 * j] = v
                        top[2 * j + 1] = v
                    }
                    (top + 2 * w).update(from: top, count: 2 * w)
                }
            } }
        }
    }
    return out
}
