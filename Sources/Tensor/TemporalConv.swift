/// Mirrors torch.nn.Conv3d with kernel (3, 1, 1) and padding (1, 0, 0), as diffusers'
/// TemporalResnetBlock (models/resnet.py) and the SVD VAE's `time_conv_out` use it, applied to
/// activations kept in the UNet's flattened layout x [B*F, C, H, W] (no permutes):
///   out[b, f] = sum_{k=0..2} W[:, :, k] x[b, f + k - 1] + bias   (frames outside 0..<F are zero).
/// weight [O, C, 3, 1, 1], bias [O] or nil; output [B*F, O, H, W].
///
/// The three input frames f-1, f, f+1 are adjacent in memory, so with the weight repacked as
/// [O, 3C] (column k*C + c holds W[o, c, k]) each output frame is a single GEMM with K = 3C
/// (2C at the first and last frame, C when F = 1), accumulating onto the bias (beta = 1).
public func temporalConv3d(_ x: Tensor, frames: Int, weight: Tensor, bias: Tensor?) -> Tensor {
    precondition(x.rank >= 2, "temporalConv3d expects x [B*F, C, H, W], got \(x.shape)")
    precondition(frames > 0 && x.shape[0] % frames == 0, "temporalConv3d: \(x.shape[0]) images are not a multiple of \(frames) frames")
    let (images, c) = (x.shape[0], x.shape[1])
    let spatial = x.shape[2...].reduce(1, *)
    precondition(weight.rank == 5 && weight.shape[1] == c && weight.shape[2] == 3 && weight.shape[3] == 1 && weight.shape[4] == 1,
                 "temporalConv3d expects weight [O, \(c), 3, 1, 1], got \(weight.shape)")
    let o = weight.shape[0]
    if let bias { precondition(bias.count == o, "temporalConv3d: bias of \(bias.count) values for \(o) output channels") }
    let batch = images / frames
    var outShape = x.shape
    outShape[1] = o
    var out = Tensor(uninitialized: outShape)

    // Repack [O, C, 3] -> [O, 3, C].
    var packed = Tensor(uninitialized: [o, 3 * c])
    weight.withUnsafeBufferPointer { pw in
        packed.withUnsafeMutableBufferPointer { pp in
            let s = pw.baseAddress!, d = pp.baseAddress!
            for row in 0..<o {
                for ch in 0..<c {
                    for k in 0..<3 { d[row * 3 * c + k * c + ch] = s[(row * c + ch) * 3 + k] }
                }
            }
        }
    }

    // torch counts the zero-padded taps (one at the first frame, one at the last: two per
    // sequence) that are skipped here; counted so GFLOP/s compares with PyTorch's.
    OpProfile.addNominal(2 * Double(o * c * spatial) * Double(2 * batch))
    let beta: Float = bias == nil ? 0 : 1
    out.withUnsafeMutableBufferPointer { po in
        let dst = po.baseAddress!
        if let bias {
            bias.withUnsafeBufferPointer {
                Convolution.fillBias(dst, bias: $0.baseAddress!, images: images, channels: o, planeSize: spatial)
            }
        }
        if o == 0 || spatial == 0 { return }
        x.withUnsafeBufferPointer { px in
            packed.withUnsafeBufferPointer { pp in
                let src = px.baseAddress!, wp = pp.baseAddress!
                for b in 0..<batch {
                    for f in 0..<frames {
                        let kLo = f == 0 ? 1 : 0
                        let kHi = f == frames - 1 ? 1 : 2
                        let image = b * frames + f
                        BLAS.sgemm(m: o, n: spatial, k: (kHi - kLo + 1) * c,
                                   a: wp + kLo * c, lda: 3 * c,
                                   b: src + (image + kLo - 1) * c * spatial,
                                   beta: beta, c: dst + image * o * spatial)
                    }
                }
            }
        }
    }
    return out
}
