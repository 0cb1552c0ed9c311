import Tensor
import TestSupport
import Dispatch
import XCTest

/// Winograd F(4x4, 3x3) convolutions against im2col + GEMM (direct summation) and against
/// torch's F.conv2d in float64 (Scripts/reference/op_fixtures_a.py). Tolerance: max-norm
/// relative error 2e-5 (direct summation meets 1e-5 on the same cases; Winograd's transforms
/// scale values by up to 8 and back, a few f32 roundings more).
final class WinogradTests: XCTestCase {
    func testMatchesIm2colOnAwkwardShapes() {
        var random = SplitMix(seed: 21)
        // (images, in, out, height, width): planes not multiples of 4, single pixels, one channel.
        for (n, c, o, h, w) in [(2, 5, 7, 9, 13), (1, 32, 16, 8, 8), (3, 3, 4, 4, 4), (2, 4, 3, 1, 1),
                                (1, 1, 1, 6, 5), (4, 8, 12, 17, 3)] {
            let x = random.tensor([n, c, h, w]), weight = random.tensor([o, c, 3, 3]), bias = random.tensor([o])
            for b in [bias, nil] {
                let direct = conv2d(x, weight: weight, bias: b, padding: 1, algorithm: .im2col)
                let winograd = conv2d(x, weight: weight, bias: b, padding: 1, algorithm: .winograd)
                XCTAssertEqual(winograd.shape, [n, o, h, w])
                assertClose(winograd, direct, tolerance: 2e-5, "\(n)x\(c)->\(o) \(h)x\(w) bias \(b != nil)")
            }
        }
    }

    /// A budget of a few tiles forces many chunks, including a partial last one. Not bit-equal in
    /// general: oneDNN's f32 matmul may order the sums differently for another number of columns.
    func testChunkedTilesMatchOneChunk() {
        var random = SplitMix(seed: 22)
        let x = random.tensor([3, 6, 11, 10]), weight = random.tensor([5, 6, 3, 3]), bias = random.tensor([5])
        let whole = conv2d(x, weight: weight, bias: bias, padding: 1, algorithm: .winograd)
        for tilesPerChunk in [1, 7] {
            let chunked = conv2d(x, weight: weight, bias: bias, padding: 1, im2colBudget: 36 * 6 * tilesPerChunk,
                                 algorithm: .winograd)
            assertClose(chunked, whole, tolerance: 1e-6, "\(tilesPerChunk) tiles per chunk")
        }
    }

    func testMatchesTorchFloat64() throws {
        let f = try Fixture("ops_a_conv.safetensors")
        let name = "k3s1p1"
        XCTAssertEqual(f.int("\(name).stride"), 1)
        XCTAssertEqual(f.int("\(name).padding"), 1)
        let out = conv2d(try f.tensor("\(name).x"), weight: try f.tensor("\(name).weight"),
                         bias: f.file.entries["\(name).bias"] == nil ? nil : try f.tensor("\(name).bias"),
                         padding: 1, algorithm: .winograd)
        assertClose(out, try f.tensor("\(name).out"), tolerance: 2e-5)
    }

    /// Other kernels, strides and paddings fall back to im2col whatever is asked.
    func testOtherConvolutionsIgnoreWinograd() {
        var random = SplitMix(seed: 23)
        let x = random.tensor([2, 3, 9, 9])
        for (kernel, stride, padding) in [(3, 2, 1), (3, 1, 0), (1, 1, 0), (5, 1, 2)] {
            let weight = random.tensor([4, 3, kernel, kernel])
            XCTAssertEqual(conv2d(x, weight: weight, bias: nil, stride: stride, padding: padding, algorithm: .winograd).scalars,
                           conv2d(x, weight: weight, bias: nil, stride: stride, padding: padding, algorithm: .im2col).scalars)
        }
    }

    /// Automatic picks Winograd only at f32 and with enough tiles; bf16 keeps im2col (rounding
    /// the transformed tiles to bf16 would lose more than the products do).
    func testAutomaticChoice() {
        var random = SplitMix(seed: 24)
        let x = random.tensor([2, 4, 64, 64]), weight = random.tensor([4, 4, 3, 3])
        XCTAssertEqual(conv2d(x, weight: weight, bias: nil, padding: 1).scalars,
                       conv2d(x, weight: weight, bias: nil, padding: 1, algorithm: .winograd).scalars)
        let small = random.tensor([1, 4, 8, 8])
        XCTAssertEqual(conv2d(small, weight: weight, bias: nil, padding: 1).scalars,
                       conv2d(small, weight: weight, bias: nil, padding: 1, algorithm: .im2col).scalars)
        ComputePrecision.$current.withValue(.bf16) {
            XCTAssertEqual(conv2d(x, weight: weight, bias: nil, padding: 1).scalars,
                           conv2d(x, weight: weight, bias: nil, padding: 1, algorithm: .im2col).scalars)
        }
    }
}

/// IMG2VID_PROFILE=1: Winograd against im2col on the 3x3 convolutions of the SVD-XT UNet at
/// 14 frames 256x256 (latent 32x32 and its halvings), interleaved, best of 3 each; prints
/// milliseconds and the speed-up per shape. A measurement, not a test: it asserts nothing
/// about time.
final class WinogradTimingTests: XCTestCase {
    func testTimeUNetShapes() throws {
        guard ProcessInfo.processInfo.environment["IMG2VID_PROFILE"] != nil else { throw XCTSkip("set IMG2VID_PROFILE=1") }
        var random = SplitMix(seed: 25)
        for (c, o, side) in [(320, 320, 32), (960, 320, 32), (640, 640, 16), (1920, 640, 16), (1280, 1280, 8), (2560, 1280, 8), (1280, 1280, 4)] {
            let x = random.tensor([14, c, side, side]), weight = random.tensor([o, c, 3, 3])
            var best: [ConvolutionAlgorithm: Double] = [.im2col: .infinity, .winograd: .infinity]
            for _ in 0..<3 {
                for algorithm in [ConvolutionAlgorithm.im2col, .winograd] {
                    let t0 = DispatchTime.now().uptimeNanoseconds
                    _ = conv2d(x, weight: weight, bias: nil, padding: 1, algorithm: algorithm)
                    best[algorithm] = min(best[algorithm]!, Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6)
                }
            }
            print(String(format: "conv3x3 14x%dx%dx%d -> %d: im2col %.1f ms, winograd %.1f ms, %.2fx",
                         c, side, side, o, best[.im2col]!, best[.winograd]!, best[.im2col]! / best[.winograd]!))
        }
    }
}
