/// The still-image formats `ImageDecoder` reads, recognised by their first bytes (magic numbers).
public enum ImageFormat: String, Sendable, CaseIterable {
    case png = "PNG"
    case jpeg = "JPEG"
    case webp = "WebP"

    /// The format whose signature starts `bytes`, or nil.
    /// PNG: `89 50 4E 47 0D 0A 1A 0A`; JPEG: `FF D8 FF`; WebP: `RIFF <size> WEBP`.
    public static func detect(_ bytes: [UInt8]) -> ImageFormat? {
        if bytes.starts(with: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) { return .png }
        if bytes.starts(with: [0xFF, 0xD8, 0xFF]) { return .jpeg }
        if bytes.count >= 12 && bytes.starts(with: Array("RIFF".utf8)) && Array(bytes[8..<12]) == Array("WEBP".utf8) {
            return .webp
        }
        return nil
    }

    /// A name for well-known formats this decoder does not read (for error messages), or nil.
    static func describeUnsupported(_ bytes: [UInt8]) -> String? {
        func has(_ s: String, at offset: Int = 0) -> Bool {
            let sig = Array(s.utf8)
            return bytes.count >= offset + sig.count && Array(bytes[offset..<offset + sig.count]) == sig
        }
        if has("GIF87a") || has("GIF89a") { return "a GIF image" }
        if has("BM") && bytes.count >= 14 { return "a BMP image" }
        if bytes.starts(with: [0x49, 0x49, 0x2A, 0x00]) || bytes.starts(with: [0x4D, 0x4D, 0x00, 0x2A]) { return "a TIFF image" }
        if has("ftyp", at: 4) {
            if has("avif", at: 8) || has("avis", at: 8) { return "an AVIF image" }
            if has("heic", at: 8) || has("heix", at: 8) || has("mif1", at: 8) || has("msf1", at: 8) { return "a HEIF/HEIC image" }
            return "an ISO media (MP4/MOV/HEIF) file"
        }
        if bytes.starts(with: [0xFF, 0x0A]) || has("JXL ", at: 4) { return "a JPEG XL image" }
        if has("qoif") { return "a QOI image" }
        if has("8BPS") { return "a Photoshop document" }
        if has("%PDF") { return "a PDF document" }
        if has("RIFF") { return "a RIFF file that is not WebP" }
        return nil
    }
}
