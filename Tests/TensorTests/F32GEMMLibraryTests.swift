import Foundation
import Tensor
import TestSupport
import XCTest

/// f32 products on either library (`GEMM.F32Library`): oneDNN's f32 matmul against OpenBLAS
/// sgemm on the same operands, every transpose, strided operands, alpha and beta. Both
/// accumulate in f32 in different orders: max-norm relative 1e-5.
final class F32GEMMLibraryTests: XCTestCase {
    private func product(_ library: GEMM.F32Library, transA: Bool, transB: Bool, m: Int, n: Int, k: Int,
                         alpha: Float, beta: Float, a: [Float], b: [Float], c0: [Float], pad: Int) -> [Float] {
        let saved = GEMM.f32LibraryOverride.value
        GEMM.f32LibraryOverride.value = library
        defer { GEMM.f32LibraryOverride.value = saved }
        var c = c0
        let lda = (transA ? m : k) + pad, ldb = (transB ? k : n) + pad, ldc = n + pad
        a.withUnsafeBufferPointer { pa in
            b.withUnsafeBufferPointer { pb in
                c.withUnsafeMutableBufferPointer { pc in
                    GEMM.multiply(precision: .f32, transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha,
                                  a: pa.baseAddress!, lda: lda, b: pb.baseAddress!, ldb: ldb, beta: beta,
                                  c: pc.baseAddress!, ldc: ldc)
                }
            }
        }
        return c
    }

    func testOneDNNMatchesOpenBLAS() {
        var random = SplitMix(seed: 31)
        for (transA, transB) in [(false, false), (false, true), (true, false), (true, true)] {
            for (m, n, k, alpha, beta, pad) in [(96, 80, 72, Float(1), Float(0), 0), (130, 70, 200, 0.125, 0, 3),
                                                 (64, 96, 128, 1, 1, 5), (33, 65, 129, 0.5, 0.75, 1)] {
                let a = random.floats(((transA ? k : m)) * ((transA ? m : k) + pad))
                let b = random.floats(((transB ? n : k)) * ((transB ? k : n) + pad))
                let c0 = random.floats(m * (n + pad))
                let blas = product(.openBLAS, transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, beta: beta,
                                   a: a, b: b, c0: c0, pad: pad)
                let dnnl = product(.oneDNN, transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, beta: beta,
                                   a: a, b: b, c0: c0, pad: pad)
                let scale = blas.map { abs($0) }.max()!
                let err = zip(blas, dnnl).map { abs($0 - $1) }.max()!
                XCTAssertLessThan(err / scale, 1e-5, "\(m)x\(n)x\(k) transA \(transA) transB \(transB) beta \(beta) pad \(pad)")
                // The padding columns of C are not written.
                for row in 0..<m { for col in n..<(n + pad) { XCTAssertEqual(dnnl[row * (n + pad) + col], c0[row * (n + pad) + col]) } }
            }
        }
    }
}

/// IMG2VID_PROFILE=1: OpenBLAS sgemm against oneDNN's f32 matmul on the GEMM shapes of one
/// SVD-XT UNet forward at 14 frames 256x256 (the largest by time in `UNetWorkloadTests`'
/// profile), interleaved, best of 3; prints GFLOP/s per shape. A measurement: asserts nothing.
final class F32GEMMLibraryTimingTests: XCTestCase {
    func testTimeUNetShapes() throws {
        guard ProcessInfo.processInfo.environment["IMG2VID_PROFILE"] != nil else { throw XCTSkip("set IMG2VID_PROFILE=1") }
        var random = SplitMix(seed: 26)
        // (m, n, k, transB): linear layers are x W^T (transB), convolutions W x (plain), attention Q K^T (transB) and P V.
        let shapes: [(Int, Int, Int, Bool)] = [
            (2048, 2560, 320, true), (896, 10240, 1280, true), (2048, 5120, 640, true), (2048, 320, 1280, true),
            (1280, 896, 11520, false), (896, 1280, 5120, true), (14336, 320, 320, true), (3584, 640, 640, true),
            (896, 1280, 1280, true), (1280, 224, 11520, false), (640, 1024, 1920, false), (128, 64, 1024, false),
            (320, 1024, 960, false), (128, 1024, 64, true), (320, 896, 320, false), (640, 224, 640, false),
            (1280, 224, 1280, false), (1024, 1024, 64, true), (1024, 64, 1024, false), (512, 1024, 64, true),
            (512, 64, 1024, false),
        ]
        for (m, n, k, transB) in shapes {
            let a = random.floats(m * k), b = random.floats(n * k)
            var c = [Float](repeating: 0, count: m * n)
            var best: [GEMM.F32Library: Double] = [.openBLAS: .infinity, .oneDNN: .infinity]
            var bestUntransposed = Double.infinity
            let saved = GEMM.f32LibraryOverride.value
            defer { GEMM.f32LibraryOverride.value = saved }
            for round in 0..<4 {
                for library in [GEMM.F32Library.openBLAS, .oneDNN] {
                    GEMM.f32LibraryOverride.value = library
                    let t0 = DispatchTime.now().uptimeNanoseconds
                    a.withUnsafeBufferPointer { pa in b.withUnsafeBufferPointer { pb in c.withUnsafeMutableBufferPointer { pc in
                        GEMM.multiply(precision: .f32, transB: transB, m: m, n: n, k: k, a: pa.baseAddress!, b: pb.baseAddress!,
                                      c: pc.baseAddress!)
                    } } }
                    if round > 0 { best[library] = min(best[library]!, Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9) }
                }
                if transB {
                    GEMM.f32LibraryOverride.value = .openBLAS
                    let t0 = DispatchTime.now().uptimeNanoseconds
                    a.withUnsafeBufferPointer { pa in b.withUnsafeBufferPointer { pb in c.withUnsafeMutableBufferPointer { pc in
                        GEMM.multiply(precision: .f32, m: m, n: n, k: k, a: pa.baseAddress!, b: pb.baseAddress!, c: pc.baseAddress!)
                    } } }
                    if round > 0 { bestUntransposed = min(bestUntransposed, Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9) }
                }
            }
            let gflop = 2 * Double(m) * Double(n) * Double(k) / 1e9
            print(String(format: "gemm %5d x %5d%@ x %5d: openblas %6.1f GFLOP/s, onednn %6.1f GFLOP/s, %.2fx; openblas with B untransposed %6.1f",
                         m, n, transB ? "T" : " ", k, gflop / best[.openBLAS]!, gflop / best[.oneDNN]!, best[.openBLAS]! / best[.oneDNN]!,
                         gflop / bestUntransposed))
        }
    }
}
