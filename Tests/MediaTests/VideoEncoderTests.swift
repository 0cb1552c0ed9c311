import Foundation
import Media
import XCTest

/// Encodes with FFmpeg's libraries, checks with the real ffprobe/ffmpeg binaries.
final class VideoEncoderTests: XCTestCase {
    private func frames(_ count: Int, width: Int, height: Int) -> [RGBImage] {
        (0..<count).map { patternImage(width: width, height: height, seed: $0) }
    }

    /// PSNR in dB of decoded RGB bytes against the frames (cropped to the frames' size).
    private func psnr(decoded: [UInt8], decodedWidth: Int, decodedHeight: Int, frames: [RGBImage]) -> Double {
        var squared = 0.0, n = 0
        for (f, frame) in frames.enumerated() {
            for y in 0..<frame.height {
                for x in 0..<frame.width {
                    for c in 0..<3 {
                        let d = Double(decoded[((f * decodedHeight + y) * decodedWidth + x) * 3 + c]) - Double(frame.pixels[(y * frame.width + x) * 3 + c])
                        squared += d * d
                        n += 1
                    }
                }
            }
        }
        return 10 * log10(255 * 255 / max(squared / Double(n), 1e-12))
    }

    private func checkProbe(_ path: String, frames: Int, width: Int, height: Int, rate: String, codec: String, pixelFormat: String,
                            title: String?, comment: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let probe = try ffprobe(path)
        XCTAssertEqual(probe.frameCount, frames, "frame count", file: file, line: line)
        XCTAssertEqual(probe.width, width, "width", file: file, line: line)
        XCTAssertEqual(probe.height, height, "height", file: file, line: line)
        XCTAssertEqual(probe.stream["r_frame_rate"], rate, "frame rate", file: file, line: line)
        XCTAssertEqual(probe.stream["codec_name"], codec, "codec", file: file, line: line)
        XCTAssertEqual(probe.stream["pix_fmt"], pixelFormat, "pixel format", file: file, line: line)
        if let title = title { XCTAssertEqual(probe.tags["title"], title, "title", file: file, line: line) }
        XCTAssertEqual(probe.tags["comment"], comment, "comment", file: file, line: line)
    }

    func testMP4() throws {
        let path = try makeTemporaryDirectory(self) + "/clip.mp4"
        let input = frames(7, width: 64, height: 48)
        try VideoEncoder.encode(input, to: path, options: .init(fps: 7, title: "A title", comment: "seed=42 steps=25"))
        try checkProbe(path, frames: 7, width: 64, height: 48, rate: "7/1", codec: "h264", pixelFormat: "yuv420p",
                       title: "A title", comment: "seed=42 steps=25")
        XCTAssertEqual(try ffprobe(path).stream["color_space"], "bt709")
        // The moov atom comes before mdat (+faststart).
        let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        let moov = try XCTUnwrap(bytes.range(of: Data("moov".utf8))), mdat = try XCTUnwrap(bytes.range(of: Data("mdat".utf8)))
        XCTAssertLessThan(moov.lowerBound, mdat.lowerBound)
        // CRF 18 on a smooth pattern, decoded by ffmpeg: 37.9 dB measured (4:2:0 chroma dominates).
        let decoded = try ffmpegDecodeRGB(path)
        XCTAssertEqual(decoded.count, 7 * 64 * 48 * 3)
        XCTAssertGreaterThan(psnr(decoded: decoded, decodedWidth: 64, decodedHeight: 48, frames: input), 35)
    }

    /// Flat colours survive RGB -> BT.709 yuv420p -> RGB (as ffmpeg decodes them) within 3 levels
    /// (2 measured): the matrix, range and tags agree.
    func testFlatColoursRoundTrip() throws {
        let dir = try makeTemporaryDirectory(self)
        let colours: [(UInt8, UInt8, UInt8)] = [(200, 100, 50), (16, 200, 240), (128, 128, 128), (250, 20, 120)]
        let input = colours.map { RGBImage(width: 32, height: 32, red: $0.0, green: $0.1, blue: $0.2) }
        for ext in ["mp4", "webm"] {
            let path = dir + "/flat." + ext
            try VideoEncoder.encode(input, to: path, options: .init(fps: 4))
            let decoded = try ffmpegDecodeRGB(path)
            XCTAssertEqual(decoded.count, 4 * 32 * 32 * 3)
            for (f, frame) in input.enumerated() {
                let got = RGBImage(width: 32, height: 32, pixels: Array(decoded[f * 3072..<(f + 1) * 3072]))
                XCTAssertLessThanOrEqual(maxPixelDifference(got, frame), 3, "\(ext) frame \(f)")
            }
        }
    }

    /// 65x33 is padded to 66x34 with edge pixels: the extra column repeats the last one.
    func testMP4OddSizeIsPaddedWithEdgePixels() throws {
        let path = try makeTemporaryDirectory(self) + "/odd.mp4"
        let input = (0..<3).map { _ in
            var image = RGBImage(width: 65, height: 33, red: 40, green: 40, blue: 40)
            for y in 0..<33 { for c in 0..<3 { image.pixels[(y * 65 + 64) * 3 + c] = 230 } }  // bright last column
            return image
        }
        try VideoEncoder.encode(input, to: path, options: .init(fps: 8, comment: "odd"))
        try checkProbe(path, frames: 3, width: 66, height: 34, rate: "8/1", codec: "h264", pixelFormat: "yuv420p", title: nil, comment: "odd")
        let decoded = try ffmpegDecodeRGB(path)
        XCTAssertEqual(decoded.count, 3 * 66 * 34 * 3)
        for y in [0, 16, 33] {
            let padColumn = Int(decoded[(y * 66 + 65) * 3]), interior = Int(decoded[(y * 66 + 10) * 3])
            XCTAssertGreaterThan(padColumn, 200, "row \(y): padding repeats the bright edge")
            XCTAssertLessThan(interior, 60)
        }
    }

    func testMKV() throws {
        let path = try makeTemporaryDirectory(self) + "/clip.mkv"
        try VideoEncoder.encode(frames(5, width: 48, height: 32), to: path, options: .init(fps: 6, title: "mkv title", comment: "mkv comment"))
        try checkProbe(path, frames: 5, width: 48, height: 32, rate: "6/1", codec: "h264", pixelFormat: "yuv420p",
                       title: "mkv title", comment: "mkv comment")
    }

    func testWebM() throws {
        let path = try makeTemporaryDirectory(self) + "/clip.webm"
        let input = frames(6, width: 64, height: 32)
        try VideoEncoder.encode(input, to: path, options: .init(fps: 7, title: "webm title", comment: "webm comment"))
        try checkProbe(path, frames: 6, width: 64, height: 32, rate: "7/1", codec: "vp9", pixelFormat: "yuv420p",
                       title: "webm title", comment: "webm comment")
        let decoded = try ffmpegDecodeRGB(path)  // 36.7 dB measured at CRF 24
        XCTAssertGreaterThan(psnr(decoded: decoded, decodedWidth: 64, decodedHeight: 32, frames: input), 33)
    }

    /// GIF: exact size, one global palette; with few colours the frames come back exactly.
    func testGIF() throws {
        let path = try makeTemporaryDirectory(self) + "/clip.gif"
        let colours: [(UInt8, UInt8, UInt8)] = [(255, 0, 0), (0, 128, 255), (20, 200, 30), (250, 250, 250), (0, 0, 0)]
        let input = colours.map { c -> RGBImage in
            var image = RGBImage(width: 41, height: 29, red: c.0, green: c.1, blue: c.2)
            for y in 0..<10 { for x in 0..<10 { image.pixels[(y * 41 + x) * 3] = 77 } }  // a patch that changes red only
            return image
        }
        try VideoEncoder.encode(input, to: path, options: .init(fps: 10, title: "gif title", comment: "gif comment"))
        try checkProbe(path, frames: 5, width: 41, height: 29, rate: "10/1", codec: "gif", pixelFormat: "bgra",
                       title: nil, comment: "gif comment")
        let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        XCTAssertNotNil(bytes.range(of: Data("gif title".utf8)), "the title is stored as a comment extension")
        let decoded = try ffmpegDecodeRGB(path)
        let expected = input.flatMap(\.pixels)
        XCTAssertEqual(decoded.count, expected.count)
        XCTAssertTrue(decoded == expected, "GIF frames differ from the input in \(zip(decoded, expected).filter { $0 != $1 }.count) bytes")
    }

    /// Many colours: median cut + ordered dither still gives a faithful picture (30.0 dB measured).
    func testGIFWithManyColours() throws {
        let path = try makeTemporaryDirectory(self) + "/many.gif"
        let input = frames(3, width: 64, height: 48)
        try VideoEncoder.encode(input, to: path, options: .init(fps: 5))
        let decoded = try ffmpegDecodeRGB(path)
        XCTAssertEqual(decoded.count, 3 * 64 * 48 * 3)
        XCTAssertGreaterThan(psnr(decoded: decoded, decodedWidth: 64, decodedHeight: 48, frames: input), 28)
    }

    /// 7 frames at 7 fps written as a 14 fps stream: 14 frames, each source frame twice, 1 second.
    func testSeparateOutputFrameRate() throws {
        let path = try makeTemporaryDirectory(self) + "/retimed.mp4"
        XCTAssertEqual(VideoEncoder.outputFrameCount(frameCount: 7, fps: 7, outputFPS: 14), 14)
        XCTAssertEqual(VideoEncoder.outputFrameCount(frameCount: 14, fps: 7, outputFPS: 10), 20)
        try VideoEncoder.encode(frames(7, width: 32, height: 32), to: path, options: .init(fps: 7, outputFPS: 14, comment: "x"))
        try checkProbe(path, frames: 14, width: 32, height: 32, rate: "14/1", codec: "h264", pixelFormat: "yuv420p", title: nil, comment: "x")
        let (_, data) = try runTool("/usr/bin/ffprobe", ["-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", path])
        let duration = try XCTUnwrap(Double(String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)))
        XCTAssertEqual(duration, 1.0, accuracy: 0.01)
    }

    func testEncodeThroughAtomicOutputFile() throws {
        let dir = try makeTemporaryDirectory(self)
        let output = try AtomicOutputFile(targetPath: dir + "/final.webm")
        try VideoEncoder.encode(frames(2, width: 16, height: 16), to: output.temporaryPath, options: .init(fps: 7))
        try output.commit()
        XCTAssertEqual(try ffprobe(dir + "/final.webm").stream["codec_name"], "vp9")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir), ["final.webm"])
    }

    // MARK: Errors

    func testUnknownExtensionListsSupportedOnes() throws {
        let path = try makeTemporaryDirectory(self) + "/clip.avi"
        XCTAssertThrowsError(try VideoEncoder.encode(frames(1, width: 8, height: 8), to: path, options: .init(fps: 7))) { error in
            XCTAssertEqual(error as? VideoError, .unsupportedExtension(path: path, supported: ["mp4", "mkv", "webm", "gif"]))
            XCTAssertTrue("\(error)".contains(".mp4, .mkv, .webm, .gif"), "\(error)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: path))
    }

    func testInvalidInputs() throws {
        let path = try makeTemporaryDirectory(self) + "/bad.mp4"
        XCTAssertThrowsError(try VideoEncoder.encode([], to: path, options: .init(fps: 7))) {
            XCTAssertEqual($0 as? VideoError, .noFrames)
        }
        let mixed = [patternImage(width: 8, height: 8), patternImage(width: 8, height: 10)]
        XCTAssertThrowsError(try VideoEncoder.encode(mixed, to: path, options: .init(fps: 7))) {
            XCTAssertEqual($0 as? VideoError, .frameSizeMismatch(index: 1, width: 8, height: 10, expectedWidth: 8, expectedHeight: 8))
        }
        XCTAssertThrowsError(try VideoEncoder.encode(frames(1, width: 8, height: 8), to: path, options: .init(fps: 0))) {
            XCTAssertEqual($0 as? VideoError, .invalidFrameRate(0))
        }
        XCTAssertThrowsError(try VideoEncoder.encode(frames(1, width: 8, height: 8), to: path, options: .init(fps: 7, crf: 60))) {
            XCTAssertEqual($0 as? VideoError, .invalidQuality(crf: 60, range: 0...51, encoder: "libx264"))
        }
    }

    func testMissingFolder() {
        let path = "/nonexistent-folder/clip.mp4"
        XCTAssertThrowsError(try VideoEncoder.encode(frames(1, width: 8, height: 8), to: path, options: .init(fps: 7))) {
            XCTAssertEqual($0 as? VideoError, .cannotCreate(path: path, reason: "its folder does not exist"))
        }
    }

    /// A path that is a link to /dev/full: every write fails with ENOSPC.
    func testDiskFull() throws {
        let dir = try makeTemporaryDirectory(self)
        for ext in ["mkv", "gif"] {
            let path = dir + "/full." + ext
            try FileManager.default.createSymbolicLink(atPath: path, withDestinationPath: "/dev/full")
            XCTAssertThrowsError(try VideoEncoder.encode(frames(30, width: 256, height: 256), to: path, options: .init(fps: 7))) {
                XCTAssertEqual($0 as? VideoError, .diskFull(path: path), "\(ext): \($0)")
            }
        }
    }
}
