import Foundation
import XCTest

/// Restart safety: kill -9 the server in the middle of a task, start it again on the same data
/// folder: the task runs again and completes; a queued task is not lost either.
final class RestartTests: ServerTestCase {
    func testKill9MidTaskThenRestartCompletesEveryTask() throws {
        let dataDir = try Paths.temporaryFolder(self)
        let first = try ServerProcess(test: self, dataDir: dataDir, extra: tinyArgs + ["--slots", "1"])
        let running = try submit(first, try slowTaskBody(steps: 12))
        let queued = try submit(first, try taskBody(steps: 3))
        let mid = try waitFor(first, running) { (($0["progress"] as? [String: Any])?["step"] as? Int ?? 0) >= 2 }
        XCTAssertEqual(mid["task_status"] as? String, "processing")
        first.kill9()

        let second = try ServerProcess(test: self, dataDir: dataDir, extra: tinyArgs + ["--slots", "1"])
        let startLog = second.stderr + ((try? String(contentsOfFile: second.stdoutPath, encoding: .utf8)) ?? "")
        XCTAssertTrue(startLog.contains("queued again 1 task"), startLog)
        for id in [running, queued] {
            let done = try waitFor(second, id, timeout: 180)
            XCTAssertEqual(done["task_status"] as? String, "succeed", "\(id): \(done)")
            let url = try XCTUnwrap(((done["task_result"] as? [String: Any])?["videos"] as? [[String: Any]])?.first?["url"] as? String)
            let video = try second.client.get(String(url.dropFirst("http://127.0.0.1:\(second.port)".count)))
            XCTAssertEqual(video.status, 200)
            XCTAssertEqual(Array(video.body[4..<8]), Array("ftyp".utf8))
        }
        // The interrupted task's events show it queued again after the kill.
        var statuses: [String] = []
        _ = try second.client.events("/v1/videos/image2video/\(running)/events") { _, kind, data in
            if kind == "status", let o = try? JSONSerialization.jsonObject(with: Data(data.utf8)) as? [String: Any] {
                statuses.append(o["task_status"] as? String ?? "?")
            }
            return true
        }
        XCTAssertEqual(statuses, ["submitted", "processing", "submitted", "processing", "succeed"])
        XCTAssertEqual(try second.client.get("/v1/videos/image2video").json()["total"] as? Int, 2)
        XCTAssertEqual(second.stop(), 0, second.stderr)
    }

    func testSecondServerOnTheSameDataFolderIsRefused() throws {
        let dataDir = try Paths.temporaryFolder(self)
        let first = try ServerProcess(test: self, dataDir: dataDir, extra: tinyArgs + ["--slots", "0"])
        let r = try Paths.run(["serve", "--port", "0", "--data-dir", dataDir, "--policy", "none"] + tinyArgs)
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stderr.contains("another img2vid serve uses"), r.stderr)
        XCTAssertEqual(first.stop(), 0)
    }
}
