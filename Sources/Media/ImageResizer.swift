import Foundation
import Tensor

/// Resizes `RGBImage`s with Pillow's antialiased Lanczos filter, the one diffusers' image
/// processors use (`VaeImageProcessor(resample="lanczos")`, `PIL.Image.LANCZOS`).
///
/// Mirrors Pillow's `Image.resize(size, Image.LANCZOS, box)` (libImaging/Resample.c, Pillow 13): a
/// separable two-pass filter (horizontal pass first unless the height shrinks much more),
/// Lanczos-3 windowed sinc whose support widens by the downscale factor (so downscaling averages
/// every source pixel: no aliasing), coefficients normalised per output pixel and rounded to
/// 22-bit fixed point, results rounded and clamped to 8 bits after each pass. Outputs match
/// Pillow byte for byte (tested against Pillow 13 through diffusers 0.42).
///
/// A target size equal to the image's size returns the image unchanged (bit-exact), in every mode.
public enum ImageResizer {
    /// Resizes `image` to exactly `width` x `height`.
    ///
    /// - `.stretch` mirrors diffusers' `resize_mode="default"`: `image.resize((width, height))`.
    /// - `.crop` mirrors diffusers' `_resize_and_crop`: scale (integer arithmetic as diffusers) so
    ///   the image covers the target, then centre-crop.
    /// - `.fit` mirrors diffusers' `_resize_and_fill`: scale so the image fits inside, centre it,
    ///   and fill the margins with edge colours: each margin is Pillow's default-filter (bicubic)
    ///   resize of a zero-height (or zero-width) box on the image border, i.e. every margin row is
    ///   1.125 x the outermost row - 0.125 x the next one (columns likewise). Where diffusers leaves a 1-pixel black strip
    ///   (odd leftover space, or a margin smaller than 2 pixels on one side) this fills it the same
    ///   way as the rest of that margin; everywhere else the result equals diffusers'.
    public static func resize(_ image: RGBImage, width: Int, height: Int, mode: ResizeMode) -> RGBImage {
        precondition(width > 0 && height > 0, "target size \(width)x\(height) must be positive")
        precondition(image.width > 0 && image.height > 0, "cannot resize an empty image")
        if image.width == width && image.height == height { return image }
        switch mode {
        case .stretch:
            return resample(image, width: width, height: height)
        case .crop:
            return resizeAndCrop(image, width: width, height: height)
        case .fit:
            return resizeAndFill(image, width: width, height: height)
        }
    }

    /// Pillow's resampling filters (libImaging/Resample.c).
    public enum Filter: Sendable {
        /// `Image.LANCZOS`: sinc(x) * sinc(x / 3), support 3 (diffusers' default).
        case lanczos
        /// `Image.BICUBIC`: Keys cubic with a = -0.5, support 2 (`Image.resize`'s default filter).
        case bicubic

        var support: Double { self == .lanczos ? 3 : 2 }

        @inline(__always)
        func weight(_ x: Double) -> Double {
            switch self {
            case .lanczos:
                @inline(__always) func sinc(_ x: Double) -> Double {
                    if x == 0 { return 1 }
                    let y = x * Double.pi
                    return sin(y) / y
                }
                return (-3.0 <= x && x < 3.0) ? sinc(x) * sinc(x / 3) : 0
            case .bicubic:
                let a = -0.5
                let x = abs(x)
                if x < 1 { return ((a + 2) * x - (a + 3)) * x * x + 1 }
                if x < 2 { return (((x - 5) * x + 8) * x - 4) * a }
                return 0
            }
        }
    }

    /// Pillow's `image.resize((width, height), filter, box=box)`: the region `box`
    /// (x0, y0, x1, y1 in source pixels, default the whole image) resampled to `width` x `height`.
    public static func resample(_ image: RGBImage, width: Int, height: Int,
                                box: (x0: Float, y0: Float, x1: Float, y1: Float)? = nil, filter: Filter = .lanczos) -> RGBImage {
        precondition(width > 0 && height > 0, "target size \(width)x\(height) must be positive")
        let box = box ?? (0, 0, Float(image.width), Float(image.height))
        let needHorizontal = width != image.width || box.x0 != 0 || box.x1 != Float(width)
        let needVertical = height != image.height || box.y0 != 0 || box.y1 != Float(height)
        if !needHorizontal && !needVertical { return image }

        let horizontal = Coefficients(inSize: image.width, in0: box.x0, in1: box.x1, outSize: width, filter: filter)
        var vertical = Coefficients(inSize: image.height, in0: box.y0, in1: box.y1, outSize: height, filter: filter)
        // Pillow (>= 11) runs the vertical pass first when the height shrinks by more than twice
        // as many pixels as the width does; the order changes the rounding between passes.
        let shrinkY = image.height - height, shrinkX = image.width - width
        let horizontalFirst = !(shrinkY > 0 && shrinkY > shrinkX * 2)
        var current = image
        if horizontalFirst {
            if needHorizontal {
                // Only the source rows the vertical pass reads are resampled horizontally.
                let firstRow = vertical.bounds[0]
                let lastRow = vertical.bounds[height * 2 - 2] + vertical.bounds[height * 2 - 1]
                for i in 0..<height { vertical.bounds[i * 2] -= firstRow }
                current = horizontalPass(current, coefficients: horizontal, firstRow: firstRow, rows: lastRow - firstRow)
            }
            if needVertical { current = verticalPass(current, coefficients: vertical) }
        } else {
            if needVertical { current = verticalPass(current, coefficients: vertical) }
            if needHorizontal { current = horizontalPass(current, coefficients: horizontal, firstRow: 0, rows: current.height) }
        }
        return current
    }

    // MARK: diffusers' modes

    private static func resizeAndCrop(_ image: RGBImage, width: Int, height: Int) -> RGBImage {
        let ratio = Double(width) / Double(height)
        let srcRatio = Double(image.width) / Double(image.height)
        let srcW = ratio > srcRatio ? width : image.width * height / image.height
        let srcH = ratio <= srcRatio ? height : image.height * width / image.width
        let resized = resample(image, width: srcW, height: srcH)
        var out = RGBImage(width: width, height: height, red: 0, green: 0, blue: 0)
        paste(resized, into: &out, x: width / 2 - srcW / 2, y: height / 2 - srcH / 2)
        return out
    }

    private static func resizeAndFill(_ image: RGBImage, width: Int, height: Int) -> RGBImage {
        let ratio = Double(width) / Double(height)
        let srcRatio = Double(image.width) / Double(image.height)
        // At least 1 pixel (diffusers would make an empty image for extreme aspect ratios).
        let srcW = ratio < srcRatio ? width : max(1, image.width * height / image.height)
        let srcH = ratio >= srcRatio ? height : max(1, image.height * width / image.width)
        let resized = resample(image, width: srcW, height: srcH)
        var out = RGBImage(width: width, height: height, red: 0, green: 0, blue: 0)
        let offX = width / 2 - srcW / 2, offY = height / 2 - srcH / 2
        paste(resized, into: &out, x: offX, y: offY)
        let rw = Float(resized.width), rh = Float(resized.height)
        if ratio < srcRatio {
            let top = offY, bottom = height - offY - srcH
            if top > 0 {
                paste(resample(resized, width: width, height: top, box: (0, 0, Float(width), 0), filter: .bicubic), into: &out, x: 0, y: 0)
            }
            if bottom > 0 {
                paste(resample(resized, width: width, height: bottom, box: (0, rh, Float(width), rh), filter: .bicubic), into: &out, x: 0, y: offY + srcH)
            }
        } else if ratio > srcRatio {
            let left = offX, right = width - offX - srcW
            if left > 0 {
                paste(resample(resized, width: left, height: height, box: (0, 0, 0, Float(height)), filter: .bicubic), into: &out, x: 0, y: 0)
            }
            if right > 0 {
                paste(resample(resized, width: right, height: height, box: (rw, 0, rw, Float(height)), filter: .bicubic), into: &out, x: offX + srcW, y: 0)
            }
        }
        return out
    }

    /// Pillow's `Image.paste(im, box=(x, y))`: copies `image` with its top-left corner at (x, y),
    /// clipped to `target`.
    private static func paste(_ image: RGBImage, into target: inout RGBImage, x: Int, y: Int) {
        let x0 = max(x, 0), x1 = min(x + image.width, target.width)
        let y0 = max(y, 0), y1 = min(y + image.height, target.height)
        guard x0 < x1 && y0 < y1 else { return }
        let tw = target.width, sw = image.width
        image.pixels.withUnsafeBufferPointer { src in
            target.pixels.withUnsafeMutableBufferPointer { dst in
                for row in y0..<y1 {
                    (dst.baseAddress! + (row * tw + x0) * 3)
                        .update(from: src.baseAddress! + ((row - y) * sw + (x0 - x)) * 3, count: (x1 - x0) * 3)
                }
            }
        }
    }

    // MARK: Pillow's Resample.c

    /// Bits of fixed-point precision of the 8-bit passes (`PRECISION_BITS = 32 - 8 - 2`).
    private static let precisionBits = 22

    /// Pillow's `precompute_coeffs` + `normalize_coeffs_8bpc`: for each output pixel, the first
    /// input pixel and count (`bounds`) and `size` fixed-point weights.
    private struct Coefficients {
        let size: Int
        var bounds: [Int]
        let weights: [Int32]

        init(inSize: Int, in0: Float, in1: Float, outSize: Int, filter: Filter) {
            let support = filter.support
            let scale = Double(in1 - in0) / Double(outSize)
            let filterScale = max(scale, 1.0)
            let scaledSupport = support * filterScale
            let ksize = Int(scaledSupport.rounded(.up)) * 2 + 1
            var bounds = [Int](repeating: 0, count: outSize * 2)
            var weights = [Int32](repeating: 0, count: outSize * ksize)
            var k = [Double](repeating: 0, count: ksize)
            let ss = 1.0 / filterScale
            let one = Double(1 << ImageResizer.precisionBits)
            for xx in 0..<outSize {
                let center = Double(in0) + (Double(xx) + 0.5) * scale
                var ww = 0.0
                let xmin = max(Int(center - scaledSupport + 0.5), 0)
                let xmax = min(Int(center + scaledSupport + 0.5), inSize) - xmin
                for x in 0..<max(xmax, 0) {
                    let w = filter.weight((Double(x + xmin) - center + 0.5) * ss)
                    k[x] = w
                    ww += w
                }
                for x in 0..<max(xmax, 0) {
                    let v = ww != 0 ? k[x] / ww : k[x]
                    weights[xx * ksize + x] = Int32(v < 0 ? -0.5 + v * one : 0.5 + v * one)
                }
                bounds[xx * 2] = xmin
                bounds[xx * 2 + 1] = xmax
            }
            self.size = ksize
            self.bounds = bounds
            self.weights = weights
        }
    }

    @inline(__always)
    private static func clip8(_ v: Int) -> UInt8 {
        UInt8(clamping: v >> precisionBits)
    }

    /// Pillow's `ImagingResampleHorizontal_8bpc` over source rows `firstRow ..< firstRow + rows`.
    private static func horizontalPass(_ image: RGBImage, coefficients c: Coefficients, firstRow: Int, rows: Int) -> RGBImage {
        let outW = c.bounds.count / 2, inW = image.width
        var out = [UInt8](repeating: 0, count: outW * rows * 3)
        image.pixels.withUnsafeBufferPointer { srcBuf in
            out.withUnsafeMutableBufferPointer { dstBuf in
                c.bounds.withUnsafeBufferPointer { bounds in
                    c.weights.withUnsafeBufferPointer { weights in
                        let src = srcBuf.baseAddress!, dst = dstBuf.baseAddress!
                        let ksize = c.size
                        Parallel.forRanges(rows, minChunk: max(1, 16_384 / max(outW, 1))) { range in
                            for yy in range {
                                let srow = src + (yy + firstRow) * inW * 3
                                let drow = dst + yy * outW * 3
                                for xx in 0..<outW {
                                    let xmin = bounds[xx * 2], xmax = bounds[xx * 2 + 1]
                                    let k = weights.baseAddress! + xx * ksize
                                    let half = 1 << (precisionBits - 1)
                                    var s0 = half, s1 = half, s2 = half
                                    for x in 0..<xmax {
                                        let p = srow + (x + xmin) * 3
                                        let w = Int(k[x])
                                        s0 += Int(p[0]) * w
                                        s1 += Int(p[1]) * w
                                        s2 += Int(p[2]) * w
                                    }
                                    drow[xx * 3] = clip8(s0)
                                    drow[xx * 3 + 1] = clip8(s1)
                                    drow[xx * 3 + 2] = clip8(s2)
                                }
                            }
                        }
                    }
                }
            }
        }
        return RGBImage(width: outW, height: rows, pixels: out)
    }

    /// Pillow's `ImagingResampleVertical_8bpc`.
    private static func verticalPass(_ image: RGBImage, coefficients c: Coefficients) -> RGBImage {
        let outH = c.bounds.count / 2, w = image.width
        let rowBytes = w * 3
        var out = [UInt8](repeating: 0, count: rowBytes * outH)
        image.pixels.withUnsafeBufferPointer { srcBuf in
            out.withUnsafeMutableBufferPointer { dstBuf in
                c.bounds.withUnsafeBufferPointer { bounds in
                    c.weights.withUnsafeBufferPointer { weights in
                        let src = srcBuf.baseAddress!, dst = dstBuf.baseAddress!
                        let ksize = c.size
                        Parallel.forRanges(outH, minChunk: max(1, 16_384 / max(rowBytes, 1))) { range in
                            // One accumulator row per chunk; rows are summed source row by source row.
                            let acc = UnsafeMutablePointer<Int32>.allocate(capacity: rowBytes)
                            defer { acc.deallocate() }
                            for yy in range {
                                let ymin = bounds[yy * 2], ymax = bounds[yy * 2 + 1]
                                let k = weights.baseAddress! + yy * ksize
                                acc.update(repeating: Int32(1 << (precisionBits - 1)), count: rowBytes)
                                for y in 0..<ymax {
                                    let w = k[y]
                                    let srow = src + (y + ymin) * rowBytes
                                    for i in 0..<rowBytes { acc[i] &+= Int32(srow[i]) &* w }
                                }
                                let drow = dst + yy * rowBytes
                                for i in 0..<rowBytes { drow[i] = clip8(Int(acc[i])) }
                            }
                        }
                    }
                }
            }
        }
        return RGBImage(width: w, height: outH, pixels: out)
    }
}
