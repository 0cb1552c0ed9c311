import Media
import Tensor

/// NudeNet's input preparation, bit-exact with the `nudenet` 3.4.2 package (`_read_image`):
///
/// 1. `cv2.copyMakeBorder(mat, 0, y_pad, 0, x_pad, BORDER_CONSTANT)`: the image is padded with
///    black on the right or at the bottom to a square of side max(width, height) (a letterbox
///    anchored at the top-left corner, so boxes scale back without an offset);
/// 2. `cv2.dnn.blobFromImage(mat_pad, 1 / 255.0, (320, 320), (0, 0, 0), swapRB=True)`: the 8-bit
///    square is resized to 320x320 with `cv2.resize(INTER_LINEAR)` (see `resizeLinear`), then each
///    byte becomes `Float(byte) * Float(1 / 255.0)`, planar [1, 3, 320, 320].
///
/// Channel order: the package reads files with `cv2.imread` (B, G, R), converts with
/// `cv2.COLOR_RGBA2BGR` (which on three channels swaps them to R, G, B) and then asks
/// `blobFromImage` to swap again, so the network is fed **B, G, R** planes. Its scores, which
/// operators' thresholds are tuned against, come from that input, so this type feeds B, G, R too.
public enum NudeNetPreprocessor {
    /// The package's `1 / 255.0`, rounded to f32 as OpenCV applies it to f32 pixels.
    static let byteScale = Float(1.0 / 255.0)

    /// The network input for `image`: [1, 3, size, size], planes B, G, R, values in [0, 1].
    public static func blob(_ image: RGBImage, size: Int = NudeNetDetector.inputSize) -> Tensor {
        precondition(image.width > 0 && image.height > 0, "cannot prepare an empty \(image.width)x\(image.height) image")
        let side = max(image.width, image.height)
        let resized = resizeLinear(image, canvasWidth: side, canvasHeight: side, width: size, height: size)
        var blob = Tensor(uninitialized: [1, 3, size, size])
        let plane = size * size
        blob.withUnsafeMutableBufferPointer { dst in
            resized.pixels.withUnsafeBufferPointer { src in
                let d = dst.baseAddress!, s = src.baseAddress!
                Parallel.forRanges(plane, minChunk: 16_384) { range in
                    for i in range {
                        d[i] = Float(s[i * 3 + 2]) * byteScale             // B
                        d[plane + i] = Float(s[i * 3 + 1]) * byteScale     // G
                        d[2 * plane + i] = Float(s[i * 3]) * byteScale     // R
                    }
                }
            }
        }
        return blob
    }

    /// Mirrors `cv2.resize(src, (width, height), interpolation=cv2.INTER_LINEAR)` on an 8-bit,
    /// 3-channel image zero-padded on the right and bottom to `canvasWidth` x `canvasHeight`
    /// (pass the image's own size for a plain resize). The padding is virtual: a large photo is
    /// not copied into a larger square first.
    ///
    /// OpenCV's generic fixed-point path (imgproc/src/resize.cpp, `resizeGeneric_` with
    /// `HResizeLinear` and `VResizeLinear<uchar, int, short>`), which OpenCV 4 and 5 run for
    /// 8-bit images:
    /// - per output column, `fx = Float((dx + 0.5) * scale - 0.5)` (double, then f32),
    ///   `sx = floor(fx)`, `fx -= sx`; columns left of the image or at its last column are
    ///   clamped (`sx = 0` or `width - 1`, `fx = 0`); weights `rint((1 - fx) * 2048)` and
    ///   `rint(fx * 2048)`, and the horizontal pass sums `src[sx] * a0 + src[sx + 1] * a1` in ints;
    /// - rows are computed the same way but **not** clamped: `sy` may be -1 or the last row, and
    ///   the two source rows are clipped to the image instead, keeping their weights;
    /// - the vertical pass is OpenCV's SIMD formula (`VResizeLinearVec_32s8u`), used for every
    ///   pixel when the output row (width x 3 bytes) is a multiple of the vector width, as it is
    ///   at 320 and 64 pixels: `((h0 >> 4) * b0 >> 16) + ((h1 >> 4) * b1 >> 16)`, then
    ///   `(v + 2) >> 2` saturated to a byte.
    /// An exact 2x reduction, where OpenCV switches to INTER_AREA, gives the same bytes (the
    /// weights are then 1024 each and the formula reduces to the 2x2 mean rounded half up).
    /// Checked byte for byte against OpenCV 5.0 (opencv-python-headless) in NudeNetDetectorTests.
    public static func resizeLinear(_ image: RGBImage, canvasWidth: Int, canvasHeight: Int, width: Int, height: Int) -> RGBImage {
        precondition(canvasWidth >= image.width && canvasHeight >= image.height && image.width > 0 && image.height > 0,
                     "canvas \(canvasWidth)x\(canvasHeight) smaller than the \(image.width)x\(image.height) image")
        precondition(width > 0 && height > 0, "resize to \(width)x\(height)")
        let xTable = Self.coefficients(source: canvasWidth, destination: width, clampEdges: true)
        let yTable = Self.coefficients(source: canvasHeight, destination: height, clampEdges: false)
        let (iw, ih, cw, ch) = (image.width, image.height, canvasWidth, canvasHeight)
        var bytes = [UInt8](repeating: 0, count: width * height * 3)
        image.pixels.withUnsafeBufferPointer { srcBuffer in
            bytes.withUnsafeMutableBufferPointer { dstBuffer in
                let src = srcBuffer.baseAddress!, dst = dstBuffer.baseAddress!
                Parallel.forRanges(height, minChunk: 8) { rows in
                    let rowInts = width * 3
                    let h0 = UnsafeMutablePointer<Int32>.allocate(capacity: 2 * rowInts)
                    defer { h0.deallocate() }
                    let h1 = h0 + rowInts
                    for dy in rows {
                        let sy = yTable.offsets[dy]
                        let r0 = min(max(sy, 0), ch - 1), r1 = min(max(sy + 1, 0), ch - 1)
                        horizontal(src, imageWidth: iw, imageHeight: ih, canvasWidth: cw, row: r0, table: xTable, into: h0)
                        horizontal(src, imageWidth: iw, imageHeight: ih, canvasWidth: cw, row: r1, table: xTable, into: h1)
                        let b0 = yTable.weights0[dy], b1 = yTable.weights1[dy]
                        let out = dst + dy * rowInts
                        for i in 0..<rowInts {
                            let v = (((h0[i] >> 4) &* b0) >> 16) &+ (((h1[i] >> 4) &* b1) >> 16)
                            out[i] = UInt8(clamping: (v &+ 2) >> 2)
                        }
                    }
                }
            }
        }
        return RGBImage(width: width, height: height, pixels: bytes)
    }

    /// OpenCV's per-output-index source offset and 11-bit fixed-point weights.
    struct Coefficients {
        var offsets: [Int] = []
        var weights0: [Int32] = []
        var weights1: [Int32] = []
    }

    static func coefficients(source: Int, destination: Int, clampEdges: Bool) -> Coefficients {
        let scale = 1.0 / (Double(destination) / Double(source))
        var table = Coefficients()
        for d in 0..<destination {
            var f = Float((Double(d) + 0.5) * scale - 0.5)
            var s = Int(f.rounded(.down))
            f -= Float(s)
            if clampEdges {
                if s < 0 { f = 0; s = 0 }
                if s >= source - 1 { f = 0; s = source - 1 }
            }
            table.offsets.append(s)
            table.weights0.append(Int32(((1 - f) * 2048).rounded(.toNearestOrEven)))
            table.weights1.append(Int32((f * 2048).rounded(.toNearestOrEven)))
        }
        return table
    }

    /// One horizontally resized canvas row, in ints scaled by 2048: canvas pixels outside the
    /// image are black.
    @inline(__always)
    static func horizontal(_ src: UnsafePointer<UInt8>, imageWidth iw: Int, imageHeight ih: Int, canvasWidth cw: Int,
                           row: Int, table: Coefficients, into out: UnsafeMutablePointer<Int32>) {
        let count = table.offsets.count
        guard row < ih else {
            out.update(repeating: 0, count: count * 3)
            return
        }
        let line = src + row * iw * 3
        table.offsets.withUnsafeBufferPointer { offsets in
            table.weights0.withUnsafeBufferPointer { a0 in
                table.weights1.withUnsafeBufferPointer { a1 in
                    for dx in 0..<count {
                        let s0 = offsets[dx], s1 = min(s0 + 1, cw - 1)
                        for c in 0..<3 {
                            let p0 = s0 < iw ? Int32(line[s0 * 3 + c]) : 0
                            let p1 = s1 < iw ? Int32(line[s1 * 3 + c]) : 0
                            out[dx * 3 + c] = p0 &* a0[dx] &+ p1 &* a1[dx]
                        }
                    }
                }
            }
        }
    }
}
