import Foundation
import XCTest

/// A policy copied out of Models/policies keeps working: its detectors' relative weight paths are
/// looked up next to it, then in the installation's Weights/, then in --weights-dir / IMG2VID_WEIGHTS.
final class PortablePolicyCLITests: XCTestCase {
    var dir = ""
    var image = ""

    override func setUpWithError() throws {
        dir = try CLI.temporaryFolder(self)
        image = try CLI.gradientImage(in: dir)
    }

    func path(_ name: String) -> String { (dir as NSString).appendingPathComponent(name) }

    func testACopyOfTheStandardPolicyWorksUnchangedWithCheckAndGenerate() throws {
        let root = CLI.packageRoot()
        let weights = root.appendingPathComponent("Weights/moderation")
        guard FileManager.default.fileExists(atPath: weights.appendingPathComponent("nudenet-320n.safetensors").path),
              FileManager.default.fileExists(atPath: weights.appendingPathComponent("all-MiniLM-L6-v2").path) else {
            throw XCTSkip("moderation weights not installed (Scripts/setup)")
        }
        let folder = path("etc/img2vid")
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let copy = (folder as NSString).appendingPathComponent("standard.json")
        try FileManager.default.copyItem(atPath: root.appendingPathComponent("Models/policies/standard.json").path, toPath: copy)

        let auditLog = weights.appendingPathComponent("audit.jsonl").path
        func auditLines() -> [String] {
            ((try? String(contentsOfFile: auditLog, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
        }
        let before = auditLines().count

        let check = try CLI.run(["check", "--image", image, "--policy", copy, "--prompt", "a lighthouse at dusk"])
        XCTAssertEqual(check.exitCode, 0, check.stderr)
        let out = path("clip.mp4")
        let generate = try CLI.run(["generate", "--image", image, "--output", out, "--width", "64", "--height", "64", "--steps", "3",
                                    "--num-frames", "4", "--policy", copy, "--json"] + (try CLI.modelArgs()))
        XCTAssertEqual(generate.exitCode, 0, generate.stderr)
        XCTAssertTrue(FileManager.default.fileExists(atPath: out))
        let stages = Set(try XCTUnwrap(try generate.json()["moderation"] as? [[String: Any]]).compactMap { $0["stage"] as? String })
        XCTAssertEqual(stages, ["input", "output"], "the nudenet detector ran at input and output (no prompt was given)")

        // The copy's audit log (../../Weights/moderation/audit.jsonl) has no Weights/ next to it:
        // it goes to the installation's, one line per request, naming the copy.
        let lines = auditLines()
        XCTAssertEqual(lines.count, before + 2)
        for line in lines.suffix(2) {
            let record = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            XCTAssertEqual(record["policy"] as? String, copy)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("Weights")), "nothing written beside the copy")
    }

    func testWeightsDirIsSearchedAndTheErrorNamesEveryPlace() throws {
        let folder = path("policies")
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let policy = (folder as NSString).appendingPathComponent("p.json")
        try #"{"detectors": {"nudenet": {"weights": "detectors/n.safetensors"}}, "rules": [{"stage": "input", "detector": "nudenet", "labels": ["A"], "threshold": 0.5, "action": "reject"}]}"#
            .write(toFile: policy, atomically: true, encoding: .utf8)
        let extra = path("weights-dir")
        let r = try CLI.run(["check", "--image", image, "--policy", policy, "--weights-dir", extra])
        XCTAssertEqual(r.exitCode, 4, r.stderr)
        let installation = CLI.packageRoot().appendingPathComponent("Weights/detectors/n.safetensors").path
        for place in [(folder as NSString).appendingPathComponent("detectors/n.safetensors"), installation, extra + "/detectors/n.safetensors"] {
            XCTAssertTrue(r.stderr.contains(place), "the error does not name \(place): \(r.stderr)")
        }
        let env = try CLI.run(["check", "--image", image, "--policy", policy], environment: ["IMG2VID_WEIGHTS": extra])
        XCTAssertTrue(env.stderr.contains(extra + "/detectors/n.safetensors"), env.stderr)

        // Found in the --weights-dir folder: the nudenet detector loads from there.
        let nudenet = CLI.packageRoot().appendingPathComponent("Weights/moderation/nudenet-320n.safetensors").path
        guard FileManager.default.fileExists(atPath: nudenet) else { throw XCTSkip("moderation weights not installed (Scripts/setup)") }
        try FileManager.default.createDirectory(atPath: extra + "/detectors", withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: extra + "/detectors/n.safetensors", withDestinationPath: nudenet)
        let found = try CLI.run(["check", "--image", image, "--policy", policy, "--weights-dir", extra])
        XCTAssertEqual(found.exitCode, 0, found.stderr)
    }
}
