import Foundation
import Tensor

/// torch's CPU random generator, reproducing
/// `torch.randn(shape, generator=torch.Generator("cpu").manual_seed(seed), dtype=torch.float32)` bit for bit,
/// including successive draws from one generator.
///
/// Mirrors `at::CPUGeneratorImpl` (aten/src/ATen/CPUGeneratorImpl.cpp) and torch's `normal_kernel`
/// (aten/src/ATen/native/cpu/DistributionTemplates.h):
/// - the engine is `at::mt19937` seeded with the seed's low 32 bits (see `MersenneTwister`);
/// - tensors of 16 or more elements (`normal_fill`): every element first gets a 24-bit uniform
///   `(random() & 0xFFFFFF) * 2^-24`; then each block of 16 is turned into normals by Box-Muller in float
///   (`u1 = 1 - d[j]`, `u2 = d[j+8]`, `r = sqrt(-2 log u1)`, `theta = 2 pi u2`, `d[j] = r cos theta`,
///   `d[j+8] = r sin theta`); when the size is not a multiple of 16, the last 16 elements are refilled with fresh
///   uniforms and transformed again;
/// - tensors of fewer than 16 elements (`normal_distribution<double>`): per element, two 53-bit uniforms from
///   `random64()`, `r = sqrt(-2 log1p(-u2))`, `theta = 2 pi u1`, the value `r cos theta` is returned and
///   `r sin theta` is cached in the generator for the next scalar-path element (also in a later call);
///   computed in double and rounded to float. A fresh generator has no cached value.
///
/// The float Box-Muller exists in two versions in torch, and `Kernel` picks which one to reproduce:
/// `.avx2` (torch on x86-64 with AVX2, including AVX-512 machines, whose `normal_stub` deliberately falls back to
/// the AVX2 kernel) uses avx_mathfun's `log256_ps`/`sincos256_ps` (cephes polynomials) compiled by GCC with
/// multiply-adds fused; `.portable` (torch's DEFAULT capability: aarch64, or x86-64 without AVX2) uses libm's
/// `logf`/`cosf`/`sinf`. Both are plain Swift here and run on any CPU; `.portable` matches torch only where Swift
/// and torch share the same libm (glibc on Linux).
///
/// Measured against torch 2.15 (CPU, this repository's fixtures): bit-exact for both kernels over all sizes,
/// seeds and draw sequences tested, and over 2^20 consecutive values of seed 0.
public struct TorchGenerator: RandomSource, Sendable {
    /// Which of torch's float Box-Muller kernels to reproduce (see the type's documentation).
    public enum Kernel: Sendable, Equatable {
        case avx2
        case portable

        /// What torch itself uses on the platform this code is compiled for (x86-64: AVX2 assumed).
        public static var native: Kernel {
            #if arch(x86_64)
            return .avx2
            #else
            return .portable
            #endif
        }
    }

    /// The seed given to `manual_seed` (all 64 bits; only the low 32 seed the engine, as in torch).
    public var seed: UInt64 { engine.seed }
    public let kernel: Kernel
    private var engine: MersenneTwister
    /// `CPUGeneratorImpl::next_double_normal_sample_`: the cached second value of the scalar path.
    private var nextDoubleNormal: Double?

    public init(seed: UInt64, kernel: Kernel = .native) {
        engine = MersenneTwister(seed: seed)
        self.kernel = kernel
        nextDoubleNormal = nil
    }

    /// `torch.randn(shape, generator=self, dtype=torch.float32)`.
    public mutating func normal(shape: [Int]) -> Tensor {
        var out = Tensor(uninitialized: shape)
        out.withUnsafeMutableBufferPointer { fillNormal($0) }
        return out
    }

    /// Fills `buffer` as `torch.randn` fills a contiguous float32 tensor of `buffer.count` elements.
    public mutating func fillNormal(_ buffer: UnsafeMutableBufferPointer<Float>) {
        let n = buffer.count
        if n == 0 { return }
        if n < 16 {
            for i in 0..<n { buffer[i] = Float(nextScalarNormal()) }
            return
        }
        for i in 0..<n { buffer[i] = nextUniform24() }
        let blocks = n / 16
        let kernel = self.kernel
        let base = buffer.baseAddress!
        Parallel.forRanges(blocks, minChunk: 4096) { range in
            for b in range { Self.boxMuller16(base + 16 * b, kernel: kernel) }
        }
        if n % 16 != 0 {
            let tail = base + (n - 16)
            for j in 0..<16 { tail[j] = nextUniform24() }
            Self.boxMuller16(tail, kernel: kernel)
        }
    }

    /// `uniform_real_distribution<float>(0, 1)`: `(random() & (2^24 - 1)) * 2^-24`.
    @inline(__always)
    private mutating func nextUniform24() -> Float {
        Float(engine.nextUInt32() & 0xFF_FFFF) * (1.0 / 16_777_216.0)
    }

    /// `uniform_real_distribution<double>(0, 1)`: `(random64() & (2^53 - 1)) * 2^-53`.
    @inline(__always)
    private mutating func nextUniform53() -> Double {
        Double(engine.nextUInt64() & ((1 << 53) - 1)) * (1.0 / 9_007_199_254_740_992.0)
    }

    /// `at::normal_distribution<double>(0, 1)` with the generator's cache of the second Box-Muller value.
    private mutating func nextScalarNormal() -> Double {
        if let cached = nextDoubleNormal {
            nextDoubleNormal = nil
            return cached
        }
        let u1 = nextUniform53()
        let u2 = nextUniform53()
        let r = (-2.0 * Foundation.log1p(-u2)).squareRoot()
        let theta = 2.0 * Double.pi * u1
        nextDoubleNormal = r * Foundation.sin(theta)
        return r * Foundation.cos(theta)
    }

    /// One `normal_fill_16` (mean 0, std 1) on 16 uniforms in place.
    @inline(__always)
    private static func boxMuller16(_ d: UnsafeMutablePointer<Float>, kernel: Kernel) {
        switch kernel {
        case .avx2:
            // NormalFill16<float> (CPU_CAPABILITY_AVX2): the final _mm256_fmadd_ps(n, std=1, mean=0) is the identity.
            let twoPi = Float(2.0 * Double.pi)
            for j in 0..<8 {
                let u1 = 1 - d[j]
                let u2 = d[j + 8]
                let radius = (-2 * AVXMathFun.log(u1)).squareRoot()
                let (s, c) = AVXMathFun.sincos(twoPi * u2)
                d[j] = radius * c + 0  // + 0: the fmadd turns -0 into +0
                d[j + 8] = radius * s + 0
            }
        case .portable:
            // NormalFill16<opmath_t> (scalar): theta is rounded to float from a double product.
            for j in 0..<8 {
                let u1 = 1 - d[j]
                let u2 = d[j + 8]
                let radius = (-2 * Foundation.log(u1)).squareRoot()
                let theta = Float(2.0 * Double.pi * Double(u2))
                d[j] = (radius * Foundation.cos(theta)).addingProduct(0, 0)
                d[j + 8] = (radius * Foundation.sin(theta)).addingProduct(0, 0)
            }
        }
    }
}

/// One lane of avx_mathfun's `log256_ps` and `sincos256_ps` (aten/src/ATen/native/avx_mathfun.h, after Julien
/// Pommier's sse_mathfun and the cephes `logf`/`sinf`/`cosf`), as torch's GCC build computes them: every
/// `_mm256_add_ps(_mm256_mul_ps(a, b), c)` pair is contracted into a fused multiply-add. Which operand pairs GCC
/// fused was established empirically (bit-exact over 2^20 torch values); the comments name each fused step.
enum AVXMathFun {
    /// `log256_ps` for one lane. Inputs here are in (0, 1]; non-positive inputs give NaN as in the original.
    @inline(__always)
    static func log(_ input: Float) -> Float {
        if !(input > 0) { return .nan }
        var x = max(input, Float(bitPattern: 0x0080_0000))  // cut off denormals
        let exponent = Int32(bitPattern: x.bitPattern >> 23) - 0x7f
        x = Float(bitPattern: (x.bitPattern & ~0x7f80_0000) | Float(0.5).bitPattern)
        var e = Float(exponent) + 1
        let below = x < Float(0.707106781186547524)  // cephes_SQRTHF
        let tmp: Float = below ? x : 0
        x = x - 1
        e = e - (below ? 1 : 0)
        x = x + tmp
        let z = x * x
        // Horner with fused multiply-adds: y = y * x + p_k.
        var y: Float = 7.0376836292E-2
        y = (-1.1514610310E-1 as Float).addingProduct(y, x)
        y = (1.1676998740E-1 as Float).addingProduct(y, x)
        y = (-1.2420140846E-1 as Float).addingProduct(y, x)
        y = (1.4249322787E-1 as Float).addingProduct(y, x)
        y = (-1.6668057665E-1 as Float).addingProduct(y, x)
        y = (2.0000714765E-1 as Float).addingProduct(y, x)
        y = (-2.4999993993E-1 as Float).addingProduct(y, x)
        y = (3.3333331174E-1 as Float).addingProduct(y, x)
        y = y * x
        // y = y * z + e * q1: GCC fuses the y * z product, keeping e * q1 rounded.
        y = (e * -2.12194440e-4).addingProduct(y, z)
        // y = y - z * 0.5 (fused negative multiply-add).
        y = y.addingProduct(-z, 0.5)
        // x = (x + y) + e * q2 (fused).
        x = x + y
        x = x.addingProduct(e, 0.693359375)
        return x
    }

    /// `sincos256_ps` for one lane: (sin x, cos x).
    @inline(__always)
    static func sincos(_ input: Float) -> (sin: Float, cos: Float) {
        var x = abs(input)
        var signSin = input.bitPattern & 0x8000_0000
        var y = x * Float(1.27323954473516)  // cephes_FOPI = 4 / pi
        var j = Int32(y)  // _mm256_cvttps_epi32 (x stays far below 2^31 here)
        j = (j &+ 1) & ~1
        y = Float(j)
        let swapSignSin = UInt32(bitPattern: j & 4) << 29
        let polyIsCos = (j & 2) == 0
        // Extended precision modular arithmetic, each step fused: x = ((x - y*DP1) - y*DP2) - y*DP3.
        x = x.addingProduct(y, -0.78515625)
        x = x.addingProduct(y, -2.4187564849853515625e-4)
        x = x.addingProduct(y, -3.77489497744594108e-8)
        let signCos = UInt32(bitPattern: ~(j &- 2) & 4) << 29
        signSin ^= swapSignSin
        let z = x * x
        // First polynomial (cos on [0, pi/4]).
        var yc: Float = 2.443315711809948E-005
        yc = (-1.388731625493765E-003 as Float).addingProduct(yc, z)
        yc = (4.166664568298827E-002 as Float).addingProduct(yc, z)
        yc = yc * z
        yc = (-(z * 0.5)).addingProduct(yc, z)  // y * z - z * 0.5 with y * z fused
        yc = yc + 1
        // Second polynomial (sin on [0, pi/4]).
        var ys: Float = -1.9515295891E-4
        ys = (8.3321608736E-3 as Float).addingProduct(ys, z)
        ys = (-1.6666654611E-1 as Float).addingProduct(ys, z)
        ys = ys * z
        ys = x.addingProduct(ys, x)
        // Select: sin takes ys where polyIsCos is set, yc elsewhere; cos the other one.
        let ysin2: Float = polyIsCos ? ys : 0
        let ysin1: Float = polyIsCos ? 0 : yc
        let s = ysin1 + ysin2
        let c = (yc - ysin1) + (ys - ysin2)
        return (Float(bitPattern: s.bitPattern ^ signSin), Float(bitPattern: c.bitPattern ^ signCos))
    }
}
