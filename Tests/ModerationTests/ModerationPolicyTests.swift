import Foundation
import Moderation
import XCTest

final class ModerationPolicyTests: XCTestCase {
    func decode(_ json: String) throws -> ModerationPolicy {
        try ModerationPolicy.decode(Data(json.utf8), source: "test.json", baseDirectory: "/srv/policies")
    }

    /// The reason of an invalid policy, or a failure when it decodes.
    func reason(_ json: String, file: StaticString = #filePath, line: UInt = #line) -> String {
        do {
            _ = try decode(json)
            XCTFail("the policy should be invalid", file: file, line: line)
            return ""
        } catch let PolicyError.invalid(_, reason) {
            return reason
        } catch {
            XCTFail("unexpected error \(error)", file: file, line: line)
            return ""
        }
    }

    let detectors = #""detectors": {"nudenet": {"weights": "w.safetensors", "frame_stride": 3}, "keywords": {"lists": {"A": ["x"]}}}"#

    func testDecodesTheMinimalRuleShape() throws {
        let p = try decode(#"{\#(detectors), "audit_log": "logs/audit.jsonl", "rules": [{"stage": "input", "detector": "nudenet", "labels": ["FEMALE_GENITALIA_EXPOSED", "FACE_FEMALE"], "threshold": 0.25, "action": "reject"}, {"stage": "prompt", "detector": "keywords", "action": "log"}]}"#)
        XCTAssertEqual(p.rules.count, 2)
        XCTAssertEqual(p.rules[0], PolicyRule(stage: .input, detector: "nudenet", labels: ["FEMALE_GENITALIA_EXPOSED", "FACE_FEMALE"],
                                              threshold: 0.25, action: .reject))
        XCTAssertEqual(p.rules[1].threshold, 0.5, "threshold defaults to 0.5")
        XCTAssertTrue(p.rules[1].covers("ANYTHING"), "labels left out cover every label")
        XCTAssertFalse(p.rules[0].covers("FACE_MALE"))
        XCTAssertEqual(p.detectors["nudenet"]?.stride, 3)
        XCTAssertEqual(p.detectors["keywords"]?.stride, 1)
        XCTAssertEqual(p.resolve("logs/audit.jsonl"), "/srv/policies/logs/audit.jsonl")
        XCTAssertEqual(p.resolve("../w.safetensors"), "/srv/w.safetensors")
        XCTAssertEqual(p.resolve("/abs/x"), "/abs/x")
    }

    func testClearMessages() {
        let rule = { (body: String) in #"{\#(self.detectors), "rules": [\#(body)]}"# }
        XCTAssertEqual(reason(rule(#"{"stage": "inptu", "detector": "nudenet", "action": "reject"}"#)),
                       "rules[0].stage: unknown stage 'inptu' (expected input, prompt, output)")
        XCTAssertEqual(reason(rule(#"{"stage": "input", "detector": "nudenet", "action": "ban"}"#)),
                       "rules[0].action: unknown action 'ban' (expected reject, withhold, quarantine, blur or log)")
        XCTAssertEqual(reason(rule(#"{"stage": "input", "detector": "nudenet", "action": "blur"}"#)),
                       "rules[0]: action 'blur' is not possible at stage 'input' (allowed there: reject, log)")
        XCTAssertEqual(reason(rule(#"{"stage": "prompt", "detector": "keywords", "action": "withhold"}"#)),
                       "rules[0]: action 'withhold' is not possible at stage 'prompt' (allowed there: reject, log)")
        XCTAssertEqual(reason(rule(#"{"stage": "input", "detector": "clip", "action": "reject"}"#)),
                       "rules[0]: unknown detector 'clip'; declare it under \"detectors\" (declared: keywords, nudenet)")
        XCTAssertEqual(reason(rule(#"{"stage": "input", "detector": "nudenet", "threshold": 1.5, "action": "reject"}"#)),
                       "rules[0]: threshold 1.5 is outside [0, 1]")
        XCTAssertEqual(reason(rule(#"{"stage": "input", "detector": "nudenet", "treshold": 0.3, "action": "reject"}"#)),
                       "unknown field 'treshold' in rules[0] (known: action, detector, labels, stage, threshold)")
        XCTAssertEqual(reason(rule(#"{"stage": "output", "detector": "nudenet", "action": "quarantine"}"#)),
                       "rules[0]: action 'quarantine' needs \"quarantine_folder\" in the policy")
        XCTAssertEqual(reason(rule(#"{"detector": "nudenet", "action": "reject"}"#)), "rules[0] is missing \"stage\"")
        XCTAssertEqual(reason(#"{"rules": []}"#), "the policy has no rules (use --policy none to turn moderation off)")
        XCTAssertEqual(reason(#"{"rules": [], "qurantine_folder": "q"}"#),
                       "unknown field 'qurantine_folder' in the policy (known: audit_log, description, detectors, quarantine_folder, rules)")
        XCTAssertEqual(reason(#"{"detectors": {"n": {"type": "nudenet", "frame_stride": 0}}, "rules": [{"stage": "output", "detector": "n", "action": "log"}]}"#),
                       "detectors.n: frame_stride must be at least 1, not 0")
        XCTAssertTrue(reason("[1, 2]").contains("must be a JSON object"))
        XCTAssertTrue(reason("{not json").hasPrefix("not valid JSON"))
    }

    func testRegistryChecksTypesModalitiesAndFiles() throws {
        func registryError(_ json: String) throws -> PolicyError? {
            do {
                _ = try Moderator(policy: decode(json))
                return nil
            } catch let e as PolicyError {
                return e
            }
        }
        XCTAssertEqual(try registryError(#"{"detectors": {"keywords": {"lists": {"A": ["x"]}}}, "rules": [{"stage": "input", "detector": "keywords", "action": "reject"}]}"#),
                       .invalid(source: "test.json", reason: "rules[0]: detector 'keywords' (type keywords) reads only text, so it cannot run at stage 'input'"))
        XCTAssertEqual(try registryError(#"{"detectors": {"mine": {"type": "magic"}}, "rules": [{"stage": "input", "detector": "mine", "action": "reject"}]}"#),
                       .invalid(source: "test.json", reason: "detectors.mine: unknown detector type 'magic' (known: exec, keywords, nudenet, semantic)"))
        XCTAssertEqual(try registryError(#"{"detectors": {"exec": {}}, "rules": [{"stage": "input", "detector": "exec", "action": "reject"}]}"#),
                       .invalid(source: "test.json", reason: "detectors.exec: an exec detector needs \"command\" (program and arguments)"))
        XCTAssertEqual(try registryError(#"{"detectors": {"keywords": {"lists": {}}}, "rules": [{"stage": "prompt", "detector": "keywords", "action": "reject"}]}"#),
                       .invalid(source: "test.json", reason: "detectors.keywords: a keywords detector needs \"lists\" (label -> words)"))
        XCTAssertNil(try registryError(#"{"detectors": {"keywords": {"lists": {"A": ["x"]}}}, "rules": [{"stage": "prompt", "detector": "keywords", "action": "reject"}]}"#))
    }

    func testMissingWeightsFailClosedWithInstructions() throws {
        let policy = try decode(#"{"detectors": {"nudenet": {"weights": "missing/nudenet-320n.safetensors"}}, "rules": [{"stage": "input", "detector": "nudenet", "labels": ["FACE_FEMALE"], "threshold": 0.5, "action": "reject"}]}"#)
        XCTAssertThrowsError(try Moderator(policy: policy)) { error in
            XCTAssertEqual(error as? PolicyError, .missingWeights(detector: "nudenet", path: "/srv/policies/missing/nudenet-320n.safetensors"))
            let message = "\(error)"
            XCTAssertTrue(message.contains("Scripts/setup"), message)
            XCTAssertTrue(message.contains("--policy none"), message)
            XCTAssertTrue(message.contains("/srv/policies/missing/nudenet-320n.safetensors"), message)
        }
        let semantic = try decode(#"{"detectors": {"semantic": {"model": "nowhere", "phrases": {"A": ["a phrase"]}}}, "rules": [{"stage": "prompt", "detector": "semantic", "action": "reject"}]}"#)
        XCTAssertThrowsError(try Moderator(policy: semantic)) { error in
            XCTAssertEqual(error as? PolicyError, .missingWeights(detector: "semantic", path: "/srv/policies/nowhere"))
        }
    }

    func testShippedStandardPolicyIsValid() throws {
        let path = ModerationTestSupport.repositoryRoot.appendingPathComponent("Models/policies/standard.json").path
        let p = try ModerationPolicy.load(path: path)
        XCTAssertEqual(Set(p.rules.map(\.stage)), [.input, .prompt, .output])
        let exposed = ["FEMALE_GENITALIA_EXPOSED", "MALE_GENITALIA_EXPOSED", "FEMALE_BREAST_EXPOSED", "BUTTOCKS_EXPOSED", "ANUS_EXPOSED"]
        for stage in [ModerationStage.input, .output] {
            let rule = try XCTUnwrap(p.rules(at: stage).first { $0.detector == "nudenet" })
            XCTAssertEqual(Set(rule.labels), Set(exposed))
            XCTAssertFalse(rule.covers("FACE_FEMALE"), "faces pass the standard policy")
            XCTAssertEqual(rule.threshold, 0.5)
        }
        XCTAssertEqual(p.rules(at: .input).first?.action, .reject)
        XCTAssertEqual(p.rules(at: .output).first?.action, .withhold)
        XCTAssertEqual(p.resolve(p.detectors["nudenet"]!.weights!),
                       ModerationTestSupport.repositoryRoot.appendingPathComponent("Weights/moderation/nudenet-320n.safetensors").standardizedFileURL.path)
    }
}
