import Foundation
import Media
import XCTest

final class PNGWriterTests: XCTestCase {
    func testWriteThenDecodeIsExact() throws {
        let dir = try makeTemporaryDirectory(self)
        for (w, h) in [(33, 17), (1, 1), (256, 3)] {
            let image = patternImage(width: w, height: h, seed: w)
            let path = dir + "/round-\(w)x\(h).png"
            try PNGWriter.write(image, to: path)
            assertSamePixels(try ImageDecoder.decode(path: path), image)
        }
    }

    /// The real ffmpeg reads the file as an 8-bit RGB PNG of the right size.
    func testFileIsPlainRGB24PNG() throws {
        let path = try makeTemporaryDirectory(self) + "/probe.png"
        try PNGWriter.write(patternImage(width: 12, height: 7), to: path)
        let probe = try ffprobe(path)
        XCTAssertEqual(probe.stream["codec_name"], "png")
        XCTAssertEqual(probe.stream["pix_fmt"], "rgb24")
        XCTAssertEqual(probe.width, 12)
        XCTAssertEqual(probe.height, 7)
    }

    func testFrameFileNames() {
        XCTAssertEqual(PNGWriter.frameFileName(index: 0, count: 14), "frame_00.png")
        XCTAssertEqual(PNGWriter.frameFileName(index: 13, count: 14), "frame_13.png")
        XCTAssertEqual(PNGWriter.frameFileName(index: 7, count: 150), "frame_007.png")
        XCTAssertEqual(PNGWriter.frameFileName(index: 3, count: 1), "frame_03.png")
    }

    func testWriteFramesCreatesTheFolderAndNumberedFiles() throws {
        let dir = try makeTemporaryDirectory(self) + "/nested/frames"
        let frames = (0..<3).map { patternImage(width: 8, height: 6, seed: $0) }
        let paths = try PNGWriter.writeFrames(frames, toDirectory: dir).paths
        XCTAssertEqual(paths.map { ($0 as NSString).lastPathComponent }, ["frame_00.png", "frame_01.png", "frame_02.png"])
        for (path, frame) in zip(paths, frames) {
            assertSamePixels(try ImageDecoder.decode(path: path), frame)
        }
    }

    /// A frame that cannot be written (here: a folder stands where frame_01.png goes) takes back
    /// the frames already written and the folders created for them (issue 15: no partial output).
    func testFailedFrameRemovesTheFramesAlreadyWrittenAndTheFoldersItMade() throws {
        let root = try makeTemporaryDirectory(self)
        let existing = root + "/frames"
        try FileManager.default.createDirectory(atPath: existing + "/frame_01.png", withIntermediateDirectories: true)
        let frames = (0..<3).map { patternImage(width: 8, height: 6, seed: $0) }
        XCTAssertThrowsError(try PNGWriter.writeFrames(frames, toDirectory: existing))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: existing), ["frame_01.png"], "frame_00.png was left")

        let fresh = root + "/new/nested"
        try FileManager.default.createDirectory(atPath: root + "/new-blocker", withIntermediateDirectories: true)
        let saved = try PNGWriter.writeFrames(frames, toDirectory: fresh)
        XCTAssertEqual(saved.createdFolders, [root + "/new", fresh])
        saved.remove()
        XCTAssertFalse(FileManager.default.fileExists(atPath: root + "/new"), "the folders made for the frames are left")
    }

    func testWriteErrorsNameThePath() throws {
        let missing = "/nonexistent-folder/x.png"
        XCTAssertThrowsError(try PNGWriter.write(patternImage(width: 4, height: 4), to: missing)) { error in
            XCTAssertEqual(error as? ImageError, .writeFailed(path: missing, reason: "its folder does not exist"))
        }
        // /dev/full fails every write with ENOSPC.
        XCTAssertThrowsError(try PNGWriter.write(patternImage(width: 4, height: 4), to: "/dev/full")) { error in
            XCTAssertEqual(error as? ImageError, .writeFailed(path: "/dev/full", reason: "the disk is full"))
        }
    }
}
