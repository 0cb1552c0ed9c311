import Tensor
import TestSupport
import XCTest

/// The data movement ops against torch (ops_b_shape.safetensors): permute/transpose
/// (`.contiguous()`), cat, stack, split, chunk, narrow, repeat_interleave. Pure data movement,
/// so results must be bit-identical.
final class ShapeOpsTests: XCTestCase {
    private func ints(_ text: String) -> [Int] { text.split(separator: ",").map { Int($0)! } }

    private func assertIdentical(_ actual: Tensor, _ expected: Tensor, _ message: String,
                                 file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(actual.shape, expected.shape, message, file: file, line: line)
        XCTAssertEqual(actual.scalars, expected.scalars, message, file: file, line: line)
    }

    func testPermuteMatchesTorch() throws {
        let f = try Fixture("ops_b_shape.safetensors")
        XCTAssertEqual(f.int("permute_cases"), 10)
        for i in 0..<f.int("permute_cases") {
            let order = ints(f.string("p\(i).order"))
            assertIdentical(permute(try f.tensor("p\(i).x"), order), try f.tensor("p\(i).y"), "p\(i) \(order)")
        }
    }

    func testTransposeMatchesTorch() throws {
        let f = try Fixture("ops_b_shape.safetensors")
        for i in 0..<f.int("transpose_cases") {
            let axes = ints(f.string("t\(i).axes"))
            assertIdentical(transpose(try f.tensor("t\(i).x"), axes[0], axes[1]), try f.tensor("t\(i).y"), "t\(i)")
        }
    }

    func testLargePermutationsRoundTrip() {
        // Big enough to take the threaded paths of both kernels (run copy and tiled transpose),
        // with sizes that are not multiples of the 32-wide tile; checked element by element.
        let shape = [3, 37, 45, 70]
        let x = Tensor(shape: shape, scalars: (0..<shape.reduce(1, *)).map { Float($0) })
        for order in [[0, 2, 1, 3], [0, 3, 1, 2], [0, 2, 3, 1], [3, 1, 2, 0], [1, 0, 3, 2]] {
            let y = permute(x, order)
            XCTAssertEqual(y.shape, order.map { shape[$0] })
            var inverse = [Int](repeating: 0, count: 4)
            for (i, a) in order.enumerated() { inverse[a] = i }
            XCTAssertEqual(permute(y, inverse).scalars, x.scalars, "round trip \(order)")
            // Spot-check the definition y[i0,i1,i2,i3] = x[index with x-axis order[k] = ik].
            for probe in [0, 1, 977, 50_000, x.count - 1] {
                var rest = probe
                var yIndex = [Int](repeating: 0, count: 4)
                for k in stride(from: 3, through: 0, by: -1) { yIndex[k] = rest % y.shape[k]; rest /= y.shape[k] }
                var xIndex = [Int](repeating: 0, count: 4)
                for k in 0..<4 { xIndex[order[k]] = yIndex[k] }
                XCTAssertEqual(y[yIndex[0], yIndex[1], yIndex[2], yIndex[3]], x[xIndex[0], xIndex[1], xIndex[2], xIndex[3]])
            }
        }
    }

    func testPermuteThatKeepsElementOrderSharesStorage() {
        let x = Tensor(shape: [4, 1, 5], scalars: (0..<20).map(Float.init))
        let y = permute(x, [1, 0, 2])  // moving a size-1 axis does not move data
        XCTAssertEqual(y.shape, [1, 4, 5])
        XCTAssertTrue(y.storage === x.storage)
        XCTAssertEqual(y.scalars, x.scalars)
    }

    func testConcatMatchesTorch() throws {
        let f = try Fixture("ops_b_shape.safetensors")
        for i in 0..<f.int("concat_cases") {
            let xs = try (0..<f.int("c\(i).n")).map { try f.tensor("c\(i).x\($0)") }
            assertIdentical(concat(xs, axis: f.int("c\(i).axis")), try f.tensor("c\(i).y"), "c\(i)")
        }
    }

    func testStackMatchesTorch() throws {
        let f = try Fixture("ops_b_shape.safetensors")
        for i in 0..<f.int("stack_cases") {
            let xs = try (0..<3).map { try f.tensor("k\(i).stack.x\($0)") }
            assertIdentical(stack(xs, axis: f.int("k\(i).stack.axis")), try f.tensor("k\(i).stack.y"), "stack \(i)")
        }
    }

    func testSplitMatchesTorch() throws {
        let f = try Fixture("ops_b_shape.safetensors")
        for i in 0..<f.int("split_cases") {
            let sizes = ints(f.string("s\(i).sizes"))
            let parts = split(try f.tensor("s\(i).x"), sizes: sizes, axis: f.int("s\(i).axis"))
            XCTAssertEqual(parts.count, sizes.count)
            for (j, p) in parts.enumerated() { assertIdentical(p, try f.tensor("s\(i).y\(j)"), "s\(i) part \(j)") }
        }
    }

    func testChunkMatchesTorch() throws {
        let f = try Fixture("ops_b_shape.safetensors")
        for i in 0..<f.int("chunk_cases") {
            let parts = chunk(try f.tensor("k\(i).x"), f.int("k\(i).chunks"), axis: f.int("k\(i).axis"))
            XCTAssertEqual(parts.count, f.int("k\(i).count"), "k\(i): torch returns \(f.int("k\(i).count")) chunks")
            for (j, p) in parts.enumerated() { assertIdentical(p, try f.tensor("k\(i).y\(j)"), "k\(i) part \(j)") }
        }
    }

    func testSliceMatchesTorch() throws {
        let f = try Fixture("ops_b_shape.safetensors")
        for i in 0..<f.int("slice_cases") {
            let r = ints(f.string("l\(i).range"))
            let y = slice(try f.tensor("l\(i).x"), axis: f.int("l\(i).axis"), range: r[0]..<r[1])
            assertIdentical(y, try f.tensor("l\(i).y"), "l\(i)")
        }
    }

    func testRepeatInterleaveMatchesTorch() throws {
        let f = try Fixture("ops_b_shape.safetensors")
        for i in 0..<f.int("repeat_cases") {
            let y = repeatInterleave(try f.tensor("r\(i).x"), repeats: f.int("r\(i).repeats"), axis: f.int("r\(i).axis"))
            assertIdentical(y, try f.tensor("r\(i).y"), "r\(i)")
        }
    }

    func testLargeConcatAndSplitRoundTrip() {
        // Above the copy kernel's per-thread threshold; runs cross chunk boundaries.
        let a = Tensor(shape: [3, 300, 257], scalars: (0..<(3 * 300 * 257)).map { Float($0) })
        let b = Tensor(shape: [3, 111, 257], scalars: (0..<(3 * 111 * 257)).map { -Float($0) })
        let c = concat([a, b], axis: 1)
        XCTAssertEqual(c.shape, [3, 411, 257])
        XCTAssertEqual(c[2, 299, 256], a[2, 299, 256])
        XCTAssertEqual(c[2, 300, 0], b[2, 0, 0])
        let parts = split(c, sizes: [300, 111], axis: 1)
        XCTAssertEqual(parts[0].scalars, a.scalars)
        XCTAssertEqual(parts[1].scalars, b.scalars)
    }
}
