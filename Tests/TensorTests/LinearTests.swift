import Tensor
import TestSupport
import XCTest

/// `linear`, `matmul` and `batchedMatmul` against torch (Scripts/reference/op_fixtures_b.py,
/// ops_b_linear.safetensors): F.linear, `@` and torch.bmm. Tolerance: max-norm relative error 1e-5.
final class LinearTests: XCTestCase {
    private func transposeFlags(_ f: Fixture, _ key: String) -> (Bool, Bool) {
        let parts = f.string(key).split(separator: ",").map { $0 == "1" }
        return (parts[0], parts[1])
    }

    func testLinearMatchesTorch() throws {
        let f = try Fixture("ops_b_linear.safetensors")
        let cases = f.string("linear_cases").split(separator: ",").map(String.init)
        XCTAssertEqual(cases.count, 3)
        for name in cases {
            let x = try f.tensor("\(name).x"), w = try f.tensor("\(name).w")
            let b = f.file.entries["\(name).b"] == nil ? nil : try f.tensor("\(name).b")
            let expected = try f.tensor("\(name).y")
            assertClose(linear(x, weight: w, bias: b), expected, name)
        }
    }

    func testLinearBiasIsAddedToEveryRow() {
        // y = x W^T + b with W = identity: every row of y is its row of x plus b, exactly.
        let x = Tensor(shape: [3, 2], scalars: [1, 2, 3, 4, 5, 6])
        let w = Tensor(shape: [2, 2], scalars: [1, 0, 0, 1])
        let b = Tensor(shape: [2], scalars: [10, -10])
        XCTAssertEqual(linear(x, weight: w, bias: b).scalars, [11, -8, 13, -6, 15, -4])
        XCTAssertEqual(linear(x, weight: w, bias: nil).scalars, x.scalars)
    }

    func testLinearLargeBatchUsesThreadedBiasPath() {
        // Enough rows for the bias pass to split across threads; compare with a per-row loop.
        let rows = 3000, inF = 5, outF = 7
        let x = Tensor(shape: [rows, inF], scalars: (0..<(rows * inF)).map { Float($0 % 13) - 6 })
        let w = Tensor(shape: [outF, inF], scalars: (0..<(outF * inF)).map { Float($0 % 5) - 2 })
        let b = Tensor(shape: [outF], scalars: (0..<outF).map { Float($0) * 0.5 })
        let y = linear(x, weight: w, bias: b)
        XCTAssertEqual(y.shape, [rows, outF])
        var expected = [Float](repeating: 0, count: rows * outF)
        for r in 0..<rows {
            for o in 0..<outF {
                var s: Float = 0
                for i in 0..<inF { s += x[r, i] * w[o, i] }
                expected[r * outF + o] = s + b[o]
            }
        }
        XCTAssertEqual(y.scalars, expected)  // small integers: exact in f32
    }

    func testMatmulMatchesTorch() throws {
        let f = try Fixture("ops_b_linear.safetensors")
        for name in f.string("matmul_cases").split(separator: ",").map(String.init) {
            let (ta, tb) = transposeFlags(f, "\(name).transpose")
            let y = matmul(try f.tensor("\(name).a"), try f.tensor("\(name).b"), transposeA: ta, transposeB: tb)
            assertClose(y, try f.tensor("\(name).y"), name)
        }
    }

    func testBatchedMatmulMatchesTorch() throws {
        let f = try Fixture("ops_b_linear.safetensors")
        for name in f.string("batched_cases").split(separator: ",").map(String.init) {
            let (ta, tb) = transposeFlags(f, "\(name).transpose")
            let y = batchedMatmul(try f.tensor("\(name).a"), try f.tensor("\(name).b"), transposeA: ta, transposeB: tb)
            assertClose(y, try f.tensor("\(name).y"), name)
        }
    }

    func testMatmulWithEmptyInnerDimensionIsZero() {
        let y = matmul(Tensor(zeros: [2, 0]), Tensor(zeros: [0, 3]))
        XCTAssertEqual(y.shape, [2, 3])
        XCTAssertEqual(y.scalars, [Float](repeating: 0, count: 6))
    }
}
