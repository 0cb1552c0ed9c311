/// Width and height read from an image file's header before any pixel is decoded, so size limits
/// are enforced without allocating, plus the structural checks the decoders themselves skip
/// (FFmpeg's mjpeg decoder conceals a missing end-of-image marker instead of failing).
struct ImageHeader: Equatable {
    let format: ImageFormat
    let width: Int
    let height: Int

    /// Parses the header of `bytes`, already known to start with `format`'s signature.
    /// Throws `ImageError.corrupt` or `.unsupportedFormat` naming `path`.
    static func parse(_ bytes: [UInt8], format: ImageFormat, path: String) throws -> ImageHeader {
        switch format {
        case .png: return try parsePNG(bytes, path: path)
        case .jpeg: return try parseJPEG(bytes, path: path)
        case .webp: return try parseWebP(bytes, path: path)
        }
    }

    private static func be16(_ b: [UInt8], _ i: Int) -> Int { Int(b[i]) << 8 | Int(b[i + 1]) }
    private static func be32(_ b: [UInt8], _ i: Int) -> Int { be16(b, i) << 16 | be16(b, i + 2) }
    private static func le16(_ b: [UInt8], _ i: Int) -> Int { Int(b[i]) | Int(b[i + 1]) << 8 }
    private static func le24(_ b: [UInt8], _ i: Int) -> Int { le16(b, i) | Int(b[i + 2]) << 16 }
    private static func le32(_ b: [UInt8], _ i: Int) -> Int { le16(b, i) | le16(b, i + 2) << 16 }

    /// PNG: the IHDR chunk must come first; width and height are big-endian at bytes 16 and 20.
    private static func parsePNG(_ b: [UInt8], path: String) throws -> ImageHeader {
        guard b.count >= 24 else {
            throw ImageError.corrupt(path: path, format: "PNG", reason: "the file ends inside the PNG header (\(b.count) bytes)")
        }
        guard Array(b[12..<16]) == Array("IHDR".utf8) else {
            throw ImageError.corrupt(path: path, format: "PNG", reason: "the first chunk is not IHDR")
        }
        return ImageHeader(format: .png, width: be32(b, 16), height: be32(b, 20))
    }

    /// JPEG: walks the marker segments (and the entropy-coded data after each SOS) to find the
    /// frame header (SOFn) and to require the end-of-image marker, which a truncated file lacks.
    private static func parseJPEG(_ b: [UInt8], path: String) throws -> ImageHeader {
        func corrupt(_ reason: String) -> ImageError { .corrupt(path: path, format: "JPEG", reason: reason) }
        let n = b.count
        var i = 2
        var size: (Int, Int)?
        while true {
            guard i < n else { throw corrupt("the file ends before the end-of-image marker; it is truncated") }
            guard b[i] == 0xFF else { throw corrupt("expected a marker at byte \(i), found 0x\(String(b[i], radix: 16))") }
            while i < n && b[i] == 0xFF { i += 1 }
            guard i < n else { throw corrupt("the file ends before the end-of-image marker; it is truncated") }
            let marker = b[i]
            i += 1
            if marker == 0xD9 {
                guard let (w, h) = size else { throw corrupt("end-of-image marker before any frame header") }
                return ImageHeader(format: .jpeg, width: w, height: h)
            }
            if marker == 0x01 || (0xD0...0xD8).contains(marker) { continue }  // standalone markers
            guard i + 2 <= n else { throw corrupt("the file ends inside a segment header; it is truncated") }
            let length = be16(b, i)
            guard length >= 2 else { throw corrupt("segment 0xFF\(String(marker, radix: 16, uppercase: true)) has length \(length)") }
            guard i + length <= n else { throw corrupt("the file ends inside a segment; it is truncated") }
            let isSOF = (0xC0...0xCF).contains(marker) && marker != 0xC4 && marker != 0xC8 && marker != 0xCC
            if isSOF {
                guard length >= 8 else { throw corrupt("frame header too short") }
                if size == nil { size = (be16(b, i + 5), be16(b, i + 3)) }
                if marker >= 0xC9 {
                    throw ImageError.unsupportedFormat(path: path, detected: "an arithmetic-coded JPEG")
                }
            }
            i += length
            if marker == 0xDA {
                // Entropy-coded data: 0xFF is followed by 0x00 (stuffing), RSTn or fill bytes;
                // anything else is the next marker.
                while true {
                    guard i + 1 < n else { throw corrupt("the file ends inside the compressed image data; it is truncated") }
                    if b[i] != 0xFF { i += 1; continue }
                    let next = b[i + 1]
                    if next == 0x00 || (0xD0...0xD7).contains(next) { i += 2; continue }
                    if next == 0xFF { i += 1; continue }
                    break
                }
            }
        }
    }

    /// WebP (RIFF): the RIFF size must fit the file; the first chunk gives the size
    /// (VP8X canvas, VP8 key frame, or VP8L header). Animated WebP is refused.
    private static func parseWebP(_ b: [UInt8], path: String) throws -> ImageHeader {
        func corrupt(_ reason: String) -> ImageError { .corrupt(path: path, format: "WebP", reason: reason) }
        let n = b.count
        guard n >= 20 else { throw corrupt("the file ends inside the RIFF header; it is truncated") }
        let riffSize = le32(b, 4)
        guard 8 + riffSize <= n else {
            throw corrupt("the RIFF header announces \(8 + riffSize) bytes but the file has \(n); it is truncated")
        }
        let fourcc = String(decoding: b[12..<16], as: UTF8.self)
        let chunkSize = le32(b, 16)
        guard 20 + chunkSize <= n else { throw corrupt("the \(fourcc) chunk runs past the end of the file") }
        switch fourcc {
        case "VP8X":
            guard chunkSize >= 10 else { throw corrupt("VP8X chunk too short") }
            if b[20] & 0x02 != 0 {
                throw ImageError.unsupportedFormat(path: path, detected: "an animated WebP")
            }
            return ImageHeader(format: .webp, width: 1 + le24(b, 24), height: 1 + le24(b, 27))
        case "VP8 ":
            guard chunkSize >= 10 else { throw corrupt("VP8 chunk too short") }
            guard b[23] == 0x9D && b[24] == 0x01 && b[25] == 0x2A else { throw corrupt("VP8 key frame start code missing") }
            return ImageHeader(format: .webp, width: le16(b, 26) & 0x3FFF, height: le16(b, 28) & 0x3FFF)
        case "VP8L":
            guard chunkSize >= 5, b[20] == 0x2F else { throw corrupt("VP8L signature missing") }
            let bits = le32(b, 21)
            return ImageHeader(format: .webp, width: (bits & 0x3FFF) + 1, height: ((bits >> 14) & 0x3FFF) + 1)
        default:
            throw corrupt("unknown first chunk '\(fourcc)'")
        }
    }
}
