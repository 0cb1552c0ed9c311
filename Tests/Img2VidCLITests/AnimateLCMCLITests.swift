import Foundation
import Media
import Tensor
import TestSupport
import XCTest

/// `img2vid generate --scheduler animatelcm` as a user runs it (issue 18): on the tiny pipeline, with only the
/// seed, size, frame count and decode chunk given, the sampler's defaults (4 steps, guidance 1.0-1.2, motion
/// bucket 80, fps 8) reproduce the reference trace of diffusers' pipeline with the authors' scheduler
/// (Tests/SVDTests/Fixtures/animatelcm/trace-s4), every saved frame within 40 dB PSNR; and the errors of
/// `--unet` and of a step count the sampler cannot take.
final class AnimateLCMCLITests: XCTestCase {
    let fixtures = CLI.packageRoot().appendingPathComponent("Tests/SVDTests/Fixtures")

    func testDefaultsReproduceTheReference() throws {
        let trace = try SafeTensorsFile(path: fixtures.appendingPathComponent("animatelcm/trace-s4.safetensors").path)
        func meta(_ key: String) -> String { trace.metadata[key]! }
        XCTAssertEqual([meta("num_inference_steps"), meta("fps"), meta("motion_bucket_id"), meta("max_guidance_scale")], ["4", "8", "80", "1.2"])
        let dir = try CLI.temporaryFolder(self)
        let run = try CLI.run([
            "generate", "--image", fixtures.appendingPathComponent(meta("input")).path, "--output", "\(dir)/out.mp4",
            "--model", fixtures.appendingPathComponent("tiny/pipeline").path, "--variant", "fp16", "--scheduler", "animatelcm",
            "--num-frames", meta("num_frames"), "--width", meta("width"), "--height", meta("height"),
            "--decode-chunk-size", meta("decode_chunk_size"), "--seed", meta("seed"),
            "--save-frames", "\(dir)/frames", "--policy", "none", "--quiet",
        ])
        XCTAssertEqual(run.exitCode, 0, run.stderr)
        let names = try FileManager.default.contentsOfDirectory(atPath: "\(dir)/frames").filter { $0.hasSuffix(".png") }.sorted()
        XCTAssertEqual(names.count, Int(meta("num_frames")))
        let images = try names.map { try ImageDecoder.decode(path: "\(dir)/frames/\($0)") }
        assertFramesPSNR(images.map(\.pixels), try trace.tensor("frames_u8"), atLeast: 40)
        let probe = try CLI.probe("\(dir)/out.mp4")
        XCTAssertEqual(probe.stream["r_frame_rate"] as? String, "8/1")
        let tags = probe.format["tags"] as? [String: String] ?? [:]
        let comment = tags["comment"] ?? tags["COMMENT"] ?? ""
        for part in ["steps=4", "fps=8", "motion_bucket_id=80", "guidance=1.0-1.2", "scheduler=animatelcm"] {
            XCTAssertTrue(comment.contains(part), "comment '\(comment)' lacks \(part)")
        }
    }

    func testUNetAndStepErrors() throws {
        let dir = try CLI.temporaryFolder(self)
        let base = ["generate", "--image", fixtures.appendingPathComponent("tiny/input-a.png").path, "--output", "\(dir)/out.mp4",
                    "--model", fixtures.appendingPathComponent("tiny/pipeline").path, "--variant", "fp16",
                    "--width", "32", "--height", "32", "--policy", "none", "--quiet"]
        let missing = try CLI.run(base + ["--unet", "\(dir)/AnimateLCM-SVD-xt.safetensors"])
        XCTAssertEqual(missing.exitCode, 4, missing.stderr)
        XCTAssertTrue(missing.stderr.contains("--unet \(dir)/AnimateLCM-SVD-xt.safetensors: no such file"), missing.stderr)
        let pickle = "\(dir)/unet.bin"
        try Data([0x50, 0x4B, 0x03, 0x04] + Array(repeating: 7, count: 60)).write(to: URL(fileURLWithPath: pickle))
        let notSafeTensors = try CLI.run(base + ["--unet", pickle])
        XCTAssertEqual(notSafeTensors.exitCode, 4, notSafeTensors.stderr)
        XCTAssertTrue(notSafeTensors.stderr.contains("not a safetensors file"), notSafeTensors.stderr)
        let tooMany = try CLI.run(base + ["--scheduler", "animatelcm", "--steps", "41"])
        XCTAssertEqual(tooMany.exitCode, 2, tooMany.stderr)
        XCTAssertTrue(tooMany.stderr.contains("at most 40 steps"), tooMany.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: "\(dir)/out.mp4"))
        let unknown = try CLI.run(base + ["--scheduler", "ddim"])
        XCTAssertEqual(unknown.exitCode, 2, unknown.stderr)
        XCTAssertTrue(unknown.stderr.contains("'euler' and 'animatelcm'"), unknown.stderr)
    }
}
