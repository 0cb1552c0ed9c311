import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// API keys (Bearer auth, per-key policy and limits, revocation) and moderation at submit and at
/// the output stage.
final class KeysAndModerationTests: ServerTestCase {
    func testKeysAuthLimitsAndRevocation() throws {
        let dataDir = try Paths.temporaryFolder(self)
        // No keys: binding beyond loopback is refused at start.
        let open = try Paths.run(["serve", "--host", "0.0.0.0", "--port", "0", "--data-dir", dataDir, "--policy", "none"] + tinyArgs)
        XCTAssertNotEqual(open.status, 0)
        XCTAssertTrue(open.stderr.contains("refusing to bind 0.0.0.0 without API keys"), open.stderr)

        let add = try Paths.run(["keys", "add", "alice", "--max-concurrent", "1", "--max-queued", "0", "--data-dir", dataDir])
        XCTAssertEqual(add.status, 0, add.stderr)
        let alice = add.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        XCTAssertTrue(alice.hasPrefix("i2v_") && alice.count == 68, alice)
        let bob = try Paths.run(["keys", "add", "bob", "--data-dir", dataDir]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        XCTAssertEqual(try Paths.run(["keys", "add", "bob", "--data-dir", dataDir]).status, 2, "names are unique")
        // Only a salted hash is stored: the key's text is nowhere in the database.
        let db = try Data(contentsOf: URL(fileURLWithPath: dataDir + "/img2vid.sqlite"))
        XCTAssertNil(db.range(of: Data(alice.utf8)))
        XCTAssertNil(db.range(of: Data(alice.dropFirst(4).utf8)))
        let list = try Paths.run(["keys", "list", "--json", "--data-dir", dataDir])
        let rows = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(list.stdout.utf8)) as? [[String: Any]])
        XCTAssertEqual(rows.map { $0["name"] as? String }, ["alice", "bob"])
        XCTAssertFalse(list.stdout.contains(alice))

        let server = try ServerProcess(test: self, dataDir: dataDir, extra: tinyArgs + ["--slots", "1"])
        let c = server.client
        let body = try slowTaskBody(steps: 60)
        let none = try c.postJSON("/v1/videos/image2video", body)
        XCTAssertEqual(none.status, 401)
        XCTAssertEqual(none.code, 1001)
        let wrong = try c.postJSON("/v1/videos/image2video", body, headers: ["Authorization": "Bearer i2v_" + String(repeating: "0", count: 64)])
        XCTAssertEqual(wrong.code, 1002)
        XCTAssertEqual(try c.get("/v1/videos/image2video", headers: ["Authorization": "Basic abc"]).code, 1000)

        let a = ["Authorization": "Bearer \(alice)"], b = ["Authorization": "Bearer \(bob)"]
        let first = try submit(server, body, headers: a)
        // alice may have one unfinished task: the second is refused with 1303 and Retry-After.
        let over = try c.postJSON("/v1/videos/image2video", body, headers: a)
        XCTAssertEqual(over.status, 429, over.text)
        XCTAssertEqual(over.code, 1303)
        XCTAssertGreaterThanOrEqual(Int(over.headers["retry-after"] ?? "") ?? 0, 1)
        XCTAssertTrue(over.message.contains("limit is 1 unfinished"), over.message)
        // bob has no limits; he cannot see alice's task, and lists only his own.
        let bobs = try submit(server, try taskBody(steps: 3), headers: b)
        XCTAssertEqual(try c.get("/v1/videos/image2video/\(first)", headers: b).status, 404)
        XCTAssertEqual(try c.request("POST", "/v1/videos/image2video/\(first)/cancel", headers: b).status, 404)
        XCTAssertEqual(try c.get("/v1/videos/image2video", headers: b).json()["total"] as? Int, 1)
        XCTAssertEqual(try c.get("/v1/videos/image2video/\(bobs)", headers: b).status, 200)
        // After alice's task ends, she may submit again.
        XCTAssertEqual(try c.request("POST", "/v1/videos/image2video/\(first)/cancel", headers: a).status, 200)
        try waitFor(server, first, timeout: 60, headers: a)
        _ = try submit(server, try taskBody(steps: 3), headers: a)
        // Revoked: refused on the next request.
        XCTAssertEqual(try Paths.run(["keys", "revoke", "bob", "--data-dir", dataDir]).status, 0)
        XCTAssertEqual(try c.get("/v1/videos/image2video/\(bobs)", headers: b).code, 1002)
        XCTAssertEqual(server.stop(), 0)
        // With keys, other addresses may be bound (checked by starting on 0.0.0.0 only for loopback clients here).
        let wide = try ServerProcess(test: self, dataDir: dataDir, extra: tinyArgs + ["--host", "0.0.0.0", "--slots", "0"])
        XCTAssertEqual(try wide.client.get("/healthz").status, 200)
        XCTAssertEqual(wide.stop(), 0)
    }

    /// Each key runs under its own policy: a key created with a face-rejecting test policy gets
    /// 1301 (input stage, its policy named) for an image with a face, where the server's default
    /// policy (none) lets another key's identical submission through; the free check agrees.
    func testAKeysOwnPolicyApplies() throws {
        let dataDir = try Paths.temporaryFolder(self)
        guard let policy = try faceRejectingPolicy(in: try Paths.temporaryFolder(self)) else { return }
        let added = try Paths.run(["keys", "add", "strict", "--policy", policy, "--data-dir", dataDir])
        XCTAssertEqual(added.status, 0, added.stderr)
        let strict = ["Authorization": "Bearer " + added.stdout.trimmingCharacters(in: .whitespacesAndNewlines)]
        let plain = ["Authorization": "Bearer " + (try Paths.run(["keys", "add", "plain", "--data-dir", dataDir]).stdout
            .trimmingCharacters(in: .whitespacesAndNewlines))]
        // --slots 0: the API alone; submit-time moderation needs no worker.
        let server = try ServerProcess(test: self, dataDir: dataDir, extra: tinyArgs + ["--policy", "none", "--slots", "0"])
        let c = server.client
        let body = try taskBody(extra: ["image": try imageBase64(Paths.astronautPNG())])

        let refused = try c.postJSON("/v1/videos/image2video", body, headers: strict)
        XCTAssertEqual(refused.status, 400, refused.text)
        XCTAssertEqual(refused.code, 1301, refused.text)
        let m = try XCTUnwrap(refused.data["moderation"] as? [String: Any], refused.text)
        XCTAssertEqual(m["stage"] as? String, "input")
        XCTAssertEqual(m["detector"] as? String, "nudenet")
        XCTAssertTrue(["FACE_FEMALE", "FACE_MALE"].contains(m["label"] as? String ?? ""), "\(m)")
        XCTAssertGreaterThanOrEqual(m["score"] as? Double ?? 0, 0.3)
        XCTAssertEqual(m["policy"] as? String, policy)
        XCTAssertEqual(try c.get("/v1/videos/image2video", headers: strict).json()["total"] as? Int, 0, "no task for a rejection")

        let accepted = try c.postJSON("/v1/videos/image2video", body, headers: plain)
        XCTAssertEqual(accepted.status, 200, accepted.text)
        XCTAssertEqual(accepted.code, 0)

        let check = ["image": try imageBase64(Paths.astronautPNG())]
        XCTAssertEqual(try c.postJSON("/v1/moderation/check", check, headers: strict).data["status"] as? String, "rejected")
        XCTAssertEqual(try c.postJSON("/v1/moderation/check", check, headers: plain).data["status"] as? String, "pass")
        XCTAssertEqual(server.stop(), 0)
    }

    /// An exec scanner: reports TEST_FLAG with 0.9 when `condition` (shell) holds, else 0.1.
    func writeScanner(_ dir: String, _ condition: String) throws -> String {
        let script = dir + "/scan.sh"
        try """
            #!/bin/sh
            if \(condition); then echo '{"detections": [{"label": "TEST_FLAG", "score": 0.9}]}'
            else echo '{"detections": [{"label": "TEST_FLAG", "score": 0.1}]}'; fi
            """.write(toFile: script, atomically: true, encoding: .utf8)
        chmod(script, 0o755)
        return script
    }

    func testModerationAtSubmitAtOutputAndTheCheckEndpoint() throws {
        let dir = try Paths.temporaryFolder(self)
        // The prompt stage rejects a keyword list; the output stage's scanner flags every frame.
        let scanner = try writeScanner(dir, #"[ "$IMG2VID_STAGE" = output ]"#)
        let policy = dir + "/policy.json"
        try """
            {"audit_log": "audit.jsonl", "detectors": {"keywords": {"lists": {"TEST_FRUIT": ["purple banana"]}},
              "scanner": {"type": "exec", "command": ["\(scanner)"]}},
             "rules": [{"stage": "prompt", "detector": "keywords", "labels": ["TEST_FRUIT"], "threshold": 0.5, "action": "reject"},
                       {"stage": "output", "detector": "scanner", "labels": ["TEST_FLAG"], "threshold": 0.5, "action": "withhold"}]}
            """.write(toFile: policy, atomically: true, encoding: .utf8)
        let server = try ServerProcess(test: self, extra: tinyArgs + ["--policy", policy])
        let c = server.client

        // Prompt stage: 400, code 1301, the decision in data.moderation; no task.
        let r = try c.postJSON("/v1/videos/image2video", try taskBody(extra: ["prompt": "a purple banana"]))
        XCTAssertEqual(r.status, 400, r.text)
        XCTAssertEqual(r.code, 1301)
        let m = try XCTUnwrap(r.data["moderation"] as? [String: Any], r.text)
        XCTAssertEqual(m["stage"] as? String, "prompt")
        XCTAssertEqual(m["detector"] as? String, "keywords")
        XCTAssertEqual(m["label"] as? String, "TEST_FRUIT")
        XCTAssertEqual(m["score"] as? Double, 1)
        XCTAssertEqual(m["threshold"] as? Double, 0.5)
        XCTAssertEqual(m["action"] as? String, "reject")
        XCTAssertEqual(m["policy"] as? String, policy)
        XCTAssertTrue(r.message.contains("rejected at prompt: detector keywords saw TEST_FRUIT with score 1.00 >= 0.50"), r.message)
        XCTAssertEqual(try c.get("/v1/videos/image2video").json()["total"] as? Int, 0)

        // The free pre-flight says the same without creating anything.
        let check = try c.postJSON("/v1/moderation/check", ["image": try imageBase64(), "prompt": "a purple banana"])
        XCTAssertEqual(check.status, 200, check.text)
        XCTAssertEqual(check.data["status"] as? String, "rejected")
        XCTAssertEqual((check.data["moderation"] as? [String: Any])?["label"] as? String, "TEST_FRUIT")
        let pass = try c.postJSON("/v1/moderation/check", ["image": try imageBase64(), "prompt": "a yellow banana"])
        XCTAssertEqual(pass.data["status"] as? String, "pass", pass.text)
        XCTAssertEqual(try c.postJSON("/v1/moderation/check", ["image": "%%%"]).code, 1201)

        // Output stage: the task fails, says why in words, and no video is served.
        let id = try submit(server, try taskBody(extra: ["prompt": "a yellow banana"]))
        let done = try waitFor(server, id)
        XCTAssertEqual(done["task_status"] as? String, "failed", "\(done)")
        XCTAssertTrue((done["task_status_msg"] as? String ?? "").contains("withheld at output"), "\(done)")
        let om = try XCTUnwrap(done["moderation"] as? [String: Any])
        XCTAssertEqual(om["stage"] as? String, "output")
        XCTAssertEqual(om["detector"] as? String, "scanner")
        XCTAssertEqual(om["action"] as? String, "withhold")
        XCTAssertEqual(((done["task_result"] as? [String: Any])?["videos"] as? [Any])?.count, 0)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: server.dataDir + "/files").filter { $0.hasSuffix(".mp4") }, [])
        // The audit log has both records.
        let audit = try String(contentsOfFile: dir + "/audit.jsonl", encoding: .utf8)
        XCTAssertTrue(audit.contains(#""outcome":"withheld""#), audit)
        XCTAssertTrue(try c.get("/metrics").text.contains(#"img2vid_rejections_total{stage="output"} 1"#))
        XCTAssertEqual(server.stop(), 0)
    }
}
