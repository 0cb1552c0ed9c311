/// Mirrors torch.softmax(x, dim=-1): `exp(x - max) / sum(exp(x - max))` over the last dimension.
///
/// The maximum is subtracted first, as torch does, so large logits do not overflow; `-inf` entries
/// become 0 (to within 1e-38). Rows run in parallel.
public func softmax(_ x: Tensor) -> Tensor {
    precondition(x.rank >= 1, "softmax: needs at least one dimension")
    let cols = x.shape[x.rank - 1]
    var y = x
    guard cols > 0, x.count > 0 else { return y }
    let rows = x.count / cols
    y.withUnsafeMutableBufferPointer { yp in
        let base = yp.baseAddress!
        OpProfile.measure(.attention) { Parallel.forRanges(rows, minChunk: max(1, 16_384 / cols)) { range in
            Softmax.rows(base + range.lowerBound * cols, rows: range.count, cols: cols, stride: cols)
        } }
    }
    return y
}

/// The row softmax kernel shared by `softmax` and `attention`, and the vectorised `exp` it uses.
enum Softmax {
    /// In-place softmax of `rows` rows of `cols` values each, row `r` starting at `p + r * stride`.
    /// Single-threaded: callers parallelise over rows or blocks.
    @inlinable
    static func rows(_ p: UnsafeMutablePointer<Float>, rows: Int, cols: Int, stride: Int) {
        for r in 0..<rows { row(p + r * stride, count: cols) }
    }

    /// In-place softmax of one row: the maximum, then exp(x - max) and its sum in one pass, then
    /// a scale pass. SIMD8 with `replacing(with:where:)` for max and clamp: the generic
    /// `pointwiseMax`/`clamped`/`.max()` of the standard library do not compile to vector code and
    /// ran this routine 10x slower.
    @inlinable
    static func row(_ p: UnsafeMutablePointer<Float>, count n: Int) {
        let raw = UnsafeMutableRawPointer(p)
        let vectorEnd = n - n % 8
        // 1. maximum
        var maxV = SIMD8<Float>(repeating: -.infinity)
        var i = 0
        while i < vectorEnd {
            let v = raw.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
            maxV = maxV.replacing(with: v, where: v .> maxV)
            i += 8
        }
        var m: Float = -.infinity  // a row of only -inf is not supported (torch returns NaN there)
        for lane in 0..<8 { m = Swift.max(m, maxV[lane]) }
        while i < n { m = Swift.max(m, p[i]); i += 1 }
        // 2. exp(x - max) and the sum
        let mV = SIMD8<Float>(repeating: m)
        var sumV = SIMD8<Float>(repeating: 0)
        i = 0
        while i < vectorEnd {
            let e = exp(raw.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self) - mV)
            raw.storeBytes(of: e, toByteOffset: i * 4, as: SIMD8<Float>.self)
            sumV += e
            i += 8
        }
        var sum: Float = 0
        for lane in 0..<8 { sum += sumV[lane] }
        while i < n {
            let e = exp(p[i] - m)
            p[i] = e
            sum += e
            i += 1
        }
        // 3. normalise
        let inv = 1 / sum
        for j in 0..<n { p[j] *= inv }
    }

    // Cephes expf: exp(x) = 2^n * exp(r), n = round(x / ln 2), r = x - n ln 2 in [-ln2/2, ln2/2],
    // exp(r) = 1 + r + r^2 P(r) with P of degree 5. Relative error about 1 ulp over the clamped
    // range [-87.3, 88.3]: below it the result is 2^-126 (1.2e-38) instead of a denormal or 0,
    // which a softmax row sum of at least 1 cannot notice.
    @usableFromInline static let log2e: Float = 1.44269504088896341
    @usableFromInline static let ln2Hi: Float = 0.693359375
    @usableFromInline static let ln2Lo: Float = -2.12194440e-4
    /// 1.5 * 2^23 + 127: adding it rounds to an integer held in the low mantissa bits, already
    /// offset by the exponent bias, so `bits << 23` is the float 2^n.
    @usableFromInline static let roundingMagic: Float = 12_582_912 + 127
    @usableFromInline static let lowerClamp: Float = -87.3
    @usableFromInline static let upperClamp: Float = 88.3

    /// exp of 8 lanes (see above).
    @inlinable
    static func exp(_ x: SIMD8<Float>) -> SIMD8<Float> {
        var x = x.replacing(with: lowerClamp, where: x .< lowerClamp)
        x = x.replacing(with: upperClamp, where: x .> upperClamp)
        let t = x * log2e + roundingMagic
        let n = t - roundingMagic
        let r = (x - n * ln2Hi) - n * ln2Lo
        var y = SIMD8<Float>(repeating: 1.9875691500e-4)
        y = y * r + 1.3981999507e-3
        y = y * r + 8.3334519073e-3
        y = y * r + 4.1665795894e-2
        y = y * r + 1.6666665459e-1
        y = y * r + 5.0000001201e-1
        y = y * (r * r) + r + 1
        let bits = unsafeBitCast(t, to: SIMD8<UInt32>.self) &<< 23
        return y * unsafeBitCast(bits, to: SIMD8<Float>.self)
    }

    /// Scalar exp with the same polynomial as the vector one (for row tails).
    @inlinable
    static func exp(_ x: Float) -> Float {
        let x = x < lowerClamp ? lowerClamp : (x > upperClamp ? upperClamp : x)
        let t = x * log2e + roundingMagic
        let n = t - roundingMagic
        let r = (x - n * ln2Hi) - n * ln2Lo
        var y: Float = 1.9875691500e-4
        y = y * r + 1.3981999507e-3
        y = y * r + 8.3334519073e-3
        y = y * r + 4.1665795894e-2
        y = y * r + 1.6666665459e-1
        y = y * r + 5.0000001201e-1
        y = y * (r * r) + r + 1
        return y * Float(bitPattern: t.bitPattern << 23)
    }
}
