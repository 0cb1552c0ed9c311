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
    /// Per strip of tiles (one tile row) the 6 padded input rows are split by column phase
    /// (`x mod 4`: tile `q` starts at column `4q`, so its 6 columns are phases 0-3 of `q` and
    /// phases 0-1 of `q + 1`); then `Bᵀ d` and `(Bᵀ d) B` are loops over consecutive tiles that
    /// vectorise, and each of the 36 outputs of a strip is one contiguous run of `v`.
    static func transformInputs(_ src: UnsafePointer<Float>, channels: Range<Int>, c: Int, h: Int, w: Int, tilesX: Int,
                                tilesPerImage: Int, first: Int, count: Int, to v: UnsafeMutablePointer<Float>) {
        let qn = tilesX + 1          // tiles per phase row, plus one for the last tile's columns 4 and 5
        let rowFloats = 4 * qn       // one input row, phase-split: [phase][q]
        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: 12 * rowFloats)
        defer { scratch.deallocate() }
        let rows = scratch, t = scratch + 6 * rowFloats
        let planeStride = c * count
        for ch in channels {
            var tile = first
            while tile < first + count {
                let image = tile / tilesPerImage, ty = (tile % tilesPerImage) / tilesX, tx0 = tile % tilesX
                let end = min(first + count, tile - tx0 + tilesX)
                let plane = src + (image * c + ch) * h * w
                rows.update(repeating: 0, count: 6 * rowFloats)
                for i in 0..<6 {
                    let y = 4 * ty - 1 + i
                    guard y >= 0 && y < h else { continue }
                    let line = plane + y * w, row = rows + i * rowFloats
                    // Padded column x = input column x - 1 goes to phase x % 4, slot x / 4.
                    for x in 1...w { row[(x & 3) * qn + (x >> 2)] = line[x - 1] }
                }
                // Bᵀ d over every column at once (the rows' phase layouts line up).
                let r0 = rows, r1 = rows + rowFloats, r2 = rows + 2 * rowFloats
                let r3 = rows + 3 * rowFloats, r4 = rows + 4 * rowFloats, r5 = rows + 5 * rowFloats
                for x in 0..<rowFloats { t[x] = 4 * r0[x] - 5 * r2[x] + r4[x] }
                for x in 0..<rowFloats { t[rowFloats + x] = -4 * (r1[x] + r2[x]) + r3[x] + r4[x] }
                for x in 0..<rowFloats { t[2 * rowFloats + x] = 4 * (r1[x] - r2[x]) - r3[x] + r4[x] }
                for x in 0..<rowFloats { t[3 * rowFloats + x] = 2 * (r3[x] - r1[x]) - r2[x] + r4[x] }
                for x in 0..<rowFloats { t[4 * rowFloats + x] = 2 * (r1[x] - r3[x]) - r2[x] + r4[x] }
                for x in 0..<rowFloats { t[5 * rowFloats + x] = 4 * r1[x] - 5 * r3[x] + r5[x] }
                // (Bᵀ d) B for the strip's tiles tx0..<tx0 + n, one output element at a time.
                let n = end - tile
                for k in 0..<6 {
                    let row = t + k * rowFloats + tx0
                    let p0 = row, p1 = row + qn, p2 = row + 2 * qn, p3 = row + 3 * qn, p4 = row + 1, p5 = row + qn + 1
                    let out = v + 6 * k * planeStride + ch * count + (tile - first)
                    let o0 = out, o1 = out + planeStride, o2 = out + 2 * planeStride
                    let o3 = out + 3 * planeStride, o4 = out + 4 * planeStride, o5 = out + 5 * planeStride
                    for q in 0..<n { o0[q] = 4 * p0[q] - 5 * p2[q] + p4[q] }
                    for q in 0..<n { o1[q] = -4 * (p1[q] + p2[q]) + p3[q] + p4[q] }
                    for q in 0..<n { o2[q] = 4 * (p1[q] - p2[q]) - p3[q] + p4[q] }
                    for q in 0..<n { o3[q] = 2 * (p3[q] - p1[q]) - p2[q] + p4[q] }
                    for q in 0..<n { o4[q] = 2 * (p1[q] - p3[q]) - p2[q] + p4[q] }
                    for q in 0..<n { o5[q] = 4 * p1[q] - 5 * p3[q] + p5[q] }
                }
                tile = end
            }
        }
    }

    /// `Aᵀ m A + bias` for output channels `outputs` of tiles `first..<first+count`, from the 36
    /// products at `m[(k * o + oc) * count + t - first]`, written into the output planes
    /// (4x4 blocks, cropped at the right and bottom edges). Eight tiles at a time, one per SIMD
    /// lane (the products of consecutive tiles are contiguous); then each lane's 4x4 block is
    /// stored.
    static func transformOutputs(_ m: UnsafePointer<Float>, outputs: Range<Int>, o: Int, h: Int, w: Int, tilesX: Int,
                                 tilesPerImage: Int, first: Int, count: Int, bias: [Float]?,
                                 to dst: UnsafeMutablePointer<Float>) {
        typealias V = SIMD8<Float>
        let planeStride = o * count
        // The 16 outputs of 8 tiles: block[(4 * row + col) * 8 + lane].
        let block = UnsafeMutablePointer<Float>.allocate(capacity: 16 * 8)
        defer { block.deallocate() }
        for oc in outputs {
            let b = bias?[oc] ?? 0
            var t = 0
            while t < count {
                let lanes = min(8, count - t)
                let p = m + oc * count + t
                @inline(__always) func load(_ k: Int) -> V {
                    let q = p + k * planeStride
                    if lanes == 8 { return UnsafeRawPointer(q).loadUnaligned(as: V.self) }
                    var x = V()
                    for l in 0..<lanes { x[l] = q[l] }
                    return x
                }
                // Aᵀ m A: columns first (rows of m combined), then rows.
                @inline(__always) func columns(_ j: Int) -> (V, V, V, V) {
                    let m0 = load(j), m1 = load(6 + j), m2 = load(12 + j), m3 = load(18 + j), m4 = load(24 + j), m5 = load(30 + j)
                    let s12 = m1 + m2, d12 = m1 - m2, s34 = m3 + m4, d34 = m3 - m4
                    return (m0 + s12 + s34, d12 + 2 * d34, s12 + 4 * s34, d12 + 8 * d34 + m5)
                }
                let c0 = columns(0), c1 = columns(1), c2 = columns(2), c3 = columns(3), c4 = columns(4), c5 = columns(5)
                @inline(__always) func rows(_ row: Int, _ q0: V, _ q1: V, _ q2: V, _ q3: V, _ q4: V, _ q5: V) {
                    let s12 = q1 + q2, d12 = q1 - q2, s34 = q3 + q4, d34 = q3 - q4, bv = V(repeating: b)
                    let out = block + 32 * row
                    UnsafeMutableRawPointer(out).storeBytes(of: q0 + s12 + s34 + bv, as: V.self)
                    UnsafeMutableRawPointer(out + 8).storeBytes(of: d12 + 2 * d34 + bv, as: V.self)
                    UnsafeMutableRawPointer(out + 16).storeBytes(of: s12 + 4 * s34 + bv, as: V.self)
                    UnsafeMutableRawPointer(out + 24).storeBytes(of: d12 + 8 * d34 + q5 + bv, as: V.self)
                }
                rows(0, c0.0, c1.0, c2.0, c3.0, c4.0, c5.0)
                rows(1, c0.1, c1.1, c2.1, c3.1, c4.1, c5.1)
                rows(2, c0.2, c1.2, c2.2, c3.2, c4.2, c5.2)
                rows(3, c0.3, c1.3, c2.3, c3.3, c4.3, c5.3)
                for l in 0..<lanes {
                    let tile = first + t + l
                    let image = tile / tilesPerImage, ty = (tile % tilesPerImage) / tilesX, tx = tile % tilesX
                    let y0 = 4 * ty, x0 = 4 * tx
                    let rowsLeft = min(4, h - y0), cols = min(4, w - x0)
                    let plane = dst + (image * o + oc) * h * w + y0 * w + x0
                    for row in 0..<rowsLeft {
                        let line = plane + row * w, values = block + 32 * row + l
                        if cols == 4 {
                            line[0] = values[0]; line[1] = values[8]; line[2] = values[16]; line[3] = values[24]
                        } else {
                            for col in 0..<cols { line[col] = values[8 * col] }
                        }
                    }
                }
                t += lanes
            }
        }
    }
}
