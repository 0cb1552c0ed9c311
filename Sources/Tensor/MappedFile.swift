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
///   touching the lost pages raises SIGBUS. The descriptor stays open with the mapping, and
///   `checkUnchanged()` (called by `SafeTensorsFile.tensor(_:)` before it hands out any bytes)
///   compares the open file's size and the path's identity (device, inode) with those seen at open,
///   so a weight file truncated or replaced while a model loads is reported instead of crashing.
///   A truncation after a tensor's bytes were handed out (during inference) is not caught.
public final class MappedFile: @unchecked Sendable {
    public let path: String
    /// The whole file; empty (with a nil base address) for an empty file.
    public let bytes: UnsafeRawBufferPointer
    /// The open descriptor behind the mapping (for `checkUnchanged`), closed at deinit.
    private let descriptor: Int32
    /// Device and inode of the file at open.
    private let identity: (device: UInt64, inode: UInt64)

    public init(path: String) throws {
        self.path = path
        let fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else { throw SafeTensorsError(file: path, .cannotOpen(Self.reason(errno))) }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            let code = errno
            close(fd)
            throw SafeTensorsError(file: path, .cannotOpen(Self.reason(code)))
        }
        let kind = info.st_mode & S_IFMT
        guard kind == S_IFREG else {
            close(fd)
            throw SafeTensorsError(file: path, .notARegularFile(kind: Self.describe(kind)))
        }
        let size = Int(info.st_size)
        descriptor = fd
        identity = (UInt64(info.st_dev), UInt64(info.st_ino))
        if size == 0 {
            bytes = UnsafeRawBufferPointer(start: nil, count: 0)
            return
        }
        guard let base = mmap(nil, size, PROT_READ, MAP_PRIVATE | MAP_NORESERVE, fd, 0), base != MAP_FAILED else {
            let code = errno
            close(fd)
            throw SafeTensorsError(file: path, .cannotOpen("mmap of \(size) bytes failed: \(Self.reason(code))"))
        }
        bytes = UnsafeRawBufferPointer(start: base, count: size)
    }

    /// Throws `.changedSinceOpened` when the file was truncated or extended since it was mapped
    /// (reading the lost pages would raise SIGBUS) or when the path now names another file (replaced
    /// or deleted: the mapping still holds the old contents, which are no longer what the path says).
    public func checkUnchanged() throws {
        var info = stat()
        guard fstat(descriptor, &info) == 0 else {
            throw SafeTensorsError(file: path, .changedSinceOpened("cannot stat the open file: \(Self.reason(errno))"))
        }
        if Int(info.st_size) != bytes.count {
            throw SafeTensorsError(file: path, .changedSinceOpened("it was \(bytes.count) bytes when opened and is \(info.st_size) bytes now (truncated or rewritten while in use?)"))
        }
        var now = stat()
        guard stat(path, &now) == 0 else {
            throw SafeTensorsError(file: path, .changedSinceOpened("it was deleted or moved after it was opened"))
        }
        if (UInt64(now.st_dev), UInt64(now.st_ino)) != identity {
            throw SafeTensorsError(file: path, .changedSinceOpened("another file replaced it after it was opened"))
        }
    }

    /// Whether `pointer` lies inside the mapping (for zero-copy checks).
    public func contains(_ pointer: UnsafeRawPointer) -> Bool {
        guard let base = bytes.baseAddress else { return false }
        return pointer >= base && pointer < base + bytes.count
    }

    deinit {
        if let base = bytes.baseAddress { munmap(UnsafeMutableRawPointer(mutating: base), bytes.count) }
        close(descriptor)
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
