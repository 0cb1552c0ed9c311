import Foundation
import Jobs
#if canImport(Glibc)
import Glibc
#endif

/// Writes an uploaded image under the data folder, where the task will read it.
///
/// The data folder is part of the job store (SQLite keeps its database beside the inputs), so a
/// full disk (ENOSPC, EDQUOT), a read-only one (EROFS) or an I/O error (EIO) is the store's outage,
/// `JobStoreUnavailable` (HTTP 503), not a server bug; the part of the file already written is
/// removed, so a refused submission leaves nothing behind. Plain POSIX calls, because
/// `FileManager.createFile` reports failure without saying why.
enum InputFile {
    static func write(_ bytes: [UInt8], to path: String) throws {
        let folder = (path as NSString).deletingLastPathComponent
        if mkdir(folder, 0o755) != 0, errno != EEXIST { throw failure(errno, folder) }
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw failure(errno, path) }
        let code: Int32? = bytes.withUnsafeBytes { buffer in
            var written = 0
            while written < buffer.count {
                let n = Glibc.write(fd, buffer.baseAddress! + written, buffer.count - written)
                if n < 0 {
                    if errno == EINTR { continue }
                    return errno
                }
                written += n
            }
            return nil
        }
        let closed = close(fd) == 0 ? nil : errno
        if let code = code ?? closed {
            unlink(path)
            throw failure(code, path)
        }
    }

    /// The error for a failed write of `path`: the store's outage, or a 500 for anything else.
    static func failure(_ code: Int32, _ path: String) -> any Error {
        let why = String(cString: strerror(code))
        switch code {
        case ENOSPC, EDQUOT:
            return JobStoreUnavailable(.full, "cannot write \(path): the disk is full (\(why)); free space in the data folder")
        case EROFS:
            return JobStoreUnavailable(.readOnly, "cannot write \(path): the data folder is read-only (\(why))")
        case EIO:
            return JobStoreUnavailable(.ioError, "cannot write \(path): disk I/O error (\(why))")
        default:
            return APIError.internalError("cannot write \(path): \(why)")
        }
    }
}
