import Tensor
import TestSupport
import XCTest

/// The fused ops against the unfused compositions they replace (which the op parity tests
/// check against torch). They reorder one addition per element (bias onto the residual before
/// the GEMM's sum instead of after), so they agree to a few ulps: tolerance 1e-6.
final class FusedOpsTests: XCTestCase {
    func random(_ shape: [Int], seed: UInt64) -> Tensor {
        var state = seed &* 0x9E37_79B9_7F4A_7C15 | 1
        var t = Tensor(uninitialized: shape)
        t.withUnsafeMutableBufferPointer { p in
            for i in p.indices {
                state ^= state >> 12; state ^= state << 25; state ^= state >> 27
                p[i] = Float(Int((state &* 0x2545_F491_4F6C_DD1D) >> 40) - (1 << 23)) / Float(1 << 23)
            }
        }
        return t
    }

    func testFeedForwardGEGLUEqualsLinearGegluLinearAdd() {
        let (rows, dim, inner) = (37, 24, 40)
        let x = random([rows, dim], seed: 1), residual = random([rows, dim], seed: 2)
        let w1 = random([2 * inner, dim], seed: 3), b1 = random([2 * inner], seed: 4)
        let w2 = random([dim, inner], seed: 5), b2 = random([dim], seed: 6)
        let expected = add(residual, linear(geglu(linear(x, weight: w1, bias: b1)), weight: w2, bias: b2))
        let saved = FeedForwardGEGLU.chunkRows
        defer { FeedForwardGEGLU.chunkRows = saved }
        for chunk in [1, 5, 37, 2048] {
            FeedForwardGEGLU.chunkRows = chunk
            var out = residual
            feedForwardGEGLU(x, residual: &out, projWeight: w1, projBias: b1, outWeight: w2, outBias: b2)
            assertClose(out, expected, tolerance: 1e-6, "chunk \(chunk)")
        }
        // The residual passed in was copied on write, not changed.
        XCTAssertEqual(residual.scalars, random([rows, dim], seed: 2).scalars)
    }

    func testLinearAddEqualsAddOfLinear() {
        let x = random([3, 7, 16], seed: 7), y = random([3, 7, 9], seed: 8)
        let w = random([9, 16], seed: 9), b = random([9], seed: 10)
        var out = y
        linearAdd(x, weight: w, bias: b, to: &out)
        assertClose(out, add(y, linear(x, weight: w, bias: b)), tolerance: 1e-6)
        var noBias = y
        linearAdd(x, weight: w, bias: nil, to: &noBias)
        assertClose(noBias, add(y, linear(x, weight: w, bias: nil)), tolerance: 1e-6)
    }

    func testBufferPoolReusesExactSizesWithinItsLimit() {
        BufferPool.drain()
        let bytes = BufferPool.minimumBytes * 2
        let p = BufferPool.allocate(byteCount: bytes)
        BufferPool.release(p, byteCount: bytes)
        XCTAssertEqual(BufferPool.held, bytes)
        XCTAssertEqual(BufferPool.allocate(byteCount: bytes), p, "same size comes back from the pool")
        XCTAssertEqual(BufferPool.held, 0)
        BufferPool.release(p, byteCount: bytes)
        let saved = BufferPool.limitBytes
        defer { BufferPool.limitBytes = saved; BufferPool.drain() }
        BufferPool.limitBytes = bytes * 2
        for _ in 0..<3 { BufferPool.release(BufferPool.allocate(byteCount: bytes + 4096), byteCount: bytes + 4096) }
        var extra: [UnsafeMutableRawPointer] = []
        for _ in 0..<3 { extra.append(UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)) }
        for e in extra { BufferPool.release(e, byteCount: bytes) }
        XCTAssertLessThanOrEqual(BufferPool.held, bytes * 2, "the oldest buffers are evicted past the limit")
        // Tensors round-trip their storage through the pool.
        BufferPool.drain()
        let n = BufferPool.minimumBytes / 4
        var first: UnsafeMutablePointer<Float>?
        do { let t = Tensor(uninitialized: [n]); first = t.storage.pointer }
        let second = Tensor(zeros: [n])
        XCTAssertEqual(second.storage.pointer, first)
        XCTAssertTrue(second.scalars.allSatisfy { $0 == 0 }, "zeros are cleared even when reused")
    }
}
