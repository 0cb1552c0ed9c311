/// F.interpolate(x, size=(height, width), mode="nearest") on NCHW: source index
/// floor(dst * in / out), as torch computes it in float. For exact 2x this equals
/// `upsampleNearest2x`; diffusers' Upsample2D uses the size form when a latent side is odd.
public func resizeNearest(_ x: Tensor, height oh: Int, width ow: Int) -> Tensor {
    let ih = x.shape[x.rank - 2], iw = x.shape[x.rank - 1]
    let planes = x.count / (ih * iw)
    let sy = Float(ih) / Float(oh), sx = Float(iw) / Float(ow)
    let ys = (0..<oh).map { min(Int((Float($0) * sy).rounded(.down)), ih - 1) }
    let xs = (0..<ow).map { min(Int((Float($0) * sx).rounded(.down)), iw - 1) }
    var out = Tensor(uninitialized: Array(x.shape.dropLast(2)) + [oh, ow])
    x.withUnsafeBufferPointer { src in
        out.withUnsafeMutableBufferPointer { dst in
            OpProfile.measure(.copy) { Parallel.forRanges(planes * oh, minChunk: 16) { range in
                for row in range {
                    let plane = row / oh, y = row % oh
                    let s = plane * ih * iw + ys[y] * iw
                    let d = row * ow
                    for i in 0..<ow { dst[d + i] = src[s + xs[i]] }
                }
            } }
        }
    }
    return out
}
