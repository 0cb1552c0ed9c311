import Foundation
import XCTest

/// Issue 15's fault "job store unavailable" with real components: a throw-away PostgreSQL cluster,
/// a real `img2vid serve --store postgres://... --slots 0` process, and the cluster stopped under
/// it. While the database is down every request that needs it is answered 503 with code 5002 and
/// `Retry-After` within the server's `--store-timeout` (never held until postgres-nio's pool gives
/// up), nothing is stored, and once the cluster is started again the same process accepts
/// submissions: the database then holds exactly the tasks that were answered 200.
final class PostgresOutageTests: XCTestCase {
    var cluster: PostgresCluster!
    var store = ""
    var database = ""

    override func setUp() async throws {
        do { cluster = try PostgresCluster() } catch { throw XCTSkip("no PostgreSQL: \(error)") }
        database = try cluster.createDatabase()
        store = cluster.url(database: database)
        addTeardownBlock { [cluster] in cluster?.destroy() }
    }

    func body(_ external: String) throws -> [String: Any] {
        let image = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Img2VidCLITests/Fixtures/input.png")
        return ["image": try Data(contentsOf: image).base64EncodedString(), "width": 64, "height": 64, "num_frames": 4,
                "steps": 2, "seed": 7, "external_task_id": external]
    }

    func taskCount() throws -> Int { Int(try cluster.psql("SELECT COUNT(*) FROM task", database: database)) ?? -1 }

    func testStoppedDatabaseAnswers503WithinTheDeadlineAndTheServerRecoversWhenItReturns() async throws {
        let server = try ScaleOutProcess(self, role: "serve", store: store, extra: ["--slots", "0", "--store-timeout", "3"])
        var accepted: [String] = []

        let first = try await server.request("POST", "/v1/videos/image2video", json: try body("before"))
        XCTAssertEqual(first.status, 200, "\(first.body)")
        accepted.append(try XCTUnwrap((first.body["data"] as? [String: Any])?["task_id"] as? String))

        try cluster.stop(mode: "fast")

        // A submission while the database is down: 503, code 5002, Retry-After, in about the deadline.
        for attempt in 0..<2 {
            let started = Date()
            let r = try await server.request("POST", "/v1/videos/image2video", json: try body("during-\(attempt)"))
            let seconds = Date().timeIntervalSince(started)
            XCTAssertEqual(r.status, 503, "\(r.body)")
            XCTAssertEqual(r.body["code"] as? Int, 5002, "\(r.body)")
            XCTAssertEqual(r.headers["retry-after"], "5", "\(r.headers)")
            let message = r.body["message"] as? String ?? ""
            XCTAssertTrue(message.contains("job store unavailable"), message)
            XCTAssertFalse(message.contains("password"), message)
            XCTAssertLessThan(seconds, 8, "the request was held \(seconds) s with --store-timeout 3")
            print("PostgresOutageTests: submission \(attempt + 1) while stopped: \(r.status) in \(String(format: "%.2f", seconds)) s: \(message)")
        }
        // Reads need the store too: 503 as well, not 500 and not a hang.
        let read = try await server.request("GET", "/v1/videos/image2video/\(accepted[0])")
        XCTAssertEqual(read.status, 503, "\(read.body)")
        XCTAssertEqual(read.body["code"] as? Int, 5002, "\(read.body)")
        let list = try await server.request("GET", "/v1/videos/image2video")
        XCTAssertEqual(list.status, 503, "\(list.body)")
        // The process is alive but not ready.
        let health = try await server.request("GET", "/healthz")
        XCTAssertEqual(health.status, 200)
        let ready = try await server.request("GET", "/readyz")
        XCTAssertEqual(ready.status, 503, "\(ready.body)")
        XCTAssertEqual(ready.body["code"] as? Int, 5002, "\(ready.body)")

        try cluster.start()

        // The same server process recovers: submissions are accepted again once the pool reconnects.
        let deadline = Date().addingTimeInterval(60)
        var recovered = false
        var statuses: [Int] = []
        var n = 0
        while Date() < deadline, !recovered {
            n += 1
            let r = try await server.request("POST", "/v1/videos/image2video", json: try body("after-\(n)"))
            statuses.append(r.status)
            if r.status == 200, let id = (r.body["data"] as? [String: Any])?["task_id"] as? String {
                accepted.append(id)
                recovered = true
            } else {
                XCTAssertEqual(r.status, 503, "\(r.body)")
                try await Task.sleep(nanoseconds: 500_000_000)
            }
        }
        XCTAssertTrue(recovered, "no submission accepted within 60 s of the restart: \(statuses); stderr: \(server.stderr)")
        print("PostgresOutageTests: after the restart: \(statuses) (one submission every 0.5 s after each 503)")
        let again = try await server.request("POST", "/v1/videos/image2video", json: try body("after-more"))
        XCTAssertEqual(again.status, 200, "\(again.body)")
        if let id = (again.body["data"] as? [String: Any])?["task_id"] as? String { accepted.append(id) }

        // Exactly the accepted tasks are stored: none of the refused ones, each with its image.
        XCTAssertEqual(try taskCount(), accepted.count, "answered 200: \(accepted)")
        XCTAssertEqual(try cluster.psql("SELECT COUNT(*) FROM task WHERE image IS NULL OR length(image) = 0", database: database), "0")
        let ids = try cluster.psql("SELECT id FROM task ORDER BY created_at", database: database).split(separator: "\n").map(String.init)
        XCTAssertEqual(Set(ids), Set(accepted))
        let readBack = try await server.request("GET", "/v1/videos/image2video/\(accepted[0])")
        XCTAssertEqual(readBack.status, 200, "\(readBack.body)")
        server.stop()
    }
}
