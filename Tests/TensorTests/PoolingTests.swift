import Tensor
import TestSupport
import XCTest

/// maxPool2d against torch's F.max_pool2d. A maximum picks one of its inputs, so the comparison
/// is for equality.
final class PoolingTests: XCTestCase {
    func testMaxPool2dMatchesTorch() throws {
        let f = try Fixture("ops_pooling.safetensors")
        let cases = f.string("cases").split(separator: ",").map(String.init)
        XCTAssertEqual(cases.count, 6)
        for name in cases {
            let p = f.string("\(name).params").split(separator: ",").map { Int($0)! }
            let out = maxPool2d(try f.tensor("\(name).x"), kernel: p[0], stride: p[1], padding: p[2])
            let expected = try f.tensor("\(name).out")
            XCTAssertEqual(out.shape, expected.shape, name)
            XCTAssertEqual(out.scalars, expected.scalars, name)
        }
    }

    func testStrideDefaultsToKernelAndNaNPropagates() {
        let x = Tensor(shape: [1, 1, 2, 4], scalars: [1, 2, .nan, 0, 3, 4, 5, -1])
        let out = maxPool2d(x, kernel: 2)
        XCTAssertEqual(out.shape, [1, 1, 1, 2])
        XCTAssertEqual(out[0, 0, 0, 0], 4)
        XCTAssertTrue(out[0, 0, 0, 1].isNaN)
    }
}
