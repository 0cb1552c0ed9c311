import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A throw-away PostgreSQL 15 cluster for the tests: `initdb` into a temporary folder (as the
/// unprivileged `postgres` user when the tests run as root: the server refuses to run as root),
/// `pg_ctl start` on a free loopback port with the socket in the same folder, `stop()` (or the
/// class teardown) stops it and deletes the folder. Nothing has to be started beforehand; the
/// binaries come from Debian's postgresql-15 (Scripts/setup installs it).
final class PostgresCluster: @unchecked Sendable {
    let folder: String
    let port: Int
    let bin: String
    private(set) var running = false

    enum Failure: Error, CustomStringConvertible {
        case missing(String)
        case command(String, Int32, String)
        var description: String {
            switch self {
            case .missing(let what): return "PostgreSQL is not installed (\(what)); run Scripts/setup"
            case .command(let cmd, let status, let output): return "\(cmd) exited \(status): \(output)"
            }
        }
    }

    init() throws {
        guard let bin = ["/usr/lib/postgresql/15/bin", "/usr/lib/postgresql/16/bin", "/usr/lib/postgresql/17/bin"]
            .first(where: { FileManager.default.isExecutableFile(atPath: $0 + "/pg_ctl") }) else {
            throw Failure.missing("no /usr/lib/postgresql/15/bin/pg_ctl")
        }
        self.bin = bin
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("img2vid-pg-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        port = Self.freePort()
        if getuid() == 0 { try Self.shell(["chown", "postgres:postgres", folder]) }
        try asOwner(["\(bin)/initdb", "-D", "\(folder)/data", "-U", "postgres", "-A", "trust", "--no-sync", "-E", "UTF8"])
        try start()
    }

    /// postgres://postgres@127.0.0.1:PORT/DB
    func url(database: String = "postgres") -> String { "postgres://postgres@127.0.0.1:\(port)/\(database)?sslmode=disable" }

    func start() throws {
        try asOwner(["\(bin)/pg_ctl", "-D", "\(folder)/data", "-l", "\(folder)/log", "-w", "-t", "60", "-o",
                     "-p \(port) -k \(folder) -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c max_connections=200",
                     "start"])
        running = true
    }

    /// `fast` ends the sessions and checkpoints; `immediate` is a crash (recovery on the next start).
    func stop(mode: String = "fast") throws {
        guard running else { return }
        try asOwner(["\(bin)/pg_ctl", "-D", "\(folder)/data", "-m", mode, "-w", "stop"])
        running = false
    }

    /// Runs one SQL statement with psql; its output (tuples only, unaligned).
    @discardableResult
    func psql(_ sql: String, database: String = "postgres") throws -> String {
        try asOwner(["\(bin)/psql", "-h", "127.0.0.1", "-p", "\(port)", "-U", "postgres", "-d", database, "-At", "-v", "ON_ERROR_STOP=1", "-c", sql])
    }

    /// A new empty database for one test.
    func createDatabase() throws -> String {
        let name = "t_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(12).lowercased()
        try psql("CREATE DATABASE \(name)")
        return name
    }

    func destroy() {
        try? stop(mode: "immediate")
        try? FileManager.default.removeItem(atPath: folder)
    }

    deinit { destroy() }

    @discardableResult
    private func asOwner(_ args: [String]) throws -> String {
        try Self.shell(getuid() == 0 ? ["runuser", "-u", "postgres", "--"] + args : args, cwd: folder)
    }

    /// Runs a command to its end (posix_spawn + waitpid), its output into a file. Not Foundation's
    /// Process: `pg_ctl start` leaves a server running that inherits Process's own descriptors,
    /// and Process would then wait for that server to end, too.
    @discardableResult
    static func shell(_ args: [String], cwd: String? = nil) throws -> String {
        let outPath = NSTemporaryDirectory() + "img2vid-pg-out-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: outPath) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        // In `cwd` (a folder the postgres user can enter) through sh, which glibc's spawn lacks.
        let command = cwd.map { ["/usr/bin/env", "sh", "-c", "cd \"$0\" && exec \"$@\"", $0] + args } ?? ["/usr/bin/env"] + args
        let argv = command.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, "/usr/bin/env", &actions, nil, argv, environ)
        guard rc == 0 else { throw Failure.command(args.joined(separator: " "), rc, "posix_spawn failed") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let text = (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? ""
        let exitStatus = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        guard exitStatus == 0 else { throw Failure.command(args.joined(separator: " "), exitStatus, text) }
        return text.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// A port nobody listens on: bind port 0 on loopback, read it, close.
    static func freePort() -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) } }
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        return Int(UInt16(bigEndian: addr.sin_port))
    }
}
