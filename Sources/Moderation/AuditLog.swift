import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The policy's audit log: JSON Lines, one `AuditRecord` per line, appended with one `write(2)`
/// on an `O_APPEND` descriptor so concurrent runs do not interleave lines. Its folder is created
/// when missing.
public struct AuditLog: Sendable {
    public let path: String

    public init(path: String) {
        self.path = path
    }

    /// Makes sure a record can be appended (creating the folder and the file when missing, writing
    /// nothing), so that a request under a policy whose log is unwritable fails before any work
    /// instead of producing a video whose decisions cannot be recorded.
    public func checkWritable() throws {
        let folder = (path as NSString).deletingLastPathComponent
        if !folder.isEmpty {
            try? FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        }
        let fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o640)
        guard fd >= 0 else { throw AuditLogError.cannotWrite(path: path, reason: String(cString: strerror(errno))) }
        close(fd)
    }

    public func append(_ record: AuditRecord) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var line = try encoder.encode(record)
        line.append(UInt8(ascii: "\n"))
        let folder = (path as NSString).deletingLastPathComponent
        if !folder.isEmpty {
            try? FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        }
        let fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o640)
        guard fd >= 0 else { throw AuditLogError.cannotWrite(path: path, reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        let n = line.withUnsafeBytes { write(fd, $0.baseAddress!, $0.count) }
        guard n == line.count else { throw AuditLogError.cannotWrite(path: path, reason: n < 0 ? String(cString: strerror(errno)) : "short write") }
    }
}

/// The audit log could not be written (the request fails: decisions must be on record).
public enum AuditLogError: Error, CustomStringConvertible, Equatable {
    case cannotWrite(path: String, reason: String)

    public var description: String {
        switch self {
        case .cannotWrite(let path, let reason):
            return "cannot append to the moderation audit log \(path): \(reason). Moderation fails closed: no video is delivered "
                + "without its audit record; make the log writable or point the policy's audit_log elsewhere"
        }
    }
}
