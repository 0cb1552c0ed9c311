import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A per-process folder in memory (`/dev/shm` when present) where a harness writes the fuzzer's
/// bytes as a file, so that readers taking a path (safetensors, model folders, tokenizer folders)
/// are fuzzed through the same code a real file goes through. Removed at exit.
public final class ScratchFolder: @unchecked Sendable {
    public let path: String

    /// The repository root (for fixtures the harnesses start from: tokenizer vocabularies, the
    /// demo model's configs), found from this source file's location.
    public static let repositoryRoot: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<4 { url.deleteLastPathComponent() }   // FuzzSupport, Sources, Fuzz, file
        return url.path
    }()

    public init(_ name: String) {
        let base = FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory()
        path = (base as NSString).appendingPathComponent("img2vid-fuzz-\(name)-\(getpid())")
        try? FileManager.default.removeItem(atPath: path)
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        } catch {
            fatalError("cannot create the scratch folder \(path): \(error)")
        }
        Self.created.withLock { $0.append(path) }
        atexit { ScratchFolder.created.withLock { $0.forEach { try? FileManager.default.removeItem(atPath: $0) } } }
    }

    /// Every folder made by this process, removed at exit.
    private static let created = Mutex<[String]>([])

    /// Writes `bytes` to `name` inside the folder (creating sub-folders) and returns the path.
    @discardableResult
    public func write(_ name: String, _ bytes: UnsafeRawBufferPointer) -> String {
        let file = (path as NSString).appendingPathComponent(name)
        let folder = (file as NSString).deletingLastPathComponent
        if folder != path { try? FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true) }
        let fd = open(file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { fatalError("cannot write \(file): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var offset = 0
        while offset < bytes.count {
            let n = Glibc.write(fd, bytes.baseAddress! + offset, bytes.count - offset)
            guard n > 0 else { fatalError("cannot write \(file): \(String(cString: strerror(errno)))") }
            offset += n
        }
        return file
    }

    /// Removes `name` from the folder (a missing file is fine).
    public func remove(_ name: String) {
        unlink((path as NSString).appendingPathComponent(name))
    }
}

/// Keeps a computed value alive so that the optimiser cannot drop the reads that produced it.
@inline(never) @_optimize(none)
public func keep<T>(_ value: T) { _ = value }

/// `try?` that also renders the error's message (the text a user would see), so that a message
/// that traps while describing a bad input (an overflowing product, a bad index) is found too.
public func attempt<T>(_ body: () throws -> T) -> T? {
    do {
        return try body()
    } catch {
        keep(String(describing: error))
        return nil
    }
}
