import Foundation
import Tensor

/// The SVD pipeline's image-encoder input path (diffusers pipeline_stable_video_diffusion.py,
/// `_encode_image`): an image in [-1, 1] goes through `_resize_with_antialiasing` to 224x224
/// (separable Gaussian blur with reflect padding, sigma max((factor - 1) / 2, 0.001), kernel
/// int(max(4 sigma, 3)) made odd; then bicubic interpolation with align_corners=True, A = -0.75 as
/// torch), back to [0, 1], then CLIPImageProcessor's normalisation with the CLIP mean and std.
public enum CLIPImagePreprocessor {
    public static let mean: [Float] = [0.48145466, 0.4578275, 0.40821073]
    public static let std: [Float] = [0.26862954, 0.26130258, 0.27577711]

    /// image [N, 3, H, W] in [-1, 1] -> CLIP pixel values [N, 3, size, size].
    public static func pixelValues(_ image: Tensor, size: Int = 224) -> Tensor {
        let h = image.shape[2], w = image.shape[3]
        let sigmaY = max((Double(h) / Double(size) - 1) / 2, 0.001)
        let sigmaX = max((Double(w) / Double(size) - 1) / 2, 0.001)
        var ky = Int(max(4 * sigmaY, 3)), kx = Int(max(4 * sigmaX, 3))
        if ky % 2 == 0 { ky += 1 }
        if kx % 2 == 0 { kx += 1 }
        let blurredX = filterRows(image, kernel: gaussian(kx, sigma: Float(sigmaX)))
        let blurred = transposeLastTwo(filterRows(transposeLastTwo(blurredX), kernel: gaussian(ky, sigma: Float(sigmaY))))
        var out = bicubicAlignCorners(blurred, height: size, width: size)
        let planeSize = size * size
        let planes = out.count / planeSize
        out.withUnsafeMutableBufferPointer { p in
            for plane in 0..<planes {
                let c = plane % 3
                let base = plane * planeSize
                for i in 0..<planeSize {
                    let unit = (p[base + i] + 1) / 2
                    p[base + i] = (unit - mean[c]) / std[c]
                }
            }
        }
        return out
    }

    /// diffusers `_gaussian`: exp(-x^2 / (2 sigma^2)) over x = arange(k) - k/2, normalised (float32).
    static func gaussian(_ k: Int, sigma: Float) -> [Float] {
        let g = (0..<k).map { i -> Float in
            let x = Float(i - k / 2)
            return exp(-(x * x) / (2 * sigma * sigma))
        }
        let sum = g.reduce(0, +)
        return g.map { $0 / sum }
    }

    /// Correlates every row of the last dimension with `kernel`, reflect-padded (torch "reflect").
    static func filterRows(_ x: Tensor, kernel: [Float]) -> Tensor {
        let w = x.shape[x.rank - 1]
        let rows = x.count / w
        let half = kernel.count / 2
        var out = Tensor(uninitialized: x.shape)
        x.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                Parallel.forRanges(rows, minChunk: 16) { range in
                    for r in range {
                        let base = r * w
                        for i in 0..<w {
                            var acc: Float = 0
                            for (j, kv) in kernel.enumerated() {
                                var idx = i + j - half
                                if idx < 0 { idx = -idx }
                                if idx >= w { idx = 2 * (w - 1) - idx }
                                idx = min(max(idx, 0), w - 1)
                                acc += kv * src[base + idx]
                            }
                            dst[base + i] = acc
                        }
                    }
                }
            }
        }
        return out
    }

    static func transposeLastTwo(_ x: Tensor) -> Tensor {
        transpose(x, x.rank - 2, x.rank - 1)
    }

    /// torch's cubic convolution coefficients (A = -0.75) for fractional offset t.
    static func cubicWeights(_ t: Float) -> (Float, Float, Float, Float) {
        let a: Float = -0.75
        func near(_ x: Float) -> Float { ((a + 2) * x - (a + 3)) * x * x + 1 }
        func far(_ x: Float) -> Float { ((a * x - 5 * a) * x + 8 * a) * x - 4 * a }
        return (far(t + 1), near(t), near(1 - t), far(2 - t))
    }

    /// F.interpolate(mode="bicubic", align_corners=True) on NCHW, borders clamped as torch does.
    static func bicubicAlignCorners(_ x: Tensor, height oh: Int, width ow: Int) -> Tensor {
        let ih = x.shape[2], iw = x.shape[3]
        let planes = x.shape[0] * x.shape[1]
        let (yIndex, yWeight) = taps(input: ih, output: oh)
        let (xIndex, xWeight) = taps(input: iw, output: ow)
        var out = Tensor(uninitialized: [x.shape[0], x.shape[1], oh, ow])
        x.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                Parallel.forRanges(planes * oh, minChunk: 8) { range in
                    for row in range {
                        let plane = row / oh, oy = row % oh
                        for ox in 0..<ow {
                            var acc: Float = 0
                            for j in 0..<4 {
                                let rowBase = plane * ih * iw + yIndex[oy * 4 + j] * iw
                                var line: Float = 0
                                for i in 0..<4 { line += xWeight[ox * 4 + i] * src[rowBase + xIndex[ox * 4 + i]] }
                                acc += yWeight[oy * 4 + j] * line
                            }
                            dst[plane * oh * ow + oy * ow + ox] = acc
                        }
                    }
                }
            }
        }
        return out
    }

    /// For each output position: the 4 clamped source indices and cubic weights (align_corners=True).
    private static func taps(input: Int, output: Int) -> (index: [Int], weight: [Float]) {
        let scale: Float = output > 1 ? Float(input - 1) / Float(output - 1) : 0
        var index = [Int](repeating: 0, count: output * 4)
        var weight = [Float](repeating: 0, count: output * 4)
        for o in 0..<output {
            let f = scale * Float(o)
            let i0 = Int(f.rounded(.down))
            let w = cubicWeights(f - Float(i0))
            let ws = [w.0, w.1, w.2, w.3]
            for k in 0..<4 {
                index[o * 4 + k] = min(max(i0 - 1 + k, 0), input - 1)
                weight[o * 4 + k] = ws[k]
            }
        }
        return (index, weight)
    }
}
