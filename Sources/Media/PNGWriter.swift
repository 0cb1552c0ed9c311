import CPNG
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes `RGBImage`s as 8-bit RGB PNG files through libpng's simplified API
/// (`png_image_write_to_memory`), then writes the bytes with POSIX calls so disk-full and
/// permission failures come back as typed errors naming the file.
public enum PNGWriter {
    /// The PNG file bytes of `image` (8-bit RGB, no gAMA/sRGB chunk, libpng's default compression).
    public static func encode(_ image: RGBImage) throws -> [UInt8] {
        precondition(image.width > 0 && image.height > 0, "cannot write an empty image")
        var png = png_image()
        png.version = img2vid_png_image_version()
        png.width = png_uint_32(image.width)
        png.height = png_uint_32(image.height)
        png.format = img2vid_png_format_rgb()
        let stride = png_int_32(image.width * 3)
        var size: png_alloc_size_t = 0
        var ok = image.pixels.withUnsafeBytes {
            png_image_write_to_memory(&png, nil, &size, 0, $0.baseAddress, stride, nil)
        }
        guard ok != 0, size > 0 else { throw encodeFailure(&png) }
        var bytes = [UInt8](repeating: 0, count: Int(size))
        ok = bytes.withUnsafeMutableBytes { out in
            image.pixels.withUnsafeBytes {
                png_image_write_to_memory(&png, out.baseAddress, &size, 0, $0.baseAddress, stride, nil)
            }
        }
        guard ok != 0 else { throw encodeFailure(&png) }
        bytes.removeLast(bytes.count - Int(size))
        return bytes
    }

    /// Writes `image` to `path` (created or replaced).
    public static func write(_ image: RGBImage, to path: String) throws {
        let bytes = try encode(image)
        do {
            try bytes.withUnsafeBytes { try POSIXFile.writeAll($0, to: path) }
        } catch let failure as POSIXFile.Failure {
            throw mapWriteFailure(failure, path: path)
        }
    }

    /// The file name of frame `index` of `count`: `frame_00.png`, `frame_01.png`, ... with at least
    /// two digits, more when `count` needs them (so names sort in frame order).
    public static func frameFileName(index: Int, count: Int) -> String {
        let digits = max(2, String(max(count - 1, 0)).count)
        let number = String(index)
        return "frame_" + String(repeating: "0", count: max(0, digits - number.count)) + number + ".png"
    }

    /// Writes each frame as `directory/frame_NN.png` (`--save-frames DIR`), creating the directory
    /// (and missing parents) first. When a frame cannot be written (disk full, permissions), the
    /// frames already written and the folders created are removed before the error is thrown, so
    /// a failure leaves nothing behind. The result lists what was written, for `SavedFrames.remove()`
    /// should a later step of the request fail.
    @discardableResult
    public static func writeFrames(_ frames: [RGBImage], toDirectory directory: String) throws -> SavedFrames {
        let created = try createDirectory(directory)
        var paths: [String] = []
        for (i, frame) in frames.enumerated() {
            let path = (directory.hasSuffix("/") ? directory : directory + "/") + frameFileName(index: i, count: frames.count)
            do {
                try write(frame, to: path)
            } catch {
                SavedFrames(paths: paths + [path], createdFolders: created).remove()
                throw error
            }
            paths.append(path)
        }
        return SavedFrames(paths: paths, createdFolders: created)
    }

    // MARK: Helpers

    private static func encodeFailure(_ png: inout png_image) -> ImageError {
        let message = String(cString: img2vid_png_image_message(&png))
        png_image_free(&png)
        return .writeFailed(path: "<PNG encoder>", reason: "libpng: \(message)")
    }

    private static func mapWriteFailure(_ failure: POSIXFile.Failure, path: String) -> ImageError {
        switch failure.code {
        case EACCES, EPERM, EROFS: return .permissionDenied(path: path)
        case EISDIR: return .isDirectory(path: path)
        case ENOENT: return .writeFailed(path: path, reason: "its folder does not exist")
        default:
            return .writeFailed(path: path, reason: failure.isDiskFull ? "the disk is full" : "\(failure.operation): \(failure.message)")
        }
    }

    /// `mkdir -p`; returns the folders it created, outermost first (removed again if a later one fails).
    private static func createDirectory(_ directory: String) throws -> [String] {
        switch POSIXFile.kind(of: directory) {
        case .directory: return []
        case .file, .other: throw ImageError.writeFailed(path: directory, reason: "it exists and is not a directory")
        case .missing: break
        }
        var created: [String] = []
        var prefix = directory.hasPrefix("/") ? "/" : ""
        for component in directory.split(separator: "/") {
            prefix += component
            if POSIXFile.kind(of: prefix) == .missing {
                if mkdir(prefix, 0o755) == 0 {
                    created.append(prefix)
                } else if errno != EEXIST {
                    let code = errno
                    SavedFrames(paths: [], createdFolders: created).remove()
                    throw mapWriteFailure(POSIXFile.Failure(operation: "mkdir", code: code), path: prefix)
                }
            }
            prefix += "/"
        }
        return created
    }
}
