/// Why an `AtomicOutputFile` could not be prepared or committed.
public enum OutputFileError: Error, Equatable, CustomStringConvertible {
    /// The target exists and overwriting was not allowed.
    case targetExists(path: String)
    /// The target's folder does not exist.
    case directoryMissing(path: String)
    /// The target's folder exists but this process may not create files in it.
    case directoryNotWritable(path: String)
    /// The finished temporary file could not be moved onto the target.
    case commitFailed(path: String, reason: String)

    public var description: String {
        switch self {
        case .targetExists(let path):
            return "\(path) already exists. Choose another output path, delete the file, or allow overwriting (--overwrite)."
        case .directoryMissing(let path):
            return "the folder \(path) does not exist. Create it first (mkdir -p '\(path)') or choose another output path."
        case .directoryNotWritable(let path):
            return "cannot create files in \(path) (permission denied). Choose a writable folder or fix its permissions."
        case .commitFailed(let path, let reason):
            return "could not move the finished output onto \(path): \(reason). The temporary file was removed; try again."
        }
    }
}
