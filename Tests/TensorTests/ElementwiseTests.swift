import Tensor
import TestSupport
import XCTest

/// Elementwise ops against torch's results for the same inputs (exact float32 arithmetic in
/// torch; tolerance max-norm relative 1e-5, in practice bit-equal except blend's fused forms).
final class ElementwiseTests: XCTestCase {
    func testElementwiseOpsMatchTorch() throws {
        let f = try Fixture("ops_a_elementwise.safetensors")
        let a = try f.tensor("a"), b = try f.tensor("b")
        assertClose(add(a, b), try f.tensor("add"), "add")
        assertClose(mul(a, b), try f.tensor("mul"), "mul")
        assertClose(scale(a, by: f.float("scale")), try f.tensor("scale"), "scale")
        var s = a
        scaleInPlace(&s, by: f.float("scale"))
        assertClose(s, try f.tensor("scale"), "scaleInPlace")
        var sum = a
        addInPlace(&sum, b)
        assertClose(sum, try f.tensor("add"), "addInPlace")
        XCTAssertEqual(a.scalars, try f.tensor("a").scalars, "addInPlace wrote through to a shared copy")
        assertClose(blend(a, b, alpha: f.float("alpha")), try f.tensor("blend"), "blend")
    }

    func testBroadcastsMatchTorch() throws {
        let f = try Fixture("ops_a_elementwise.safetensors")
        let a = try f.tensor("a"), bias = try f.tensor("channel_bias")
        assertClose(addBias(a, channelBias: bias), try f.tensor("add_bias"), "NCHW channel bias")
        let rows = try f.tensor("rows")
        // [6, 3] slice of rows as an [N, C] input.
        let narrow = Tensor(shape: [6, 3], scalars: (0..<6).flatMap { r in (0..<3).map { rows[r, $0] } })
        assertClose(addBias(narrow, channelBias: bias), try f.tensor("add_bias_rank2"), "[N, C] channel bias")
        assertClose(addRowBroadcast(rows, try f.tensor("row")), try f.tensor("add_row"), "row broadcast")
        var inPlace = rows
        addRowBroadcastInPlace(&inPlace, try f.tensor("row"))
        assertClose(inPlace, try f.tensor("add_row"), "row broadcast in place")
    }
}
