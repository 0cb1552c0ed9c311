import Media

/// Obscures a frame beyond recognition for the `blur` action: a mosaic of at most 8 blocks along
/// the longer side (each block its mean colour), then a box blur one block wide that melts the
/// block edges. Only the coarsest colour layout survives.
public enum FrameBlur {
    /// Blocks along the longer side of the frame.
    public static let blocksAcross = 8

    public static func obscure(_ image: RGBImage) -> RGBImage {
        let w = image.width, h = image.height
        guard w > 0 && h > 0 else { return image }
        let block = max(1, (max(w, h) + blocksAcross - 1) / blocksAcross)
        var mosaic = [Float](repeating: 0, count: w * h * 3)
        image.pixels.withUnsafeBufferPointer { src in
            mosaic.withUnsafeMutableBufferPointer { dst in
                var by = 0
                while by < h {
                    let y1 = min(by + block, h)
                    var bx = 0
                    while bx < w {
                        let x1 = min(bx + block, w)
                        var sum: (Float, Float, Float) = (0, 0, 0)
                        for y in by..<y1 {
                            for x in bx..<x1 {
                                let i = (y * w + x) * 3
                                sum.0 += Float(src[i]); sum.1 += Float(src[i + 1]); sum.2 += Float(src[i + 2])
                            }
                        }
                        let n = Float((y1 - by) * (x1 - bx))
                        for y in by..<y1 {
                            for x in bx..<x1 {
                                let i = (y * w + x) * 3
                                dst[i] = sum.0 / n; dst[i + 1] = sum.1 / n; dst[i + 2] = sum.2 / n
                            }
                        }
                        bx += block
                    }
                    by += block
                }
            }
        }
        let radius = block / 2
        let blurred = boxBlur(boxBlur(mosaic, width: w, height: h, radius: radius, horizontal: true),
                              width: w, height: h, radius: radius, horizontal: false)
        var bytes = [UInt8](repeating: 0, count: w * h * 3)
        for i in 0..<bytes.count { bytes[i] = UInt8(min(max(blurred[i].rounded(), 0), 255)) }
        return RGBImage(width: w, height: h, pixels: bytes)
    }

    /// Mean over a window of 2 * radius + 1 pixels along one axis, edges clamped.
    private static func boxBlur(_ src: [Float], width w: Int, height h: Int, radius: Int, horizontal: Bool) -> [Float] {
        guard radius > 0 else { return src }
        var out = [Float](repeating: 0, count: src.count)
        let lines = horizontal ? h : w, length = horizontal ? w : h
        src.withUnsafeBufferPointer { s in
            out.withUnsafeMutableBufferPointer { o in
                let n = Float(2 * radius + 1)
                for line in 0..<lines {
                    @inline(__always) func index(_ q: Int) -> Int {
                        let c = min(max(q, 0), length - 1)
                        return (horizontal ? line * w + c : c * w + line) * 3
                    }
                    // Running sums over the window [p - radius, p + radius], edges clamped.
                    var sum: (Float, Float, Float) = (0, 0, 0)
                    for d in -radius...radius {
                        let i = index(d)
                        sum.0 += s[i]; sum.1 += s[i + 1]; sum.2 += s[i + 2]
                    }
                    for p in 0..<length {
                        let i = index(p)
                        o[i] = sum.0 / n; o[i + 1] = sum.1 / n; o[i + 2] = sum.2 / n
                        let add = index(p + radius + 1), drop = index(p - radius)
                        sum.0 += s[add] - s[drop]; sum.1 += s[add + 1] - s[drop + 1]; sum.2 += s[add + 2] - s[drop + 2]
                    }
                }
            }
        }
        return out
    }
}
