/// One global palette of at most 256 colours for all frames of a GIF, and the mapping of RGB
/// pixels to palette indices.
///
/// Building: pixels are sampled evenly over all frames (every pixel when there are at most
/// `sampleLimit`); if the sample has at most `maxColors` distinct colours they are the palette
/// (lossless); otherwise Heckbert's median cut splits the colour histogram: repeatedly the box with
/// the largest (pixel count x longest side) is cut at the count-weighted median of its longest
/// channel, and each final box contributes its count-weighted mean colour.
///
/// Mapping: each pixel takes the nearest palette colour (squared RGB distance), memoised per
/// distinct colour. With `.ordered` dithering an 8x8 Bayer threshold in [-8, +8) is added to each
/// channel first; dithering is skipped when the palette holds every colour exactly.
struct GIFPalette {
    /// Palette colours as 0xRRGGBB.
    let colors: [UInt32]
    /// Whether every sampled colour is in the palette exactly (then no dithering is needed).
    let isExact: Bool

    static func build(from frames: [RGBImage], maxColors: Int = 256, sampleLimit: Int = 1 << 20) -> GIFPalette {
        precondition(maxColors >= 1 && maxColors <= 256)
        let total = frames.reduce(0) { $0 + $1.pixelCount }
        let step = max(1, (total + sampleLimit - 1) / sampleLimit)
        var keys: [UInt32] = []
        keys.reserveCapacity(total / step + frames.count)
        var skip = 0
        for frame in frames {
            frame.pixels.withUnsafeBufferPointer { p in
                var i = skip
                while i < frame.pixelCount {
                    keys.append(UInt32(p[i * 3]) << 16 | UInt32(p[i * 3 + 1]) << 8 | UInt32(p[i * 3 + 2]))
                    i += step
                }
                skip = i - frame.pixelCount
            }
        }
        keys.sort()
        // Distinct colours with their counts.
        var entries: [(color: UInt32, count: Int)] = []
        for k in keys {
            if let last = entries.last, last.color == k {
                entries[entries.count - 1].count += 1
            } else {
                entries.append((k, 1))
            }
        }
        if entries.count <= maxColors {
            return GIFPalette(colors: entries.map(\.color), isExact: step == 1)
        }
        return GIFPalette(colors: medianCut(entries, maxColors: maxColors), isExact: false)
    }

    private static func channel(_ c: UInt32, _ ch: Int) -> Int { Int((c >> UInt32(16 - 8 * ch)) & 0xFF) }

    private static func medianCut(_ input: [(color: UInt32, count: Int)], maxColors: Int) -> [UInt32] {
        var entries = input
        struct Box { var start: Int; var end: Int; var count: Int; var longest: Int; var range: Int }
        func makeBox(_ start: Int, _ end: Int) -> Box {
            var lo = [255, 255, 255], hi = [0, 0, 0]
            var count = 0
            for i in start..<end {
                count += entries[i].count
                for ch in 0..<3 {
                    let v = channel(entries[i].color, ch)
                    lo[ch] = min(lo[ch], v); hi[ch] = max(hi[ch], v)
                }
            }
            let ranges = (0..<3).map { hi[$0] - lo[$0] }
            let longest = ranges.indices.max { ranges[$0] < ranges[$1] }!
            return Box(start: start, end: end, count: count, longest: longest, range: ranges[longest])
        }
        var boxes = [makeBox(0, entries.count)]
        while boxes.count < maxColors {
            // The splittable box with the largest population x longest side.
            guard let pick = boxes.indices.filter({ boxes[$0].end - boxes[$0].start > 1 && boxes[$0].range > 0 })
                .max(by: { boxes[$0].count * boxes[$0].range < boxes[$1].count * boxes[$1].range }) else { break }
            let box = boxes[pick]
            let ch = box.longest
            entries[box.start..<box.end].sort { channel($0.color, ch) < channel($1.color, ch) }
            // Weighted median, keeping both halves non-empty.
            var running = 0
            var cut = box.start + 1
            for i in box.start..<box.end {
                running += entries[i].count
                if running * 2 >= box.count { cut = i + 1; break }
            }
            cut = min(max(cut, box.start + 1), box.end - 1)
            boxes[pick] = makeBox(box.start, cut)
            boxes.append(makeBox(cut, box.end))
        }
        return boxes.map { box in
            var sums = [0, 0, 0]
            for i in box.start..<box.end {
                for ch in 0..<3 { sums[ch] += channel(entries[i].color, ch) * entries[i].count }
            }
            let mean = sums.map { UInt32(($0 + box.count / 2) / box.count) }
            return mean[0] << 16 | mean[1] << 8 | mean[2]
        }
    }

    /// 8x8 Bayer matrix (values 0...63).
    private static let bayer: [Int] = [
        0, 32, 8, 40, 2, 34, 10, 42,
        48, 16, 56, 24, 50, 18, 58, 26,
        12, 44, 4, 36, 14, 46, 6, 38,
        60, 28, 52, 20, 62, 30, 54, 22,
        3, 35, 11, 43, 1, 33, 9, 41,
        51, 19, 59, 27, 49, 17, 57, 25,
        15, 47, 7, 39, 13, 45, 5, 37,
        63, 31, 55, 23, 61, 29, 53, 21,
    ]

    /// Maps images to palette indices, remembering the answer for every colour seen.
    final class Mapper {
        let palette: GIFPalette
        let dither: GIFDither
        private var cache: [UInt8]
        private var known: [UInt64]
        private let r: [Int], g: [Int], b: [Int]

        init(palette: GIFPalette, dither: GIFDither) {
            self.palette = palette
            self.dither = palette.isExact ? .none : dither
            cache = [UInt8](repeating: 0, count: 1 << 24)
            known = [UInt64](repeating: 0, count: (1 << 24) / 64)
            r = palette.colors.map { GIFPalette.channel($0, 0) }
            g = palette.colors.map { GIFPalette.channel($0, 1) }
            b = palette.colors.map { GIFPalette.channel($0, 2) }
        }

        private func nearest(_ cr: Int, _ cg: Int, _ cb: Int) -> UInt8 {
            var best = 0, bestDistance = Int.max
            for i in 0..<r.count {
                let dr = r[i] - cr, dg = g[i] - cg, db = b[i] - cb
                let d = dr * dr + dg * dg + db * db
                if d < bestDistance { bestDistance = d; best = i }
            }
            return UInt8(best)
        }

        /// Writes the palette index of every pixel of `image` into `rows` (`stride` bytes per row).
        func map(_ image: RGBImage, into rows: UnsafeMutablePointer<UInt8>, stride: Int) {
            let w = image.width
            let dithered = dither == .ordered
            image.pixels.withUnsafeBufferPointer { px in
                for y in 0..<image.height {
                    let out = rows + y * stride
                    for x in 0..<w {
                        let i = (y * w + x) * 3
                        var cr = Int(px[i]), cg = Int(px[i + 1]), cb = Int(px[i + 2])
                        if dithered {
                            let t = GIFPalette.bayer[(y & 7) * 8 + (x & 7)] / 4 - 8  // -8 ... 7
                            cr = min(max(cr + t, 0), 255); cg = min(max(cg + t, 0), 255); cb = min(max(cb + t, 0), 255)
                        }
                        let key = cr << 16 | cg << 8 | cb
                        let bit = UInt64(1) << UInt64(key & 63)
                        if known[key >> 6] & bit != 0 {
                            out[x] = cache[key]
                        } else {
                            let index = nearest(cr, cg, cb)
                            cache[key] = index
                            known[key >> 6] |= bit
                            out[x] = index
                        }
                    }
                }
            }
        }
    }
}
