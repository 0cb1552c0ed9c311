import Foundation
import XCTest

/// `compare` through the engine, like `generate`: its output-stage moderation decisions reach the
/// audit log, and Ctrl-C stops it at the next step with exit 130 and nothing written.
final class CompareEngineCLITests: XCTestCase {
    var dir = ""
    var image = ""

    override func setUpWithError() throws {
        dir = try CLI.temporaryFolder(self)
        image = try CLI.gradientImage(in: dir)
    }

    func path(_ name: String) -> String { (dir as NSString).appendingPathComponent(name) }

    func compareArgs(_ out: String, _ extra: [String]) throws -> [String] {
        ["compare", "--image", image, "--output", out, "--guidance", "off", "--width", "64", "--height", "64",
         "--steps", "3", "--num-frames", "4"] + (try CLI.modelArgs()) + extra
    }

    /// A policy whose exec scanner flags every output frame (TEST_FLAG 0.9) under `action`, and
    /// checks the prompt with a keyword list.
    func policy(action: String) throws -> String {
        let script = path("scan.sh")
        try """
            #!/bin/sh
            if [ "$IMG2VID_STAGE" = output ]; then echo '{"detections": [{"label": "TEST_FLAG", "score": 0.9}]}'
            else echo '{"detections": []}'; fi
            """.write(toFile: script, atomically: true, encoding: .utf8)
        chmod(script, 0o755)
        let file = path("policy-\(action).json")
        try #"""
            {"audit_log": "audit.jsonl", "quarantine_folder": "quarantine",
             "detectors": {"scanner": {"type": "exec", "command": ["\#(script)"], "timeout_seconds": 20}, "keywords": {"lists": {"TEST_FRUIT": ["purple banana"]}}},
             "rules": [{"stage": "prompt", "detector": "keywords", "labels": ["TEST_FRUIT"], "threshold": 0.5, "action": "reject"},
                       {"stage": "output", "detector": "scanner", "labels": ["TEST_FLAG"], "threshold": 0.5, "action": "\#(action)"}]}
            """#.write(toFile: file, atomically: true, encoding: .utf8)
        return file
    }

    func auditLines() throws -> [[String: Any]] {
        let text = try String(contentsOfFile: path("audit.jsonl"), encoding: .utf8)
        return try text.split(separator: "\n").map { try XCTUnwrap(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]) }
    }

    func testCompareWritesItsOutputDecisionsToTheAuditLog() throws {
        let out = path("cmp.mp4")
        let logged = try CLI.run(try compareArgs(out, ["--policy", try policy(action: "log"), "--prompt", "a yellow banana"]))
        XCTAssertEqual(logged.exitCode, 0, logged.stderr)
        XCTAssertTrue(FileManager.default.fileExists(atPath: out))
        var lines = try auditLines()
        XCTAssertEqual(lines.count, 1, "one line per request")
        XCTAssertEqual(lines[0]["command"] as? String, "compare")
        XCTAssertEqual(lines[0]["outcome"] as? String, "logged")
        XCTAssertEqual(lines[0]["written"] as? String, out)
        var decisions = try XCTUnwrap(lines[0]["decisions"] as? [[String: Any]])
        XCTAssertEqual(Set(decisions.compactMap { $0["stage"] as? String }), ["prompt", "output"])
        XCTAssertTrue(decisions.contains { $0["stage"] as? String == "output" && $0["triggered"] as? Bool == true }, "\(decisions)")

        let withheldOut = path("withheld.mp4")
        let withheld = try CLI.run(try compareArgs(withheldOut, ["--policy", try policy(action: "withhold")]))
        XCTAssertEqual(withheld.exitCode, 5, withheld.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: withheldOut))
        lines = try auditLines()
        XCTAssertEqual(lines.count, 2)
        XCTAssertEqual(lines[1]["command"] as? String, "compare")
        XCTAssertEqual(lines[1]["outcome"] as? String, "withheld")
        XCTAssertNil(lines[1]["written"] as? String)
        decisions = try XCTUnwrap(lines[1]["decisions"] as? [[String: Any]])
        XCTAssertTrue(decisions.contains { $0["stage"] as? String == "output" && $0["action"] as? String == "withhold" }, "\(decisions)")

        let quarantinedOut = path("held.mp4")
        let quarantined = try CLI.run(try compareArgs(quarantinedOut, ["--policy", try policy(action: "quarantine")]))
        XCTAssertEqual(quarantined.exitCode, 5, quarantined.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: quarantinedOut))
        let held = try FileManager.default.contentsOfDirectory(atPath: path("quarantine"))
        XCTAssertEqual(held.count, 1)
        XCTAssertTrue(held[0].hasSuffix("-held.mp4"), "\(held)")
        lines = try auditLines()
        XCTAssertEqual(lines[2]["outcome"] as? String, "quarantined")
        XCTAssertEqual(lines[2]["written"] as? String, path("quarantine/\(held[0])"))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasPrefix(".") }, [], "no temporary file left")
    }

    /// SIGINT while denoising: compare stops at the next step, writes nothing, exits 130.
    func testSIGINTDuringCompareExits130AndLeavesNothing() throws {
        let out = path("cmp.mp4")
        var signalled = false
        let run = try CLI.run(["compare", "--image", image, "--output", out, "--guidance", "off,medium", "--avoid-image", image,
                               "--progress", "--num-frames", "4", "--width", "128", "--height", "128", "--steps", "200"]
                              + CLI.modelArgs(), timeout: 120) { process, stderr in
            if !signalled, stderr.contains("denoise: step 1/200") {
                kill(process.processIdentifier, SIGINT)
                signalled = true
            }
        }
        XCTAssertTrue(signalled, "no denoise step in the progress output: \(run.stderr)")
        XCTAssertEqual(run.exitCode, 130, run.stderr)
        XCTAssertTrue(run.stderr.contains("interrupted"), run.stderr)
        XCTAssertFalse(run.stderr.contains("denoise: step 200/200"), "the run did not stop early")
        XCTAssertFalse(FileManager.default.fileExists(atPath: out))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir), ["input.png"], "temporary files left")
        XCTAssertLessThan(run.seconds, 60)
    }
}
