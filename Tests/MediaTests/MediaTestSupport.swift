import Foundation
import Media
import Tensor
import TestSupport
import XCTest

/// Reference outputs written by Scripts/reference/media_fixtures.py (Pillow, diffusers).
enum MediaReference {
    static let file: SafeTensorsFile = {
        do { return try SafeTensorsFile(path: fixturePath("media_reference.safetensors")) } catch {
            fatalError("missing fixture media_reference.safetensors: \(error)")
        }
    }()

    /// A U8 `[H, W, 3]` entry as an image.
    static func image(_ name: String) throws -> RGBImage {
        let t = try file.tensor(name)
        precondition(t.dtype == .u8 && t.shape.count == 3 && t.shape[2] == 3, "\(name) is not a U8 [H, W, 3] image")
        return RGBImage(width: t.shape[1], height: t.shape[0], pixels: Array(t.bytes))
    }

    static func tensor(_ name: String) throws -> Tensor { try file.tensor(name).floatTensor() }
}

/// A fresh empty folder under the system temp folder, removed at the end of the test.
func makeTemporaryDirectory(_ test: XCTestCase) throws -> String {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("media-tests-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    test.addTeardownBlock { try? FileManager.default.removeItem(atPath: dir) }
    return dir
}

/// Runs a command-line tool, returning its exit status and standard output.
@discardableResult
func runTool(_ executable: String, _ arguments: [String]) throws -> (status: Int32, output: Data) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = FileHandle.nullDevice
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, data)
}

/// What the real `ffprobe` binary says about a video file's first video stream and its container
/// tags (keys lower-cased: Matroska writes COMMENT, MP4 comment).
struct ProbeResult {
    var stream: [String: String] = [:]
    var tags: [String: String] = [:]

    var frameCount: Int? { stream["nb_read_frames"].flatMap { Int($0) } }
    var width: Int? { stream["width"].flatMap { Int($0) } }
    var height: Int? { stream["height"].flatMap { Int($0) } }
}

func ffprobe(_ path: String) throws -> ProbeResult {
    let (status, data) = try runTool("/usr/bin/ffprobe", [
        "-v", "error", "-count_frames", "-select_streams", "v:0",
        "-show_entries", "stream=codec_name,width,height,pix_fmt,r_frame_rate,avg_frame_rate,nb_read_frames,color_space:format_tags",
        "-of", "default=noprint_wrappers=1", path,
    ])
    guard status == 0 else { throw NSError(domain: "ffprobe", code: Int(status), userInfo: [NSLocalizedDescriptionKey: "ffprobe failed on \(path)"]) }
    var result = ProbeResult()
    for line in String(decoding: data, as: UTF8.self).split(separator: "\n") {
        guard let eq = line.firstIndex(of: "=") else { continue }
        let key = String(line[..<eq]), value = String(line[line.index(after: eq)...])
        if key.hasPrefix("TAG:") {
            result.tags[String(key.dropFirst(4)).lowercased()] = value
        } else {
            result.stream[key] = value
        }
    }
    return result
}

/// Decodes every frame of a video with the `ffmpeg` binary to RGB24 bytes.
func ffmpegDecodeRGB(_ path: String) throws -> [UInt8] {
    let (status, data) = try runTool("/usr/bin/ffmpeg", ["-v", "error", "-i", path, "-f", "rawvideo", "-pix_fmt", "rgb24", "-"])
    guard status == 0 else { throw NSError(domain: "ffmpeg", code: Int(status)) }
    return Array(data)
}

/// Largest absolute difference between two equally sized images' bytes.
func maxPixelDifference(_ a: RGBImage, _ b: RGBImage) -> Int {
    precondition(a.width == b.width && a.height == b.height, "sizes differ: \(a.width)x\(a.height) vs \(b.width)x\(b.height)")
    return zip(a.pixels, b.pixels).map { abs(Int($0) - Int($1)) }.max() ?? 0
}

/// A deterministic image of smooth gradients (red across, green down, blue a triangle wave along
/// the diagonal whose phase moves with `seed`), so lossy codecs keep it well.
func patternImage(width: Int, height: Int, seed: Int = 1) -> RGBImage {
    var bytes = [UInt8](repeating: 0, count: width * height * 3)
    for y in 0..<height {
        for x in 0..<width {
            let i = (y * width + x) * 3
            bytes[i] = UInt8((x * 255) / max(width - 1, 1))
            bytes[i + 1] = UInt8((y * 255) / max(height - 1, 1))
            let t = (x * 3 + y * 5 + seed * 16) % 512
            bytes[i + 2] = UInt8(t < 256 ? t : 511 - t)
        }
    }
    return RGBImage(width: width, height: height, pixels: bytes)
}

/// Asserts two images are identical, reporting the size and the largest difference (not the bytes).
func assertSamePixels(_ actual: RGBImage, _ expected: RGBImage, _ message: String = "", file: StaticString = #filePath, line: UInt = #line) {
    guard actual.width == expected.width && actual.height == expected.height else {
        XCTFail("size \(actual.width)x\(actual.height) != \(expected.width)x\(expected.height) \(message)", file: file, line: line)
        return
    }
    let diff = maxPixelDifference(actual, expected)
    XCTAssertEqual(diff, 0, "max pixel difference \(diff) \(message)", file: file, line: line)
}
