import Foundation
import Tensor
import TestSupport
import XCTest

/// `softmax` against torch.softmax(x, dim=-1) (ops_b_softmax.safetensors), tolerance 1e-5
/// max-norm relative error; includes logits around 100 +- 90 (needs the max subtraction) and
/// -inf entries (must give 0).
final class SoftmaxTests: XCTestCase {
    func testSoftmaxMatchesTorch() throws {
        let f = try Fixture("ops_b_softmax.safetensors")
        let cases = f.string("cases").split(separator: ",").map(String.init)
        XCTAssertEqual(cases.count, 4)
        for name in cases {
            let y = softmax(try f.tensor("\(name).x"))
            let expected = try f.tensor("\(name).y")
            assertClose(y, expected, name)
            // Element-wise too: small probabilities must be right relative to themselves, not
            // only to the row maximum. 1e-5 relative plus 1e-30 absolute for exact zeros.
            for (a, e) in zip(y.scalars, expected.scalars) {
                XCTAssertLessThanOrEqual(abs(a - e), 1e-5 * e + 1e-30, "\(name): \(a) vs \(e)")
            }
        }
    }

    func testRowsSumToOneAndMaskedEntriesAreZero() throws {
        let f = try Fixture("ops_b_softmax.safetensors")
        let y = softmax(try f.tensor("s3.x"))  // [2, 19], row 0 has one -inf, row 1 every other entry
        for r in 0..<2 {
            let sum = (0..<19).reduce(Float(0)) { $0 + y[r, $1] }
            XCTAssertEqual(sum, 1, accuracy: 1e-6)
        }
        XCTAssertLessThan(y[0, 3], 1e-30)
        for c in stride(from: 0, to: 19, by: 2) { XCTAssertLessThan(y[1, c], 1e-30) }
    }

    func testSoftmaxOfLongRowsMatchesDoublePrecision() {
        // Rows long enough to be split over the threads, values from -40 to +40 (so every
        // probability stays a normal float, above 1e-35).
        let rows = 64, cols = 1031
        let values = (0..<(rows * cols)).map { i -> Float in Float((i * 7919) % 801) * 0.1 - 40 }
        let y = softmax(Tensor(shape: [rows, cols], scalars: values))
        var worst: Double = 0
        for r in 0..<rows {
            // The f32 subtraction x - max is part of the op (torch does the same); its rounding
            // (up to |x - max| * 2^-24, 4.8e-6 at 80) is taken as given, so the check isolates the
            // exp and the normalisation.
            let row = values[(r * cols)..<((r + 1) * cols)]
            let m = row.max()!
            let shifted = row.map { Double($0 - m) }
            let sum = shifted.reduce(0) { $0 + Foundation.exp($1) }
            for c in 0..<cols {
                let e = Foundation.exp(shifted[c]) / sum
                worst = max(worst, abs(Double(y[r, c]) - e) / max(e, 1e-300))
            }
        }
        // Element-wise relative error over probabilities down to 1e-35: exp is good to ~2 ulp.
        XCTAssertLessThan(worst, 2e-6)
    }
}
