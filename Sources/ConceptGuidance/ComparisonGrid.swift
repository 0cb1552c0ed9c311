/// Lays videos side by side with a label band over each, for `img2vid compare`: frame i of the output is
/// frame i of every variant, left to right, separated by `gap` black columns, under a black band holding
/// each variant's label in white (BitmapFont), centred over its tile. Sizes are rounded up to even numbers
/// (H.264 4:2:0 needs them); the padding is black.
public enum ComparisonGrid {
    public static let gap = 4

    /// The label scale for tiles `tileWidth` wide: as large as fits (1 to 4).
    public static func labelScale(tileWidth: Int, labels: [String]) -> Int {
        let widest = labels.map { BitmapFont.width(of: $0, scale: 1) }.max() ?? 1
        return max(1, min(4, (tileWidth - 4) / max(widest, 1)))
    }

    /// Output size for `count` tiles of `tileWidth` x `tileHeight` with a label band of `scale`.
    public static func size(count: Int, tileWidth: Int, tileHeight: Int, scale: Int) -> (width: Int, height: Int, band: Int) {
        let band = BitmapFont.glyphHeight * scale + 2 * (2 + scale)
        let w = count * tileWidth + (count - 1) * gap
        let h = tileHeight + band
        return (w + w % 2, h + h % 2, band)
    }

    /// tiles: one RGB8 frame (`tileWidth * tileHeight * 3` bytes) per variant; returns the composed RGB8 frame.
    public static func compose(tiles: [[UInt8]], tileWidth: Int, tileHeight: Int, labels: [String]) -> (pixels: [UInt8], width: Int, height: Int) {
        precondition(tiles.count == labels.count && !tiles.isEmpty, "one label per tile")
        precondition(tiles.allSatisfy { $0.count == tileWidth * tileHeight * 3 }, "tiles must be tileWidth x tileHeight RGB8")
        let scale = labelScale(tileWidth: tileWidth, labels: labels)
        let (width, height, band) = size(count: tiles.count, tileWidth: tileWidth, tileHeight: tileHeight, scale: scale)
        var out = [UInt8](repeating: 0, count: width * height * 3)
        for (t, tile) in tiles.enumerated() {
            let x0 = t * (tileWidth + gap)
            for y in 0..<tileHeight {
                let src = y * tileWidth * 3, dst = ((band + y) * width + x0) * 3
                out.replaceSubrange(dst..<(dst + tileWidth * 3), with: tile[src..<(src + tileWidth * 3)])
            }
            let textWidth = BitmapFont.width(of: labels[t], scale: scale)
            BitmapFont.draw(labels[t], into: &out, width: width, height: height,
                            x: x0 + max(0, (tileWidth - textWidth) / 2), y: 2 + scale, scale: scale, color: (255, 255, 255))
        }
        return (out, width, height)
    }
}
