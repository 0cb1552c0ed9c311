import Tensor
import TestSupport
import XCTest

/// `attention` against torch.nn.functional.scaled_dot_product_attention after diffusers' head
/// split (ops_b_attention.safetensors; tolerance 1e-5 max-norm relative), and the blockwise
/// kernel against `naiveAttention` (full score matrix; tolerance 1e-6) for query counts that are
/// not multiples of the block, under both schedules.
final class AttentionTests: XCTestCase {
    override func tearDown() {
        Attention.blockRows = 128
        Attention.schedule = nil
        super.tearDown()
    }

    /// Deterministic values in [-amplitude, amplitude) (64-bit LCG).
    private func pseudoRandom(_ shape: [Int], seed: UInt64, amplitude: Float = 1) -> Tensor {
        var state = seed &* 6364136223846793005 &+ 1442695040888963407
        let n = shape.reduce(1, *)
        let values = (0..<n).map { _ -> Float in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return (Float(state >> 40) / Float(1 << 24) * 2 - 1) * amplitude
        }
        return Tensor(shape: shape, scalars: values)
    }

    func testAttentionMatchesTorch() throws {
        let f = try Fixture("ops_b_attention.safetensors")
        let cases = f.string("cases").split(separator: ",").map(String.init)
        XCTAssertEqual(cases.count, 5)
        for name in cases {
            let scaleText = f.string("\(name).scale")
            let scale = scaleText.isEmpty ? nil : Float(scaleText)!
            let o = attention(query: try f.tensor("\(name).q"), key: try f.tensor("\(name).k"),
                              value: try f.tensor("\(name).v"), heads: f.int("\(name).heads"), scale: scale)
            assertClose(o, try f.tensor("\(name).o"), name)
        }
    }

    func testNaiveAttentionMatchesTorch() throws {
        let f = try Fixture("ops_b_attention.safetensors")
        for name in ["a0", "a1", "a4"] {
            let o = naiveAttention(query: try f.tensor("\(name).q"), key: try f.tensor("\(name).k"),
                                   value: try f.tensor("\(name).v"), heads: f.int("\(name).heads"))
            assertClose(o, try f.tensor("\(name).o"), name)
        }
    }

    func testSingleKeyReturnsItsValue() throws {
        // Softmax over one key is exactly 1: every output row is that key's value row.
        let f = try Fixture("ops_b_attention.safetensors")
        let v = try f.tensor("a3.v")  // [1, 1, 8]
        let o = attention(query: try f.tensor("a3.q"), key: try f.tensor("a3.k"), value: v, heads: 2)
        XCTAssertEqual(o.shape, [1, 5, 8])
        for i in 0..<5 { for c in 0..<8 { XCTAssertEqual(o[0, i, c], v[0, 0, c]) } }
    }

    func testBlockwiseEqualsNaive() {
        // (batch, Lq, Lk, heads, D, block rows): Lq not a multiple of the block in every case.
        let shapes: [(Int, Int, Int, Int, Int, Int)] = [
            (2, 1000, 333, 5, 64, 256), (1, 300, 300, 2, 40, 128), (3, 29, 17, 4, 8, 7),
            (2, 14, 14, 5, 64, 256), (1, 513, 77, 1, 16, 64),
        ]
        for (i, (b, lq, lk, h, d, blockRows)) in shapes.enumerated() {
            let q = pseudoRandom([b, lq, h * d], seed: UInt64(3 * i), amplitude: 2)
            let k = pseudoRandom([b, lk, h * d], seed: UInt64(3 * i + 1), amplitude: 2)
            let v = pseudoRandom([b, lk, h * d], seed: UInt64(3 * i + 2))
            let reference = naiveAttention(query: q, key: k, value: v, heads: h)
            for schedule in [Attention.Schedule.parallelItems, .serialItems] {
                Attention.blockRows = blockRows
                Attention.schedule = schedule
                let o = attention(query: q, key: k, value: v, heads: h)
                XCTAssertEqual(o.shape, [b, lq, h * d])
                let err = maxRelativeError(o, reference)
                // Blocked and whole-matrix GEMMs round differently: 1.1e-6 with OpenBLAS's Zen (AVX2) kernel.
                XCTAssertLessThanOrEqual(err, 4e-6, "shape \(i) \(schedule): \(err)")
            }
        }
    }

    func testHeadsAreIndependent() {
        // Attention with 3 heads equals three one-head attentions on the heads' column slices.
        let (b, lq, lk, d) = (2, 45, 19, 8)
        let q = pseudoRandom([b, lq, 3 * d], seed: 11), k = pseudoRandom([b, lk, 3 * d], seed: 12)
        let v = pseudoRandom([b, lk, 3 * d], seed: 13)
        let o = attention(query: q, key: k, value: v, heads: 3)
        for h in 0..<3 {
            let r = (h * d)..<((h + 1) * d)
            let oh = attention(query: slice(q, axis: 2, range: r), key: slice(k, axis: 2, range: r),
                               value: slice(v, axis: 2, range: r), heads: 1)
            XCTAssertLessThanOrEqual(maxRelativeError(slice(o, axis: 2, range: r), oh), 1e-6, "head \(h)")
        }
    }
}
