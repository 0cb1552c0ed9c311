import Foundation
import Moderation
import XCTest

final class AuditLogTests: XCTestCase {
    func testAppendsOneJSONLinePerRecord() throws {
        let dir = try ModerationTestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = (dir as NSString).appendingPathComponent("nested/audit.jsonl")
        let log = AuditLog(path: path)
        let decision = ModerationDecision(stage: .input, detector: "nudenet", label: "FACE_FEMALE", score: 0.81, threshold: 0.5,
                                          action: .reject, triggered: true, seconds: 0.02)
        try log.append(AuditRecord(time: Date(timeIntervalSince1970: 0), command: "check", policy: "p.json",
                                   inputSha256: SHA256.hex(Array("image bytes".utf8)), textSha256: [SHA256.hex(Array("abc".utf8))],
                                   outcome: "rejected", decisions: [decision]))
        try log.append(AuditRecord(time: Date(timeIntervalSince1970: 86400), command: "generate", policy: "p.json", inputSha256: nil,
                                   textSha256: [], outcome: "allowed", written: "out.mp4", decisions: []))
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false)
        XCTAssertEqual(lines.count, 3)
        XCTAssertEqual(lines[2], "")
        let first = try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as! [String: Any]
        XCTAssertEqual(first["time"] as? String, "1970-01-01T00:00:00Z")
        XCTAssertEqual(first["input_sha256"] as? String, SHA256.hex(Array("image bytes".utf8)))
        XCTAssertEqual(first["text_sha256"] as? [String], ["ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"])
        XCTAssertEqual(first["outcome"] as? String, "rejected")
        let decisions = first["decisions"] as! [[String: Any]]
        XCTAssertEqual(decisions.first?["label"] as? String, "FACE_FEMALE")
        let second = try JSONDecoder().decode(AuditRecord.self, from: Data(lines[1].utf8))
        XCTAssertEqual(second.time, "1970-01-02T00:00:00Z")
        XCTAssertEqual(second.written, "out.mp4")
    }

    func testUnwritableLogThrows() {
        XCTAssertThrowsError(try AuditLog(path: "/proc/img2vid-audit.jsonl").append(
            AuditRecord(command: "check", policy: "p", inputSha256: nil, textSha256: [], outcome: "allowed", decisions: [])))
    }
}
