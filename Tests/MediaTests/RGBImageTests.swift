import Media
import Tensor
import XCTest

final class RGBImageTests: XCTestCase {
    /// Mirrors VaeImageProcessor.preprocess (x / 255 * 2 - 1 in f32): bit-identical (tolerance 0).
    func testNormalizedTensorMatchesDiffusersPreprocess() throws {
        let image = try MediaReference.image("preprocess_input")
        let tensor = image.normalizedTensor()
        let expected = try MediaReference.tensor("preprocess_expected")
        XCTAssertEqual(tensor.shape, [3, 5, 7])
        XCTAssertEqual(tensor.scalars, expected.scalars)
    }

    /// Mirrors VaeImageProcessor.postprocess(output_type="pil"): exact bytes, including clamping
    /// of values outside [-1, 1] and round-half-to-even.
    func testInitFromNormalizedTensorMatchesDiffusersPostprocess() throws {
        let input = try MediaReference.tensor("postprocess_input")
        let image = RGBImage(normalizedTensor: input)
        let expected = try MediaReference.image("postprocess_expected")
        XCTAssertEqual(image.width, 7)
        XCTAssertEqual(image.height, 5)
        assertSamePixels(image, expected)
        XCTAssertEqual(image.pixel(x: 0, y: 0).r, 0)      // -1
        XCTAssertEqual(image.pixel(x: 1, y: 0).r, 255)    // 1
        XCTAssertEqual(image.pixel(x: 2, y: 0).r, 128)    // 0 -> 127.5 -> 128 (half to even)
        XCTAssertEqual(image.pixel(x: 3, y: 0).r, 0)      // -2 clamped
        XCTAssertEqual(image.pixel(x: 4, y: 0).r, 255)    // 2 clamped
    }

    func testRoundTripThroughTensorIsExact() {
        let image = patternImage(width: 19, height: 11)
        XCTAssertEqual(RGBImage(normalizedTensor: image.normalizedTensor()), image)
    }

    func testFramesFromVideoTensor() {
        let a = patternImage(width: 6, height: 4, seed: 1), b = patternImage(width: 6, height: 4, seed: 2)
        let video = Tensor(shape: [2, 3, 4, 6], scalars: a.normalizedTensor().scalars + b.normalizedTensor().scalars)
        XCTAssertEqual(RGBImage.frames(fromNormalizedTensor: video), [a, b])
    }

    func testEdgePaddingRepeatsLastColumnAndRow() {
        let image = patternImage(width: 5, height: 3)
        let padded = image.paddedReplicatingEdges(toWidth: 6, height: 4)
        XCTAssertEqual([padded.width, padded.height], [6, 4])
        for y in 0..<4 {
            for x in 0..<6 {
                let p = padded.pixel(x: x, y: y), q = image.pixel(x: min(x, 4), y: min(y, 2))
                XCTAssertEqual([p.r, p.g, p.b], [q.r, q.g, q.b], "(\(x), \(y))")
            }
        }
    }

    func testEXIFOrientationsMirrorPillowTransposes() {
        // 3x2 image with distinct pixels: values 0...5 in the red channel, row-major.
        let image = RGBImage(width: 3, height: 2, pixels: (0..<6).flatMap { [UInt8($0), 0, 0] })
        func reds(_ o: EXIFOrientation) -> [UInt8] { stride(from: 0, to: 18, by: 3).map { o.apply(to: image).pixels[$0] } }
        XCTAssertEqual(reds(.up), [0, 1, 2, 3, 4, 5])
        XCTAssertEqual(reds(.upMirrored), [2, 1, 0, 5, 4, 3])      // FLIP_LEFT_RIGHT
        XCTAssertEqual(reds(.down), [5, 4, 3, 2, 1, 0])            // ROTATE_180
        XCTAssertEqual(reds(.downMirrored), [3, 4, 5, 0, 1, 2])    // FLIP_TOP_BOTTOM
        XCTAssertEqual(reds(.leftMirrored), [0, 3, 1, 4, 2, 5])    // TRANSPOSE (2x3)
        XCTAssertEqual(reds(.right), [3, 0, 4, 1, 5, 2])           // 90 clockwise (2x3)
        XCTAssertEqual(reds(.rightMirrored), [5, 2, 4, 1, 3, 0])   // TRANSVERSE (2x3)
        XCTAssertEqual(reds(.left), [2, 5, 1, 4, 0, 3])            // 90 counter-clockwise (2x3)
        XCTAssertEqual(EXIFOrientation.right.apply(to: image).width, 2)
    }
}
