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
        defer { BufferPool.release(UnsafeMutableRawPointer(u), byteCount: 36 * o * c * 4) }
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
                        Parallel.forRanges(c, minChunk: 1) { channels in
                            transformInputs(src, channels: channels, c: c, h: h, w: w, tilesX: tilesX,
                                            tilesPerImage: tilesPerImage, first: first, count: count, to: v)
                        }
                    }
                    for xi in 0..<36 {
                        GEMM.multiply(precision: .f32, m: o, n: count, k: c, a: u + xi * o * c, b: v + xi * c * count,
                                      c: m + xi * o * count)
                    }
                    OpProfile.measure(.im2col) {
                        Parallel.forRanges(o, minChunk: 1) { outputs in
                            transformOutputs(m, outputs: outputs, o: o, h: h, w: w, tilesX: tilesX, tilesPerImage: tilesPerImage,
                                             first: first, count: count, bias: biasValues, to: dst)
                        }
                    }
                    first += count
                }
            }
        }
        return out
    }

    /// `G g Gᵀ` for every (output, input) channel pair, stored `[36][O][C]`, in a `BufferPool`
    /// buffer (a fresh one of this size costs more in page faults than the transform).
    static func transformedWeights(_ weight: Tensor) -> UnsafeMutablePointer<Float> {
        let (o, c) = (weight.shape[0], weight.shape[1])
        let u = BufferPool.allocate(byteCount: 36 * o * c * 4).bindMemory(to: Float.self, capacity: 36 * o * c)
        // G's fractions as products (a division per element costs more than the whole transform).
        let q4: Float = 1.0 / 4, q6: Float = 1.0 / 6, q12: Float = 1.0 / 12, q24: Float = 1.0 / 24
        weight.withUnsafeBufferPointer { pw in
            let g = pw.baseAddress!
            Parallel.forRanges(o * c, minChunk: 256) { range in
                for pair in range {
                    let f = g + pair * 9
                    // G g: 6 rows of the 3 filter columns (SIMD lanes 0..2).
                    let g0 = SIMD4<Float>(f[0], f[1], f[2], 0), g1 = SIMD4<Float>(f[3], f[4], f[5], 0)
                    let g2 = SIMD4<Float>(f[6], f[7], f[8], 0)
                    let gg = (g0 * q4, -(g0 + g1 + g2) * q6, -(g0 - g1 + g2) * q6,
                              g0 * q24 + g1 * q12 + g2 * q6, g0 * q24 - g1 * q12 + g2 * q6, g2)
                    // (G g) Gᵀ: the same combinations of each row's three values.
                    func store(_ i: Int, _ r: SIMD4<Float>) {
                        let (a, b, c2) = (r[0], r[1], r[2])
                        let base = u + 6 * i * o * c + pair
                        base[0] = a * q4
                        base[o * c] = -(a + b + c2) * q6
                        base[2 * o * c] = -(a - b + c2) * q6
                        base[3 * o * c] = a * q24 + b * q12 + c2 * q6
                        base[4 * o * c] = a * q24 - b * q12 + c2 * q6
                        base[5 * o * c] = c2
                    }
                    store(0, gg.0); store(1, gg.1); store(2, gg.2); store(3, gg.3); store(4, gg.4); store(5, gg.5)
                }
            }
        }
        return u
    }

    /// `Bᵀ d B` of every 6x6 input tile of `channels` in tiles `first..<first+count`, element
    /// `k` of tile `t` and channel `ch` written to `v[(k * c + ch) * count + t - first]`.
    /// Per tile row it first forms `Bᵀ d` for the whole strip (6 padded rows, loops over the
    /// width that vectorise), then each tile's `(Bᵀ d) B` from 6 contiguous values per row.
    static func transformInputs(_ src: UnsafePointer<Float>, channels: Range<Int>, c: Int, h: Int, w: Int, tilesX: Int,
                                tilesPerImage: Int, first: Int, count: Int, to v: UnsafeMutablePointer<Float>) {
        let wp = 4 * tilesX + 2
        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: 12 * wp)
        defer { scratch.deallocate() }
        let rows = scratch, t = scratch + 6 * wp
        let planeStride = c * count
        for ch in channels {
            var tile = first
            while tile < first + count {
                let image = tile / tilesPerImage, ty = (tile % tilesPerImage) / tilesX, tx0 = tile % tilesX
                let end = min(first + count, tile - tx0 + tilesX)
                let plane = src + (image * c + ch) * h * w
                rows.update(repeating: 0, count: 6 * wp)
                for i in 0..<6 {
                    let y = 4 * ty - 1 + i
                    if y >= 0 && y < h { (rows + i * wp + 1).update(from: plane + y * w, count: w) }
                }
                let r0 = rows, r1 = rows + wp, r2 = rows + 2 * wp, r3 = rows + 3 * wp, r4 = rows + 4 * wp, r5 = rows + 5 * wp
                for x in 0..<wp { t[x] = 4 * r0[x] - 5 * r2[x] + r4[x] }
                for x in 0..<wp { t[wp + x] = -4 * (r1[x] + r2[x]) + r3[x] + r4[x] }
                for x in 0..<wp { t[2 * wp + x] = 4 * (r1[x] - r2[x]) - r3[x] + r4[x] }
                for x in 0..<wp { t[3 * wp + x] = 2 * (r3[x] - r1[x]) - r2[x] + r4[x] }
                for x in 0..<wp { t[4 * wp + x] = 2 * (r1[x] - r3[x]) - r2[x] + r4[x] }
                for x in 0..<wp { t[5 * wp + x] = 4 * r1[x] - 5 * r3[x] + r5[x] }
                for index in tile..<end {
                    let x0 = 4 * (tx0 + index - tile)
                    let out = v + ch * count + (index - first)
                    for k in 0..<6 {
                        let d = t + k * wp + x0
                        let o = out + 6 * k * planeStride
                        o[0] = 4 * d[0] - 5 * d[2] + d[4]
                        o[planeStride] = -4 * (d[1] + d[2]) + d[3] + d[4]
                        o[2 * planeStride] = 4 * (d[1] - d[2]) - d[3] + d[4]
                        o[3 * planeStride] = 2 * (d[3] - d[1]) - d[2] + d[4]
                        o[4 * planeStride] = 2 * (d[1] - d[3]) - d[2] + d[4]
                        o[5 * planeStride] = 4 * d[1] - 5 * d[3] + d[5]
                    }
                }
                tile = end
            }
        }
    }

    /// `Aᵀ m A + bias` for output channels `outputs` of tiles `first..<first+count`, from the 36
    /// products at `m[(k * o + oc) * count + t - first]`, written into the output planes
    /// (4x4 blocks, cropped at the right and bottom edges).
    static func transformOutputs(_ m: UnsafePointer<Float>, outputs: Range<Int>, o: Int, h: Int, w: Int, tilesX: Int,
                                 tilesPerImage: Int, first: Int, count: Int, bias: [Float]?,
                                 to dst: UnsafeMutablePointer<Float>) {
        let planeStride = o * count
        for oc in outputs {
            let b = bias?[oc] ?? 0
            for t in 0..<count {
                let tile = first + t
                let image = tile / tilesPerImage, ty = (tile % tilesPerImage) / tilesX, tx = tile % tilesX
                let p = m + oc * count + t
                // Aᵀ m: 4 rows of 6, from the 6 rows of m.
                var r = (SIMD8<Float>(), SIMD8<Float>(), SIMD8<Float>(), SIMD8<Float>())
                for j in 0..<6 {
                    let m0 = p[j * planeStride], m1 = p[(6 + j) * planeStride], m2 = p[(12 + j) * planeStride]
                    let m3 = p[(18 + j) * planeStride], m4 = p[(24 + j) * planeStride], m5 = p[(30 + j) * planeStride]
                    r.0[j] = m0 + m1 + m2 + m3 + m4
                    r.1[j] = m1 - m2 + 2 * (m3 - m4)
                    r.2[j] = m1 + m2 + 4 * (m3 + m4)
                    r.3[j] = m1 - m2 + 8 * (m3 - m4) + m5
                }
                let y0 = 4 * ty, x0 = 4 * tx
                let rowsLeft = min(4, h - y0), cols = min(4, w - x0)
                let plane = dst + (image * o + oc) * h * w
                func store(_ i: Int, _ q: SIMD8<Float>) {
                    guard i < rowsLeft else { return }
                    let line = plane + (y0 + i) * w + x0
                    let values = (q[0] + q[1] + q[2] + q[3] + q[4], q[1] - q[2] + 2 * (q[3] - q[4]),
                                  q[1] + q[2] + 4 * (q[3] + q[4]), q[1] - q[2] + 8 * (q[3] - q[4]) + q[5])
                    if cols == 4 {
                        line[0] = values.0 + b; line[1] = values.1 + b; line[2] = values.2 + b; line[3] = values.3 + b
                    } else {
                        line[0] = values.0 + b
                        if cols > 1 { line[1] = values.1 + b }
                        if cols > 2 { line[2] = values.2 + b }
                    }
                }
                store(0, r.0); store(1, r.1); store(2, r.2); store(3, r.3)
            }
        }
    }
}
