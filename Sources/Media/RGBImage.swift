import Tensor

/// An 8-bit sRGB image with interleaved R, G, B bytes, row-major, no row padding:
/// the byte of channel `c` at column `x`, row `y` is `pixels[(y * width + x) * 3 + c]`.
///
/// The pipeline's tensors hold images as `[3, H, W]` floats in [-1, 1]; `normalizedTensor()` and
/// `init(normalizedTensor:)` convert exactly as diffusers' `VaeImageProcessor` does.
public struct RGBImage: Equatable, Sendable {
    public let width: Int
    public let height: Int
    /// `width * height * 3` bytes, R G B R G B ...
    public var pixels: [UInt8]

    /// Wraps interleaved RGB bytes; `pixels.count` must be `width * height * 3`.
    public init(width: Int, height: Int, pixels: [UInt8]) {
        precondition(width >= 0 && height >= 0, "negative image size \(width)x\(height)")
        precondition(pixels.count == width * height * 3,
                     "\(pixels.count) bytes do not make a \(width)x\(height) RGB image (\(width * height * 3) expected)")
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    /// An image of one colour.
    public init(width: Int, height: Int, red: UInt8, green: UInt8, blue: UInt8) {
        var bytes = [UInt8](repeating: 0, count: width * height * 3)
        bytes.withUnsafeMutableBufferPointer { p in
            var i = 0
            while i < p.count {
                p[i] = red; p[i + 1] = green; p[i + 2] = blue
                i += 3
            }
        }
        self.init(width: width, height: height, pixels: bytes)
    }

    /// Number of pixels (`width * height`).
    public var pixelCount: Int { width * height }

    /// The (r, g, b) bytes at column `x`, row `y` (for tests and small lookups, not hot loops).
    public func pixel(x: Int, y: Int) -> (r: UInt8, g: UInt8, b: UInt8) {
        precondition(x >= 0 && x < width && y >= 0 && y < height, "pixel (\(x), \(y)) outside \(width)x\(height)")
        let i = (y * width + x) * 3
        return (pixels[i], pixels[i + 1], pixels[i + 2])
    }

    // MARK: Tensor conversion

    /// The image as a `[3, H, W]` tensor with values in [-1, 1].
    ///
    /// Mirrors diffusers' `VaeImageProcessor.preprocess` for a PIL image: `pil_to_numpy`
    /// (`np.array(image).astype(np.float32) / 255.0`) then `normalize` (`2.0 * x - 1.0`), in f32,
    /// so the values are bit-identical to the reference's.
    public func normalizedTensor() -> Tensor {
        var t = Tensor(uninitialized: [3, height, width])
        let plane = width * height
        t.withUnsafeMutableBufferPointer { out in
            pixels.withUnsafeBufferPointer { px in
                for i in 0..<plane {
                    for c in 0..<3 {
                        let v = Float(px[i * 3 + c]) / 255
                        out[c * plane + i] = 2 * v - 1
                    }
                }
            }
        }
        return t
    }

    /// An image from a `[3, H, W]` tensor with values in [-1, 1].
    ///
    /// Mirrors diffusers' `VaeImageProcessor.postprocess(output_type="pil")`: `denormalize`
    /// (`(x / 2 + 0.5).clamp(0, 1)`) then `numpy_to_pil` (`(x * 255).round().astype("uint8")`,
    /// numpy rounding half to even), in f32. NaN becomes 0.
    public init(normalizedTensor tensor: Tensor) {
        precondition(tensor.rank == 3 && tensor.shape[0] == 3, "expected a [3, H, W] tensor, got \(tensor.shape)")
        let h = tensor.shape[1], w = tensor.shape[2]
        var bytes = [UInt8](repeating: 0, count: w * h * 3)
        tensor.withUnsafeBufferPointer { src in
            bytes.withUnsafeMutableBufferPointer { dst in
                RGBImage.denormalize(src: src.baseAddress!, into: dst.baseAddress!, plane: w * h)
            }
        }
        self.init(width: w, height: h, pixels: bytes)
    }

    /// One image per frame of a `[F, 3, H, W]` tensor with values in [-1, 1] (a decoded video),
    /// each converted as `init(normalizedTensor:)` does.
    public static func frames(fromNormalizedTensor tensor: Tensor) -> [RGBImage] {
        precondition(tensor.rank == 4 && tensor.shape[1] == 3, "expected a [F, 3, H, W] tensor, got \(tensor.shape)")
        let f = tensor.shape[0], h = tensor.shape[2], w = tensor.shape[3]
        let plane = w * h
        return tensor.withUnsafeBufferPointer { src in
            (0..<f).map { i in
                var bytes = [UInt8](repeating: 0, count: plane * 3)
                bytes.withUnsafeMutableBufferPointer { dst in
                    denormalize(src: src.baseAddress! + i * 3 * plane, into: dst.baseAddress!, plane: plane)
                }
                return RGBImage(width: w, height: h, pixels: bytes)
            }
        }
    }

    /// Planar [-1, 1] floats (3 planes of `plane` values) to interleaved bytes.
    private static func denormalize(src: UnsafePointer<Float>, into dst: UnsafeMutablePointer<UInt8>, plane: Int) {
        for i in 0..<plane {
            for c in 0..<3 {
                let x = src[c * plane + i]
                let v = min(max(x / 2 + 0.5, 0), 1)
                let scaled = (v * 255).rounded(.toNearestOrEven)
                dst[i * 3 + c] = scaled.isNaN ? 0 : UInt8(scaled)
            }
        }
    }

    // MARK: Geometry helpers

    /// The image grown to `newWidth` x `newHeight` (each at least the current size) by repeating
    /// its last column and last row (edge padding), as video encoders need even sizes.
    public func paddedReplicatingEdges(toWidth newWidth: Int, height newHeight: Int) -> RGBImage {
        precondition(newWidth >= width && newHeight >= height && width > 0 && height > 0,
                     "cannot pad \(width)x\(height) to \(newWidth)x\(newHeight)")
        if newWidth == width && newHeight == height { return self }
        var bytes = [UInt8](repeating: 0, count: newWidth * newHeight * 3)
        let w = width, h = height
        pixels.withUnsafeBufferPointer { src in
            bytes.withUnsafeMutableBufferPointer { dst in
                for y in 0..<newHeight {
                    let sy = min(y, h - 1)
                    let srow = src.baseAddress! + sy * w * 3
                    let drow = dst.baseAddress! + y * newWidth * 3
                    drow.update(from: srow, count: w * 3)
                    for x in w..<newWidth {
                        drow[x * 3] = srow[(w - 1) * 3]
                        drow[x * 3 + 1] = srow[(w - 1) * 3 + 1]
                        drow[x * 3 + 2] = srow[(w - 1) * 3 + 2]
                    }
                }
            }
        }
        return RGBImage(width: newWidth, height: newHeight, pixels: bytes)
    }
}
