import Media
import Moderation

/// A request's input image, read and decoded once: the moderation layer scans and hashes it, the
/// pipeline resizes it. `sha256` is the SHA-256 of the file's bytes when the audit log needs it.
struct InputImage: Sendable {
    let path: String
    let image: RGBImage
    let sha256: String?

    /// Reads and decodes `path` (hashing the bytes when `hashing`). Errors are `GenerationError`s.
    static func read(path: String, maxPixels: Int, hashing: Bool) throws -> InputImage {
        do {
            let bytes = try ImageDecoder.readFile(path)
            let sha = hashing ? SHA256.hex(bytes) : nil
            return InputImage(path: path, image: try ImageDecoder.decode(bytes: bytes, path: path, maxPixels: maxPixels), sha256: sha)
        } catch {
            throw GenerationError.wrap(error)
        }
    }
}
