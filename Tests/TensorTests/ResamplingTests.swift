import Tensor
import TestSupport
import XCTest

/// upsampleNearest2x against torch's F.interpolate(scale_factor=2, mode="nearest") (exact copy,
/// so the comparison is for equality).
final class ResamplingTests: XCTestCase {
    func testUpsampleNearest2xMatchesTorch() throws {
        let f = try Fixture("ops_a_resampling.safetensors")
        for (input, output) in [("x", "out"), ("x1", "out1")] {
            let out = upsampleNearest2x(try f.tensor(input))
            let expected = try f.tensor(output)
            XCTAssertEqual(out.shape, expected.shape)
            XCTAssertEqual(out.scalars, expected.scalars, input)
        }
    }
}
