import Foundation

// Pointwise activations on f32 tensors. Each runs over all threads (`Parallel.forRanges`) with a
// plain loop over raw pointers; the transcendental parts come from `ActivationMath`, whose
// functions contain no calls or branches so the loops auto-vectorise (AVX2 + FMA under the
// package's `-target-cpu haswell`).

/// Vectorisable single-precision approximations of exp and erf used by the activations and by
/// the fused GroupNorm + SiLU. Accuracy (measured over their whole domains against float64):
/// exp < 1e-7 relative, erf < 5e-7 absolute.
enum ActivationMath {
    /// e^x, Cephes' `expf` scheme: x = n ln2 + r with |r| <= ln2/2, a degree-6 polynomial for e^r,
    /// 2^n built from its exponent bits. Inputs are clamped to [-87.3, 88.3] (results stay finite).
    @inline(__always)
    static func exp(_ x: Float) -> Float {
        let a = min(max(x, -87.3), 88.3)
        // Adding 1.5 * 2^23 rounds to the nearest integer and leaves it in the low mantissa bits.
        let magic: Float = 12_582_912
        let kf = a * 1.442_695_040_888_963_4 + magic
        let n = kf - magic
        var r = a - n * 0.693_359_375
        r = r - n * -2.121_944_4e-4
        var y: Float = 1.987_569_150_0e-4
        y = y * r + 1.398_199_950_7e-3
        y = y * r + 8.333_451_907_3e-3
        y = y * r + 4.166_579_589_4e-2
        y = y * r + 1.666_666_545_9e-1
        y = y * r + 5.000_000_120_1e-1
        y = y * r * r + r + 1
        let bits = (kf.bitPattern &- 0x4B40_0000 &+ 127) &<< 23
        return y * Float(bitPattern: bits)
    }

    /// 1 / (1 + e^-x).
    @inline(__always)
    static func sigmoid(_ x: Float) -> Float { 1 / (1 + exp(-x)) }

    /// x * sigmoid(x), as torch.nn.functional.silu.
    @inline(__always)
    static func silu(_ x: Float) -> Float { x / (1 + exp(-x)) }

    /// erf(x) as Eigen's `generic_fast_erf_float`: an odd/even rational approximation on [-4, 4]
    /// (erf is 1 - 1.5e-8 at 4, so clamping costs nothing in f32).
    @inline(__always)
    static func erf(_ x: Float) -> Float {
        let v = min(max(x, -4), 4)
        let v2 = v * v
        var p: Float = -2.726_142_258_013_06e-10
        p = p * v2 + 2.770_681_424_959_02e-08
        p = p * v2 + -2.101_024_020_825_08e-06
        p = p * v2 + -5.692_506_394_623_46e-05
        p = p * v2 + -7.349_906_303_268_55e-04
        p = p * v2 + -2.954_599_808_540_25e-03
        p = p * v2 + -1.609_603_332_624_15e-02
        p = p * v
        var q: Float = -1.456_607_184_649_96e-05
        q = q * v2 + -2.133_740_552_789_05e-04
        q = q * v2 + -1.682_826_974_382_03e-03
        q = q * v2 + -7.373_329_167_204_68e-03
        q = q * v2 + -1.426_473_905_141_89e-02
        return p / q
    }

    /// torch's default (erf) GELU: 0.5 x (1 + erf(x / sqrt 2)).
    @inline(__always)
    static func gelu(_ x: Float) -> Float { 0.5 * x * (1 + erf(x * 0.707_106_781_186_547_5)) }

    /// torch's GELU(approximate="tanh"): 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))),
    /// with 1 + tanh(z) written as 2 - 2 / (e^(2z) + 1).
    @inline(__always)
    static func geluTanh(_ x: Float) -> Float {
        let z = 0.797_884_560_802_865_4 * (x + 0.044_715 * x * x * x)
        return 0.5 * x * (2 - 2 / (exp(2 * z) + 1))
    }

    /// transformers' quick_gelu: x * sigmoid(1.702 x).
    @inline(__always)
    static func quickGelu(_ x: Float) -> Float { x / (1 + exp(-1.702 * x)) }
}

extension ActivationMath {
    /// Elements handled per thread chunk by the pointwise loops (smaller work runs inline).
    static let minChunk = 16_384

    /// A pointwise function as a type, so the loops below are specialised per function (a static
    /// call the optimiser inlines and vectorises, not a closure call per element).
    protocol PointwiseFunction {
        static func apply(_ x: Float) -> Float
    }

    enum SiLUFunction: PointwiseFunction { @inline(__always) static func apply(_ x: Float) -> Float { ActivationMath.silu(x) } }
    enum GELUFunction: PointwiseFunction { @inline(__always) static func apply(_ x: Float) -> Float { ActivationMath.gelu(x) } }
    enum GELUTanhFunction: PointwiseFunction { @inline(__always) static func apply(_ x: Float) -> Float { ActivationMath.geluTanh(x) } }
    enum QuickGELUFunction: PointwiseFunction { @inline(__always) static func apply(_ x: Float) -> Float { ActivationMath.quickGelu(x) } }
    enum SigmoidFunction: PointwiseFunction { @inline(__always) static func apply(_ x: Float) -> Float { ActivationMath.sigmoid(x) } }

    /// Applies `F` elementwise into a new tensor, over all threads.
    @inline(__always)
    static func map<F: PointwiseFunction>(_ x: Tensor, _: F.Type) -> Tensor {
        var out = Tensor(uninitialized: x.shape)
        x.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                let s = src.baseAddress!, d = dst.baseAddress!
                OpProfile.measure(.activation) { Parallel.forRanges(src.count, minChunk: ActivationMath.minChunk) { range in
                    for i in range { d[i] = F.apply(s[i]) }
                } }
            }
        }
        return out
    }

    /// Applies `F` elementwise in place (copying first only if the storage is shared).
    @inline(__always)
    static func mapInPlace<F: PointwiseFunction>(_ x: inout Tensor, _: F.Type) {
        x.withUnsafeMutableBufferPointer { buf in
            let p = buf.baseAddress!
            OpProfile.measure(.activation) { Parallel.forRanges(buf.count, minChunk: ActivationMath.minChunk) { range in
                for i in range { p[i] = F.apply(p[i]) }
            } }
        }
    }
}

/// Mirrors torch.nn.functional.silu: x * sigmoid(x).
public func silu(_ x: Tensor) -> Tensor { ActivationMath.map(x, ActivationMath.SiLUFunction.self) }

/// In-place `silu`.
public func siluInPlace(_ x: inout Tensor) { ActivationMath.mapInPlace(&x, ActivationMath.SiLUFunction.self) }

/// Mirrors torch.nn.functional.gelu with the default approximate="none" (the erf form).
public func gelu(_ x: Tensor) -> Tensor { ActivationMath.map(x, ActivationMath.GELUFunction.self) }

/// In-place `gelu`.
public func geluInPlace(_ x: inout Tensor) { ActivationMath.mapInPlace(&x, ActivationMath.GELUFunction.self) }

/// Mirrors torch.nn.functional.gelu(x, approximate="tanh").
public func geluTanh(_ x: Tensor) -> Tensor { ActivationMath.map(x, ActivationMath.GELUTanhFunction.self) }

/// In-place `geluTanh`.
public func geluTanhInPlace(_ x: inout Tensor) { ActivationMath.mapInPlace(&x, ActivationMath.GELUTanhFunction.self) }

/// Mirrors transformers' quick_gelu (activations.py QuickGELUActivation): x * sigmoid(1.702 x).
public func quickGelu(_ x: Tensor) -> Tensor { ActivationMath.map(x, ActivationMath.QuickGELUFunction.self) }

/// In-place `quickGelu`.
public func quickGeluInPlace(_ x: inout Tensor) { ActivationMath.mapInPlace(&x, ActivationMath.QuickGELUFunction.self) }

/// Mirrors torch.sigmoid.
public func sigmoid(_ x: Tensor) -> Tensor { ActivationMath.map(x, ActivationMath.SigmoidFunction.self) }

/// In-place `sigmoid`.
public func sigmoidInPlace(_ x: inout Tensor) { ActivationMath.mapInPlace(&x, ActivationMath.SigmoidFunction.self) }

/// Mirrors diffusers' GEGLU (models/activations.py) after its projection: the last dimension
/// [..., 2D] is split into halves (a, gate) and the result [..., D] is a * gelu(gate)
/// (erf GELU, as `F.gelu` there).
public func geglu(_ x: Tensor) -> Tensor {
    precondition(x.rank >= 1 && x.shape[x.rank - 1] % 2 == 0, "geglu needs an even last dimension, got \(x.shape)")
    let width = x.shape[x.rank - 1]
    let half = width / 2
    let rows = width == 0 ? 0 : x.count / width
    var outShape = x.shape
    outShape[outShape.count - 1] = half
    var out = Tensor(uninitialized: outShape)
    x.withUnsafeBufferPointer { src in
        out.withUnsafeMutableBufferPointer { dst in
            let s = src.baseAddress!, d = dst.baseAddress!
            OpProfile.measure(.activation) { Parallel.forRanges(rows, minChunk: max(1, ActivationMath.minChunk / max(half, 1))) { range in
                for r in range {
                    let a = s + r * width, g = a + half, o = d + r * half
                    for j in 0..<half { o[j] = a[j] * ActivationMath.gelu(g[j]) }
                }
            } }
        }
    }
    return out
}
