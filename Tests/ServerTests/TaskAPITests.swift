import Foundation
import XCTest

/// The task API end to end against a running `img2vid serve` (tiny test pipeline).
final class TaskAPITests: ServerTestCase {
    func testSubmitPollDownloadWithRangeAndList() throws {
        let server = try ServerProcess(test: self, extra: tinyArgs)
        let c = server.client
        XCTAssertEqual(try c.get("/healthz").status, 200)
        let submitted = try c.postJSON("/v1/videos/image2video", try taskBody(extra: ["external_task_id": "ext-1", "prompt": "a lighthouse"]))
        XCTAssertEqual(submitted.status, 200, submitted.text)
        XCTAssertEqual(submitted.code, 0)
        XCTAssertEqual(submitted.message, "SUCCEED")
        XCTAssertTrue((submitted.json()["request_id"] as? String ?? "").hasPrefix("req_"))
        XCTAssertEqual(submitted.data["task_status"] as? String, "submitted")
        let id = try XCTUnwrap(submitted.data["task_id"] as? String)
        XCTAssertNotNil(submitted.data["created_at"] as? Int)

        let done = try waitFor(server, id)
        XCTAssertEqual(done["task_status"] as? String, "succeed", "\(done)")
        XCTAssertEqual((done["task_info"] as? [String: Any])?["external_task_id"] as? String, "ext-1")
        // The same external_task_id again answers the task it made, not a second one.
        let again = try c.postJSON("/v1/videos/image2video", try taskBody(extra: ["external_task_id": "ext-1", "seed": 8]))
        XCTAssertEqual(again.status, 200, again.text)
        XCTAssertEqual(again.data["task_id"] as? String, id)
        XCTAssertEqual(again.data["task_status"] as? String, "succeed")
        XCTAssertEqual(try c.get("/v1/videos/image2video").json()["total"] as? Int, 1)
        let videos = try XCTUnwrap((done["task_result"] as? [String: Any])?["videos"] as? [[String: Any]])
        XCTAssertEqual(videos.count, 1)
        let url = try XCTUnwrap(videos[0]["url"] as? String)
        XCTAssertTrue(url.hasPrefix("http://127.0.0.1:\(server.port)/v1/files/file_"), url)
        XCTAssertEqual(videos[0]["duration"] as? String, String(format: "%.2f", 4.0 / 7.0))
        let progress = try XCTUnwrap(done["progress"] as? [String: Any])
        XCTAssertEqual(progress["steps"] as? Int, 3)
        XCTAssertEqual(progress["step"] as? Int, 3)

        // The whole file, then ranges of it.
        let path = String(url.dropFirst("http://127.0.0.1:\(server.port)".count))
        let full = try c.get(path)
        XCTAssertEqual(full.status, 200)
        XCTAssertEqual(full.headers["content-type"], "video/mp4")
        XCTAssertEqual(full.headers["accept-ranges"], "bytes")
        XCTAssertGreaterThan(full.body.count, 500)
        XCTAssertEqual(Array(full.body[4..<8]), Array("ftyp".utf8))
        let part = try c.get(path, headers: ["Range": "bytes=100-299"])
        XCTAssertEqual(part.status, 206)
        XCTAssertEqual(part.headers["content-range"], "bytes 100-299/\(full.body.count)")
        XCTAssertEqual(part.body, Array(full.body[100..<300]))
        let suffix = try c.get(path, headers: ["Range": "bytes=-50"])
        XCTAssertEqual(suffix.status, 206)
        XCTAssertEqual(suffix.body, Array(full.body.suffix(50)))
        let open = try c.get(path, headers: ["Range": "bytes=\(full.body.count - 10)-"])
        XCTAssertEqual(open.body, Array(full.body.suffix(10)))
        let beyond = try c.get(path, headers: ["Range": "bytes=\(full.body.count)-"])
        XCTAssertEqual(beyond.status, 416)
        XCTAssertEqual(beyond.headers["content-range"], "bytes */\(full.body.count)")
        XCTAssertEqual(try c.request("HEAD", path).headers["content-length"], String(full.body.count))
        XCTAssertEqual(try c.get("/v1/files/file_0000").code, 1203)

        // Multipart: the image as a file part, numbers as text.
        let boundary = "----img2vid\(UUID().uuidString)"
        var form = [UInt8]()
        func field(_ name: String, _ value: String) {
            form += Array("--\(boundary)\r\nContent-Disposition: form-data; name=\"\(name)\"\r\n\r\n\(value)\r\n".utf8)
        }
        field("width", "64"); field("height", "64"); field("num_frames", "4"); field("steps", "3"); field("seed", "7")
        form += Array("--\(boundary)\r\nContent-Disposition: form-data; name=\"image\"; filename=\"in.png\"\r\nContent-Type: image/png\r\n\r\n".utf8)
        form += Array(try Data(contentsOf: URL(fileURLWithPath: Paths.inputPNG())))
        form += Array("\r\n--\(boundary)--\r\n".utf8)
        let multi = try c.request("POST", "/v1/videos/image2video", headers: ["Content-Type": "multipart/form-data; boundary=\(boundary)"], body: form)
        XCTAssertEqual(multi.status, 200, multi.text)
        let id2 = try XCTUnwrap(multi.data["task_id"] as? String)
        let done2 = try waitFor(server, id2)
        XCTAssertEqual(done2["task_status"] as? String, "succeed", "\(done2)")
        // Same settings and seed: the same video bytes.
        let url2 = try XCTUnwrap(((done2["task_result"] as? [String: Any])?["videos"] as? [[String: Any]])?.first?["url"] as? String)
        XCTAssertEqual(try c.get(String(url2.dropFirst("http://127.0.0.1:\(server.port)".count))).body.count, full.body.count)

        // The list: newest first, paged.
        let list = try c.get("/v1/videos/image2video?pageNum=1&pageSize=1")
        XCTAssertEqual(list.status, 200)
        let items = try XCTUnwrap(list.json()["data"] as? [[String: Any]])
        XCTAssertEqual(items.count, 1)
        XCTAssertEqual(items[0]["task_id"] as? String, id2)
        XCTAssertEqual(list.json()["total"] as? Int, 2)
        let page2 = try XCTUnwrap(try c.get("/v1/videos/image2video?pageNum=2&pageSize=1").json()["data"] as? [[String: Any]])
        XCTAssertEqual(page2.first?["task_id"] as? String, id)

        // Metrics after work.
        let metrics = try c.get("/metrics").text
        XCTAssertTrue(metrics.contains("img2vid_queue_depth 0"), metrics)
        XCTAssertTrue(metrics.contains(#"img2vid_tasks{status="succeed"} 2"#), metrics)
        XCTAssertTrue(metrics.contains("img2vid_step_seconds_count"), metrics)
        XCTAssertEqual(server.stop(), 0, server.stderr)
    }

    func testEveryValidationErrorIsA4xxNamingTheFieldAndCreatesNoTask() throws {
        let server = try ServerProcess(test: self, extra: tinyArgs + ["--max-body-bytes", "200000", "--max-input-pixels", "4000", "--slots", "0"])
        let c = server.client
        let image = try imageBase64()
        func expect(_ body: Any, status: Int = 400, code: Int = 1201, _ words: [String], line: UInt = #line) throws {
            let r = try c.postJSON("/v1/videos/image2video", body)
            XCTAssertEqual(r.status, status, r.text, line: line)
            XCTAssertEqual(r.code, code, r.text, line: line)
            for w in words { XCTAssertTrue(r.message.contains(w), "'\(r.message)' lacks '\(w)'", line: line) }
        }
        // 64x64 = 4096 pixels, over the 4000 limit.
        try expect(["image": image], ["image", "4096 pixels", "limit of 4000"])
        let small = try imageBase64(Paths.root().appendingPathComponent("Tests/ServerTests/Fixtures/tiny-32.png").path)
        try expect(["image": small, "colour": "red"], ["colour", "unknown field"])
        try expect(["image": small, "steps": "3"], ["steps", "expected an integer, got a string"])
        try expect(["image": small, "steps": 2.5], ["steps", "expected an integer, got a number"])
        try expect(["image": small, "seed": true], ["seed", "expected an integer, got a boolean"])
        try expect(["image": small, "width": 65], ["width", "multiple of 8"])
        try expect(["image": small, "steps": 0], ["steps", "outside 1...150"])
        try expect(["image": small, "motion_bucket_id": 300], ["motion_bucket_id", "0...255"])
        try expect(["image": small, "guidance": "huge"], ["guidance", "not one of"])
        try expect(["image": small, "min_guidance_scale": 3, "max_guidance_scale": 1], ["min_guidance_scale", "above"])
        try expect(["image": small, "model_name": "nope"], ["model_name", "no model named 'nope'", "tiny"])
        try expect(["image": small, "callback_url": "ftp://x"], ["callback_url", "http"])
        try expect(["image": small, "avoid": ["cats"]], ["avoid", "text encoder"])
        try expect(["image": "not base64!!"], ["image", "not valid base64"])
        try expect(["image": Data("hello".utf8).base64EncodedString()], ["image", "not a readable"])
        try expect(["prompt": "x"], ["image", "required"])
        try expect([1, 2], code: 1200, ["body", "expected a JSON object"])
        let bad = try c.request("POST", "/v1/videos/image2video", headers: ["Content-Type": "application/json"], body: Array("{\"image\": ".utf8))
        XCTAssertEqual(bad.status, 400)
        XCTAssertEqual(bad.code, 1200)
        XCTAssertTrue(bad.message.hasPrefix("body: not valid JSON"), bad.message)
        let big = try c.postJSON("/v1/videos/image2video", ["image": String(repeating: "A", count: 300_000)])
        XCTAssertEqual(big.status, 413)
        XCTAssertEqual(big.code, 1201)
        XCTAssertTrue(big.message.contains("over the limit of 200000 bytes"), big.message)
        let form = try c.request("POST", "/v1/videos/image2video", headers: ["Content-Type": "text/plain"], body: Array("x".utf8))
        XCTAssertEqual(form.code, 1200)
        XCTAssertTrue(form.message.contains("Content-Type"), form.message)
        // Not found, bad queries, unknown routes: the envelope too.
        XCTAssertEqual(try c.get("/v1/videos/image2video/tsk_nope").status, 404)
        XCTAssertEqual(try c.get("/v1/videos/image2video/tsk_nope").code, 1203)
        XCTAssertEqual(try c.request("POST", "/v1/videos/image2video/tsk_nope/cancel").code, 1203)
        let page = try c.get("/v1/videos/image2video?pageSize=0")
        XCTAssertEqual(page.status, 400)
        XCTAssertTrue(page.message.hasPrefix("pageSize"), page.message)
        let route = try c.get("/v2/nothing")
        XCTAssertEqual(route.status, 404)
        XCTAssertEqual(route.code, 1203)
        // No task was created by any of them.
        XCTAssertEqual(try c.get("/v1/videos/image2video").json()["total"] as? Int, 0)
        XCTAssertFalse(server.stderr.contains("server error"), server.stderr)
        XCTAssertEqual(server.stop(), 0)
    }

    func testCancelQueuedAndRunning() throws {
        let server = try ServerProcess(test: self, extra: tinyArgs + ["--slots", "1"])
        let c = server.client
        let running = try submit(server, try slowTaskBody(steps: 60))
        let queued = try submit(server, try taskBody(steps: 3))
        try waitFor(server, running) { (($0["progress"] as? [String: Any])?["step"] as? Int ?? 0) >= 1 }
        // The queued one ends at once and never starts.
        let q = try c.request("POST", "/v1/videos/image2video/\(queued)/cancel")
        XCTAssertEqual(q.status, 200, q.text)
        XCTAssertEqual(q.data["task_status"] as? String, "failed")
        XCTAssertEqual(q.data["cancelled"] as? Bool, true)
        // The running one stops within a step or two.
        let before = try task(server, running)
        let stepBefore = (before["progress"] as? [String: Any])?["step"] as? Int ?? 0
        XCTAssertEqual(try c.request("POST", "/v1/videos/image2video/\(running)/cancel").status, 200)
        let stopped = try waitFor(server, running, timeout: 30)
        XCTAssertEqual(stopped["task_status"] as? String, "failed")
        XCTAssertEqual(stopped["cancelled"] as? Bool, true)
        XCTAssertTrue((stopped["task_status_msg"] as? String ?? "").contains("cancelled"), "\(stopped)")
        let stepAfter = (stopped["progress"] as? [String: Any])?["step"] as? Int ?? 0
        XCTAssertLessThanOrEqual(stepAfter - stepBefore, 3, "stopped within a few steps of the cancel")
        XCTAssertLessThan(stepAfter, 60)
        let q2 = try task(server, queued)
        XCTAssertNil(q2["progress"], "the queued task never started: \(q2)")
        // Cancelling a finished task is a conflict.
        let again = try c.request("POST", "/v1/videos/image2video/\(running)/cancel")
        XCTAssertEqual(again.status, 409)
        XCTAssertEqual(again.code, 1201)
        XCTAssertEqual(server.stop(), 0)
    }
}

/// The default configuration: the bundled demo model, its own defaults (8 frames, 128x128).
final class DemoModelServeTests: ServerTestCase {
    func testDemoModelEndToEnd() throws {
        let server = try ServerProcess(test: self)
        let c = server.client
        let deadline = Date().addingTimeInterval(60)
        while try c.get("/readyz").status != 200 && Date() < deadline { usleep(200_000) }
        XCTAssertEqual(try c.get("/readyz").data["default_model"] as? String, "demo")
        let image = try Data(contentsOf: Paths.root().appendingPathComponent("Examples/fog-pier.png"))
        XCTAssertTrue(try c.get("/metrics").text.contains("img2vid_model_loads 1.0\n"), "the warm-up loaded the demo model")
        let id = try submit(server, ["image": "data:image/png;base64," + image.base64EncodedString(), "seed": 3, "steps": 4])
        let done = try waitFor(server, id, timeout: 300)
        XCTAssertEqual(done["task_status"] as? String, "succeed", "\(done)")
        XCTAssertEqual(done["model_name"] as? String, "demo")
        let video = try XCTUnwrap(((done["task_result"] as? [String: Any])?["videos"] as? [[String: Any]])?.first)
        XCTAssertEqual(video["duration"] as? String, String(format: "%.2f", 8.0 / 7.0))
        let url = try XCTUnwrap(video["url"] as? String)
        let file = try c.get(String(url.dropFirst("http://127.0.0.1:\(server.port)".count)))
        XCTAssertEqual(file.status, 200)
        XCTAssertGreaterThan(file.body.count, 2000)
        // The task ran on the engine's cached model: no second load.
        let metrics = try c.get("/metrics").text
        XCTAssertTrue(metrics.contains("img2vid_model_loads 1.0\n"), metrics)
        XCTAssertEqual(server.stop(), 0)
    }
}
