import Foundation
import Jobs
import XCTest

/// Server-Sent Events with Last-Event-ID resume, and Standard Webhooks deliveries with retries.
final class EventsAndWebhooksTests: ServerTestCase {
    func testEventsResumeAfterLastEventID() throws {
        let server = try ServerProcess(test: self, extra: tinyArgs)
        let id = try submit(server, try slowTaskBody(steps: 8))
        // First connection: take three events, then drop the connection.
        var first: [(Int64, String, String)] = []
        let status = try server.client.events("/v1/videos/image2video/\(id)/events") { eventId, kind, data in
            first.append((eventId ?? -1, kind, data))
            return first.count < 3
        }
        XCTAssertEqual(status, 200)
        XCTAssertEqual(first.count, 3)
        XCTAssertEqual(first[0].1, "status")
        XCTAssertTrue(first[0].2.contains(#""task_status":"submitted""#), first[0].2)
        // Reconnect with Last-Event-ID: the stream resumes after it and runs to the end.
        var rest: [(Int64, String, String)] = []
        _ = try server.client.events("/v1/videos/image2video/\(id)/events", headers: ["Last-Event-ID": String(first[2].0)]) { eventId, kind, data in
            rest.append((eventId ?? -1, kind, data))
            return true
        }
        let all = first + rest
        let ids = all.map(\.0)
        XCTAssertEqual(ids, ids.sorted(), "ids increase")
        XCTAssertEqual(Set(ids).count, ids.count, "no event twice")
        XCTAssertGreaterThan(rest.first?.0 ?? 0, first[2].0)
        let last = try XCTUnwrap(all.last)
        XCTAssertEqual(last.1, "status")
        XCTAssertTrue(last.2.contains(#""task_status":"succeed""#), last.2)
        let steps = all.filter { $0.1 == "progress" }.compactMap { e -> Int? in
            guard let o = try? JSONSerialization.jsonObject(with: Data(e.2.utf8)) as? [String: Any], o["stage"] as? String == "denoise" else { return nil }
            return o["step"] as? Int
        }
        XCTAssertEqual(steps, Array(0...8), "one event as denoising starts, then one per step")
        // A finished task's stream replays everything and ends.
        var replay = 0
        _ = try server.client.events("/v1/videos/image2video/\(id)/events") { _, _, _ in replay += 1; return true }
        XCTAssertEqual(replay, all.count)
        XCTAssertEqual(server.stop(), 0)
    }

    func testSignedWebhooksAreRetriedUnderTheSameID() throws {
        // The receiver fails the first message twice, then accepts it; it accepts the others at once.
        let receiver = try WebhookReceiver(statusFor: { first, seen in first && seen <= 2 ? 500 : 204 })
        defer { receiver.stop() }
        let secret = WebhookSigner.newSecret()
        let server = try ServerProcess(test: self, extra: tinyArgs + ["--webhook-secret", secret, "--webhook-retry-seconds", "0.2"])
        let id = try submit(server, try taskBody(extra: ["callback_url": receiver.url, "external_task_id": "hook-1"]))
        try waitFor(server, id)
        // Every status change (submitted, processing, succeed) arrives, signed, at least once with a 2xx.
        func statuses() -> Set<String> {
            Set(receiver.all.compactMap { r in
                (try? JSONSerialization.jsonObject(with: Data(r.body.utf8)) as? [String: Any])?["task_status"] as? String
            })
        }
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            let firstId = receiver.all.first?.headers["webhook-id"]
            if statuses() == ["submitted", "processing", "succeed"] && receiver.all.filter({ $0.headers["webhook-id"] == firstId }).count == 3 { break }
            usleep(100_000)
        }
        XCTAssertEqual(statuses(), ["submitted", "processing", "succeed"], "\(receiver.all.map(\.body))")
        let signer = try WebhookSigner(secret: secret)
        for r in receiver.all {
            let wid = try XCTUnwrap(r.headers["webhook-id"]), ts = try XCTUnwrap(Int64(r.headers["webhook-timestamp"] ?? ""))
            let sig = try XCTUnwrap(r.headers["webhook-signature"])
            XCTAssertTrue(sig.hasPrefix("v1,"), sig)
            XCTAssertTrue(signer.verify(id: wid, timestamp: ts, body: r.body, signatureHeader: sig), "signature of \(wid)")
            XCTAssertFalse(try WebhookSigner(secret: WebhookSigner.newSecret()).verify(id: wid, timestamp: ts, body: r.body, signatureHeader: sig))
            XCTAssertLessThan(abs(Double(ts) - Date().timeIntervalSince1970), 120)
            let o = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(r.body.utf8)) as? [String: Any])
            XCTAssertEqual(o["task_id"] as? String, id)
            XCTAssertEqual((o["task_info"] as? [String: Any])?["external_task_id"] as? String, "hook-1")
        }
        // The failed first attempt was retried under the same webhook-id.
        let firstId = receiver.all[0].headers["webhook-id"]
        XCTAssertEqual(receiver.all.filter { $0.headers["webhook-id"] == firstId }.count, 3, "two failures, then the success")
        // The deliveries are visible on the task (the last attempt is recorded once its answer is read).
        let done = try waitFor(server, id, timeout: 10) { t in
            ((t["webhooks"] as? [[String: Any]]) ?? []).allSatisfy { $0["state"] as? String == "delivered" }
        }
        let hooks = try XCTUnwrap(done["webhooks"] as? [[String: Any]])
        XCTAssertEqual(hooks.count, 3)
        // The dispatcher sends due deliveries concurrently, so the one the receiver saw first (and
        // failed twice) need not be the oldest: find it by its id.
        XCTAssertEqual(hooks.first { $0["webhook_id"] as? String == firstId }?["attempts"] as? Int, 3, "\(hooks)")
        XCTAssertEqual(hooks.filter { $0["attempts"] as? Int == 1 }.count, 2, "\(hooks)")
        XCTAssertTrue(hooks.allSatisfy { $0["state"] as? String == "delivered" }, "\(hooks)")
        XCTAssertEqual(server.stop(), 0)
    }
}
