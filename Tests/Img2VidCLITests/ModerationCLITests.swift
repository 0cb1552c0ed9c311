import Foundation
import Media
import TestSupport
import XCTest

/// The moderation layer through the real binary: the three stages, every action, the audit log,
/// `check`, `--policy none`, failing closed. Benign content only: a gradient image, test words,
/// and exec detectors written by the tests.
final class ModerationCLITests: CLIFolderTestCase {
    func generateArgs(_ output: String, _ extra: [String] = []) throws -> [String] {
        ["generate", "--image", image, "--output", output, "--width", "64", "--height", "64", "--steps", "3", "--num-frames", "4"]
            + (try CLI.modelArgs()) + extra
    }

    /// An exec scanner: reports TEST_FLAG with 0.9 where `condition` (shell) holds, else 0.1.
    func scanner(_ condition: String, name: String = "scan.sh") throws -> String {
        try ExecScanner.write(to: path(name), condition: condition)
    }

    /// Writes a policy with an audit log and quarantine folder in the test folder.
    func policy(_ rules: String, detectors: String, name: String = "policy.json") throws -> String {
        let file = path(name)
        try #"{"audit_log": "audit.jsonl", "quarantine_folder": "quarantine", "detectors": {\#(detectors)}, "rules": [\#(rules)]}"#
            .write(toFile: file, atomically: true, encoding: .utf8)
        return file
    }

    func auditLines() throws -> [[String: Any]] {
        let text = try String(contentsOfFile: path("audit.jsonl"), encoding: .utf8)
        return try text.split(separator: "\n").map { try XCTUnwrap(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]) }
    }

    func sha256sum(_ file: String) throws -> String {
        let r = try CLI.runProgram("/usr/bin/env", ["sha256sum", file])
        return String(r.stdout.prefix(64))
    }

    // MARK: Off

    func testPolicyNoneSaysSoOnceAndGenerates() throws {
        let out = path("none.mp4")
        let r = try CLI.run(try generateArgs(out, ["--policy", "none", "--json"]))
        XCTAssertEqual(r.exitCode, 0, r.stderr)
        XCTAssertEqual(r.stderr.components(separatedBy: "moderation is off").count - 1, 1, r.stderr)
        XCTAssertTrue(r.stderr.contains("img2vid: moderation is off (--policy none)"), r.stderr)
        XCTAssertTrue(FileManager.default.fileExists(atPath: out))
        XCTAssertEqual((try r.json()["moderation"] as? [Any])?.count, 0)
    }

    // MARK: Input

    func testInputRejectionExits5BeforeAnyModelWork() throws {
        let scan = try scanner("true")
        let p = try policy(#"{"stage": "input", "detector": "scanner", "labels": ["TEST_FLAG"], "threshold": 0.5, "action": "reject"}"#,
                           detectors: #""scanner": {"type": "exec", "command": ["\#(scan)"]}"#)
        let out = path("rejected.mp4")
        // A model folder that does not exist: the rejection comes first, so nothing tries to load it.
        let missingModel = ["generate", "--image", image, "--output", out, "--model", path("no-model"), "--policy", p, "--json"]
        let r = try CLI.run(missingModel)
        XCTAssertEqual(r.exitCode, 5, r.stderr)
        XCTAssertTrue(r.stderr.contains("img2vid: error: rejected at input: detector scanner saw TEST_FLAG with score 0.90 >= 0.50"), r.stderr)
        let json = try r.json()
        XCTAssertEqual(json["status"] as? String, "rejected")
        XCTAssertEqual(json["exit_code"] as? Int, 5)
        let decisions = try XCTUnwrap(json["moderation"] as? [[String: Any]])
        XCTAssertEqual(decisions.count, 1)
        XCTAssertEqual(decisions[0]["stage"] as? String, "input")
        XCTAssertEqual(decisions[0]["detector"] as? String, "scanner")
        XCTAssertEqual(decisions[0]["label"] as? String, "TEST_FLAG")
        XCTAssertEqual(decisions[0]["score"] as? Double ?? 0, 0.9, accuracy: 1e-6)
        XCTAssertEqual(decisions[0]["threshold"] as? Double, 0.5)
        XCTAssertEqual(decisions[0]["action"] as? String, "reject")
        XCTAssertEqual(decisions[0]["triggered"] as? Bool, true)
        XCTAssertNotNil(decisions[0]["seconds"] as? Double)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out))
        // The same request without moderation fails on the model (exit 4): the layer stopped it first.
        XCTAssertEqual(try CLI.run(Array(missingModel.dropLast(3)) + ["--policy", "none"]).exitCode, 4)

        // With the real model: no model stage starts, nothing is written.
        let r2 = try CLI.run(try generateArgs(out, ["--policy", p, "--progress"]))
        XCTAssertEqual(r2.exitCode, 5, r2.stderr)
        XCTAssertFalse(r2.stderr.contains("load model"), r2.stderr)
        XCTAssertFalse(r2.stderr.contains("denoise"), r2.stderr)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasSuffix(".mp4") || $0.hasPrefix(".") }, [])

        // The audit log: one line per request, the image's SHA-256, never the image.
        let lines = try auditLines()
        XCTAssertEqual(lines.count, 2)
        let hash = try sha256sum(image)
        XCTAssertEqual(hash.count, 64)
        for line in lines {
            XCTAssertEqual(line["input_sha256"] as? String, hash)
            XCTAssertEqual(line["outcome"] as? String, "rejected")
            XCTAssertEqual(line["command"] as? String, "generate")
            XCTAssertEqual((line["decisions"] as? [[String: Any]])?.first?["label"] as? String, "TEST_FLAG")
        }
        let log = try Data(contentsOf: URL(fileURLWithPath: path("audit.jsonl")))
        XCTAssertLessThan(log.count, 2000)
        XCTAssertNil(log.range(of: Data([0x89, 0x50, 0x4E, 0x47])), "no PNG bytes in the log")
        XCTAssertFalse(String(decoding: log, as: UTF8.self).contains("iVBOR"), "no base64 PNG in the log")
    }

    // MARK: Prompt and check

    func testPromptKeywordsAndCheck() throws {
        let p = try policy(#"{"stage": "prompt", "detector": "keywords", "labels": ["TEST_FRUIT"], "threshold": 0.5, "action": "reject"}"#,
                           detectors: #""keywords": {"lists": {"TEST_FRUIT": ["purple banana"]}}"#)
        let out = path("prompt.mp4")
        let r = try CLI.run(try generateArgs(out, ["--policy", p, "--prompt", "a PURPL3 b.a.n.a.n.a on a table"]))
        XCTAssertEqual(r.exitCode, 5, r.stderr)
        XCTAssertTrue(r.stderr.contains("rejected at prompt: detector keywords saw TEST_FRUIT with score 1.00 >= 0.50"), r.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out))

        let pass = try CLI.run(["check", "--image", image, "--policy", p, "--prompt", "a yellow banana"])
        XCTAssertEqual(pass.exitCode, 0, pass.stderr)
        XCTAssertTrue(pass.stdout.hasPrefix("pass: the request would pass"), pass.stdout)

        let reject = try CLI.run(["check", "--image", image, "--policy", p, "--prompt", "purple   banana", "--json"])
        XCTAssertEqual(reject.exitCode, 5, reject.stderr)
        let json = try reject.json()
        XCTAssertEqual(json["status"] as? String, "rejected")
        XCTAssertEqual((json["moderation"] as? [[String: Any]])?.first?["stage"] as? String, "prompt")

        let lines = try auditLines()
        XCTAssertEqual(lines.map { $0["command"] as? String }, ["generate", "check", "check"])
        XCTAssertEqual(lines.map { $0["outcome"] as? String }, ["rejected", "allowed", "rejected"])
        XCTAssertEqual((lines[1]["text_sha256"] as? [String])?.count, 1)
        XCTAssertFalse(try String(contentsOfFile: path("audit.jsonl"), encoding: .utf8).contains("banana"), "texts are hashed, not logged")

        // check with --policy none passes and says so.
        let off = try CLI.run(["check", "--image", image, "--policy", "none", "--json"])
        XCTAssertEqual(off.exitCode, 0, off.stderr)
        XCTAssertTrue(off.stderr.contains("moderation is off"))
        XCTAssertEqual(try off.json()["status"] as? String, "pass")
    }

    // MARK: Compare

    /// `compare` goes through the same layer: a rejected prompt stops it before the model loads
    /// (audit command "compare"), and the output stage sees the side-by-side frames before they
    /// are written.
    func testCompareIsModerated() throws {
        func compareArgs(_ out: String, _ extra: [String]) throws -> [String] {
            ["compare", "--image", image, "--output", out, "--guidance", "off", "--width", "64", "--height", "64",
             "--steps", "3", "--num-frames", "4"] + (try CLI.modelArgs()) + extra
        }
        let out = path("cmp.mp4")
        let prompt = try policy(#"{"stage": "prompt", "detector": "keywords", "labels": ["TEST_FRUIT"], "threshold": 0.5, "action": "reject"}"#,
                                detectors: #""keywords": {"lists": {"TEST_FRUIT": ["purple banana"]}}"#)
        let rejected = try CLI.run(try compareArgs(out, ["--policy", prompt, "--prompt", "a purple banana"]))
        XCTAssertEqual(rejected.exitCode, 5, rejected.stderr)
        XCTAssertTrue(rejected.stderr.contains("rejected at prompt: detector keywords saw TEST_FRUIT"), rejected.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out))
        XCTAssertEqual(try auditLines().map { $0["command"] as? String }, ["compare"])

        let scan = try scanner(#"[ "$IMG2VID_STAGE" = output ]"#)
        let output = try policy(#"{"stage": "output", "detector": "scanner", "labels": ["TEST_FLAG"], "threshold": 0.5, "action": "withhold"}"#,
                                detectors: #""scanner": {"type": "exec", "command": ["\#(scan)"], "timeout_seconds": 20}"#, name: "output.json")
        let withheld = try CLI.run(try compareArgs(out, ["--policy", output]))
        XCTAssertEqual(withheld.exitCode, 5, withheld.stderr)
        XCTAssertTrue(withheld.stderr.contains("withheld at output (frame 0): detector scanner saw TEST_FLAG"), withheld.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasPrefix(".cmp") }, [], "no temporary file left")

        let allowed = try CLI.run(try compareArgs(out, ["--policy", prompt, "--prompt", "a yellow banana"]))
        XCTAssertEqual(allowed.exitCode, 0, allowed.stderr)
        XCTAssertEqual(try CLI.probe(out).stream["nb_read_frames"] as? String, "4")
    }

    // MARK: Output

    /// An exec detector that flags frame 3 of the decoded frames, under each output action.
    func testOutputActionsOnFrame3() throws {
        let scan = try scanner(#"[ "$IMG2VID_STAGE" = output ] && [ "$IMG2VID_INDEX" = 3 ]"#)
        let reference = path("reference.mp4")
        let refFrames = path("reference-frames")
        XCTAssertEqual(try CLI.run(try generateArgs(reference, ["--policy", "none", "--save-frames", refFrames])).exitCode, 0)

        func run(_ action: String) throws -> (CLIRun, String, String) {
            let p = try policy(#"{"stage": "output", "detector": "scanner", "labels": ["TEST_FLAG"], "threshold": 0.5, "action": "\#(action)"}"#,
                               detectors: #""scanner": {"type": "exec", "command": ["\#(scan)"], "timeout_seconds": 20}"#, name: "\(action).json")
            let out = path("\(action).mp4"), frames = path("\(action)-frames")
            return (try CLI.run(try generateArgs(out, ["--policy", p, "--save-frames", frames, "--json"])), out, frames)
        }

        // withhold: exit 5, nothing written anywhere.
        let (withheld, withheldOut, withheldFrames) = try run("withhold")
        XCTAssertEqual(withheld.exitCode, 5, withheld.stderr)
        XCTAssertTrue(withheld.stderr.contains("withheld at output (frame 3): detector scanner saw TEST_FLAG with score 0.90 >= 0.50"), withheld.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: withheldOut))
        XCTAssertFalse(FileManager.default.fileExists(atPath: withheldFrames))
        let decisions = try XCTUnwrap(try withheld.json()["moderation"] as? [[String: Any]])
        XCTAssertEqual(decisions.map { $0["frame"] as? Int }, [0, 1, 2, 3])
        XCTAssertEqual(decisions.map { $0["triggered"] as? Bool }, [false, false, false, true])

        // quarantine: exit 5, the video only in the quarantine folder.
        let (quarantined, quarantinedOut, _) = try run("quarantine")
        XCTAssertEqual(quarantined.exitCode, 5, quarantined.stderr)
        XCTAssertTrue(quarantined.stderr.contains("quarantined at output (frame 3)"), quarantined.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: quarantinedOut))
        let held = try FileManager.default.contentsOfDirectory(atPath: path("quarantine"))
        XCTAssertEqual(held.count, 1)
        XCTAssertTrue(held[0].hasSuffix("-quarantine.mp4"), held[0])
        XCTAssertTrue(quarantined.stderr.contains(held[0]), quarantined.stderr)
        XCTAssertEqual(try CLI.probe(path("quarantine/\(held[0])")).stream["nb_read_frames"] as? String, "4")

        // blur: exit 0, frame 3 blurred, the others as without moderation.
        let (blurred, blurredOut, blurredFrames) = try run("blur")
        XCTAssertEqual(blurred.exitCode, 0, blurred.stderr)
        XCTAssertTrue(blurred.stderr.contains("blurred at output (frame 3)"), blurred.stderr)
        XCTAssertTrue(FileManager.default.fileExists(atPath: blurredOut))
        for i in 0..<4 {
            let name = "frame_0\(i).png"
            let a = try ImageDecoder.decode(path: (refFrames as NSString).appendingPathComponent(name))
            let b = try ImageDecoder.decode(path: (blurredFrames as NSString).appendingPathComponent(name))
            if i == 3 {
                XCTAssertNotEqual(a, b)
                XCTAssertLessThan(roughness(b), roughness(a) / 4, "frame 3 lost its detail")
            } else {
                XCTAssertEqual(a, b, "frame \(i) untouched")
            }
        }

        // log: exit 0, written, the hit said and recorded.
        let (logged, loggedOut, _) = try run("log")
        XCTAssertEqual(logged.exitCode, 0, logged.stderr)
        XCTAssertTrue(logged.stderr.contains("img2vid: logged at output (frame 3): detector scanner saw TEST_FLAG with score 0.90 >= 0.50"), logged.stderr)
        XCTAssertTrue(FileManager.default.fileExists(atPath: loggedOut))

        let lines = try auditLines()
        XCTAssertEqual(lines.map { $0["outcome"] as? String }, ["withheld", "quarantined", "blurred", "logged"])
        XCTAssertEqual(lines[1]["written"] as? String, path("quarantine/\(held[0])"))
        XCTAssertNil(lines[0]["written"])
    }

    /// Mean absolute difference between horizontal neighbours.
    func roughness(_ image: RGBImage) -> Double {
        var sum = 0, n = 0
        for y in 0..<image.height {
            for x in 1..<image.width {
                let a = image.pixel(x: x, y: y), b = image.pixel(x: x - 1, y: y)
                sum += abs(Int(a.r) - Int(b.r)) + abs(Int(a.g) - Int(b.g)) + abs(Int(a.b) - Int(b.b))
                n += 3
            }
        }
        return Double(sum) / Double(n)
    }

    // MARK: Failing closed

    func testMissingWeightsFailClosed() throws {
        let p = try policy(#"{"stage": "input", "detector": "nudenet", "labels": ["FACE_FEMALE"], "threshold": 0.5, "action": "reject"}"#,
                           detectors: #""nudenet": {"weights": "not-installed/nudenet-320n.safetensors"}"#)
        let out = path("weights.mp4")
        for args in [try generateArgs(out, ["--policy", p]), ["check", "--image", image, "--policy", p]] {
            let r = try CLI.run(args)
            XCTAssertEqual(r.exitCode, 4, r.stderr)
            XCTAssertTrue(r.stderr.contains("not-installed/nudenet-320n.safetensors, which is missing; failing closed"), r.stderr)
            XCTAssertTrue(r.stderr.contains("Scripts/setup"), r.stderr)
            XCTAssertTrue(r.stderr.contains("--policy none"), r.stderr)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: out))
    }

    func testExecTimeoutAndGarbageFailClosed() throws {
        let slow = path("slow.sh")
        try "#!/bin/sh\nsleep 30\n".write(toFile: slow, atomically: true, encoding: .utf8)
        chmod(slow, 0o755)
        let p = try policy(#"{"stage": "input", "detector": "scanner", "action": "log"}"#,
                           detectors: #""scanner": {"type": "exec", "command": ["\#(slow)"], "timeout_seconds": 1}"#)
        let r = try CLI.run(["check", "--image", image, "--policy", p])
        XCTAssertEqual(r.exitCode, 5, r.stderr)
        XCTAssertTrue(r.stderr.contains("rejected at input: detector scanner failed (timed out after 1 s); failing closed"), r.stderr)
        XCTAssertLessThan(r.seconds, 10)

        let garbage = try scanner("false", name: "garbage.sh")
        try "#!/bin/sh\necho hello\n".write(toFile: garbage, atomically: true, encoding: .utf8)
        chmod(garbage, 0o755)
        let p2 = try policy(#"{"stage": "input", "detector": "scanner", "action": "log"}"#,
                            detectors: #""scanner": {"type": "exec", "command": ["\#(garbage)"]}"#, name: "garbage.json")
        let r2 = try CLI.run(["check", "--image", image, "--policy", p2])
        XCTAssertEqual(r2.exitCode, 5, r2.stderr)
        XCTAssertTrue(r2.stderr.contains("printed no verdict"), r2.stderr)
    }

    func testInvalidPolicyIsAUsageError() throws {
        let p = try policy(#"{"stage": "input", "detector": "keywords", "action": "blur"}"#,
                           detectors: #""keywords": {"lists": {"A": ["x"]}}"#)
        let r = try CLI.run(["check", "--image", image, "--policy", p])
        XCTAssertEqual(r.exitCode, 2, r.stderr)
        XCTAssertTrue(r.stderr.contains("rules[0]: action 'blur' is not possible at stage 'input' (allowed there: reject, log)"), r.stderr)
        let named = try CLI.run(["check", "--image", image, "--policy", "no-such-policy"])
        XCTAssertEqual(named.exitCode, 2, named.stderr)
        XCTAssertTrue(named.stderr.contains("no moderation policy named 'no-such-policy'"), named.stderr)
    }

    // MARK: With the NudeNet weights (skipped where Scripts/setup has not fetched them)

    func testFacesRejectedByAFacePolicyAndAllowedByStandard() throws {
        let root = CLI.packageRoot()
        let weights = root.appendingPathComponent("Weights/moderation/nudenet-320n.safetensors").path
        let minilm = root.appendingPathComponent("Weights/moderation/all-MiniLM-L6-v2").path
        guard FileManager.default.fileExists(atPath: weights), FileManager.default.fileExists(atPath: minilm) else {
            throw XCTSkip("moderation weights not installed (Scripts/setup)")
        }
        let portrait = root.appendingPathComponent("Tests/ModerationTests/Fixtures/astronaut-96x128.png").path
        let faces = try policy(#"{"stage": "input", "detector": "nudenet", "labels": ["FACE_FEMALE", "FACE_MALE"], "threshold": 0.3, "action": "reject"}"#,
                               detectors: #""nudenet": {"weights": "\#(weights)"}"#, name: "faces.json")
        let r = try CLI.run(["generate", "--image", portrait, "--output", path("face.mp4"), "--model", path("no-model"), "--policy", faces])
        XCTAssertEqual(r.exitCode, 5, r.stderr)
        XCTAssertTrue(r.stderr.contains("rejected at input: detector nudenet saw FACE_"), r.stderr)

        // standard.json, with its audit log moved into the test folder.
        var standard = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: root.appendingPathComponent("Models/policies/standard.json"))) as? [String: Any])
        standard["audit_log"] = path("audit.jsonl")
        var detectors = try XCTUnwrap(standard["detectors"] as? [String: [String: Any]])
        detectors["nudenet"]?["weights"] = weights
        detectors["semantic"]?["model"] = minilm
        standard["detectors"] = detectors
        let copy = path("standard.json")
        try JSONSerialization.data(withJSONObject: standard).write(to: URL(fileURLWithPath: copy))
        let ok = try CLI.run(["check", "--image", portrait, "--policy", copy, "--prompt", "an astronaut smiling in a studio"])
        XCTAssertEqual(ok.exitCode, 0, ok.stderr)
    }
}
