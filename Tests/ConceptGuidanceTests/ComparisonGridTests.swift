import ConceptGuidance
import XCTest

/// The side-by-side layout of `img2vid compare` and its built-in bitmap font.
final class ComparisonGridTests: XCTestCase {
    func testGlyphs() {
        XCTAssertEqual(BitmapFont.glyphs.count, 49)
        for (ch, rows) in BitmapFont.glyphs {
            XCTAssertEqual(rows.count, 7, "\(ch)")
            XCTAssertTrue(rows.allSatisfy { $0.count == 5 }, "\(ch)")
        }
        // 'T': full top row, then the middle column only.
        XCTAssertTrue((0..<5).allSatisfy { BitmapFont.isSet("T", x: $0, y: 0) })
        XCTAssertTrue(BitmapFont.isSet("t", x: 2, y: 6) && !BitmapFont.isSet("T", x: 0, y: 6))
        XCTAssertEqual((0..<5).map { BitmapFont.isSet("~", x: $0, y: 0) }, (0..<5).map { BitmapFont.isSet("?", x: $0, y: 0) })
        XCTAssertEqual(BitmapFont.width(of: "OFF", scale: 2), 34)
    }

    func testCompose() {
        let w = 30, h = 10
        let tiles: [[UInt8]] = [[UInt8](repeating: 50, count: w * h * 3), [UInt8](repeating: 100, count: w * h * 3), [UInt8](repeating: 150, count: w * h * 3)]
        let labels = ["off", "max", "-"]
        let grid = ComparisonGrid.compose(tiles: tiles, tileWidth: w, tileHeight: h, labels: labels)
        let scale = ComparisonGrid.labelScale(tileWidth: w, labels: labels)
        XCTAssertEqual(scale, 1)
        let band = 7 * scale + 2 * (2 + scale)
        XCTAssertEqual(grid.width, 3 * w + 2 * ComparisonGrid.gap)   // 98: already even
        XCTAssertEqual(grid.height, h + band + (h + band) % 2)
        XCTAssertEqual(grid.pixels.count, grid.width * grid.height * 3)
        func pixel(_ x: Int, _ y: Int) -> UInt8 { grid.pixels[(y * grid.width + x) * 3] }
        // Tiles in place, gaps black.
        XCTAssertEqual(pixel(0, band), 50)
        XCTAssertEqual(pixel(w - 1, band + h - 1), 50)
        XCTAssertEqual(pixel(w, band), 0)
        XCTAssertEqual(pixel(w + ComparisonGrid.gap, band), 100)
        XCTAssertEqual(pixel(grid.width - 1, band + 5), 150)
        // Labels: white pixels in each tile's band, nothing white in the tiles.
        for t in 0..<3 {
            let x0 = t * (w + ComparisonGrid.gap)
            var white = 0
            for y in 0..<band { for x in x0..<(x0 + w) where pixel(x, y) == 255 { white += 1 } }
            XCTAssertGreaterThan(white, 4, "label \(labels[t])")
        }
        // The '-' label is one horizontal bar of 5 pixels, centred.
        let x0 = 2 * (w + ComparisonGrid.gap) + (w - 5) / 2
        XCTAssertEqual((0..<5).map { pixel(x0 + $0, 2 + scale + 3) }, [255, 255, 255, 255, 255])
        XCTAssertFalse(grid.pixels[(band * grid.width * 3)...].contains(255))
    }

    func testOddSizesAreMadeEven() {
        let grid = ComparisonGrid.compose(tiles: [[UInt8](repeating: 9, count: 7 * 5 * 3)], tileWidth: 7, tileHeight: 5, labels: ["a"])
        XCTAssertEqual(grid.width % 2, 0)
        XCTAssertEqual(grid.height % 2, 0)
    }
}
