import Foundation
import XCTest

/// End-to-end tests of the `img2vid` binary on the tiny random-weight pipeline of the SVD tests:
/// real processes, real files, checked with FFmpeg's `ffprobe`. Each tiny generation (4 frames,
/// 64x64, 3 steps) takes well under a second.
final class Img2VidCLITests: XCTestCase {
    // MARK: - Outputs

    func testMP4WithJSONMetadataAndSavedFrames() throws {
        let dir = try CLI.temporaryFolder(self)
        let output = "\(dir)/clip.mp4", frames = "\(dir)/frames"
        let run = try generate(["--output", output, "--seed", "42", "--save-frames", frames, "--json"])
        XCTAssertEqual(run.exitCode, 0, run.stderr)

        let json = try run.json()
        XCTAssertEqual(json["status"] as? String, "ok")
        XCTAssertEqual(json["output"] as? String, output)
        XCTAssertEqual(json["frames"] as? Int, 4)
        XCTAssertEqual(json["width"] as? Int, 64)
        XCTAssertEqual(json["height"] as? Int, 64)
        XCTAssertEqual(json["fps"] as? Int, 7)
        XCTAssertEqual(json["seed"] as? Int, 42)
        XCTAssertEqual(json["model"] as? String, "pipeline")
        XCTAssertGreaterThan(json["peak_rss_bytes"] as? Int ?? 0, 1_000_000)
        XCTAssertEqual((json["moderation"] as? [Any])?.count, 0)
        XCTAssertTrue(json["error"] is NSNull, "error must be null on success: \(json["error"] ?? "absent")")
        let timings = try XCTUnwrap(json["timings"] as? [String: Any])
        let stages = try XCTUnwrap(timings["stages"] as? [String: Double])
        XCTAssertEqual(Set(stages.keys), ["load_image", "load_model", "encode_image", "denoise", "decode", "encode_video"])
        XCTAssertEqual((timings["steps"] as? [Double])?.count, 3)
        XCTAssertTrue(stages.values.allSatisfy { $0 >= 0 && $0 < 60 }, "\(stages)")

        let probe = try CLI.probe(output)
        XCTAssertEqual(probe.stream["codec_name"] as? String, "h264")
        XCTAssertEqual(probe.stream["pix_fmt"] as? String, "yuv420p")
        XCTAssertEqual(probe.stream["width"] as? Int, 64)
        XCTAssertEqual(probe.stream["height"] as? Int, 64)
        XCTAssertEqual(probe.stream["r_frame_rate"] as? String, "7/1")
        XCTAssertEqual(probe.stream["nb_read_frames"] as? String, "4")
        let tags = try XCTUnwrap(probe.format["tags"] as? [String: String])
        XCTAssertEqual(tags["title"], "img2vid 0.1.0: pipeline, seed 42")
        let comment = try XCTUnwrap(tags["comment"] ?? tags["COMMENT"])
        for part in ["model=pipeline", "seed=42", "frames=4", "size=64x64", "steps=3", "fps=7", "rng=torch"] {
            XCTAssertTrue(comment.contains(part), "comment '\(comment)' lacks \(part)")
        }

        let names = try FileManager.default.contentsOfDirectory(atPath: frames).sorted()
        XCTAssertEqual(names, ["frame_00.png", "frame_01.png", "frame_02.png", "frame_03.png"])
        for name in names {
            let png = try CLI.probe("\(frames)/\(name)")
            XCTAssertEqual(png.stream["codec_name"] as? String, "png")
            XCTAssertEqual(png.stream["width"] as? Int, 64)
            XCTAssertEqual(png.stream["height"] as? Int, 64)
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir).sorted(), ["clip.mp4", "frames"], "temporary files left")
    }

    func testWebMIsVP9AtTheOutputFrameRate() throws {
        let dir = try CLI.temporaryFolder(self)
        let run = try generate(["--output", "\(dir)/clip.webm", "--fps", "7", "--output-fps", "10", "--quiet"])
        XCTAssertEqual(run.exitCode, 0, run.stderr)
        XCTAssertEqual(run.stdout, "")
        XCTAssertEqual(run.stderr, "", "--quiet prints nothing but errors")
        let probe = try CLI.probe("\(dir)/clip.webm")
        XCTAssertEqual(probe.stream["codec_name"] as? String, "vp9")
        XCTAssertEqual(probe.stream["width"] as? Int, 64)
        XCTAssertEqual(probe.stream["height"] as? Int, 64)
        XCTAssertEqual(probe.stream["r_frame_rate"] as? String, "10/1")
        // Re-timed, not sped up: ceil(4 * 10 / 7) = 6 frames over the same 4/7 s.
        XCTAssertEqual(probe.stream["nb_read_frames"] as? String, "6")
        XCTAssertEqual(Double(probe.format["duration"] as? String ?? "") ?? 0, 0.6, accuracy: 0.05)
        let tags = try XCTUnwrap(probe.format["tags"] as? [String: String])
        XCTAssertTrue((tags["COMMENT"] ?? tags["comment"] ?? "").contains("fps=7"), "\(tags)")
    }

    func testGIF() throws {
        let dir = try CLI.temporaryFolder(self)
        let run = try generate(["--output", "\(dir)/clip.gif", "--seed", "3"])
        XCTAssertEqual(run.exitCode, 0, run.stderr)
        let probe = try CLI.probe("\(dir)/clip.gif")
        XCTAssertEqual(probe.stream["codec_name"] as? String, "gif")
        XCTAssertEqual(probe.stream["width"] as? Int, 64)
        XCTAssertEqual(probe.stream["height"] as? Int, 64)
        XCTAssertEqual(probe.stream["nb_read_frames"] as? String, "4")
        // GIF delays are in 1/100 s: 7 fps is stored as 14 cs per frame (7.14 fps; ffprobe reports 83/12).
        let rate = try XCTUnwrap(probe.stream["r_frame_rate"] as? String).split(separator: "/").compactMap { Double($0) }
        XCTAssertEqual(rate[0] / rate[1], 7, accuracy: 0.2)
        let tags = try XCTUnwrap(probe.format["tags"] as? [String: String])
        XCTAssertTrue((tags["comment"] ?? "").contains("seed=3"), "\(tags)")
    }

    func testMKVNonSquareLetterboxed() throws {
        let dir = try CLI.temporaryFolder(self)
        let run = try generate(["--output", "\(dir)/clip.mkv", "--width", "64", "--height", "40", "--resize", "fit", "--seed", "5"])
        XCTAssertEqual(run.exitCode, 0, run.stderr)
        let probe = try CLI.probe("\(dir)/clip.mkv")
        XCTAssertEqual(probe.stream["codec_name"] as? String, "h264")
        XCTAssertEqual(probe.stream["width"] as? Int, 64)
        XCTAssertEqual(probe.stream["height"] as? Int, 40)
        XCTAssertEqual(probe.stream["r_frame_rate"] as? String, "7/1")
        XCTAssertEqual(probe.stream["nb_read_frames"] as? String, "4")
        let tags = try XCTUnwrap(probe.format["tags"] as? [String: String])
        XCTAssertEqual(tags["title"] ?? tags["TITLE"], "img2vid 0.1.0: pipeline, seed 5")
        XCTAssertTrue((tags["COMMENT"] ?? "").contains("size=64x40"), "\(tags)")
    }

    // MARK: - Refusals

    func testRefusedImages() throws {
        let dir = try CLI.temporaryFolder(self)
        let png = try Data(contentsOf: URL(fileURLWithPath: CLI.fixture("input.png")))

        // A PNG whose compressed pixel data is overwritten (the IDAT CRC and zlib stream no longer match).
        var corrupt = png
        let idat = try XCTUnwrap(corrupt.range(of: Data("IDAT".utf8)))
        for i in (idat.upperBound + 8)..<min(corrupt.count - 20, idat.upperBound + 200) { corrupt[i] = UInt8(truncatingIfNeeded: i &* 37) }
        try corrupt.write(to: URL(fileURLWithPath: "\(dir)/corrupt.png"))

        // A JPEG written by the ffmpeg CLI, cut in half.
        let jpeg = "\(dir)/full.jpg"
        let made = try CLI.runProgram("/usr/bin/env", ["ffmpeg", "-v", "error", "-y", "-i", CLI.fixture("input.png"), jpeg])
        XCTAssertEqual(made.exitCode, 0, made.stderr)
        let full = try Data(contentsOf: URL(fileURLWithPath: jpeg))
        XCTAssertGreaterThan(full.count, 400)
        try full.prefix(full.count / 2).write(to: URL(fileURLWithPath: "\(dir)/truncated.jpg"))

        FileManager.default.createFile(atPath: "\(dir)/empty.png", contents: Data())
        try FileManager.default.createDirectory(atPath: "\(dir)/folder.png", withIntermediateDirectories: false)

        let cases: [(image: String, extra: [String], message: String)] = [
            ("\(dir)/corrupt.png", [], "corrupt or truncated"),
            ("\(dir)/truncated.jpg", [], "corrupt or truncated"),
            ("\(dir)/empty.png", [], "is empty (0 bytes)"),
            (CLI.fixture("input.png"), ["--max-input-pixels", "100"], "64x64 = 4096 pixels, more than the limit of 100"),
            ("\(dir)/folder.png", [], "is a directory, not an image file"),
            ("\(dir)/missing.png", [], "image file not found"),
        ]
        for c in cases {
            let output = "\(dir)/out.mp4"
            let run = try CLI.run(["generate", "--image", c.image, "--output", output] + CLI.modelArgs() + tinySettings + c.extra)
            XCTAssertEqual(run.exitCode, 3, "\(c.image): \(run.stderr)")
            XCTAssertTrue(run.stderr.contains("img2vid: error: "), run.stderr)
            XCTAssertTrue(run.stderr.contains(c.message), "\(c.image): expected '\(c.message)' in: \(run.stderr)")
            XCTAssertFalse(FileManager.default.fileExists(atPath: output), "\(c.image): output written")
        }
        let left = try FileManager.default.contentsOfDirectory(atPath: dir).sorted()
        XCTAssertEqual(left, ["corrupt.png", "empty.png", "folder.png", "full.jpg", "truncated.jpg"], "temporary files left")
    }

    func testErrorAsJSON() throws {
        let dir = try CLI.temporaryFolder(self)
        let run = try CLI.run(["generate", "--image", "\(dir)/nope.png", "--output", "\(dir)/out.mp4", "--json", "--seed", "9"]
                              + CLI.modelArgs() + tinySettings)
        XCTAssertEqual(run.exitCode, 3)
        let json = try run.json()
        XCTAssertEqual(json["status"] as? String, "error")
        XCTAssertTrue((json["error"] as? String ?? "").contains("image file not found: \(dir)/nope.png"), "\(json)")
        XCTAssertEqual(json["exit_code"] as? Int, 3)
        XCTAssertEqual(json["seed"] as? Int, 9)
        XCTAssertTrue(json["output"] is NSNull)
        XCTAssertTrue(json["frames"] is NSNull)
        XCTAssertEqual((json["moderation"] as? [Any])?.count, 0)
        for key in ["status", "output", "frames", "width", "height", "fps", "seed", "model", "timings", "peak_rss_bytes", "moderation", "error"] {
            XCTAssertNotNil(json[key], "missing key \(key)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: "\(dir)/out.mp4"))
    }

    func testExistingOutputIsKeptWithoutOverwrite() throws {
        let dir = try CLI.temporaryFolder(self)
        let output = "\(dir)/clip.mp4"
        let original = Data("not a video, keep me".utf8)
        try original.write(to: URL(fileURLWithPath: output))
        let run = try generate(["--output", output])
        XCTAssertEqual(run.exitCode, 2)
        XCTAssertTrue(run.stderr.contains("\(output) already exists"), run.stderr)
        XCTAssertTrue(run.stderr.contains("--overwrite"), run.stderr)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: output)), original)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir), ["clip.mp4"])

        let again = try generate(["--output", output, "--overwrite"])
        XCTAssertEqual(again.exitCode, 0, again.stderr)
        XCTAssertEqual(try CLI.probe(output).stream["codec_name"] as? String, "h264")
    }

    func testUsageErrors() throws {
        let dir = try CLI.temporaryFolder(self)
        let cases: [(args: [String], output: String, message: String)] = [
            (["--output", "\(dir)/clip.avi"], "\(dir)/clip.avi", "cannot tell the video format of \(dir)/clip.avi from its extension. Use one of: .mp4, .mkv, .webm, .gif"),
            (["--output", "\(dir)/clip.mp4", "--width", "60"], "\(dir)/clip.mp4", "must be positive multiples of 8"),
            (["--output", "\(dir)/clip.mp4", "--steps", "0"], "\(dir)/clip.mp4", "--steps must be at least 1"),
            (["--output", "\(dir)/missing/clip.mp4"], "\(dir)/missing/clip.mp4", "the folder \(dir)/missing does not exist"),
        ]
        for c in cases {
            let run = try generate(c.args)
            XCTAssertEqual(run.exitCode, 2, "\(c.args): \(run.stderr)")
            XCTAssertTrue(run.stderr.contains(c.message), "\(c.args): expected '\(c.message)' in: \(run.stderr)")
            XCTAssertFalse(FileManager.default.fileExists(atPath: c.output))
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir), [], "temporary files left")

        // Command-line parse errors are usage errors too (exit 2, as documented; not ArgumentParser's 64).
        let noImage = try CLI.run(["generate", "--output", "\(dir)/clip.mp4"])
        XCTAssertEqual(noImage.exitCode, 2, noImage.stderr)
        XCTAssertTrue(noImage.stderr.contains("--image"), noImage.stderr)
        let unknown = try CLI.run(["generate", "--image", CLI.fixture("input.png"), "--output", "\(dir)/clip.mp4", "--frobnicate"])
        XCTAssertEqual(unknown.exitCode, 2, unknown.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: "\(dir)/clip.mp4"))
    }

    func testBadModels() throws {
        let dir = try CLI.temporaryFolder(self)
        let (pipeline, variant) = try CLI.tinyPipeline()
        let missing = try CLI.run(["generate", "--image", CLI.fixture("input.png"), "--output", "\(dir)/a.mp4",
                                   "--model", "\(dir)/no-such-model"] + tinySettings)
        XCTAssertEqual(missing.exitCode, 4)
        XCTAssertTrue(missing.stderr.contains("model folder \(dir)/no-such-model does not exist"), missing.stderr)

        // A copy of the tiny pipeline whose UNet weights are cut short.
        let broken = "\(dir)/broken"
        try FileManager.default.copyItem(atPath: pipeline, toPath: broken)
        let weights = "\(broken)/unet/diffusion_pytorch_model\(variant.map { ".\($0)" } ?? "").safetensors"
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: weights))
        try handle.truncate(atOffset: 5000)
        try handle.close()
        let run = try CLI.run(["generate", "--image", CLI.fixture("input.png"), "--output", "\(dir)/b.mp4", "--model", broken]
                              + (variant.map { ["--variant", $0] } ?? []) + tinySettings)
        XCTAssertEqual(run.exitCode, 4, run.stderr)
        XCTAssertTrue(run.stderr.contains("malformed weight file"), run.stderr)
        XCTAssertTrue(run.stderr.contains("diffusion_pytorch_model"), run.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: "\(dir)/a.mp4"))
        XCTAssertFalse(FileManager.default.fileExists(atPath: "\(dir)/b.mp4"))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir), ["broken"])

        // inspect reports the same folder as unusable (exit 4) and names the component.
        let inspect = try CLI.run(["inspect", broken, "--json"] + (variant.map { ["--variant", $0] } ?? []))
        XCTAssertEqual(inspect.exitCode, 4)
        let json = try inspect.json()
        XCTAssertEqual(json["usable"] as? Bool, false)
        let problems = try XCTUnwrap(json["problems"] as? [String])
        XCTAssertEqual(problems.count, 1, "\(problems)")
        XCTAssertTrue(problems[0].hasPrefix("unet: malformed weight file"), "\(problems)")
    }

    // MARK: - Ctrl-C

    /// SIGINT while denoising: the run stops at the next step, removes its temporary file, exits 130.
    /// 128x128 with 200 steps would denoise for many seconds; the signal goes out after the first step.
    func testSIGINTDuringDenoisingExits130AndLeavesNothing() throws {
        let dir = try CLI.temporaryFolder(self)
        let output = "\(dir)/clip.mp4"
        var signalled = false
        var stepsSeen = ""
        let run = try CLI.run(["generate", "--image", CLI.fixture("input.png"), "--output", output, "--progress",
                               "--num-frames", "4", "--width", "128", "--height", "128", "--steps", "200", "--save-frames", "\(dir)/frames"]
                              + CLI.modelArgs(), timeout: 120) { process, stderr in
            if !signalled, let line = stderr.split(separator: "\n").first(where: { $0.contains("denoise: step 1/200") }) {
                stepsSeen = String(line)
                kill(process.processIdentifier, SIGINT)
                signalled = true
            }
        }
        XCTAssertTrue(signalled, "no denoise step in the progress output: \(run.stderr)")
        XCTAssertTrue(stepsSeen.contains("s/step"), stepsSeen)
        XCTAssertEqual(run.exitCode, 130, run.stderr)
        XCTAssertTrue(run.stderr.contains("interrupted"), run.stderr)
        XCTAssertFalse(run.stderr.contains("denoise: step 200/200"), "the run did not stop early")
        XCTAssertFalse(FileManager.default.fileExists(atPath: output))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir), [], "temporary files or frames left")
        XCTAssertLessThan(run.seconds, 60)
    }

    // MARK: - Other commands

    func testVersionAndHelp() throws {
        let version = try CLI.run(["--version"])
        XCTAssertEqual(version.exitCode, 0)
        XCTAssertEqual(version.stdout.trimmingCharacters(in: .whitespacesAndNewlines), "0.1.0")

        let help = try CLI.run(["help", "generate"])
        XCTAssertEqual(help.exitCode, 0, help.stderr)
        for text in ["--image", "--output", "--resize", "--save-frames", "--json", "Exit codes", "130 interrupted"] {
            XCTAssertTrue(help.stdout.contains(text), "help generate lacks \(text)")
        }
        for command in ["inspect", "bench"] {
            let h = try CLI.run([command, "--help"])
            XCTAssertEqual(h.exitCode, 0, h.stderr)
            XCTAssertTrue(h.stdout.contains("Examples:"), "\(command) --help has no examples")
        }
    }

    func testInspectPipelineAndFile() throws {
        let (pipeline, variant) = try CLI.tinyPipeline()
        let run = try CLI.run(["inspect", pipeline, "--json"])
        XCTAssertEqual(run.exitCode, 0, run.stderr + run.stdout)
        let json = try run.json()
        XCTAssertEqual(json["kind"] as? String, "pipeline")
        XCTAssertEqual(json["pipeline_class"] as? String, "StableVideoDiffusionPipeline")
        XCTAssertEqual(json["usable"] as? Bool, true)
        let components = try XCTUnwrap(json["components"] as? [[String: Any]])
        XCTAssertEqual(components.map { $0["name"] as? String }, ["unet", "vae", "image_encoder", "scheduler", "feature_extractor"])
        XCTAssertEqual(components.map { $0["status"] as? String }, Array(repeating: "ok", count: 5))
        let unet = components[0]
        XCTAssertEqual(unet["class_name"] as? String, "UNetSpatioTemporalConditionModel")
        XCTAssertEqual(unet["matches_config"] as? Bool, true)
        XCTAssertEqual((unet["config"] as? [String: String])?["block_out_channels"], "[32,64]")
        let weights = try XCTUnwrap(unet["weights"] as? [String: Any])
        let dtype = variant == "fp16" ? "F16" : "F32"
        XCTAssertEqual(weights["dtypes"] as? [String: Int], [dtype: weights["tensor_count"] as? Int ?? -1])
        var tensorSum = 0, parameterSum = 0
        for c in components.prefix(3) {
            let w = try XCTUnwrap(c["weights"] as? [String: Any])
            tensorSum += w["tensor_count"] as? Int ?? 0
            parameterSum += w["parameter_count"] as? Int ?? 0
            XCTAssertEqual(c["missing_tensors"] as? [String], [])
        }
        XCTAssertEqual(json["tensor_count"] as? Int, tensorSum)
        XCTAssertEqual(json["parameter_count"] as? Int, parameterSum)

        // The UNet file alone: the same counts, and its largest tensor first.
        let file = "\(pipeline)/\(weights["file"] as? String ?? "")"
        let single = try CLI.run(["inspect", file, "--json"])
        XCTAssertEqual(single.exitCode, 0, single.stderr)
        let sj = try single.json()
        XCTAssertEqual(sj["kind"] as? String, "safetensors")
        let sw = try XCTUnwrap(sj["weights"] as? [String: Any])
        XCTAssertEqual(sw["tensor_count"] as? Int, weights["tensor_count"] as? Int)
        XCTAssertEqual(sw["parameter_count"] as? Int, weights["parameter_count"] as? Int)
        let size = try XCTUnwrap(FileManager.default.attributesOfItem(atPath: file)[.size] as? NSNumber).intValue
        XCTAssertEqual(sw["size_bytes"] as? Int, size)
        let largest = try XCTUnwrap(sw["largest"] as? [[String: Any]])
        XCTAssertEqual(largest.count, 10)
        let counts = largest.compactMap { $0["parameters"] as? Int }
        XCTAssertEqual(counts, counts.sorted(by: >))

        // The table names every component.
        let table = try CLI.run(["inspect", pipeline])
        XCTAssertEqual(table.exitCode, 0)
        for text in ["StableVideoDiffusionPipeline", "unet", "UNetSpatioTemporalConditionModel", "image_encoder", "total"] {
            XCTAssertTrue(table.stdout.contains(text), "table lacks \(text):\n\(table.stdout)")
        }
    }

    func testInspectFindsWeightsThatDoNotFitTheConfig() throws {
        let dir = try CLI.temporaryFolder(self)
        let (pipeline, variant) = try CLI.tinyPipeline()
        let copy = "\(dir)/pipeline"
        try FileManager.default.copyItem(atPath: pipeline, toPath: copy)
        // Two layers per block in the config, one in the weights: the second resnets are missing.
        let configURL = URL(fileURLWithPath: "\(copy)/unet/config.json")
        var config = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: configURL)) as? [String: Any])
        config["layers_per_block"] = 2
        try JSONSerialization.data(withJSONObject: config).write(to: configURL)
        // A file that is not safetensors at all.
        try Data("garbage".utf8).write(to: URL(fileURLWithPath: "\(dir)/junk.safetensors"))

        let run = try CLI.run(["inspect", copy, "--json"] + (variant.map { ["--variant", $0] } ?? []))
        XCTAssertEqual(run.exitCode, 4)
        let json = try run.json()
        let unet = try XCTUnwrap((json["components"] as? [[String: Any]])?.first)
        XCTAssertEqual(unet["status"] as? String, "mismatch")
        XCTAssertEqual(unet["matches_config"] as? Bool, false)
        let missing = try XCTUnwrap(unet["missing_tensors"] as? [String])
        XCTAssertTrue(missing.contains("down_blocks.0.resnets.1.spatial_res_block.conv1.weight"), "\(missing.prefix(5))")
        XCTAssertTrue((json["problems"] as? [String] ?? []).contains { $0.hasPrefix("unet: the weights do not match") })
        XCTAssertEqual((json["components"] as? [[String: Any]])?.dropFirst().map { $0["status"] as? String }, ["ok", "ok", "ok", "ok"])

        let junk = try CLI.run(["inspect", "\(dir)/junk.safetensors"])
        XCTAssertEqual(junk.exitCode, 4)
        XCTAssertTrue(junk.stdout.contains("problems:"), junk.stdout)
        XCTAssertTrue(junk.stdout.contains("junk.safetensors"), junk.stdout)
        let nothing = try CLI.run(["inspect", "\(dir)/nothing-here"])
        XCTAssertEqual(nothing.exitCode, 4)
        XCTAssertTrue(nothing.stdout.contains("does not exist"), nothing.stdout)
    }

    /// With `OPENBLAS_CORETYPE` unset, img2vid ends up on a vector kernel on any CPU with AVX2
    /// (OpenBLAS 0.3.21 falls back to SSE3 "Prescott" on CPUs newer than it: `BLASKernelChoice`),
    /// restarting at most once; a kernel the user names is kept.
    func testRunsAVectorOpenBLASKernel() throws {
        let binary = try CLI.binary()
        func kernels(_ setting: [String]) throws -> [String] {
            let run = try CLI.runProgram("/usr/bin/env", setting + ["OPENBLAS_VERBOSE=2", binary, "--version"])
            XCTAssertEqual(run.exitCode, 0, run.stderr)
            XCTAssertTrue(run.stdout.hasPrefix("0."), run.stdout)
            return (run.stdout + "\n" + run.stderr).split(separator: "\n").compactMap { line in
                guard let range = line.range(of: "Core: ") else { return nil }
                return String(line[range.upperBound...]).trimmingCharacters(in: .whitespaces)
            }
        }
        let automatic = try kernels(["-u", "OPENBLAS_CORETYPE"])
        XCTAssertTrue((1...2).contains(automatic.count), "\(automatic)")
        XCTAssertTrue(["Haswell", "Zen", "SkylakeX", "Cooperlake", "SapphireRapids"].contains(automatic.last ?? ""), "\(automatic)")
        XCTAssertEqual(try kernels(["OPENBLAS_CORETYPE=Prescott"]), ["Prescott"])
    }

    func testBenchEveryComponent() throws {
        let (pipeline, _) = try CLI.tinyPipeline()
        for component in ["unet", "image-encoder", "vae-encode", "vae-decode", "step", "pipeline"] {
            let run = try CLI.run(["bench", "--config", pipeline, "--random-weights", "--weights-dtype", "f16", "--component", component,
                                   "--num-frames", "3", "--width", "64", "--height", "40", "--steps", "2", "--runs", "2", "--warmup", "1",
                                   "--threads", "1", "--json"])
            XCTAssertEqual(run.exitCode, 0, "\(component): \(run.stderr)")
            let json = try run.json()
            XCTAssertEqual(json["component"] as? String, component)
            XCTAssertEqual(json["runs"] as? Int, 2)
            XCTAssertEqual((json["run_s"] as? [Double])?.count, 2)
            let median = try XCTUnwrap(json["median_s"] as? Double), low = try XCTUnwrap(json["min_s"] as? Double)
            let high = try XCTUnwrap(json["max_s"] as? Double)
            XCTAssertTrue(low > 0 && low <= median && median <= high, "\(component): \(low) \(median) \(high)")
            XCTAssertEqual(json["threads"] as? Int, 1)
            XCTAssertFalse((json["blas_core"] as? String ?? "").isEmpty)
            XCTAssertEqual(json["weights"] as? String, "random")
            XCTAssertEqual(json["weights_dtype"] as? String, "f16")
            XCTAssertEqual(json["num_frames"] as? Int, 3)
            XCTAssertEqual(json["width"] as? Int, 64)
            XCTAssertEqual(json["height"] as? Int, 40)
            XCTAssertGreaterThan(json["peak_rss_bytes"] as? Int ?? 0, 1_000_000)
            // Work counted from the shapes (2 x multiply-adds of every GEMM, conv and attention).
            let gflop = try XCTUnwrap(json["gflop"] as? Double, "\(component): gflop")
            XCTAssertGreaterThan(gflop, 0, component)
            XCTAssertEqual(try XCTUnwrap(json["gflops_per_s"] as? Double), gflop / median, accuracy: gflop / median * 1e-6 + 1e-12, component)
            XCTAssertGreaterThan(json["parameters"] as? Int ?? 0, 40_000)
        }
        // Real weights, and the table.
        let real = try CLI.run(["bench"] + CLI.modelArgs() + ["--component", "unet", "--num-frames", "4", "--width", "64",
                                                             "--height", "64", "--runs", "1", "--warmup", "0"])
        XCTAssertEqual(real.exitCode, 0, real.stderr)
        for text in ["component", "median s", "peak RSS", "BLAS core", "unet", "[1, 4, 8, 8, 8]"] {
            XCTAssertTrue(real.stdout.contains(text), "bench table lacks \(text):\n\(real.stdout)")
        }
        XCTAssertFalse(real.stdout.contains("op profile"), "no profile unless asked")
        // --profile: seconds per op category of the first timed run, adding up to that run.
        let profiled = try CLI.run(["bench"] + CLI.modelArgs() + ["--component", "unet", "--num-frames", "4", "--width", "64",
                                                                 "--height", "64", "--runs", "1", "--warmup", "0", "--profile", "--json"])
        XCTAssertEqual(profiled.exitCode, 0, profiled.stderr)
        let json = try profiled.json()
        let profile = try XCTUnwrap(json["profile_s"] as? [String: Double], "profile_s")
        XCTAssertEqual(Set(profile.keys), ["gemm", "im2col", "norm", "attention", "elementwise", "activation", "copy", "widen", "pack", "other"])
        XCTAssertGreaterThan(profile["gemm"] ?? 0, 0)
        let run = try XCTUnwrap((json["run_s"] as? [Double])?.first)
        XCTAssertEqual(profile.values.reduce(0, +), run, accuracy: run * 0.01 + 1e-3, "categories add up to the run")
        let usage = try CLI.run(["bench", "--component", "unet"])
        XCTAssertEqual(usage.exitCode, 2, "usage errors exit 2, not ArgumentParser's 64")
        XCTAssertTrue(usage.stderr.contains("--random-weights"), usage.stderr)
    }

    // MARK: - Helpers

    /// The tiny pipeline's own size: 4 frames, 64x64, 3 steps.
    private let tinySettings = ["--num-frames", "4", "--width", "64", "--height", "64", "--steps", "3"]

    private func generate(_ args: [String]) throws -> CLIRun {
        try CLI.run(["generate", "--image", CLI.fixture("input.png")] + CLI.modelArgs() + tinySettings + args)
    }
}
