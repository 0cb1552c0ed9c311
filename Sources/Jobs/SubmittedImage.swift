import Media

/// The submitted image, checked before a task exists: decodable as PNG, JPEG or WebP and within
/// the pixel limit. The bytes are stored as sent.
public struct SubmittedImage: Sendable {
    public let bytes: [UInt8]
    public let width: Int
    public let height: Int
    /// File extension matching the content (png, jpg, webp).
    public let fileExtension: String

    public enum Problem: Error, Sendable {
        case tooManyPixels(width: Int, height: Int, limit: Int)
        case unreadable(String)
    }

    public init(bytes: [UInt8], maxPixels: Int) throws(Problem) {
        do {
            let image = try ImageDecoder.decode(bytes: bytes, path: "image", maxPixels: maxPixels)
            width = image.width
            height = image.height
        } catch let error as ImageError {
            if case .tooManyPixels(_, let w, let h, let limit) = error { throw .tooManyPixels(width: w, height: h, limit: limit) }
            throw .unreadable(error.description)
        } catch {
            throw .unreadable("\(error)")
        }
        self.bytes = bytes
        if bytes.starts(with: [0x89, 0x50, 0x4E, 0x47]) { fileExtension = "png" }
        else if bytes.starts(with: [0xFF, 0xD8]) { fileExtension = "jpg" }
        else { fileExtension = "webp" }
    }
}
