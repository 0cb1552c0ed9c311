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
/// If the object goes away without `commit()`, the temporary file is deleted. A process killed
/// outright (SIGKILL, power loss) cannot delete it; the next `AtomicOutputFile` in that folder does:
/// it removes hidden img2vid temporaries whose process id no longer names a live process on this
/// machine (`removeStaleTemporaries`). A folder shared by several machines (NFS) could see another
/// machine's live temporary as stale; write there from one machine at a time.
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
        AtomicOutputFile.removeStaleTemporaries(in: folder)
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

    /// Deletes the temporaries of dead img2vid processes in `folder` (`.stem.img2vid-PID-TAG[.ext]`
    /// where no process PID exists) and returns their names. A name that does not parse, or whose
    /// process is alive (or cannot be asked), is left alone.
    @discardableResult
    public static func removeStaleTemporaries(in folder: String) -> [String] {
        guard let dir = opendir(folder) else { return [] }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            names.append(name)
        }
        closedir(dir)
        var removed: [String] = []
        for name in names {
            guard let pid = temporaryOwner(name), pid != getpid(), kill(pid, 0) != 0, errno == ESRCH else { continue }
            let path = (folder.hasSuffix("/") ? folder : folder + "/") + name
            guard POSIXFile.kind(of: path) == .file, unlink(path) == 0 else { continue }
            removed.append(name)
        }
        return removed
    }

    /// The process id in a temporary name made by `init` (`.stem.img2vid-4242-9f3a1c0d.mp4` -> 4242).
    static func temporaryOwner(_ name: String) -> pid_t? {
        let bytes = Array(name.utf8), marker = Array(".img2vid-".utf8)
        guard bytes.first == UInt8(ascii: "."), bytes.count > marker.count,
              let start = (1...(bytes.count - marker.count)).reversed().first(where: { bytes[$0..<($0 + marker.count)].elementsEqual(marker) })
        else { return nil }
        let rest = String(decoding: bytes[(start + marker.count)...], as: UTF8.self).split(separator: "-", maxSplits: 1)
        guard rest.count == 2, let pid = pid_t(rest[0]), pid > 0 else { return nil }
        let tag = rest[1].split(separator: ".", maxSplits: 1)[0]
        guard !tag.isEmpty, tag.count <= 8, tag.allSatisfy(\.isHexDigit) else { return nil }
        return pid
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
