/// Mirrors torch.nn.functional.max_pool2d(x, kernel_size=kernel, stride=stride, padding=padding)
/// with dilation 1 and ceil_mode False, on NCHW: the maximum of each `kernel` x `kernel` window,
/// padding counting as -infinity (it never wins), output
/// [N, C, (H + 2p - k) / s + 1, (W + 2p - k) / s + 1]. As in torch, a NaN in a window makes that
/// output NaN. ONNX MaxPool with symmetric `pads` is the same operation (YOLOv8's SPPF uses k 5,
/// s 1, p 2). Planes run in parallel.
public func maxPool2d(_ x: Tensor, kernel: Int, stride: Int? = nil, padding: Int = 0) -> Tensor {
    let stride = stride ?? kernel
    precondition(x.rank == 4, "maxPool2d expects [N, C, H, W], got \(x.shape)")
    precondition(kernel >= 1 && stride >= 1 && padding >= 0, "maxPool2d: kernel \(kernel), stride \(stride), padding \(padding)")
    precondition(padding * 2 <= kernel, "maxPool2d: padding \(padding) must be at most half the kernel \(kernel) (as torch requires)")
    let (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
    precondition(h + 2 * padding >= kernel && w + 2 * padding >= kernel, "maxPool2d: kernel \(kernel) larger than padded input \(x.shape)")
    let ho = (h + 2 * padding - kernel) / stride + 1
    let wo = (w + 2 * padding - kernel) / stride + 1
    var out = Tensor(uninitialized: [n, c, ho, wo])
    if out.count == 0 { return out }
    x.withUnsafeBufferPointer { px in
        out.withUnsafeMutableBufferPointer { po in
            let src = px.baseAddress!, dst = po.baseAddress!
            Parallel.forRanges(n * c, minChunk: max(1, 4096 / max(ho * wo * kernel * kernel, 1))) { planes in
                for plane in planes {
                    let s = src + plane * h * w
                    let d = dst + plane * ho * wo
                    for oy in 0..<ho {
                        let y0 = max(0, oy * stride - padding), y1 = min(h, oy * stride - padding + kernel)
                        for ox in 0..<wo {
                            let x0 = max(0, ox * stride - padding), x1 = min(w, ox * stride - padding + kernel)
                            var m = -Float.infinity
                            for iy in y0..<y1 {
                                let row = s + iy * w
                                for ix in x0..<x1 {
                                    let v = row[ix]
                                    if v > m || v.isNaN { m = v }
                                }
                            }
                            d[oy * wo + ox] = m
                        }
                    }
                }
            }
        }
    }
    return out
}
