import Tensor
import TestSupport
import XCTest

/// bf16 products (`GEMM.multiply` at `.bf16`): operands rounded to bf16, accumulated in f32.
/// Checked against sgemm on operands rounded by `BFloat16` (same numbers up to the order of
/// accumulation: max-norm relative 1e-5) and against f32 (bf16's 8-bit mantissa: 1e-2).
/// On CPUs with native bf16 this runs oneDNN's kernel; elsewhere the emulation, which the
/// first comparison then pins to the rounding rule.
final class BF16GEMMTests: XCTestCase {
    func testRoundingIsNearestEven() {
        XCTAssertEqual(BFloat16.bits(1), 0x3F80)
        XCTAssertEqual(BFloat16.bits(Float(bitPattern: 0x3F80_8000)), 0x3F80, "tie goes to the even neighbour")
        XCTAssertEqual(BFloat16.bits(Float(bitPattern: 0x3F81_8000)), 0x3F82, "tie goes to the even neighbour")
        XCTAssertEqual(BFloat16.bits(Float(bitPattern: 0x3F80_8001)), 0x3F81)
        XCTAssertEqual(BFloat16.bits(-2.5), 0xC020)
        XCTAssertEqual(BFloat16.bits(.infinity), 0x7F80)
        XCTAssertEqual(BFloat16.bits(.nan), 0x7FC0)
        XCTAssertEqual(BFloat16.bits(Float(bitPattern: 0x7F80_0001)), 0x7FC0, "a NaN never rounds to infinity")
        XCTAssertEqual(BFloat16.rounded(3.14159265), 3.140625)
    }

    private func product(_ precision: ComputePrecision, transA: Bool, transB: Bool, m: Int, n: Int, k: Int,
                         alpha: Float, beta: Float, a: [Float], b: [Float], c0: [Float], pad: Int) -> [Float] {
        var c = c0
        let lda = (transA ? m : k) + pad, ldb = (transB ? k : n) + pad, ldc = n + pad
        a.withUnsafeBufferPointer { pa in
            b.withUnsafeBufferPointer { pb in
                c.withUnsafeMutableBufferPointer { pc in
                    GEMM.multiply(precision: precision, transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha,
                                  a: pa.baseAddress!, lda: lda, b: pb.baseAddress!, ldb: ldb, beta: beta,
                                  c: pc.baseAddress!, ldc: ldc)
                }
            }
        }
        return c
    }

    func testBF16ProductMatchesRoundedOperandsAndF32() {
        var random = SplitMix(seed: 11)
        let (m, n, k, pad) = (96, 80, 72, 3)
        XCTAssertGreaterThan(m * n * k, GEMM.bf16MinimumMultiplyAdds.value)
        for (transA, transB) in [(false, false), (false, true), (true, false), (true, true)] {
            for (alpha, beta) in [(Float(1), Float(0)), (0.125, 1), (2, 0.5)] {
                let aCount = (transA ? k : m) * ((transA ? m : k) + pad)
                let bCount = (transB ? n : k) * ((transB ? k : n) + pad)
                let a = random.tensor([aCount]).scalars, b = random.tensor([bCount]).scalars
                let c0 = random.tensor([m * (n + pad)]).scalars
                let bf16 = product(.bf16, transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, beta: beta,
                                   a: a, b: b, c0: c0, pad: pad)
                let emulated = product(.f32, transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, beta: beta,
                                       a: a.map(BFloat16.rounded), b: b.map(BFloat16.rounded), c0: c0, pad: pad)
                let f32 = product(.f32, transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, beta: beta,
                                  a: a, b: b, c0: c0, pad: pad)
                let label = "transA \(transA) transB \(transB) alpha \(alpha) beta \(beta)"
                assertClose(Tensor(shape: [bf16.count], scalars: bf16), Tensor(shape: [emulated.count], scalars: emulated),
                            tolerance: 1e-5, label)
                assertClose(Tensor(shape: [bf16.count], scalars: bf16), Tensor(shape: [f32.count], scalars: f32),
                            tolerance: 1e-2, label)
                XCTAssertGreaterThan(maxRelativeError(Tensor(shape: [bf16.count], scalars: bf16),
                                                      Tensor(shape: [f32.count], scalars: f32)), 1e-5,
                                     "bf16 must actually round the operands (\(label))")
                for row in 0..<m { for j in n..<(n + pad) { XCTAssertEqual(bf16[row * (n + pad) + j], c0[row * (n + pad) + j]) } }
            }
        }
    }

    func testSmallProductsStayF32() {
        var random = SplitMix(seed: 12)
        let (m, n, k) = (14, 14, 64)
        let a = random.tensor([m * k]).scalars, b = random.tensor([k * n]).scalars, c0 = [Float](repeating: 0, count: m * n)
        XCTAssertEqual(product(.bf16, transA: false, transB: false, m: m, n: n, k: k, alpha: 1, beta: 0, a: a, b: b, c0: c0, pad: 0),
                       product(.f32, transA: false, transB: false, m: m, n: n, k: k, alpha: 1, beta: 0, a: a, b: b, c0: c0, pad: 0))
    }

    func testTaskLocalPrecisionReachesLinear() {
        var random = SplitMix(seed: 13)
        let x = random.tensor([128, 96]), w = random.tensor([64, 96])
        let f32 = linear(x, weight: w, bias: nil)
        let bf16 = ComputePrecision.$current.withValue(.bf16) { linear(x, weight: w, bias: nil) }
        let emulated = linear(Tensor(shape: x.shape, scalars: x.scalars.map(BFloat16.rounded)),
                              weight: Tensor(shape: w.shape, scalars: w.scalars.map(BFloat16.rounded)), bias: nil)
        assertClose(bf16, emulated, tolerance: 1e-5)
        XCTAssertGreaterThan(maxRelativeError(bf16, f32), 1e-5)
    }

    func testAutoFollowsOneDNN() {
        XCTAssertEqual(PrecisionSetting.auto.resolved(), OneDNN.bf16OutrunsF32 ? .bf16 : .f32)
        XCTAssertTrue(OneDNN.hasNativeBF16 || !OneDNN.bf16OutrunsF32, "bf16 is never picked without native bf16")
        XCTAssertEqual(PrecisionSetting.f32.resolved(), .f32)
        XCTAssertEqual(PrecisionSetting.bf16.resolved(), .bf16)
    }
}
