import Foundation
import Media
import Moderation
import XCTest

/// The exec detector with small shell scripts written by the tests.
final class ExecDetectorTests: XCTestCase {
    typealias S = ModerationTestSupport
    var dir = ""

    override func setUpWithError() throws { dir = try S.temporaryDirectory() }
    override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }

    func testImagePathContextAndVerdict() throws {
        // Checks that it got a readable PNG and reports the frame index it was told.
        let script = try S.writeScript(#"""
            head -c 8 "$1" | od -An -c | grep -q 'P   N   G' || exit 9
            echo "{\"detections\": [{\"label\": \"TEST_$IMG2VID_STAGE\", \"score\": 0.$IMG2VID_INDEX}, {\"label\": \"COUNT\", \"score\": 0.$IMG2VID_COUNT}]}"
            """#, in: dir)
        let detector = ExecDetector(name: "scanner", command: [script], timeoutSeconds: 10)
        let found = try detector.detect(image: RGBImage(width: 8, height: 8, red: 9, green: 9, blue: 9),
                                        context: DetectionContext(stage: .output, index: 3, count: 5))
        XCTAssertEqual(found, [Detection(label: "TEST_output", score: 0.3), Detection(label: "COUNT", score: 0.5)])
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: NSTemporaryDirectory()).filter { $0.hasPrefix("img2vid-exec-\(getpid())-") }
        XCTAssertEqual(leftovers, [], "the temporary PNG is removed")
    }

    func testTextOnStdin() throws {
        let script = try S.writeScript(#"""
            text=$(cat)
            if [ "$text" = "a quiet lake" ]; then echo '{"detections": [{"label": "CALM", "score": 0.75}]}'; else echo '{"detections": []}'; fi
            """#, in: dir)
        let detector = ExecDetector(command: ["/bin/sh", script])
        XCTAssertEqual(try detector.detect(text: "a quiet lake"), [Detection(label: "CALM", score: 0.75)])
        XCTAssertEqual(try detector.detect(text: "busy street"), [])
        // Large text: more than a pipe buffer, read by the script.
        XCTAssertEqual(try detector.detect(text: String(repeating: "wave ", count: 40_000)), [])
    }

    func testFailuresThrow() throws {
        func reason(_ body: String, timeout: Double = 10) throws -> String {
            let detector = ExecDetector(name: "scanner", command: [try S.writeScript(body, in: dir, name: "s\(UUID().uuidString).sh")],
                                        timeoutSeconds: timeout)
            do {
                _ = try detector.detect(text: "hello")
                XCTFail("should fail: \(body)")
                return ""
            } catch let ExecDetectorError.failed(_, reason) {
                return reason
            }
        }
        XCTAssertEqual(try reason("echo oops >&2; exit 3"), "exited with status 3; stderr: oops")
        XCTAssertEqual(try reason("echo not json"), "printed no verdict (expected {\"detections\": [{\"label\": ..., \"score\": ...}]}, got \"not json\n\")")
        XCTAssertEqual(try reason(#"echo '{"detections": [{"label": "X", "score": 7}]}'"#), "reported score 7.0 for X, outside [0, 1]")
        XCTAssertEqual(try reason("kill -9 $$"), "killed by signal 9")
        let start = Date()
        XCTAssertEqual(try reason("sleep 30 & sleep 30; echo '{\"detections\": []}'", timeout: 0.5), "timed out after 0.5 s")
        XCTAssertLessThan(Date().timeIntervalSince(start), 5, "the process group is killed at the deadline")
        XCTAssertThrowsError(try ExecDetector(command: ["no-such-program-img2vid"]).detect(text: "x"))
    }
}
