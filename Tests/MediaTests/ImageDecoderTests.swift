import Foundation
import Media
import TestSupport
import XCTest

/// Decoding against expected pixels written by Scripts/reference/media_fixtures.py.
final class ImageDecoderTests: XCTestCase {
    /// Every PNG flavour decodes to exactly the expected bytes (alpha over white, rounded).
    func testPNGVariantsDecodeExactly() throws {
        for name in ["png_rgb8", "png_rgb16", "png_grey8", "png_grey16", "png_palette4", "png_rgba8", "png_greyalpha8"] {
            let image = try ImageDecoder.decode(path: fixturePath(name + ".png"))
            let expected = try MediaReference.image(name)
            XCTAssertEqual(image.width, 7, name)
            XCTAssertEqual(image.height, 5, name)
            assertSamePixels(image, expected, name)
        }
    }

    /// Fully transparent pixels become white, opaque ones keep their colour.
    func testAlphaCompositesOverWhite() throws {
        let image = try ImageDecoder.decode(path: fixturePath("png_rgba8.png"))
        let p = image.pixel(x: 0, y: 0)  // alpha 0 in the fixture
        XCTAssertEqual([p.r, p.g, p.b], [255, 255, 255])
    }

    /// Format comes from the content: a PNG named .jpg still decodes as PNG.
    func testFormatIsDetectedFromContentNotExtension() throws {
        let dir = try makeTemporaryDirectory(self)
        let misnamed = dir + "/really-a-png.jpg"
        try FileManager.default.copyItem(atPath: fixturePath("png_rgb8.png"), toPath: misnamed)
        assertSamePixels(try ImageDecoder.decode(path: misnamed), try MediaReference.image("png_rgb8"))
    }

    /// EXIF orientation 6: stored 32x16 (red left, blue right) is shown 16x32 with red on top.
    /// Against Pillow + exif_transpose.
    func testJPEGWithEXIFOrientation6IsRotated() throws {
        let image = try ImageDecoder.decode(path: fixturePath("jpeg_orientation6.jpg"))
        XCTAssertEqual(image.width, 16)
        XCTAssertEqual(image.height, 32)
        let expected = try MediaReference.image("jpeg_orientation6")
        // Away from the red/blue edge both decoders agree to within 2 levels (0 measured); at the
        // edge (rows 13-18) chroma upsampling differs (libjpeg's triangle vs swscale's bicubic):
        // 19 measured, 24 allowed.
        for y in 0..<32 {
            let row = RGBImage(width: 16, height: 1, pixels: Array(image.pixels[y * 48..<(y + 1) * 48]))
            let expectedRow = RGBImage(width: 16, height: 1, pixels: Array(expected.pixels[y * 48..<(y + 1) * 48]))
            XCTAssertLessThanOrEqual(maxPixelDifference(row, expectedRow), (13...18).contains(y) ? 24 : 2, "row \(y)")
        }
        let top = image.pixel(x: 8, y: 4), bottom = image.pixel(x: 8, y: 27)
        XCTAssertGreaterThan(Int(top.r), 200)
        XCTAssertLessThan(Int(top.b), 50)
        XCTAssertGreaterThan(Int(bottom.b), 200)
        XCTAssertLessThan(Int(bottom.r), 50)
    }

    /// Lossless WebP with alpha: exact against libwebp's decode composited over white.
    func testLosslessWebPWithAlphaDecodesExactly() throws {
        let image = try ImageDecoder.decode(path: fixturePath("webp_lossless_alpha.webp"))
        let expected = try MediaReference.image("webp_lossless_alpha")
        assertSamePixels(image, expected)
    }

    /// Lossy WebP: swscale's YUV->RGB vs libwebp's own: within 3 levels.
    func testLossyWebPDecodes() throws {
        let image = try ImageDecoder.decode(path: fixturePath("webp_lossy.webp"))
        let expected = try MediaReference.image("webp_lossy")
        XCTAssertEqual(image.width, 16)
        XCTAssertEqual(image.height, 16)
        XCTAssertLessThanOrEqual(maxPixelDifference(image, expected), 3)
    }

    // MARK: Errors

    private func assertThrows(_ expected: (ImageError) -> Bool, _ body: () throws -> Void, file: StaticString = #filePath, line: UInt = #line) {
        do {
            try body()
            XCTFail("no error thrown", file: file, line: line)
        } catch let error as ImageError {
            XCTAssertTrue(expected(error), "unexpected error: \(error)", file: file, line: line)
        } catch {
            XCTFail("not an ImageError: \(error)", file: file, line: line)
        }
    }

    func testMissingFile() {
        let path = "/nonexistent-folder/missing.png"
        assertThrows({ $0 == .fileNotFound(path: path) }) { _ = try ImageDecoder.decode(path: path) }
        XCTAssertTrue(ImageError.fileNotFound(path: path).description.contains(path))
    }

    func testDirectory() throws {
        let dir = try makeTemporaryDirectory(self)
        assertThrows({ $0 == .isDirectory(path: dir) }) { _ = try ImageDecoder.decode(path: dir) }
    }

    func testEmptyFile() throws {
        let path = try makeTemporaryDirectory(self) + "/empty.png"
        _ = FileManager.default.createFile(atPath: path, contents: Data())
        assertThrows({ $0 == .emptyFile(path: path) }) { _ = try ImageDecoder.decode(path: path) }
    }

    func testUnreadableFile() throws {
        try XCTSkipIf(geteuid() == 0, "root reads files whatever their permissions")
        let path = try makeTemporaryDirectory(self) + "/locked.png"
        try FileManager.default.copyItem(atPath: fixturePath("png_rgb8.png"), toPath: path)
        chmod(path, 0)
        assertThrows({ $0 == .permissionDenied(path: path) }) { _ = try ImageDecoder.decode(path: path) }
    }

    func testUnsupportedFormats() throws {
        let dir = try makeTemporaryDirectory(self)
        let gif = dir + "/image.png"
        _ = FileManager.default.createFile(atPath: gif, contents: Data("GIF89a\u{1}\0\u{1}\0\0\0\0;".utf8))
        assertThrows({ $0 == .unsupportedFormat(path: gif, detected: "a GIF image") }) { _ = try ImageDecoder.decode(path: gif) }
        let text = dir + "/notes.jpg"
        _ = FileManager.default.createFile(atPath: text, contents: Data("hello, not an image".utf8))
        assertThrows({ $0 == .unsupportedFormat(path: text, detected: nil) }) { _ = try ImageDecoder.decode(path: text) }
    }

    /// A flipped byte inside IDAT breaks its CRC: libpng refuses it.
    func testCorruptPNG() throws {
        var bytes = try Array(Data(contentsOf: URL(fileURLWithPath: fixturePath("png_rgb8.png"))))
        let idat = try XCTUnwrap((0..<bytes.count - 4).first { Array(bytes[$0..<$0 + 4]) == Array("IDAT".utf8) })
        bytes[idat + 10] ^= 0x5A
        let path = try makeTemporaryDirectory(self) + "/corrupt.png"
        _ = FileManager.default.createFile(atPath: path, contents: Data(bytes))
        assertThrows({ if case .corrupt(path, "PNG", _) = $0 { return true }; return false }) { _ = try ImageDecoder.decode(path: path) }
    }

    /// A truncated PNG (cut inside IDAT).
    func testTruncatedPNG() throws {
        let bytes = try Data(contentsOf: URL(fileURLWithPath: fixturePath("png_rgb8.png")))
        let path = try makeTemporaryDirectory(self) + "/cut.png"
        _ = FileManager.default.createFile(atPath: path, contents: bytes.prefix(bytes.count - 30))
        assertThrows({ if case .corrupt(path, "PNG", _) = $0 { return true }; return false }) { _ = try ImageDecoder.decode(path: path) }
    }

    /// FFmpeg would conceal a missing end; the decoder refuses a JPEG cut in its scan data.
    func testTruncatedJPEG() throws {
        let bytes = try Data(contentsOf: URL(fileURLWithPath: fixturePath("jpeg_orientation6.jpg")))
        let path = try makeTemporaryDirectory(self) + "/cut.jpg"
        _ = FileManager.default.createFile(atPath: path, contents: bytes.prefix(bytes.count - 40))
        assertThrows({ error in
            guard case .corrupt(path, "JPEG", let reason) = error else { return false }
            return reason.contains("truncated")
        }) { _ = try ImageDecoder.decode(path: path) }
    }

    /// A truncated WebP: the RIFF size no longer fits.
    func testTruncatedWebP() throws {
        let bytes = try Data(contentsOf: URL(fileURLWithPath: fixturePath("webp_lossless_alpha.webp")))
        let path = try makeTemporaryDirectory(self) + "/cut.webp"
        _ = FileManager.default.createFile(atPath: path, contents: bytes.prefix(bytes.count / 2))
        assertThrows({ if case .corrupt(path, "WebP", _) = $0 { return true }; return false }) { _ = try ImageDecoder.decode(path: path) }
    }

    /// A PNG header declaring width 0.
    func testZeroSizeImage() throws {
        var bytes = try Array(Data(contentsOf: URL(fileURLWithPath: fixturePath("png_rgb8.png"))))
        bytes.replaceSubrange(16..<20, with: [0, 0, 0, 0])
        let path = try makeTemporaryDirectory(self) + "/zero.png"
        _ = FileManager.default.createFile(atPath: path, contents: Data(bytes))
        assertThrows({ $0 == .zeroSize(path: path, width: 0, height: 5) }) { _ = try ImageDecoder.decode(path: path) }
    }

    /// The limit is checked from the header: a 100000x100000 PNG header with no pixel data is
    /// refused as too large (not as truncated), and a real 7x5 image is refused under a limit of 34.
    func testPixelLimit() throws {
        var bytes = try Array(Data(contentsOf: URL(fileURLWithPath: fixturePath("png_rgb8.png"))))
        bytes.replaceSubrange(16..<24, with: [0, 1, 0x86, 0xA0, 0, 1, 0x86, 0xA0])  // 100000 x 100000
        let path = try makeTemporaryDirectory(self) + "/huge.png"
        _ = FileManager.default.createFile(atPath: path, contents: Data(bytes.prefix(40)))
        assertThrows({ $0 == .tooManyPixels(path: path, width: 100_000, height: 100_000, limit: 64_000_000) }) {
            _ = try ImageDecoder.decode(path: path)
        }
        let small = fixturePath("jpeg_orientation6.jpg")
        assertThrows({ $0 == .tooManyPixels(path: small, width: 32, height: 16, limit: 511) }) {
            _ = try ImageDecoder.decode(path: small, maxPixels: 511)
        }
        XCTAssertEqual(try ImageDecoder.decode(path: small, maxPixels: 512).pixelCount, 512)
    }

    func testAnimatedWebPIsRefused() throws {
        // RIFF header + VP8X chunk with the animation flag (0x02) set.
        var bytes: [UInt8] = Array("RIFF".utf8) + [22, 0, 0, 0] + Array("WEBPVP8X".utf8) + [10, 0, 0, 0]
        bytes += [0x02, 0, 0, 0, 15, 0, 0, 7, 0, 0]
        let path = try makeTemporaryDirectory(self) + "/anim.webp"
        _ = FileManager.default.createFile(atPath: path, contents: Data(bytes))
        assertThrows({ $0 == .unsupportedFormat(path: path, detected: "an animated WebP") }) { _ = try ImageDecoder.decode(path: path) }
    }

    func testErrorMessagesNameTheFileAndSayWhatToDo() {
        let errors: [ImageError] = [
            .fileNotFound(path: "/x/a.png"), .isDirectory(path: "/x/a.png"), .permissionDenied(path: "/x/a.png"),
            .emptyFile(path: "/x/a.png"), .unsupportedFormat(path: "/x/a.png", detected: "a GIF image"),
            .corrupt(path: "/x/a.png", format: "PNG", reason: "CRC error"), .zeroSize(path: "/x/a.png", width: 0, height: 3),
            .tooManyPixels(path: "/x/a.png", width: 9000, height: 9000, limit: 64_000_000),
            .readFailed(path: "/x/a.png", reason: "EIO"), .writeFailed(path: "/x/a.png", reason: "disk full"),
        ]
        for e in errors {
            XCTAssertTrue(e.description.contains("/x/a.png"), e.description)
            XCTAssertGreaterThan(e.description.count, 40, e.description)
        }
    }
}
