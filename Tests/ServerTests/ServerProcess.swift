import Foundation
import TestSupport
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// A real `img2vid serve` process on a free loopback port (`--port 0`; the port is read from its
/// "listening on" line), with its own data folder. `stop()` ends it; the test's teardown makes sure.
final class ServerProcess {
    let process = Process()
    let dataDir: String
    let stdoutPath: String
    let stderrPath: String
    private(set) var port = 0
    var client: HTTPClient { HTTPClient(port: port) }

    /// Starts the server and waits until it listens. `extra` are more `serve` flags.
    init(test: XCTestCase, dataDir: String? = nil, extra: [String] = [], environment: [String: String] = [:],
         file: StaticString = #filePath, line: UInt = #line) throws {
        self.dataDir = try dataDir ?? Paths.temporaryFolder(test)
        let logs = try Paths.temporaryFolder(test)
        stdoutPath = (logs as NSString).appendingPathComponent("stdout")
        stderrPath = (logs as NSString).appendingPathComponent("stderr")
        FileManager.default.createFile(atPath: stdoutPath, contents: nil)
        FileManager.default.createFile(atPath: stderrPath, contents: nil)
        process.executableURL = URL(fileURLWithPath: try Paths.binary())
        process.arguments = ["serve", "--port", "0", "--data-dir", self.dataDir, "--threads", "1"] + extra
        var env = ProcessInfo.processInfo.environment
        env["IMG2VID_POLICY"] = "none"
        env["IMG2VID_MODEL"] = nil
        env["IMG2VID_WEBHOOK_SECRET"] = nil
        for (k, v) in environment { env[k] = v }
        process.environment = env
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: stdoutPath))
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: stderrPath))
        try process.run()
        test.addTeardownBlock { [process] in
            if process.isRunning { kill(process.processIdentifier, SIGKILL); process.waitUntilExit() }
        }
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            let out = (try? String(contentsOfFile: stdoutPath, encoding: .utf8)) ?? ""
            if let range = out.range(of: #"listening on http://[0-9.]+:(\d+)"#, options: .regularExpression) {
                port = Int(out[range].split(separator: ":").last ?? "") ?? 0
                return
            }
            if !process.isRunning { break }
            usleep(50_000)
        }
        XCTFail("serve did not start: \(stderr)", file: file, line: line)
        throw ServerTestError.notStarted(stderr)
    }

    var stderr: String { (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? "" }

    /// SIGTERM (graceful) and wait; the exit status.
    @discardableResult
    func stop() -> Int32 {
        if process.isRunning { kill(process.processIdentifier, SIGTERM) }
        process.waitUntilExit()
        return process.terminationStatus
    }

    func kill9() {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }
}

enum ServerTestError: Error { case notStarted(String), timeout(String) }

enum Paths {
    static func binary() throws -> String {
        if let path = ProductsFolder.executable("img2vid") { return path }
        let folders = ProductsFolder.candidates
        throw ServerTestError.notStarted("no img2vid executable beside the test bundle in \(folders.map(\.path)); run swift build first")
    }

    static func root() -> URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    static func tinyModel() -> String { root().appendingPathComponent("Tests/SVDTests/Fixtures/tiny/pipeline").path }
    static func inputPNG() -> String { root().appendingPathComponent("Tests/Img2VidCLITests/Fixtures/input.png").path }
    static func astronautPNG() -> String { root().appendingPathComponent("Tests/ModerationTests/Fixtures/astronaut-96x128.png").path }

    static func temporaryFolder(_ test: XCTestCase) throws -> String {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("img2vid-serve-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        test.addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url.path
    }

    /// Runs `img2vid args...` to completion (for `keys`).
    static func run(_ args: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: try binary())
        p.arguments = args
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let o = out.fileHandleForReading.readDataToEndOfFile(), e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
    }
}
