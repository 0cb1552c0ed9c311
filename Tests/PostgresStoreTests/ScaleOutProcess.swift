import Foundation
import XCTest
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
#if canImport(Glibc)
import Glibc
#endif

/// One real `img2vid serve --store postgres://...` or `img2vid worker` process of the scale-out
/// fault tests, with its own data folder and logs; killed in the test's teardown if still running.
final class ScaleOutProcess: @unchecked Sendable {
    let process = Process()
    let logs: String
    let role: String
    private(set) var port = 0

    var pid: Int32 { process.processIdentifier }
    var stdout: String { (try? String(contentsOfFile: logs + "/stdout", encoding: .utf8)) ?? "" }
    var stderr: String { (try? String(contentsOfFile: logs + "/stderr", encoding: .utf8)) ?? "" }

    /// `role` is serve or worker; waits for the line that says it is ready.
    init(_ test: XCTestCase, role: String, store: String, extra: [String]) throws {
        self.role = role
        logs = FileManager.default.temporaryDirectory.appendingPathComponent("img2vid-scaleout-\(role)-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: logs, withIntermediateDirectories: true)
        let logsFolder = logs
        test.addTeardownBlock { try? FileManager.default.removeItem(atPath: logsFolder) }
        FileManager.default.createFile(atPath: logs + "/stdout", contents: nil)
        FileManager.default.createFile(atPath: logs + "/stderr", contents: nil)
        process.executableURL = URL(fileURLWithPath: try Self.binary())
        var args = [role, "--store", store, "--data-dir", logs + "/data", "--threads", "1"]
        if role == "serve" { args += ["--port", "0", "--policy", "none"] }
        process.arguments = args + extra
        var env = ProcessInfo.processInfo.environment
        env["IMG2VID_POLICY"] = "none"
        env["IMG2VID_MODEL"] = nil
        env["IMG2VID_WEBHOOK_SECRET"] = ScaleOutFaultTests.secret
        process.environment = env
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: logs + "/stdout"))
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: logs + "/stderr"))
        try process.run()
        let p = process
        test.addTeardownBlock {
            if p.isRunning { kill(p.processIdentifier, SIGCONT); kill(p.processIdentifier, SIGKILL); p.waitUntilExit() }
        }
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            let out = stdout
            if role == "worker", out.contains("img2vid worker: running") { return }
            if role == "serve", let range = out.range(of: #"listening on http://[0-9.]+:(\d+)"#, options: .regularExpression) {
                port = Int(out[range].split(separator: ":").last ?? "") ?? 0
                return
            }
            if !process.isRunning { break }
            usleep(50_000)
        }
        throw ScaleOutError.notStarted("\(role): \(stderr)")
    }

    func kill9() {
        kill(pid, SIGKILL)
        process.waitUntilExit()
    }

    /// SIGTERM and wait; the exit status.
    @discardableResult
    func stop() -> Int32 {
        if process.isRunning { kill(pid, SIGTERM) }
        process.waitUntilExit()
        return process.terminationStatus
    }

    // MARK: HTTP (serve only)

    /// One request; the status, the JSON body and the response headers (names lowercased).
    func request(_ method: String, _ path: String, json: [String: Any]? = nil) async throws
        -> (status: Int, body: [String: Any], headers: [String: String]) {
        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)\(path)")!)
        request.httpMethod = method
        request.timeoutInterval = 10
        if let json {
            request.httpBody = try JSONSerialization.data(withJSONObject: json)
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        }
        let (data, response) = try await URLSession.shared.data(for: request)
        let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] ?? [:]
        let http = response as? HTTPURLResponse
        var headers: [String: String] = [:]
        for (name, value) in http?.allHeaderFields ?? [:] { headers["\(name)".lowercased()] = "\(value)" }
        return (http?.statusCode ?? 0, object, headers)
    }

    func task(_ id: String) async throws -> [String: Any] {
        try await request("GET", "/v1/videos/image2video/\(id)").body["data"] as? [String: Any] ?? [:]
    }

    static func binary() throws -> String {
        var folders: [URL] = []
        if let exe = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            folders.append(URL(fileURLWithPath: exe).deletingLastPathComponent())
        }
        for bundle in Bundle.allBundles where bundle.bundlePath.hasSuffix(".xctest") {
            folders.append(bundle.bundleURL.deletingLastPathComponent())
        }
        for folder in folders {
            let candidate = folder.appendingPathComponent("img2vid").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        throw ScaleOutError.notStarted("no img2vid executable beside the test bundle in \(folders.map(\.path))")
    }
}

enum ScaleOutError: Error { case notStarted(String), timeout(String) }
