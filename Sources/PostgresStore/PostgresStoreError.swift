/// Why the PostgreSQL store could not do what was asked.
public enum PostgresStoreError: Error, CustomStringConvertible {
    case unreachable(String, String)
    case missingFile(String)
    case duplicateTask(String)
    /// An operation that did not finish in time (the database unreachable or a request lost).
    case timedOut(String, Double)
    /// A benchmark's throw-away database could not be created, read or dropped: where, and why.
    case scratchDatabase(String, String)

    public var description: String {
        switch self {
        case .unreachable(let url, let why): return "cannot reach the job store at \(url): \(why)"
        case .missingFile(let path): return "cannot read \(path)"
        case .duplicateTask(let id): return "task \(id) exists already"
        case .timedOut(let operation, let seconds): return "the job store did not answer \(operation) within \(Int(seconds)) s"
        case .scratchDatabase(let url, let why): return "throw-away database beside \(url): \(why)"
        }
    }
}
