import Foundation
import Media
import Tensor
import TestSupport
import XCTest

/// `img2vid generate` itself, run as a user runs it, against diffusers: the tiny random-weight
/// pipeline with a traced run's settings and seed, `--save-frames`, and every PNG frame within
/// 40 dB PSNR of the uint8 frames diffusers' StableVideoDiffusionPipeline returned (issue 3).
final class GenerateParityCLITests: XCTestCase {
    func testSavedFramesMatchDiffusersForTheSameSeed() throws {
        let fixtures = CLI.packageRoot().appendingPathComponent("Tests/SVDTests/Fixtures/tiny")
        let trace = try SafeTensorsFile(path: fixtures.appendingPathComponent("trace-b.safetensors").path)
        func meta(_ key: String) -> String { trace.metadata[key]! }
        let dir = try CLI.temporaryFolder(self)
        let frames = "\(dir)/frames"
        let run = try CLI.run([
            "generate", "--image", fixtures.appendingPathComponent(meta("input")).path, "--output", "\(dir)/out.mp4",
            "--model", fixtures.appendingPathComponent("pipeline").path, "--variant", meta("variant"),
            "--num-frames", meta("num_frames"), "--steps", meta("num_inference_steps"),
            "--width", meta("width"), "--height", meta("height"), "--fps", meta("fps"),
            "--motion-bucket-id", meta("motion_bucket_id"), "--noise-aug-strength", meta("noise_aug_strength"),
            "--min-guidance-scale", meta("min_guidance_scale"), "--max-guidance-scale", meta("max_guidance_scale"),
            "--decode-chunk-size", meta("decode_chunk_size"), "--seed", meta("seed"), "--rng", "torch",
            "--save-frames", frames, "--policy", "none", "--quiet",
        ])
        XCTAssertEqual(run.exitCode, 0, run.stderr)

        let count = Int(meta("num_frames"))!, width = Int(meta("width"))!, height = Int(meta("height"))!
        let names = try FileManager.default.contentsOfDirectory(atPath: frames).filter { $0.hasSuffix(".png") }.sorted()
        XCTAssertEqual(names.count, count)
        let images = try names.map { try ImageDecoder.decode(path: "\(frames)/\($0)") }
        for (name, image) in zip(names, images) { XCTAssertEqual([image.width, image.height], [width, height], name) }
        // Sorted, the names (frame_00.png, ...) are in frame order, as diffusers' [1, F, H, W, 3] uint8 frames.
        assertFramesPSNR(images.map(\.pixels), try trace.tensor("frames_u8"), atLeast: 40)
    }
}
