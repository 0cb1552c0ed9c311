import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Whole-file reads for the small files the program reads whole: configs, tokenizer vocabularies,
/// policies.
///
/// `FileContents.read(atPath:)` answers what `FileManager.default.contents(atPath:)` answers (the
/// bytes, or nil when the path cannot be read: missing, a folder, no permission, a read error) but
/// reads with POSIX calls. swift-foundation 6.3.1's `contents(atPath:)` leaks a 4,096-byte buffer on
/// every empty file it reads (`readBytesFromFile`'s zero-size path); here an empty file is empty
/// `Data` with nothing allocated. See docs/RELIABILITY.md ("Leak in swift-foundation").
public enum FileContents {
    /// Every byte of the file at `path`; nil when it cannot be opened or read, or is a folder.
    ///
    /// A regular file is read into a buffer of its size, then to the end in case it grew since;
    /// anything whose size says nothing about its contents (a pipe, a `/proc` file, which report
    /// size 0) is read to the end in chunks.
    public static func read(atPath path: String) -> Data? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { return nil }
        let kind = info.st_mode & S_IFMT
        if kind == S_IFDIR { return nil }
        let size = kind == S_IFREG ? max(Int(info.st_size), 0) : 0
        var data = Data()
        if size > 0 {
            data = Data(count: size)
            var filled = 0
            while filled < size {
                let n = data.withUnsafeMutableBytes { systemRead(fd, $0.baseAddress! + filled, size - filled) }
                if n < 0 {
                    if errno == EINTR { continue }
                    return nil
                }
                if n == 0 {
                    // Shrunk since fstat: what was there is the whole file.
                    data.count = filled
                    return data
                }
                filled += n
            }
        }
        // The rest: a file that grew since fstat, or one whose size says nothing about it.
        let readToEnd: Bool = withUnsafeTemporaryAllocation(byteCount: 16_384, alignment: 16) { chunk in
            while true {
                let n = systemRead(fd, chunk.baseAddress!, chunk.count)
                if n < 0 {
                    if errno == EINTR { continue }
                    return false
                }
                if n == 0 { return true }
                data.append(chunk.baseAddress!.assumingMemoryBound(to: UInt8.self), count: n)
            }
        }
        return readToEnd ? data : nil
    }
}

/// The system's `read(2)` (a member named `read` would shadow it inside `FileContents`).
private func systemRead(_ fd: Int32, _ buffer: UnsafeMutableRawPointer, _ count: Int) -> Int {
    read(fd, buffer, count)
}
