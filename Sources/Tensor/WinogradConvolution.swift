/// 3x3, stride-1, padding-1 convolutions by Winograd's minimal filtering F(4x4, 3x3)
/// (Lavin & Gray, "Fast Algorithms for Convolutional Neural Networks", 2016): each 4x4 output
/// tile is `Aᵀ [(G g Gᵀ) ⊙ (Bᵀ d B)] A` for the 6x6 input tile `d` and 3x3 filter `g`, so the
/// products take 36 multiply-adds per tile and channel pair instead of 144. The element-wise
/// products summed over input channels are 36 GEMMs `[O, C] x [C, tiles]`; the transforms are
/// cheap passes over memory. Same result as torch.nn.functional.conv2d(x, w, b, padding=1)
/// up to rounding (the transforms' constants 1/4, 1/6, 1/24 and 2, 4, 8 grow f32 rounding
/// error a few times over direct summation; `WinogradTests` bounds it).
///
/// No im2col buffer exists: tiles are processed in chunks whose transformed inputs and
/// products fit in `budget` floats each.
enum WinogradConvolution {
    /// x [N, C, H, W], weight [O, C, 3, 3], bias [O] or nil; `budget`: floats per tile buffer.
    static func conv3x3(_ x: Tensor, weight: Tensor, bias: Tensor?, budget: Int) -> Tensor {
        let (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let o = weight.shape[0]
        precondition(weight.shape == [o, c, 3, 3], "winograd: weight \(weight.shape) for \(c) channels")
        var out = Tensor(uninitialized: [n, o, h, w])
        if n == 0 || o == 0 || h == 0 || w == 0 { return out }
        let tilesY = (h + 3) / 4, tilesX = (w + 3) / 4
        let tilesPerImage = tilesY * tilesX
        let tiles = n * tilesPerImage
        let chunk = max(1, min(tiles, budget / (36 * max(c, o, 1))))
        let u = transformedWeights(weight)
        defer { u.deallocate() }
        let vCount = 36 * c * chunk, mCount = 36 * o * chunk
        let v = BufferPool.allocate(byteCount: vCount * 4).bindMemory(to: Float.self, capacity: vCount)
        let m = BufferPool.allocate(byteCount: mCount * 4).bindMemory(to: Float.self, capacity: mCount)
        defer {
            BufferPool.release(UnsafeMutableRawPointer(v), byteCount: vCount * 4)
            BufferPool.release(UnsafeMutableRawPointer(m), byteCount: mCount * 4)
        }
        let biasValues = bias?.scalars
        out.withUnsafeMutableBufferPointer { po in
            x.withUnsafeBufferPointer { px in
                let src = px.baseAddress!, dst = po.baseAddress!
                var first = 0
                while first < tiles {
                    let count = min(chunk, tiles - first)
                    OpProfile.measure(.im2col) {
                        Parallel.forEach(c) { ch in
                            for t in 0..<count {
                                let tile = first + t
                                let image = tile / tilesPerImage, ty = (tile % tilesPerImage) / tilesX, tx = tile % tilesX
                                inputTile(src + (image * c + ch) * h * w, h: h, w: w, y0: 4 * ty - 1, x0: 4 * tx - 1,
                                          to: v + ch * count + t, stride: c * count)
                            }
                        }
                    }
                    for xi in 0..<36 {
                        GEMM.multiply(precision: .f32, m: o, n: count, k: c, a: u + xi * o * c, b: v + xi * c * count,
                                      c: m + xi * o * count)
                    }
                    OpProfile.measure(.im2col) {
                        Parallel.forEach(o) { oc in
                            let b = biasValues?[oc] ?? 0
                            for t in 0..<count {
                                let tile = first + t
                                let image = tile / tilesPerImage, ty = (tile % tilesPerImage) / tilesX, tx = tile % tilesX
                                outputTile(m + oc * count + t, stride: o * count, bias: b,
                                           to: dst + (image * o + oc) * h * w, h: h, w: w, y0: 4 * ty, x0: 4 * tx)
                            }
                        }
                    }
                    first += count
                }
            }
        }
        return out
    }

    /// `G g Gᵀ` for every (output, input) channel pair, stored `[36][O][C]`.
    static func transformedWeights(_ weight: Tensor) -> UnsafeMutablePointer<Float> {
        let (o, c) = (weight.shape[0], weight.shape[1])
        let u = UnsafeMutablePointer<Float>.allocate(capacity: 36 * o * c)
        weight.withUnsafeBufferPointer { pw in
            let g = pw.baseAddress!
            Parallel.forRanges(o * c, minChunk: 256) { range in
                for pair in range {
                    let f = g + pair * 9
                    // G g: 6 rows of the 3 filter columns (SIMD lanes 0..2).
                    let g0 = SIMD4<Float>(f[0], f[1], f[2], 0), g1 = SIMD4<Float>(f[3], f[4], f[5], 0)
                    let g2 = SIMD4<Float>(f[6], f[7], f[8], 0)
                    let gg = (g0 / 4, -(g0 + g1 + g2) / 6, -(g0 - g1 + g2) / 6,
                              g0 / 24 + g1 / 12 + g2 / 6, g0 / 24 - g1 / 12 + g2 / 6, g2)
                    // (G g) Gᵀ: the same combinations of each row's three values.
                    func store(_ i: Int, _ r: SIMD4<Float>) {
                        let (a, b, c2) = (r[0], r[1], r[2])
                        let base = u + 6 * i * o * c + pair
                        base[0] = a / 4
                        base[o * c] = -(a + b + c2) / 6
                        base[2 * o * c] = -(a - b + c2) / 6
                        base[3 * o * c] = a / 24 + b / 12 + c2 / 6
                        base[4 * o * c] = a / 24 - b / 12 + c2 / 6
                        base[5 * o * c] = c2
                    }
                    store(0, gg.0); store(1, gg.1); store(2, gg.2); store(3, gg.3); store(4, gg.4); store(5, gg.5)
                }
            }
        }
        return u
    }

    /// `Bᵀ d B` of the 6x6 tile of `plane` at (y0, x0) (zero outside the plane), element `k`
    /// written to `to[k * stride]`.
    @inline(__always)
    static func inputTile(_ plane: UnsafePointer<Float>, h: Int, w: Int, y0: Int, x0: Int,
                          to dst: UnsafeMutablePointer<Float>, stride: Int) {
        let interior = y0 >= 0 && x0 >= 0 && y0 + 6 <= h && x0 + 6 <= w
        func row(_ i: Int) -> SIMD8<Float> {
            var r = SIMD8<Float>()
            let y = y0 + i
            if y < 0 || y >= h { return r }
            let line = plane + y * w
            if interior {
                for j in 0..<6 { r[j] = line[x0 + j] }
            } else {
                for j in 0..<6 where x0 + j >= 0 && x0 + j < w { r[j] = line[x0 + j] }
            }
            return r
        }
        let d = (row(0), row(1), row(2), row(3), row(4), row(5))
        // Bᵀ d: combinations of rows.
        let t0 = 4 * d.0 - 5 * d.2 + d.4
        let t1 = -4 * d.1 - 4 * d.2 + d.3 + d.4
        let t2 = 4 * d.1 - 4 * d.2 - d.3 + d.4
        let t3 = -2 * d.1 - d.2 + 2 * d.3 + d.4
        let t4 = 2 * d.1 - d.2 - 2 * d.3 + d.4
        let t5 = 4 * d.1 - 5 * d.3 + d.5
        // (Bᵀ d) B: the same combinations of each row's elements.
        func store(_ i: Int, _ t: SIMD8<Float>) {
            let out = dst + 6 * i * stride
            out[0] = 4 * t[0] - 5 * t[2] + t[4]
            out[stride] = -4 * t[1] - 4 * t[2] + t[3] + t[4]
            out[2 * stride] = 4 * t[1] - 4 * t[2] - t[3] + t[4]
            out[3 * stride] = -2 * t[1] - t[2] + 2 * t[3] + t[4]
            out[4 * stride] = 2 * t[1] - t[2] - 2 * t[3] + t[4]
            out[5 * stride] = 4 * t[1] - 5 * t[3] + t[5]
        }
        store(0, t0); store(1, t1); store(2, t2); store(3, t3); store(4, t4); store(5, t5)
    }

    /// `Aᵀ m A + bias` for the 36 products at `m[k * stride]`, written to the 4x4 block of
    /// `plane` at (y0, x0), cropped to the plane.
    @inline(__always)
    static func outputTile(_ m: UnsafePointer<Float>, stride: Int, bias: Float,
                           to plane: UnsafeMutablePointer<Float>, h: Int, w: Int, y0: Int, x0: Int) {
        func row(_ i: Int) -> SIMD8<Float> {
            var r = SIMD8<Float>()
            for j in 0..<6 { r[j] = m[(6 * i + j) * stride] }
            return r
        }
        let m0 = row(0), m1 = row(1), m2 = row(2), m3 = row(3), m4 = row(4), m5 = row(5)
        // Aᵀ m: 4 rows.
        let r0 = m0 + m1 + m2 + m3 + m4
        let r1 = m1 - m2 + 2 * (m3 - m4)
        let r2 = m1 + m2 + 4 * (m3 + m4)
        let r3 = m1 - m2 + 8 * (m3 - m4) + m5
        let rows = min(4, h - y0), cols = min(4, w - x0)
        func store(_ i: Int, _ r: SIMD8<Float>) {
            guard i < rows else { return }
            let line = plane + (y0 + i) * w + x0
            line[0] = r[0] + r[1] + r[2] + r[3] + r[4] + bias
            if cols > 1 { line[1] = r[1] - r[2] + 2 * (r[3] - r[4]) + bias }
            if cols > 2 { line[2] = r[1] + r[2] + 4 * (r[3] + r[4]) + bias }
            if cols > 3 { line[3] = r[1] - r[2] + 8 * (r[3] - r[4]) + r[5] + bias }
        }
        store(0, r0); store(1, r1); store(2, r2); store(3, r3)
    }
}
