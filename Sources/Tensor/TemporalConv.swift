/// Mirrors torch.nn.Conv3d with kernel (3, 1, 1) and padding (1, 0, 0), as diffusers'
/// TemporalResnetBlock (models/resnet.py) and the SVD VAE's `time_conv_out` use it, applied to
/// activations kept in the UNet's flattened layout x [B*F, C, H, W] (no permutes):
///   out[b, f] = sum_{k=0..2} W[:, :, k] x[b, f + k - 1] + bias   (frames outside 0..<F are zero).
/// weight [O, C, 3, 1, 1], bias [O] or nil; output [B*F, O, H, W].
///
/// The three input frames f-1, f, f+1 are adjacent in memory, so with the weight repacked as
/// [O, 3C] (column k*C + c holds W[o, c, k]) each output frame is a single GEMM with K = 3C
/// (2C at the first and last frame, C when F = 1), accumulating onto the bias (beta = 1).
/// Planes smaller than `Convolution.batchColumnsTarget` positions take the gathered path
/// (`TemporalConvolution.gathered`): one GEMM for many frames at once.
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

    if o == 0 || spatial == 0 || images == 0 {
        if let bias, o > 0, spatial > 0 {
            out.withUnsafeMutableBufferPointer { po in
                bias.withUnsafeBufferPointer { Convolution.fillBias(po.baseAddress!, bias: $0.baseAddress!, images: images, channels: o, planeSize: spatial) }
            }
        }
        return out
    }
    if spatial < Convolution.batchColumnsTarget {
        TemporalConvolution.gathered(x, frames: frames, weight: weight, bias: bias, into: &out)
        return out
    }

    // Repack [O, C, 3] -> [O, 3, C].
    var packed = Tensor(uninitialized: [o, 3 * c])
    weight.withUnsafeBufferPointer { pw in
        packed.withUnsafeMutableBufferPointer { pp in
            let s = pw.baseAddress!, d = pp.baseAddress!
            OpProfile.measure(.copy) { Parallel.forEach(o) { row in
                for ch in 0..<c {
                    for k in 0..<3 { d[row * 3 * c + k * c + ch] = s[(row * c + ch) * 3 + k] }
                }
            } }
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
        x.withUnsafeBufferPointer { px in
            packed.withUnsafeBufferPointer { pp in
                let src = px.baseAddress!, wp = pp.baseAddress!
                for b in 0..<batch {
                    for f in 0..<frames {
                        let kLo = f == 0 ? 1 : 0
                        let kHi = f == frames - 1 ? 1 : 2
                        let image = b * frames + f
                        GEMM.multiply(m: o, n: spatial, k: (kHi - kLo + 1) * c,
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

/// The small-plane path of `temporalConv3d`.
enum TemporalConvolution {
    /// For planes too small for efficient per-frame GEMMs (the UNet's 8x8 and 4x4 levels): the
    /// three input frames of several output frames are gathered side by side into columns
    /// [C x 3, images x S] in the weight's own (channel, tap) order (zeros outside the clip), so
    /// one GEMM with the weight as stored ([O, C*3], no repack) covers them all; the result is
    /// scattered to [image, O, S] with the bias added.
    static func gathered(_ x: Tensor, frames: Int, weight: Tensor, bias: Tensor?, into out: inout Tensor) {
        let (images, c) = (x.shape[0], x.shape[1])
        let spatial = x.shape[2...].reduce(1, *)
        let o = weight.shape[0]
        let k = 3 * c
        let group = max(1, min(images, Convolution.batchColumnsTarget / spatial,
                               Convolution.defaultColumnBudget / max(k * spatial, 1)))
        let width = group * spatial
        let columns = BufferPool.allocate(byteCount: k * width * 4).bindMemory(to: Float.self, capacity: k * width)
        let staged = BufferPool.allocate(byteCount: o * width * 4).bindMemory(to: Float.self, capacity: o * width)
        defer {
            BufferPool.release(UnsafeMutableRawPointer(columns), byteCount: k * width * 4)
            BufferPool.release(UnsafeMutableRawPointer(staged), byteCount: o * width * 4)
        }
        let zero = Tensor(zeros: [o])
        let b = bias ?? zero
        x.withUnsafeBufferPointer { px in
        weight.withUnsafeBufferPointer { pw in
        b.withUnsafeBufferPointer { pb in
        out.withUnsafeMutableBufferPointer { po in
            let src = px.baseAddress!, wp = pw.baseAddress!, bp = pb.baseAddress!, dst = po.baseAddress!
            var first = 0
            while first < images {
                let count = min(group, images - first)
                let rowLength = count * spatial
                OpProfile.measure(.im2col) { Parallel.forEach(k) { row in
                    let ch = row / 3, tap = row % 3
                    for j in 0..<count {
                        let image = first + j
                        let frame = image % frames + tap - 1
                        let line = columns + row * rowLength + j * spatial
                        if frame < 0 || frame >= frames {
                            line.update(repeating: 0, count: spatial)
                        } else {
                            line.update(from: src + ((image + tap - 1) * c + ch) * spatial, count: spatial)
                        }
                    }
                } }
                GEMM.multiply(m: o, n: rowLength, k: k, a: wp, b: columns, c: staged, ldc: rowLength)
                OpProfile.measure(.copy) { Parallel.forRanges(count * o, minChunk: max(1, 16_384 / spatial)) { range in
                    for item in range {
                        let j = item / o, oc = item % o
                        let from = staged + oc * rowLength + j * spatial
                        let to = dst + ((first + j) * o + oc) * spatial
                        let v = bp[oc]
                        for e in 0..<spatial { to[e] = v + from[e] }
                    }
                } }
                first += count
            }
        }}}}
    }
}
