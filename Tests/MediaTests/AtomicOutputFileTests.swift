import Foundation
import Media
import XCTest

final class AtomicOutputFileTests: XCTestCase {
    private func write(_ path: String, _ text: String) {
        XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: Data(text.utf8)))
    }

    private func read(_ path: String) -> String? {
        FileManager.default.contents(atPath: path).map { String(decoding: $0, as: UTF8.self) }
    }

    func testTemporaryPathIsHiddenBesideTargetWithPidAndExtension() throws {
        let dir = try makeTemporaryDirectory(self)
        let output = try AtomicOutputFile(targetPath: dir + "/clip.final.mp4")
        let name = (output.temporaryPath as NSString).lastPathComponent
        XCTAssertEqual((output.temporaryPath as NSString).deletingLastPathComponent, dir)
        XCTAssertTrue(name.hasPrefix(".clip.final."), name)
        XCTAssertTrue(name.contains("-\(getpid())-"), name)
        XCTAssertTrue(name.hasSuffix(".mp4"), name)
        XCTAssertEqual(try VideoFormat.forPath(output.temporaryPath), .mp4)
        XCTAssertNotEqual(try AtomicOutputFile(targetPath: dir + "/clip.final.mp4").temporaryPath, output.temporaryPath)
    }

    func testCommitMovesTheFileIntoPlace() throws {
        let dir = try makeTemporaryDirectory(self)
        let output = try AtomicOutputFile(targetPath: dir + "/out.gif")
        write(output.temporaryPath, "video")
        try output.commit()
        XCTAssertEqual(output.state, .committed)
        XCTAssertEqual(read(dir + "/out.gif"), "video")
        XCTAssertNil(read(output.temporaryPath))
    }

    func testExistingTargetIsRefusedUnlessOverwriteIsAllowed() throws {
        let dir = try makeTemporaryDirectory(self)
        let target = dir + "/out.mp4"
        write(target, "old")
        XCTAssertThrowsError(try AtomicOutputFile(targetPath: target)) { error in
            XCTAssertEqual(error as? OutputFileError, .targetExists(path: target))
        }
        let output = try AtomicOutputFile(targetPath: target, overwrite: true)
        write(output.temporaryPath, "new")
        try output.commit()
        XCTAssertEqual(read(target), "new")
    }

    /// A target that appears while the output is being written is not clobbered.
    func testCommitFailsIfTargetAppearedMeanwhile() throws {
        let dir = try makeTemporaryDirectory(self)
        let target = dir + "/race.mkv"
        let output = try AtomicOutputFile(targetPath: target)
        write(output.temporaryPath, "mine")
        write(target, "theirs")
        XCTAssertThrowsError(try output.commit()) { error in
            XCTAssertEqual(error as? OutputFileError, .targetExists(path: target))
        }
        XCTAssertEqual(read(target), "theirs")
        XCTAssertNil(read(output.temporaryPath))
    }

    func testDiscardAndDeinitDeleteTheTemporaryFile() throws {
        let dir = try makeTemporaryDirectory(self)
        let output = try AtomicOutputFile(targetPath: dir + "/a.webm")
        write(output.temporaryPath, "partial")
        output.discard()
        XCTAssertEqual(output.state, .discarded)
        XCTAssertNil(read(output.temporaryPath))

        var temp = ""
        do {
            let dropped = try AtomicOutputFile(targetPath: dir + "/b.webm")
            temp = dropped.temporaryPath
            write(temp, "partial")
        }
        XCTAssertNil(read(temp))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir), [])
    }

    func testMissingFolderFailsEarly() {
        XCTAssertThrowsError(try AtomicOutputFile(targetPath: "/nonexistent-folder/out.mp4")) { error in
            XCTAssertEqual(error as? OutputFileError, .directoryMissing(path: "/nonexistent-folder"))
        }
    }

    func testCommitWithoutOutputFails() throws {
        let dir = try makeTemporaryDirectory(self)
        let output = try AtomicOutputFile(targetPath: dir + "/never.mp4")
        XCTAssertThrowsError(try output.commit())
        XCTAssertNil(read(dir + "/never.mp4"))
    }
}
