/// 2D convolution as im2col + GEMM (OpenBLAS sgemm).
public enum Convolution {
    /// Largest im2col buffer, in floats (64 MiB), before the output rows are processed in bands.
    /// A VAE decoder conv at 1024x576 with 128 channels would otherwise need 2.7 GB of columns.
    public static let defaultColumnBudget = 1 << 24

    /// Output columns per GEMM below which images are batched into one GEMM (tuning knob; set
    /// before running ops, not while they run).
    public static var batchColumnsTarget: Int {
        get { batchColumnsTargetKnob.value }
        set { batchColumnsTargetKnob.value = newValue }
    }
    private static let batchColumnsTargetKnob = Locked(1024)

    @inline(__always)
    static func ceilDiv(_ a: Int, _ b: Int) -> Int { a >= 0 ? (a + b - 1) / b : -((-a) / b) }

    @inline(__always)
    static func floorDiv(_ a: Int, _ b: Int) -> Int { a >= 0 ? a / b : -((-a + b - 1) / b) }

    /// Fills `dst` with `bias[o]` over each [O, planeSize] plane of `images` images (the GEMMs then
    /// accumulate with beta = 1).
    static func fillBias(_ dst: UnsafeMutablePointer<Float>, bias: UnsafePointer<Float>, images: Int, channels: Int, planeSize: Int) {
        OpProfile.measure(.elementwise) { Parallel.forRanges(images * channels, minChunk: max(1, 16_384 / max(planeSize, 1))) { range in
            for plane in range {
                (dst + plane * planeSize).update(repeating: bias[plane % channels], count: planeSize)
            }
        } }
    }

    /// Output tiles (4x4 each, over all images) from which a 3x3 convolution runs as Winograd
    /// F(4x4, 3x3) at f32; below it the 36 products are too narrow, and the weight transform
    /// too large next to them, to beat im2col's one GEMM (`WinogradTimingTests`: at the UNet's
    /// 8x8 level, 56 tiles, Winograd took 1.8x im2col's time; at 16x16, 224 tiles, 0.7-0.9x).
    public static let winogradMinimumTiles = 128

    /// Whether `algorithm` resolves to Winograd for this convolution.
    static func usesWinograd(_ algorithm: ConvolutionAlgorithm, n: Int, h: Int, w: Int, kernel: (Int, Int),
                             stride: Int, padding: Int) -> Bool {
        guard kernel == (3, 3), stride == 1, padding == 1 else { return false }
        switch algorithm {
        case .im2col: return false
        case .winograd: return true
        case .automatic:
            return ComputePrecision.current == .f32 && !OpProfile.isCountOnly
                && n * ((h + 3) / 4) * ((w + 3) / 4) >= winogradMinimumTiles
        }
    }

    static func conv2d(_ x: Tensor, weight: Tensor, bias: Tensor?, stride: Int, padding: Int, columnBudget: Int,
                       algorithm: ConvolutionAlgorithm = .automatic) -> Tensor {
        precondition(x.rank == 4, "conv2d expects x [N, C, H, W], got \(x.shape)")
        precondition(weight.rank == 4, "conv2d expects weight [O, C, kh, kw], got \(weight.shape)")
        let (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let (o, kh, kw) = (weight.shape[0], weight.shape[2], weight.shape[3])
        precondition(weight.shape[1] == c, "conv2d: weight \(weight.shape) does not take \(c) input channels")
        precondition(stride >= 1 && padding >= 0, "conv2d: stride \(stride), padding \(padding)")
        if let bias { precondition(bias.count == o, "conv2d: bias of \(bias.count) values for \(o) output channels") }
        if usesWinograd(algorithm, n: n, h: h, w: w, kernel: (kh, kw), stride: stride, padding: padding) {
            let out = WinogradConvolution.conv3x3(x, weight: weight, bias: bias, budget: columnBudget)
            // FLOPs as the direct convolution counts them (what torch's flop counter reports).
            let tiles = Double(n * ((h + 3) / 4) * ((w + 3) / 4))
            OpProfile.addNominal(2 * Double(o * c) * (9 * Double(n * h * w) - 36 * tiles))
            return out
        }
        let ho = (h + 2 * padding - kh) / stride + 1
        let wo = (w + 2 * padding - kw) / stride + 1
        precondition(h + 2 * padding >= kh && w + 2 * padding >= kw, "conv2d: kernel \(kh)x\(kw) larger than padded input \(x.shape)")
        let planeOut = ho * wo
        var out = Tensor(uninitialized: [n, o, ho, wo])
        let beta: Float = bias == nil ? 0 : 1
        let k = c * kh * kw
        out.withUnsafeMutableBufferPointer { po in
            let dst = po.baseAddress!
            if let bias {
                bias.withUnsafeBufferPointer { fillBias(dst, bias: $0.baseAddress!, images: n, channels: o, planeSize: planeOut) }
            }
            if o == 0 || planeOut == 0 { return }
            x.withUnsafeBufferPointer { px in
                weight.withUnsafeBufferPointer { pw in
                    let src = px.baseAddress!, wp = pw.baseAddress!
                    // Small planes (the UNet's 8x8 and 4x4 levels) make per-image GEMMs too
                    // narrow to run fast (N = 16: a fifth of the speed of N = 1024): several
                    // images then share one GEMM over side-by-side columns.
                    let group = planeOut >= batchColumnsTarget || n == 1 ? 1
                        : max(1, min(n, batchColumnsTarget / planeOut, columnBudget / max(k * planeOut, 1)))
                    if group == 1 && kh == 1 && kw == 1 && stride == 1 && padding == 0 {
                        // Direct GEMM: out[n] [O, HW] = W [O, C] x[n] [C, HW].
                        for image in 0..<n {
                            GEMM.multiply(m: o, n: planeOut, k: c, a: wp, b: src + image * c * h * w,
                                       beta: beta, c: dst + image * o * planeOut)
                        }
                        return
                    }
                    let bandRows = group > 1 ? ho : max(1, min(ho, columnBudget / max(k * wo, 1)))
                    let columnCount = k * bandRows * wo * group
                    let columns = BufferPool.allocate(byteCount: columnCount * 4).bindMemory(to: Float.self, capacity: columnCount)
                    defer { BufferPool.release(UnsafeMutableRawPointer(columns), byteCount: columnCount * 4) }
                    let staged = group > 1 ? BufferPool.allocate(byteCount: o * planeOut * group * 4).bindMemory(to: Float.self, capacity: o * planeOut * group) : nil
                    defer { if let staged { BufferPool.release(UnsafeMutableRawPointer(staged), byteCount: o * planeOut * group * 4) } }
                    var first = 0
                    while first < n {
                        let images = min(group, n - first)
                        var y0 = 0
                        while y0 < ho {
                            let y1 = min(ho, y0 + bandRows)
                            let bandCols = (y1 - y0) * wo
                            let rowLength = bandCols * images
                            OpProfile.measure(.im2col) { Parallel.forEach(k) { row in
                                let ch = row / (kh * kw), ki = (row / kw) % kh, kj = row % kw
                                let lo = max(0, ceilDiv(padding - kj, stride))
                                let hi = max(lo, min(wo, floorDiv(w - 1 + padding - kj, stride) + 1))
                                for j in 0..<images {
                                    let channel = src + (first + j) * c * h * w + ch * h * w
                                    let colRow = columns + row * rowLength + j * bandCols
                                    for oy in y0..<y1 {
                                        let line = colRow + (oy - y0) * wo
                                        let iy = oy * stride - padding + ki
                                        if iy < 0 || iy >= h {
                                            line.update(repeating: 0, count: wo)
                                            continue
                                        }
                                        let srcLine = channel + iy * w + (kj - padding)
                                        for ox in 0..<lo { line[ox] = 0 }
                                        if stride == 1 {
                                            for ox in lo..<hi { line[ox] = srcLine[ox] }
                                        } else {
                                            for ox in lo..<hi { line[ox] = srcLine[ox * stride] }
                                        }
                                        for ox in hi..<wo { line[ox] = 0 }
                                    }
                                }
                            } }
                            if let staged {
                                // [O, images x plane] -> out[image] [O, plane], onto the bias.
                                GEMM.multiply(m: o, n: rowLength, k: k, a: wp, b: columns, c: staged, ldc: rowLength)
                                OpProfile.measure(.copy) { Parallel.forRanges(images * o, minChunk: max(1, 16_384 / planeOut)) { range in
                                    for item in range {
                                        let j = item / o, oc = item % o
                                        let from = staged + oc * rowLength + j * planeOut
                                        let to = dst + ((first + j) * o + oc) * planeOut
                                        if beta == 0 {
                                            to.update(from: from, count: planeOut)
                                        } else {
                                            for e in 0..<planeOut { to[e] += from[e] }
                                        }
                                    }
                                } }
                            } else {
                                GEMM.multiply(m: o, n: bandCols, k: k, a: wp, b: columns, beta: beta,
                                           c: dst + first * o * planeOut + y0 * wo, ldc: planeOut)
                            }
                            y0 = y1
                        }
                        first += images
                    }
                }
            }
        }
        return out
    }
}

/// How `conv2d` computes a convolution.
public enum ConvolutionAlgorithm: Sendable {
    /// Winograd F(4x4, 3x3) for 3x3 stride-1 padding-1 convolutions at f32 precision with at
    /// least `Convolution.winogradMinimumTiles` output tiles; im2col + GEMM otherwise.
    case automatic
    /// im2col + GEMM (one GEMM per image for 1x1 convolutions).
    case im2col
    /// Winograd F(4x4, 3x3); only for 3x3 stride-1 padding-1 convolutions (others use im2col).
    case winograd
}

/// Mirrors torch.nn.functional.conv2d(x, weight, bias, stride, padding) for groups 1, dilation 1
/// and symmetric zero padding: x [N, C, H, W], weight [O, C, kh, kw], bias [O] or nil, output
/// [N, O, (H + 2p - kh) / s + 1, (W + 2p - kw) / s + 1]. 1x1 stride-1 convolutions are one GEMM
/// per image; 3x3 "same" convolutions run as Winograd F(4x4, 3x3) (`WinogradConvolution`) at
/// f32; others go through an im2col buffer (allocated once per call, filled on all threads,
/// banded over output rows when it would exceed `im2colBudget` floats) and a GEMM per band.
/// `im2colBudget` also bounds each of Winograd's two tile buffers.
public func conv2d(_ x: Tensor, weight: Tensor, bias: Tensor?, stride: Int = 1, padding: Int = 0,
                   im2colBudget: Int = Convolution.defaultColumnBudget,
                   algorithm: ConvolutionAlgorithm = .automatic) -> Tensor {
    Convolution.conv2d(x, weight: weight, bias: bias, stride: stride, padding: padding, columnBudget: im2colBudget,
                       algorithm: algorithm)
}
