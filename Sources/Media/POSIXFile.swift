#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Whole-file reads and writes through POSIX calls, so failures keep their `errno`
/// (missing, directory, permission, disk full) for the callers' typed errors.
enum POSIXFile {
    /// A failed call: which one and its `errno`.
    struct Failure: Error {
        let operation: String
        let code: Int32
        var message: String { String(cString: strerror(code)) }
        var isDiskFull: Bool { code == ENOSPC || code == EDQUOT }
    }

    /// What is at a path, without following the caller into errors.
    enum Kind { case missing, directory, file, other }

    static func kind(of path: String) -> Kind {
        var st = stat()
        guard stat(path, &st) == 0 else { return .missing }
        switch st.st_mode & S_IFMT {
        case S_IFDIR: return .directory
        case S_IFREG: return .file
        default: return .other
        }
    }

    /// Reads every byte of the file at `path`.
    static func readAll(_ path: String) throws -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw Failure(operation: "open", code: errno) }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw Failure(operation: "stat", code: errno) }
        if st.st_mode & S_IFMT == S_IFDIR { throw Failure(operation: "read", code: EISDIR) }
        var bytes = [UInt8]()
        bytes.reserveCapacity(max(Int(st.st_size), 0))
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw Failure(operation: "read", code: errno)
            }
            if n == 0 { break }
            bytes.append(contentsOf: chunk[0..<n])
        }
        return bytes
    }

    /// Creates or truncates the file at `path` and writes `bytes` to it (mode 0644 less umask).
    static func writeAll(_ bytes: UnsafeRawBufferPointer, to path: String) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw Failure(operation: "open", code: errno) }
        var offset = 0
        while offset < bytes.count {
            let n = write(fd, bytes.baseAddress! + offset, bytes.count - offset)
            if n < 0 {
                if errno == EINTR { continue }
                let code = errno
                close(fd)
                throw Failure(operation: "write", code: code)
            }
            offset += n
        }
        if close(fd) != 0 { throw Failure(operation: "close", code: errno) }
    }
}
