import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A whole regular file mapped into memory, privately: pages are shared with the page cache until
/// written, and a write lands in this process's copy, never in the file.
///
/// - Opening never blocks: the file is opened with `O_NONBLOCK`, so a FIFO is refused by the
///   regular-file check instead of waiting for a writer.
/// - The mapping reserves no swap (`MAP_NORESERVE`), so a file larger than RAM + swap (a big
///   checkpoint, or a huge sparse file) maps without tripping the kernel's overcommit heuristic;
///   only pages that are touched cost memory.
/// - The mapping is read-only: zero-copy f32 tensors borrow it, and `Tensor` copies borrowed
///   storage before any write (copy on write), so nothing ever writes through it.
/// - Limitation of every mmap reader: if another process truncates the file after it was mapped,
///   touching the lost pages raises SIGBUS. Files are checked against the size seen at open.
public final class MappedFile: @unchecked Sendable {
    public let path: String
    /// The whole file; empty (with a nil base address) for an empty file.
    public let bytes: UnsafeRawBufferPointer

    public init(path: String) throws {
        self.path = path
        let fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else { throw SafeTensorsError(file: path, .cannotOpen(Self.reason(errno))) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw SafeTensorsError(file: path, .cannotOpen(Self.reason(errno))) }
        let kind = info.st_mode & S_IFMT
        guard kind == S_IFREG else { throw SafeTensorsError(file: path, .notARegularFile(kind: Self.describe(kind))) }
        let size = Int(info.st_size)
        if size == 0 {
            bytes = UnsafeRawBufferPointer(start: nil, count: 0)
            return
        }
        guard let base = mmap(nil, size, PROT_READ, MAP_PRIVATE | MAP_NORESERVE, fd, 0), base != MAP_FAILED else {
            throw SafeTensorsError(file: path, .cannotOpen("mmap of \(size) bytes failed: \(Self.reason(errno))"))
        }
        bytes = UnsafeRawBufferPointer(start: base, count: size)
    }

    /// Whether `pointer` lies inside the mapping (for zero-copy checks).
    public func contains(_ pointer: UnsafeRawPointer) -> Bool {
        guard let base = bytes.baseAddress else { return false }
        return pointer >= base && pointer < base + bytes.count
    }

    deinit {
        if let base = bytes.baseAddress { munmap(UnsafeMutableRawPointer(mutating: base), bytes.count) }
    }

    private static func reason(_ code: Int32) -> String { String(cString: strerror(code)) }

    private static func describe(_ kind: mode_t) -> String {
        switch kind {
        case S_IFDIR: return "a directory"
        case S_IFIFO: return "a FIFO"
        case S_IFSOCK: return "a socket"
        case S_IFCHR: return "a character device"
        case S_IFBLK: return "a block device"
        case S_IFLNK: return "a symbolic link"
        default: return "a special file"
        }
    }
}
