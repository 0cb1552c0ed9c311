import Foundation
import Moderation
import XCTest

/// Policies that travel: a relative detector weight path is looked up next to the policy file,
/// then in each weight folder (the installation's Weights/, then --weights-dir / IMG2VID_WEIGHTS),
/// and the error names every place looked.
final class PolicyWeightLookupTests: XCTestCase {
    var dir = ""

    override func setUpWithError() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("img2vid-policy-lookup-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        dir = url.path
        addTeardownBlock { try? FileManager.default.removeItem(at: url) }
    }

    func path(_ relative: String) -> String { (dir as NSString).appendingPathComponent(relative) }

    func touch(_ relative: String) throws {
        try FileManager.default.createDirectory(atPath: (path(relative) as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: path(relative), contents: Data([1]))
    }

    func policy(weights: String, folders: [String]) throws -> ModerationPolicy {
        var p = try ModerationPolicy.decode(Data(#"{"audit_log": "../../Weights/moderation/audit.jsonl", "detectors": {"nudenet": {"weights": "\#(weights)"}}, "rules": [{"stage": "input", "detector": "nudenet", "labels": ["A"], "threshold": 0.5, "action": "reject"}]}"#.utf8),
                                            source: path("etc/img2vid/policy.json"), baseDirectory: path("etc/img2vid"))
        p.weightFolders = folders
        return p
    }

    func testNextToThePolicyFirstThenEachWeightFolderInOrder() throws {
        let install = path("opt/img2vid/Weights"), extra = path("srv/weights")
        let p = try policy(weights: "../../Weights/moderation/n.safetensors", folders: [install, extra])
        XCTAssertEqual(p.weightCandidates("../../Weights/moderation/n.safetensors"), [
            path("Weights/moderation/n.safetensors"),                       // next to the policy: etc/img2vid/../../Weights
            install + "/moderation/n.safetensors",
            extra + "/moderation/n.safetensors",
        ])
        XCTAssertNil(p.locateWeights("../../Weights/moderation/n.safetensors"))

        try touch("srv/weights/moderation/n.safetensors")
        XCTAssertEqual(p.locateWeights("../../Weights/moderation/n.safetensors"), path("srv/weights/moderation/n.safetensors"))
        try touch("opt/img2vid/Weights/moderation/n.safetensors")
        XCTAssertEqual(p.locateWeights("../../Weights/moderation/n.safetensors"), path("opt/img2vid/Weights/moderation/n.safetensors"))
        try touch("etc/img2vid/../../Weights/moderation/n.safetensors")
        XCTAssertEqual(p.locateWeights("../../Weights/moderation/n.safetensors"), path("Weights/moderation/n.safetensors"))
        XCTAssertEqual(p.weightCandidates("/abs/n.safetensors"), ["/abs/n.safetensors"], "an absolute path is taken as given")
    }

    func testTheErrorNamesEveryPlaceLooked() throws {
        let install = path("opt/img2vid/Weights"), extra = path("srv/weights")
        let p = try policy(weights: "detectors/n.safetensors", folders: [install, extra])
        XCTAssertThrowsError(try Moderator(policy: p)) { error in
            XCTAssertEqual(error as? PolicyError, .missingWeights(detector: "nudenet", path: path("etc/img2vid/detectors/n.safetensors"),
                                                                 searched: [install + "/detectors/n.safetensors", extra + "/detectors/n.safetensors"]))
            let message = "\(error)"
            for place in [path("etc/img2vid/detectors/n.safetensors"), install + "/detectors/n.safetensors", extra + "/detectors/n.safetensors"] {
                XCTAssertTrue(message.contains(place), message)
            }
            XCTAssertTrue(message.contains("failing closed"), message)
        }
    }

    func testOutputsOfACopiedPolicyGoToTheInstallationsWeights() throws {
        let install = path("opt/img2vid/Weights")
        let copied = try policy(weights: "n.safetensors", folders: [install])
        XCTAssertEqual(copied.resolveOutput("../../Weights/moderation/audit.jsonl"), install + "/moderation/audit.jsonl")
        XCTAssertEqual(copied.resolveOutput("audit.jsonl"), path("etc/img2vid/audit.jsonl"), "other relative paths stay beside the policy")
        try FileManager.default.createDirectory(atPath: path("Weights"), withIntermediateDirectories: true)
        XCTAssertEqual(copied.resolveOutput("../../Weights/moderation/audit.jsonl"), path("Weights/moderation/audit.jsonl"),
                       "in place (the Weights/ folder it names exists), the path is taken as written")
    }
}
