/// The EXIF `Orientation` tag (0x0112): how the stored pixels must be turned to display upright.
///
/// `apply(to:)` mirrors Pillow's `ImageOps.exif_transpose` (the call diffusers' `load_image` makes):
/// 2 FLIP_LEFT_RIGHT, 3 ROTATE_180, 4 FLIP_TOP_BOTTOM, 5 TRANSPOSE, 6 ROTATE_270 (90 degrees
/// clockwise), 7 TRANSVERSE, 8 ROTATE_90 (90 degrees counter-clockwise).
public enum EXIFOrientation: Int, Sendable, CaseIterable {
    case up = 1
    case upMirrored = 2
    case down = 3
    case downMirrored = 4
    case leftMirrored = 5
    case right = 6
    case rightMirrored = 7
    case left = 8

    /// Whether applying it swaps width and height.
    public var swapsAxes: Bool { rawValue >= 5 }

    /// The image turned upright.
    public func apply(to image: RGBImage) -> RGBImage {
        if self == .up { return image }
        let w = image.width, h = image.height
        let outW = swapsAxes ? h : w, outH = swapsAxes ? w : h
        var out = [UInt8](repeating: 0, count: image.pixels.count)
        let mode = self
        image.pixels.withUnsafeBufferPointer { srcBuf in
            out.withUnsafeMutableBufferPointer { dstBuf in
                let src = srcBuf.baseAddress!, dst = dstBuf.baseAddress!
                for y in 0..<outH {
                    for x in 0..<outW {
                        // Source pixel shown at output (x, y).
                        let sx: Int, sy: Int
                        switch mode {
                        case .up: (sx, sy) = (x, y)
                        case .upMirrored: (sx, sy) = (w - 1 - x, y)
                        case .down: (sx, sy) = (w - 1 - x, h - 1 - y)
                        case .downMirrored: (sx, sy) = (x, h - 1 - y)
                        case .leftMirrored: (sx, sy) = (y, x)
                        case .right: (sx, sy) = (y, h - 1 - x)
                        case .rightMirrored: (sx, sy) = (w - 1 - y, h - 1 - x)
                        case .left: (sx, sy) = (w - 1 - y, x)
                        }
                        let s = (sy * w + sx) * 3, d = (y * outW + x) * 3
                        dst[d] = src[s]; dst[d + 1] = src[s + 1]; dst[d + 2] = src[s + 2]
                    }
                }
            }
        }
        return RGBImage(width: outW, height: outH, pixels: out)
    }

    /// The orientation for a display matrix's rotation (`av_display_rotation_get`, degrees
    /// counter-clockwise), for FFmpeg builds that export only the matrix: -90 is EXIF 6,
    /// 90 is EXIF 8, 180 is EXIF 3. Mirrored matrices (negative determinant) are not mapped.
    static func fromDisplayRotation(_ degrees: Double, mirrored: Bool) -> EXIFOrientation? {
        guard !mirrored, degrees.isFinite else { return nil }
        switch Int((degrees / 90).rounded()) {
        case 0: return .up
        case -1: return .right
        case 1: return .left
        case 2, -2: return .down
        default: return nil
        }
    }
}
