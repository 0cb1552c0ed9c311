import Media
import Moderation
import XCTest

final class FrameBlurTests: XCTestCase {
    /// A fine checkerboard with a bright square: after obscuring, no detail at the checker's scale
    /// survives, the mean colour does.
    func testDetailIsGoneMeanStays() {
        let w = 64, h = 48
        var px = [UInt8](repeating: 0, count: w * h * 3)
        for y in 0..<h {
            for x in 0..<w {
                let v: UInt8 = (x + y) % 2 == 0 ? 255 : 0
                let i = (y * w + x) * 3
                px[i] = v; px[i + 1] = v; px[i + 2] = (x > 20 && x < 30 && y > 10 && y < 20) ? 255 : v
            }
        }
        let image = RGBImage(width: w, height: h, pixels: px)
        let out = FrameBlur.obscure(image)
        XCTAssertEqual(out.width, w)
        XCTAssertEqual(out.height, h)
        // Neighbouring pixels differ by at most a few levels (the checker differed by 255).
        var maxStep = 0
        for y in 0..<h {
            for x in 1..<w {
                maxStep = max(maxStep, abs(Int(out.pixel(x: x, y: y).r) - Int(out.pixel(x: x - 1, y: y).r)))
            }
        }
        XCTAssertLessThanOrEqual(maxStep, 4)
        // The red channel is a uniform checker everywhere: it blurs to mid-grey.
        let reds = (0..<(w * h)).map { Int(out.pixels[$0 * 3]) }
        XCTAssertEqual(Double(reds.reduce(0, +)) / Double(reds.count), 127.5, accuracy: 1.5)
        XCTAssertLessThanOrEqual(reds.max()! - reds.min()!, 6)
    }

    func testUniformImageUnchanged() {
        let image = RGBImage(width: 10, height: 7, red: 12, green: 200, blue: 99)
        XCTAssertEqual(FrameBlur.obscure(image), image)
    }
}
