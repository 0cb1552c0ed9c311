// Normalisation layers: GroupNorm (plain and over frames of the flattened video layout) and
// LayerNorm. Statistics are accurate for inputs with a large mean (latents around 1000 occur
// in SVD): sums are taken of (x - K) with K an element of the same group, accumulated in short
// f32 SIMD chunks that are added into Double, and the normalisation subtracts the mean as a
// two-float (hi + lo) value, so no catastrophic cancellation happens anywhere.

enum NormalizationKernels {
    /// Elements per f32 accumulation chunk before the partial sums move into Double.
    static let chunk = 1024

    /// (sum of (x - k), sum of (x - k)^2) over p[0..<n].
    @inline(__always)
    static func shiftedSums(_ p: UnsafePointer<Float>, _ n: Int, shift k: Float) -> (Double, Double) {
        var sum = 0.0, sumSq = 0.0
        let kv = SIMD8<Float>(repeating: k)
        let raw = UnsafeRawPointer(p)
        var i = 0
        while i < n {
            let end = min(n, i + chunk)
            var s0 = SIMD8<Float>(), s1 = SIMD8<Float>(), q0 = SIMD8<Float>(), q1 = SIMD8<Float>()
            var j = i
            while j + 16 <= end {
                let d0 = raw.loadUnaligned(fromByteOffset: j * 4, as: SIMD8<Float>.self) - kv
                let d1 = raw.loadUnaligned(fromByteOffset: (j + 8) * 4, as: SIMD8<Float>.self) - kv
                s0 += d0
                s1 += d1
                q0 += d0 * d0
                q1 += d1 * d1
                j += 16
            }
            var st: Float = 0, qt: Float = 0
            while j < end {
                let d = p[j] - k
                st += d
                qt += d * d
                j += 1
            }
            sum += Double((s0 + s1).sum()) + Double(st)
            sumSq += Double((q0 + q1).sum()) + Double(qt)
            i = end
        }
        return (sum, sumSq)
    }

    /// Mean (as hi + lo floats) and 1 / sqrt(biased variance + eps) from shifted sums over `n` values.
    @inline(__always)
    static func statistics(sum: Double, sumSq: Double, n: Int, shift: Float, eps: Float) -> (hi: Float, lo: Float, rstd: Float) {
        let count = Double(max(n, 1))
        let m = sum / count
        let variance = max(sumSq / count - m * m, 0)
        let mean = Double(shift) + m
        let hi = Float(mean)
        let lo = Float(mean - Double(hi))
        let rstd = Float(1 / (variance + Double(eps)).squareRoot())
        return (hi, lo, rstd)
    }

    /// dst[i] = ((src[i] - hi) - lo) * scale + shift, then SiLU when `silu`.
    @inline(__always)
    static func normalize(_ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<Float>, _ n: Int,
                          hi: Float, lo: Float, scale: Float, shift: Float, silu: Bool) {
        if silu {
            for i in 0..<n { dst[i] = ActivationMath.silu(((src[i] - hi) - lo) * scale + shift) }
        } else {
            for i in 0..<n { dst[i] = ((src[i] - hi) - lo) * scale + shift }
        }
    }

    /// GroupNorm over x viewed as [batch, frames, C, S]: the statistics of (sample b, group g)
    /// cover the group's channels in every frame of sample b (frames = 1 is plain GroupNorm).
    /// Writes into `x`'s own memory when nothing else holds it (the caller passed it consumed and
    /// kept no other reference), else into a new tensor: each element is read once, before its
    /// own slot is written, so the result is the same. The VAE decoder's full-size activations are
    /// 1.2-2.3 GB each; normalising in place keeps one of them fewer alive.
    static func groupNorm(_ x: consuming Tensor, batch: Int, frames: Int, channels: Int, spatial: Int, groups: Int,
                          weight: Tensor?, bias: Tensor?, eps: Float, silu: Bool) -> Tensor {
        precondition(groups > 0 && channels % groups == 0, "groupNorm: \(channels) channels do not split into \(groups) groups")
        if let weight { precondition(weight.count == channels, "groupNorm: weight of \(weight.count) values for \(channels) channels") }
        if let bias { precondition(bias.count == channels, "groupNorm: bias of \(bias.count) values for \(channels) channels") }
        let perGroup = channels / groups
        let segment = perGroup * spatial
        let ones = weight == nil ? Tensor(shape: [channels], repeating: 1) : nil
        let zeros = bias == nil ? Tensor(zeros: [channels]) : nil
        let w = weight ?? ones!, b = bias ?? zeros!
        func run(_ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<Float>) {
            w.withUnsafeBufferPointer { pw in
                b.withUnsafeBufferPointer { pb in
                    let wp = pw.baseAddress!, bp = pb.baseAddress!
                    OpProfile.measure(.norm) { Parallel.forEach(batch * groups) { task in
                        let sample = task / groups, group = task % groups
                        func base(_ frame: Int) -> Int { ((sample * frames + frame) * channels + group * perGroup) * spatial }
                        guard segment > 0 else { return }
                        let k = src[base(0)]
                        var sum = 0.0, sumSq = 0.0
                        for f in 0..<frames {
                            let (s, q) = shiftedSums(src + base(f), segment, shift: k)
                            sum += s
                            sumSq += q
                        }
                        let st = statistics(sum: sum, sumSq: sumSq, n: segment * frames, shift: k, eps: eps)
                        for f in 0..<frames {
                            for c in 0..<perGroup {
                                let channel = group * perGroup + c
                                let offset = base(f) + c * spatial
                                normalize(src + offset, dst + offset, spatial, hi: st.hi, lo: st.lo,
                                          scale: wp[channel] * st.rstd, shift: bp[channel], silu: silu)
                            }
                        }
                    } }
                }
            }
        }
        var input = consume x
        if input.isUniquelyWritable {
            input.withUnsafeMutableBufferPointer { p in run(UnsafePointer(p.baseAddress!), p.baseAddress!) }
            return input
        }
        var out = Tensor(uninitialized: input.shape)
        input.withUnsafeBufferPointer { px in
            out.withUnsafeMutableBufferPointer { po in run(px.baseAddress!, po.baseAddress!) }
        }
        return out
    }
}

/// Mirrors torch.nn.functional.group_norm(x, groups, weight, bias, eps) on x [N, C, ...]
/// (biased variance over each group's channels and all trailing positions), optionally followed
/// by SiLU in the same pass (diffusers' resnets apply norm then SiLU). `weight`/`bias` are [C]
/// or nil (identity affine).
public func groupNorm(_ x: consuming Tensor, groups: Int, weight: Tensor?, bias: Tensor?, eps: Float, silu: Bool = false) -> Tensor {
    precondition(x.rank >= 2, "groupNorm expects [N, C, ...], got \(x.shape)")
    let (batch, channels, spatial) = (x.shape[0], x.shape[1], x.shape[2...].reduce(1, *))
    return NormalizationKernels.groupNorm(consume x, batch: batch, frames: 1, channels: channels, spatial: spatial,
                                          groups: groups, weight: weight, bias: bias, eps: eps, silu: silu)
}

/// GroupNorm of video activations kept flattened as x [B*F, C, H, W]: equals permuting to
/// (B, C, F, H, W), torch.nn.functional.group_norm (statistics over the group's channels x F x H x W)
/// and permuting back, as diffusers' TemporalResnetBlock normalises. Optional fused SiLU.
public func temporalGroupNorm(_ x: consuming Tensor, frames: Int, groups: Int, weight: Tensor?, bias: Tensor?,
                              eps: Float, silu: Bool = false) -> Tensor {
    precondition(x.rank >= 2, "temporalGroupNorm expects [B*F, C, ...], got \(x.shape)")
    precondition(frames > 0 && x.shape[0] % frames == 0, "temporalGroupNorm: \(x.shape[0]) images are not a multiple of \(frames) frames")
    let (batch, channels, spatial) = (x.shape[0] / frames, x.shape[1], x.shape[2...].reduce(1, *))
    return NormalizationKernels.groupNorm(consume x, batch: batch, frames: frames, channels: channels, spatial: spatial,
                                          groups: groups, weight: weight, bias: bias, eps: eps, silu: silu)
}

/// Mirrors torch.nn.functional.layer_norm(x, [D], weight, bias, eps) over the last dimension D
/// (biased variance). `weight`/`bias` are [D] or nil.
public func layerNorm(_ x: Tensor, weight: Tensor?, bias: Tensor?, eps: Float) -> Tensor {
    precondition(x.rank >= 1, "layerNorm needs at least one dimension")
    let width = x.shape[x.rank - 1]
    if let weight { precondition(weight.count == width, "layerNorm: weight of \(weight.count) values for width \(width)") }
    if let bias { precondition(bias.count == width, "layerNorm: bias of \(bias.count) values for width \(width)") }
    let rows = width == 0 ? 0 : x.count / width
    var out = Tensor(uninitialized: x.shape)
    let w = weight ?? Tensor(shape: [width], repeating: 1)
    let b = bias ?? Tensor(zeros: [width])
    x.withUnsafeBufferPointer { px in
        w.withUnsafeBufferPointer { pw in
            b.withUnsafeBufferPointer { pb in
                out.withUnsafeMutableBufferPointer { po in
                    let src = px.baseAddress!, dst = po.baseAddress!, wp = pw.baseAddress!, bp = pb.baseAddress!
                    OpProfile.measure(.norm) { Parallel.forRanges(rows, minChunk: max(1, 8192 / max(width, 1))) { range in
                        for r in range {
                            let s = src + r * width, d = dst + r * width
                            let k = s[0]
                            let (sum, sumSq) = NormalizationKernels.shiftedSums(s, width, shift: k)
                            let st = NormalizationKernels.statistics(sum: sum, sumSq: sumSq, n: width, shift: k, eps: eps)
                            let (hi, lo, rstd) = (st.hi, st.lo, st.rstd)
                            for j in 0..<width { d[j] = ((s[j] - hi) - lo) * (rstd * wp[j]) + bp[j] }
                        }
                    } }
                }
            }
        }
    }
    return out
}
