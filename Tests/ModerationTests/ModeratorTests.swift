import Media
import Moderation
import XCTest

/// The three stages and every action, on a scripted detector.
final class ModeratorTests: XCTestCase {
    typealias S = ModerationTestSupport

    func testInputRejectsAtThresholdWithTheIssueWording() throws {
        let detector = ScriptedDetector { _, _ in [Detection(label: "FACE_FEMALE", score: 0.81), Detection(label: "FEET_COVERED", score: 0.95)] }
        let policy = S.policy([PolicyRule(stage: .input, detector: "test", labels: ["FACE_FEMALE", "FACE_MALE"], threshold: 0.5, action: .reject)])
        let moderator = try Moderator(policy: policy, registry: S.registry(detector))
        let verdict = moderator.checkInput(RGBImage(width: 4, height: 4, red: 1, green: 2, blue: 3))
        XCTAssertEqual(verdict.action, .reject)
        XCTAssertFalse(verdict.allows)
        let d = try XCTUnwrap(verdict.decisive)
        XCTAssertEqual(d.label, "FACE_FEMALE", "labels outside the rule are ignored, even with a higher score")
        XCTAssertEqual(d.score, 0.81)
        XCTAssertEqual(d.threshold, 0.5)
        XCTAssertNil(d.frame)
        XCTAssertEqual(d.sentence, "rejected at input: detector test saw FACE_FEMALE with score 0.81 >= 0.50")
        XCTAssertEqual(detector.imageCalls, [DetectionContext(stage: .input)])
    }

    func testThresholdIsInclusiveAndBelowPasses() throws {
        for (score, expected) in [(Float(0.5), true), (0.4999, false)] {
            let detector = ScriptedDetector { _, _ in [Detection(label: "X", score: score)] }
            let moderator = try Moderator(policy: S.policy([PolicyRule(stage: .input, detector: "test", threshold: 0.5, action: .reject)]),
                                          registry: S.registry(detector))
            let verdict = moderator.checkInput(RGBImage(width: 2, height: 2, red: 0, green: 0, blue: 0))
            XCTAssertEqual(verdict.decisions.count, 1)
            XCTAssertEqual(verdict.decisions[0].triggered, expected)
            XCTAssertEqual(verdict.allows, !expected)
        }
        let passing = ModerationDecision(stage: .input, detector: "test", label: "X", score: 0.25, threshold: 0.5, action: .reject,
                                         triggered: false, seconds: 0)
        XCTAssertEqual(passing.sentence, "passed at input: detector test saw X with score 0.25 < 0.50")
    }

    func testLogAllowsButRecords() throws {
        let detector = ScriptedDetector { _, _ in [Detection(label: "X", score: 0.9)] }
        let moderator = try Moderator(policy: S.policy([PolicyRule(stage: .input, detector: "test", action: .log)]), registry: S.registry(detector))
        let verdict = moderator.checkInput(RGBImage(width: 2, height: 2, red: 0, green: 0, blue: 0))
        XCTAssertEqual(verdict.action, .log)
        XCTAssertTrue(verdict.allows)
        XCTAssertEqual(verdict.decisive?.sentence, "logged at input: detector test saw X with score 0.90 >= 0.50")
    }

    func testPromptStageReadsEveryTextWithKeywordsAndRunsEachDetectorOnce() throws {
        let detector = ScriptedDetector(onText: { $0.contains("quiet") ? [Detection(label: "CALM", score: 0.7)] : [] })
        let policy = S.policy([
            PolicyRule(stage: .prompt, detector: "keywords", action: .reject),
            PolicyRule(stage: .prompt, detector: "test", labels: ["CALM"], threshold: 0.6, action: .log),
            PolicyRule(stage: .prompt, detector: "test", labels: ["CALM"], threshold: 0.9, action: .reject),
        ], detectors: ["test": DetectorSettings(), "keywords": DetectorSettings(lists: ["TEST_FRUIT": ["purple banana"]])])
        let moderator = try Moderator(policy: policy, registry: S.registry(detector))

        let calm = moderator.checkPrompt(["a quiet lake", "   ", "gentle waves"])
        XCTAssertEqual(detector.textCalls, ["a quiet lake", "gentle waves"], "blank texts are skipped; two rules, one run")
        XCTAssertEqual(calm.decisions.count, 6)
        XCTAssertEqual(calm.action, .log)
        XCTAssertTrue(calm.allows)

        let fruit = moderator.checkPrompt(["a sunny day", "a PURPL3 b.a.n.a.n.a"])
        XCTAssertEqual(fruit.action, .reject)
        XCTAssertEqual(fruit.decisive?.sentence, "rejected at prompt: detector keywords saw TEST_FRUIT with score 1.00 >= 0.50")
    }

    func testDetectorFailureFailsClosed() throws {
        let detector = ScriptedDetector(onImage: { _, _ in throw TestFailure() })
        let moderator = try Moderator(policy: S.policy([PolicyRule(stage: .input, detector: "test", action: .log)]), registry: S.registry(detector))
        let verdict = moderator.checkInput(RGBImage(width: 2, height: 2, red: 0, green: 0, blue: 0))
        XCTAssertEqual(verdict.action, .reject, "even a log rule rejects when its detector cannot answer")
        XCTAssertEqual(verdict.decisive?.error, "the test detector broke")
        XCTAssertEqual(verdict.decisive?.sentence, "rejected at input: detector test failed (the test detector broke); failing closed")
    }

    func testOutputStrideAndBlurOfNeighbours() throws {
        let detector = ScriptedDetector { _, context in context.index == 4 ? [Detection(label: "X", score: 0.9)] : [] }
        let policy = S.policy([PolicyRule(stage: .output, detector: "test", action: .blur)],
                              detectors: ["test": DetectorSettings(frameStride: 2)])
        let moderator = try Moderator(policy: policy, registry: S.registry(detector))
        let frames = S.frames(8)
        let (verdict, out) = moderator.checkOutput(frames)
        XCTAssertEqual(detector.imageCalls.map(\.index), [0, 2, 4, 6], "every 2nd frame")
        XCTAssertEqual(detector.imageCalls.map(\.count), [8, 8, 8, 8])
        XCTAssertEqual(verdict.decisions.map(\.frame), [0, 2, 4, 6])
        XCTAssertEqual(verdict.action, .blur)
        XCTAssertTrue(verdict.allows)
        XCTAssertEqual(verdict.blurredFrames, [3, 4, 5], "the hit and the unscanned frames next to it")
        for i in 0..<8 {
            if verdict.blurredFrames.contains(i) {
                XCTAssertEqual(out[i], FrameBlur.obscure(frames[i]))
            } else {
                XCTAssertEqual(out[i], frames[i], "frame \(i) untouched")
            }
        }
        XCTAssertEqual(verdict.decisive?.sentence, "blurred at output (frame 4): detector test saw X with score 0.90 >= 0.50")
    }

    func testOutputWithholdStopsScanningAndStrongestActionWins() throws {
        let detector = ScriptedDetector { _, context in
            context.index! >= 1 ? [Detection(label: "SOFT", score: 0.6), Detection(label: "HARD", score: context.index == 2 ? 0.8 : 0.1)] : []
        }
        let policy = S.policy([
            PolicyRule(stage: .output, detector: "test", labels: ["SOFT"], threshold: 0.5, action: .quarantine),
            PolicyRule(stage: .output, detector: "test", labels: ["HARD"], threshold: 0.5, action: .withhold),
        ], quarantine: "/tmp/q")
        let moderator = try Moderator(policy: policy, registry: S.registry(detector))
        let (verdict, _) = moderator.checkOutput(S.frames(5))
        XCTAssertEqual(detector.imageCalls.map(\.index), [0, 1, 2], "stops at the first withhold")
        XCTAssertEqual(verdict.action, .withhold)
        XCTAssertEqual(verdict.decisive?.frame, 2)
        XCTAssertEqual(verdict.triggered.map(\.action), [.quarantine, .quarantine, .withhold])
        XCTAssertEqual(moderator.quarantineFolder, "/tmp/q")
    }

    func testActionOrder() {
        XCTAssertEqual([ModerationAction.log, .reject, .blur, .withhold, .quarantine].max(), .reject)
        XCTAssertEqual([ModerationAction.log, .blur, .quarantine].max(), .quarantine)
        XCTAssertEqual([ModerationAction.log, .blur].max(), .blur)
    }

    func testDecisionJSONUsesSnakeCaseFields() throws {
        let d = ModerationDecision(stage: .output, detector: "nudenet", label: "FACE_MALE", score: 0.75, threshold: 0.5,
                                   action: .blur, triggered: true, seconds: 0.125, frame: 3)
        let object = try JSONSerialization.jsonObject(with: JSONEncoder().encode(d)) as! [String: Any]
        XCTAssertEqual(Set(object.keys), ["stage", "detector", "label", "score", "threshold", "action", "triggered", "seconds", "frame"])
        XCTAssertEqual(object["stage"] as? String, "output")
        XCTAssertEqual(object["action"] as? String, "blur")
        XCTAssertEqual(object["frame"] as? Int, 3)
        XCTAssertEqual(try JSONDecoder().decode(ModerationDecision.self, from: JSONEncoder().encode(d)), d)
    }
}
