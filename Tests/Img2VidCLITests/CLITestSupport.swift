import Foundation
import Media
import TestSupport
import XCTest

/// What one run of the `img2vid` binary did.
struct CLIRun {
    let exitCode: Int32
    let stdout: String
    let stderr: String
    let seconds: Double

    /// stdout parsed as one JSON object.
    func json(file: StaticString = #filePath, line: UInt = #line) throws -> [String: Any] {
        let object = try JSONSerialization.jsonObject(with: Data(stdout.utf8))
        return try XCTUnwrap(object as? [String: Any], "stdout is not a JSON object: \(stdout)", file: file, line: line)
    }
}

/// Runs the real `img2vid` executable (built by `swift test` into the products folder beside the
/// test bundle) and FFmpeg's `ffprobe`, and locates the fixtures.
enum CLI {
    /// The `img2vid` executable next to the running test bundle.
    static func executable() throws -> String {
        guard let path = ProductsFolder.executable("img2vid") else {
            throw CLIError.missing("img2vid executable in \(ProductsFolder.candidates.map(\.path))")
        }
        return path
    }

    /// `executable()` or a test failure that says how to get the binary.
    static func binary(file: StaticString = #filePath, line: UInt = #line) throws -> String {
        do {
            return try executable()
        } catch {
            XCTFail("the img2vid executable was not found beside the test bundle (looked in the products folder of "
                    + "\(CommandLine.arguments[0])). Run the tests with `swift test`, which builds it, or `swift build --product img2vid` first.",
                    file: file, line: line)
            throw error
        }
    }

    /// Runs `img2vid args...`, stdout and stderr into files, killed after `timeout` seconds.
    /// `whileRunning` is called every 20 ms with the process and the stderr written so far.
    @discardableResult
    static func run(_ args: [String], timeout: Double = 60, environment: [String: String] = [:],
                    whileRunning: ((Process, String) -> Void)? = nil) throws -> CLIRun {
        try runProgram(try binary(), args, timeout: timeout, environment: environment, whileRunning: whileRunning)
    }

    static func runProgram(_ program: String, _ args: [String], timeout: Double = 60, environment: [String: String] = [:],
                           whileRunning: ((Process, String) -> Void)? = nil) throws -> CLIRun {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("img2vid-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        let outURL = scratch.appendingPathComponent("stdout"), errURL = scratch.appendingPathComponent("stderr")
        FileManager.default.createFile(atPath: outURL.path, contents: nil)
        FileManager.default.createFile(atPath: errURL.path, contents: nil)
        let out = try FileHandle(forWritingTo: outURL), err = try FileHandle(forWritingTo: errURL)

        let process = Process()
        process.executableURL = URL(fileURLWithPath: program)
        process.arguments = args
        var env = ProcessInfo.processInfo.environment
        env["IMG2VID_MODEL"] = nil
        // Moderation off unless a test names a policy (--policy wins over this): the default
        // policy needs the detector weights from Scripts/setup and fails closed without them.
        env["IMG2VID_POLICY"] = "none"
        for (k, v) in environment { env[k] = v }
        process.environment = env
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        let start = Date()
        try process.run()
        while process.isRunning {
            if Date().timeIntervalSince(start) > timeout {
                process.terminate()
                process.waitUntilExit()
                try? out.close(); try? err.close()
                throw CLIError.timeout("\(program) \(args.joined(separator: " ")) ran longer than \(timeout) s")
            }
            if let whileRunning {
                whileRunning(process, (try? String(contentsOf: errURL, encoding: .utf8)) ?? "")
            }
            usleep(20_000)
        }
        process.waitUntilExit()
        try? out.close(); try? err.close()
        return CLIRun(exitCode: process.terminationStatus,
                      stdout: (try? String(contentsOf: outURL, encoding: .utf8)) ?? "",
                      stderr: (try? String(contentsOf: errURL, encoding: .utf8)) ?? "",
                      seconds: Date().timeIntervalSince(start))
    }

    enum CLIError: Error { case timeout(String), ffprobe(String), missing(String) }

    /// `ffprobe -show_streams -show_format -count_frames -of json PATH`.
    static func probe(_ path: String) throws -> (stream: [String: Any], format: [String: Any]) {
        let result = try runProgram("/usr/bin/env", ["ffprobe", "-v", "error", "-count_frames", "-show_streams", "-show_format",
                                                     "-of", "json", path], timeout: 30)
        guard result.exitCode == 0,
              let object = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any],
              let streams = object["streams"] as? [[String: Any]], let stream = streams.first,
              let format = object["format"] as? [String: Any] else {
            throw CLIError.ffprobe("ffprobe could not read \(path): \(result.stderr)")
        }
        return (stream, format)
    }

    /// The tiny random-weight pipeline of the SVD tests and the `--variant` it needs (its folder may
    /// hold only `*.fp16.safetensors` files).
    static func tinyPipeline() throws -> (path: String, variant: String?) {
        let fixtures = packageRoot().appendingPathComponent("Tests/SVDTests/Fixtures")
        for name in ["tiny-a/pipeline", "tiny/pipeline"] {
            let folder = fixtures.appendingPathComponent(name)
            guard FileManager.default.fileExists(atPath: folder.appendingPathComponent("model_index.json").path) else { continue }
            let plain = folder.appendingPathComponent("unet/diffusion_pytorch_model.safetensors").path
            return (folder.path, FileManager.default.fileExists(atPath: plain) ? nil : "fp16")
        }
        throw CLIError.missing("no tiny pipeline under \(fixtures.path) (run Scripts/reference/svd_fixtures.py)")
    }

    /// `--model PATH [--variant fp16]` for the tiny pipeline.
    static func modelArgs() throws -> [String] {
        let (path, variant) = try tinyPipeline()
        return ["--model", path] + (variant.map { ["--variant", $0] } ?? [])
    }

    /// A fixture of this test target.
    static func fixture(_ name: String) -> String {
        packageRoot().appendingPathComponent("Tests/Img2VidCLITests/Fixtures/\(name)").path
    }

    static func packageRoot() -> URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    /// A fresh empty folder, removed by the test's teardown.
    static func temporaryFolder(_ test: XCTestCase) throws -> String {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("img2vid-cli-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        test.addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url.path
    }

    /// Writes `input.png` into `folder`: a benign 64x64 gradient (red across, green down, blue 128).
    static func gradientImage(in folder: String) throws -> String {
        let image = (folder as NSString).appendingPathComponent("input.png")
        var px = [UInt8](repeating: 0, count: 64 * 64 * 3)
        for y in 0..<64 {
            for x in 0..<64 { px[(y * 64 + x) * 3] = UInt8(x * 4); px[(y * 64 + x) * 3 + 1] = UInt8(y * 4); px[(y * 64 + x) * 3 + 2] = 128 }
        }
        try PNGWriter.write(RGBImage(width: 64, height: 64, pixels: px), to: image)
        return image
    }
}
