/// Why an image file could not be read or written. Each message names the file and says what to do.
public enum ImageError: Error, Equatable, CustomStringConvertible {
    /// No file at the path.
    case fileNotFound(path: String)
    /// The path is a directory, not an image file.
    case isDirectory(path: String)
    /// The file exists but this process may not read it (or write it, for output).
    case permissionDenied(path: String)
    /// The file has no bytes at all.
    case emptyFile(path: String)
    /// The content is not PNG, JPEG or WebP (detected from the first bytes, not the extension).
    /// `detected` names the format when it was recognised (for example "GIF", "animated WebP").
    case unsupportedFormat(path: String, detected: String?)
    /// The file looks like a supported format but its data is damaged or cut short.
    case corrupt(path: String, format: String, reason: String)
    /// The header declares a width or height of 0.
    case zeroSize(path: String, width: Int, height: Int)
    /// The header declares more pixels than the decoder is allowed to allocate.
    case tooManyPixels(path: String, width: Int, height: Int, limit: Int)
    /// Reading failed at the operating-system level (I/O error).
    case readFailed(path: String, reason: String)
    /// Writing an image file failed (disk full, I/O error, missing folder).
    case writeFailed(path: String, reason: String)

    public var description: String {
        switch self {
        case .fileNotFound(let path):
            return "image file not found: \(path). Check the path and its spelling."
        case .isDirectory(let path):
            return "\(path) is a directory, not an image file. Pass the path of a PNG, JPEG or WebP file."
        case .permissionDenied(let path):
            return "permission denied for \(path). Check the file's permissions (chmod) or run as a user that may access it."
        case .emptyFile(let path):
            return "\(path) is empty (0 bytes). The file was probably not fully written or downloaded; get it again."
        case .unsupportedFormat(let path, let detected):
            let what = detected.map { "it is \($0)" } ?? "its content is not a known image format"
            return "\(path): unsupported image format (\(what)). Supported: PNG, JPEG, WebP (still). "
                + "Convert it first, for example: ffmpeg -i '\(path)' -frames:v 1 image.png"
        case .corrupt(let path, let format, let reason):
            return "\(path): the \(format) data is corrupt or truncated (\(reason)). Re-export or download the image again."
        case .zeroSize(let path, let width, let height):
            return "\(path): the image header says it is \(width)x\(height) pixels; an image needs at least 1x1. Re-export the image."
        case .tooManyPixels(let path, let width, let height, let limit):
            let (pixels, overflow) = width.multipliedReportingOverflow(by: height)
            return "\(path): the image is \(width)x\(height) = \(overflow ? "more than \(Int.max)" : String(pixels)) pixels, more than the limit of \(limit). "
                + "Downscale it first (for example: ffmpeg -i '\(path)' -vf scale=2048:-1 smaller.png) or raise the pixel limit."
        case .readFailed(let path, let reason):
            return "could not read \(path): \(reason). Check the disk or the network file system and try again."
        case .writeFailed(let path, let reason):
            return "could not write \(path): \(reason). Check that the folder exists, is writable and has free space."
        }
    }
}
