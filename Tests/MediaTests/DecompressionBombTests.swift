import Foundation
import Media
import XCTest

/// Decompression bombs (issue 15): a few dozen bytes whose header claims a huge image are refused
/// from the header, before any pixel buffer is allocated. Each file holds a header and no pixel data,
/// so reaching any decoder would give a different error (truncated, corrupt); and the process's peak
/// resident memory must not grow by anything like the claimed size (100,000 x 100,000 x 3 = 30 GB).
final class DecompressionBombTests: XCTestCase {
    private func peakResidentBytes() -> Int {
        var usage = rusage()
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
        return usage.ru_maxrss * 1024
    }

    private func be32(_ v: Int) -> [UInt8] { [UInt8(v >> 24 & 255), UInt8(v >> 16 & 255), UInt8(v >> 8 & 255), UInt8(v & 255)] }
    private func le32(_ v: Int) -> [UInt8] { [UInt8(v & 255), UInt8(v >> 8 & 255), UInt8(v >> 16 & 255), UInt8(v >> 24 & 255)] }

    /// CRC-32 (ISO-HDLC, as PNG chunks use), bit by bit.
    private func crc32(_ bytes: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for b in bytes {
            crc ^= UInt32(b)
            for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
        }
        return ~crc
    }

    /// PNG signature + a valid IHDR (8-bit RGB) + IEND: no IDAT at all.
    private func pngBomb(width: Int, height: Int) -> [UInt8] {
        let ihdr = Array("IHDR".utf8) + be32(width) + be32(height) + [8, 2, 0, 0, 0]
        let iend = Array("IEND".utf8)
        return [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
            + be32(13) + ihdr + be32(Int(crc32(ihdr)))
            + be32(0) + iend + be32(Int(crc32(iend)))
    }

    /// SOI + a baseline frame header (3 components) + EOI: no scan.
    private func jpegBomb(width: Int, height: Int) -> [UInt8] {
        [0xFF, 0xD8, 0xFF, 0xC0, 0x00, 0x11, 0x08, UInt8(height >> 8), UInt8(height & 255), UInt8(width >> 8), UInt8(width & 255),
         0x03, 0x01, 0x22, 0x00, 0x02, 0x11, 0x01, 0x03, 0x11, 0x01, 0xFF, 0xD9]
    }

    /// RIFF/WEBP with a VP8X chunk giving the canvas size (24-bit width-1 and height-1), nothing else.
    private func webpBomb(width: Int, height: Int) -> [UInt8] {
        let w = width - 1, h = height - 1
        let vp8x = Array("VP8X".utf8) + le32(10) + [0, 0, 0, 0] + [UInt8(w & 255), UInt8(w >> 8 & 255), UInt8(w >> 16 & 255),
                                                                  UInt8(h & 255), UInt8(h >> 8 & 255), UInt8(h >> 16 & 255)]
        return Array("RIFF".utf8) + le32(4 + vp8x.count) + Array("WEBP".utf8) + vp8x
    }

    private func assertRefusedFromTheHeader(_ bytes: [UInt8], width: Int, height: Int, line: UInt = #line) {
        let before = peakResidentBytes()
        XCTAssertThrowsError(try ImageDecoder.decode(bytes: bytes, path: "bomb"), line: line) { error in
            XCTAssertEqual(error as? ImageError, .tooManyPixels(path: "bomb", width: width, height: height, limit: ImageDecoder.defaultMaxPixels),
                           line: line)
            XCTAssertTrue("\(error)".contains("\(width)x\(height)"), "\(error)", line: line)
        }
        XCTAssertLessThan(peakResidentBytes() - before, 64 << 20, "decoding the header grew the peak memory", line: line)
    }

    func testPNGClaimingTenGigapixelsIsRefusedFromItsHeader() {
        assertRefusedFromTheHeader(pngBomb(width: 100_000, height: 100_000), width: 100_000, height: 100_000)
    }

    func testPNGAtTheLargestWidthAndHeightDoesNotOverflowInItsMessage() {
        // (2^32-1)^2 overflows a 64-bit product: the check must refuse it and the message must not trap.
        assertRefusedFromTheHeader(pngBomb(width: 0xFFFF_FFFF, height: 0xFFFF_FFFF), width: 0xFFFF_FFFF, height: 0xFFFF_FFFF)
    }

    func testJPEGAtTheLargestSizeItsHeaderCanClaimIsRefused() {
        assertRefusedFromTheHeader(jpegBomb(width: 65_535, height: 65_535), width: 65_535, height: 65_535)
    }

    func testWebPClaimingTenGigapixelsIsRefusedFromItsHeader() {
        assertRefusedFromTheHeader(webpBomb(width: 100_000, height: 100_000), width: 100_000, height: 100_000)
    }

    func testTooManyPixelsMessageSurvivesAProductThatOverflows() {
        let e = ImageError.tooManyPixels(path: "x.png", width: Int.max, height: 3, limit: 64_000_000)
        XCTAssertTrue(e.description.contains("more than \(Int.max) pixels"), e.description)
    }
}
