import Foundation
import XCTest

/// Shared set-up of the API tests: the tiny test pipeline as model "tiny" (fast), small settings,
/// and helpers to submit and wait.
class ServerTestCase: XCTestCase {
    /// Serve flags for the tiny pipeline as the default model.
    var tinyArgs: [String] { ["--model", "tiny=\(Paths.tinyModel())", "--default-model", "tiny"] }

    /// A fast task body (tiny model, 64x64, 4 frames: about 20 ms a step here).
    func taskBody(steps: Int = 3, extra: [String: Any] = [:]) throws -> [String: Any] {
        var body: [String: Any] = ["image": try imageBase64(), "width": 64, "height": 64, "num_frames": 4, "steps": steps, "seed": 7]
        for (k, v) in extra { body[k] = v }
        return body
    }

    /// A slow task body (tiny model at 256x256: about 0.4 s a step here), to act in the middle of it.
    func slowTaskBody(steps: Int, extra: [String: Any] = [:]) throws -> [String: Any] {
        var body: [String: Any] = ["image": try imageBase64(), "width": 256, "height": 256, "num_frames": 4, "steps": steps, "seed": 7]
        for (k, v) in extra { body[k] = v }
        return body
    }

    /// A test policy whose input stage rejects faces (nudenet's FACE_* labels at 0.3), written into
    /// `dir`; nil (after a failure naming Scripts/setup) when the detector weights are missing.
    func faceRejectingPolicy(in dir: String, file: StaticString = #filePath, line: UInt = #line) throws -> String? {
        let weights = Paths.root().appendingPathComponent("Weights/moderation/nudenet-320n.safetensors").path
        guard FileManager.default.fileExists(atPath: weights) else {
            XCTFail("the face-rejecting test policy needs the nudenet weights: run Scripts/setup", file: file, line: line)
            return nil
        }
        let policy = dir + "/no-faces.json"
        try """
            {"description": "no faces in the input image",
             "detectors": {"nudenet": {"weights": "\(weights)"}},
             "rules": [{"stage": "input", "detector": "nudenet", "labels": ["FACE_FEMALE", "FACE_MALE"], "threshold": 0.3, "action": "reject"}]}
            """.write(toFile: policy, atomically: true, encoding: .utf8)
        return policy
    }

    func imageBase64(_ path: String = Paths.inputPNG()) throws -> String {
        try Data(contentsOf: URL(fileURLWithPath: path)).base64EncodedString()
    }

    func submit(_ server: ServerProcess, _ body: [String: Any], headers: [String: String] = [:],
                file: StaticString = #filePath, line: UInt = #line) throws -> String {
        let r = try server.client.postJSON("/v1/videos/image2video", body, headers: headers)
        XCTAssertEqual(r.status, 200, r.text, file: file, line: line)
        XCTAssertEqual(r.code, 0, r.text, file: file, line: line)
        return try XCTUnwrap(r.data["task_id"] as? String, r.text, file: file, line: line)
    }

    func task(_ server: ServerProcess, _ id: String, headers: [String: String] = [:]) throws -> [String: Any] {
        try server.client.get("/v1/videos/image2video/\(id)", headers: headers).data
    }

    /// Polls until `done` holds for the task's data (or fails after `timeout`).
    @discardableResult
    func waitFor(_ server: ServerProcess, _ id: String, timeout: Double = 120, headers: [String: String] = [:],
                 file: StaticString = #filePath, line: UInt = #line,
                 _ done: ([String: Any]) -> Bool = { ["succeed", "failed"].contains($0["task_status"] as? String ?? "") }) throws -> [String: Any] {
        let deadline = Date().addingTimeInterval(timeout)
        var last: [String: Any] = [:]
        while Date() < deadline {
            last = try task(server, id, headers: headers)
            if done(last) { return last }
            usleep(100_000)
        }
        XCTFail("task \(id) did not get there in \(timeout) s; last: \(last); server stderr: \(server.stderr)", file: file, line: line)
        throw ServerTestError.timeout(id)
    }
}
