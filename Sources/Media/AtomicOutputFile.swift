#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An output written under a temporary name beside its target and renamed onto it only when
/// complete, so a crash, a cancel or a failed encode never leaves a half-written file at the
/// target path.
///
/// The temporary path is in the target's folder (so the rename is atomic, same file system), is
/// hidden (leading dot), includes the process id and a random tag, and keeps the target's
/// extension, so `VideoEncoder` picks the same container: `out/clip.mp4` ->
/// `out/.clip.img2vid-4242-9f3a1c0d.mp4`.
///
/// ```swift
/// let output = try AtomicOutputFile(targetPath: "clip.mp4")
/// try VideoEncoder.encode(frames, to: output.temporaryPath, options: .init(fps: 7))
/// try output.commit()
/// ```
/// If the object goes away without `commit()`, the temporary file is deleted.
public final class AtomicOutputFile {
    public enum State: Sendable, Equatable { case pending, committed, discarded }

    public let targetPath: String
    public let temporaryPath: String
    public let overwrite: Bool
    public private(set) var state: State = .pending

    /// Prepares a temporary path for `targetPath`. Fails early (before any work is done) when the
    /// target's folder is missing or not writable, or when the target exists and `overwrite` is false.
    public init(targetPath: String, overwrite: Bool = false) throws {
        self.targetPath = targetPath
        self.overwrite = overwrite
        let (directory, name) = AtomicOutputFile.split(targetPath)
        let folder = directory.isEmpty ? "." : directory
        switch POSIXFile.kind(of: folder) {
        case .directory: break
        default: throw OutputFileError.directoryMissing(path: folder)
        }
        guard access(folder, W_OK | X_OK) == 0 else { throw OutputFileError.directoryNotWritable(path: folder) }
        if !overwrite && POSIXFile.kind(of: targetPath) != .missing {
            throw OutputFileError.targetExists(path: targetPath)
        }
        let (stem, ext) = AtomicOutputFile.splitExtension(name)
        let tag = String(UInt32.random(in: 0...UInt32.max), radix: 16)
        let tempName = ".\(stem).img2vid-\(getpid())-\(tag)" + (ext.isEmpty ? "" : ".\(ext)")
        temporaryPath = directory.isEmpty ? tempName : (directory.hasSuffix("/") ? directory : directory + "/") + tempName
    }

    /// Moves the temporary file onto the target. Without `overwrite`, fails if the target exists
    /// (checked atomically with `link(2)` where the file system supports hard links). On failure
    /// the temporary file is deleted.
    public func commit() throws {
        precondition(state == .pending, "AtomicOutputFile for \(targetPath) was already \(state)")
        guard POSIXFile.kind(of: temporaryPath) == .file else {
            discard()
            throw OutputFileError.commitFailed(path: targetPath, reason: "nothing was written to the temporary file \(temporaryPath)")
        }
        if overwrite {
            guard rename(temporaryPath, targetPath) == 0 else { throw failCommit(errno) }
        } else if link(temporaryPath, targetPath) == 0 {
            unlink(temporaryPath)
        } else {
            let code = errno
            if code == EEXIST {
                discard()
                throw OutputFileError.targetExists(path: targetPath)
            }
            // File systems without hard links: check, then rename (not atomic, the best left).
            guard code == EPERM || code == ENOTSUP || code == EOPNOTSUPP || code == EMLINK || code == ENOSYS else {
                throw failCommit(code)
            }
            if POSIXFile.kind(of: targetPath) != .missing {
                discard()
                throw OutputFileError.targetExists(path: targetPath)
            }
            guard rename(temporaryPath, targetPath) == 0 else { throw failCommit(errno) }
        }
        state = .committed
    }

    /// Deletes the temporary file (if any) and gives up the output. Safe to call more than once.
    public func discard() {
        guard state == .pending else { return }
        unlink(temporaryPath)
        state = .discarded
    }

    deinit {
        discard()
    }

    private func failCommit(_ code: Int32) -> OutputFileError {
        discard()
        return .commitFailed(path: targetPath, reason: String(cString: strerror(code)))
    }

    /// ("dir/sub", "name.ext") for "dir/sub/name.ext"; ("", "name.ext") for "name.ext".
    static func split(_ path: String) -> (directory: String, name: String) {
        guard let slash = path.lastIndex(of: "/") else { return ("", path) }
        let dir = String(path[..<slash])
        return (dir.isEmpty ? "/" : dir, String(path[path.index(after: slash)...]))
    }

    /// ("clip", "mp4") for "clip.mp4"; (".hidden", "") for ".hidden"; ("a.b", "mkv") for "a.b.mkv".
    static func splitExtension(_ name: String) -> (stem: String, ext: String) {
        guard let dot = name.lastIndex(of: "."), dot != name.startIndex else { return (name, "") }
        return (String(name[..<dot]), String(name[name.index(after: dot)...]))
    }
}
