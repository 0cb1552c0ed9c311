import Media
import XCTest

/// Parity with diffusers' VaeImageProcessor.resize (Pillow LANCZOS) on a 37x23 noise image,
/// byte for byte (tolerance 0).
final class ImageResizerTests: XCTestCase {
    private func source() throws -> RGBImage { try MediaReference.image("resize_source") }

    func testStretchMatchesPillowLanczos() throws {
        let src = try source()
        for (w, h) in [(16, 10), (64, 48), (50, 12), (37, 9), (5, 23)] {
            let out = ImageResizer.resize(src, width: w, height: h, mode: .stretch)
            let expected = try MediaReference.image("stretch_\(w)x\(h)")
            XCTAssertEqual(out.width, w)
            XCTAssertEqual(out.height, h)
            assertSamePixels(out, expected, "stretch \(w)x\(h)")
        }
    }

    func testCropMatchesDiffusers() throws {
        let src = try source()
        for (w, h) in [(24, 24), (40, 16), (20, 30)] {
            let out = ImageResizer.resize(src, width: w, height: h, mode: .crop)
            let expected = try MediaReference.image("crop_\(w)x\(h)")
            assertSamePixels(out, expected, "crop \(w)x\(h)")
        }
    }

    func testFitMatchesDiffusersFill() throws {
        let src = try source()
        for (w, h) in [(24, 24), (40, 40), (64, 20)] {
            let out = ImageResizer.resize(src, width: w, height: h, mode: .fit)
            let expected = try MediaReference.image("fill_\(w)x\(h)")
            assertSamePixels(out, expected, "fill \(w)x\(h)")
        }
    }

    /// 24x25: diffusers leaves the last row black (odd leftover); here it repeats the bottom margin
    /// row, and every other row equals diffusers'.
    func testFitFillsTheStripDiffusersLeavesBlack() throws {
        let out = ImageResizer.resize(try source(), width: 24, height: 25, mode: .fit)
        let expected = try MediaReference.image("fill_24x25")
        let rowBytes = 24 * 3
        XCTAssertTrue(out.pixels[0..<24 * rowBytes] == expected.pixels[0..<24 * rowBytes], "rows 0-23 equal diffusers'")
        let last = 24 * rowBytes..<25 * rowBytes, previous = 23 * rowBytes..<24 * rowBytes
        XCTAssertTrue(expected.pixels[last].allSatisfy { $0 == 0 }, "diffusers' black row")
        XCTAssertTrue(out.pixels[last] == out.pixels[previous], "last row repeats the margin")
    }

    /// Pillow's resize of a zero-height box (a blend of the first three rows).
    func testZeroHeightBoxMatchesPillow() throws {
        let out = ImageResizer.resample(try source(), width: 37, height: 4, box: (0, 0, 37, 0))
        assertSamePixels(out, try MediaReference.image("box_top_37x4"))
    }

    func testSameSizeIsBitExactPassthrough() throws {
        let src = try source()
        for mode in ResizeMode.allCases {
            assertSamePixels(ImageResizer.resize(src, width: 37, height: 23, mode: mode), src, "\(mode)")
        }
    }

    func testOutputSizes() {
        let src = patternImage(width: 101, height: 57)
        for mode in ResizeMode.allCases {
            for (w, h) in [(64, 64), (200, 90), (31, 120), (1, 1)] {
                let out = ImageResizer.resize(src, width: w, height: h, mode: mode)
                XCTAssertEqual([out.width, out.height], [w, h], "\(mode) \(w)x\(h)")
                XCTAssertEqual(out.pixels.count, w * h * 3)
            }
        }
    }

    /// Normalised weights and rounding keep a flat colour flat in every mode, up and down.
    func testConstantColourStaysConstant() {
        let src = RGBImage(width: 45, height: 29, red: 17, green: 200, blue: 255)
        for mode in ResizeMode.allCases {
            for (w, h) in [(16, 16), (90, 40), (20, 60), (7, 3)] {
                let out = ImageResizer.resize(src, width: w, height: h, mode: mode)
                assertSamePixels(out, RGBImage(width: w, height: h, red: 17, green: 200, blue: 255), "\(mode) \(w)x\(h)")
            }
        }
    }

    /// Crop keeps the centre: a centred dark square stays centred.
    func testCropKeepsTheCentre() {
        var src = RGBImage(width: 90, height: 30, red: 255, green: 255, blue: 255)
        for y in 10..<20 { for x in 40..<50 { for c in 0..<3 { src.pixels[(y * 90 + x) * 3 + c] = 0 } } }
        let out = ImageResizer.resize(src, width: 30, height: 30, mode: .crop)
        XCTAssertEqual(out.pixel(x: 15, y: 15).r, 0)
        XCTAssertEqual(out.pixel(x: 2, y: 15).r, 255)
        XCTAssertEqual(out.pixel(x: 27, y: 15).r, 255)
    }
}
