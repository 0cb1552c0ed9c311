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

    // MARK: Leftovers of killed runs (issue 15)

    /// The pid of a process that has exited (and been reaped), so no process has it now.
    private func deadProcessID() throws -> pid_t {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/true")
        try p.run()
        p.waitUntilExit()
        return p.processIdentifier
    }

    func testTemporariesOfDeadProcessesAreRemovedByTheNextOutputInTheFolder() throws {
        let dir = try makeTemporaryDirectory(self)
        let dead = try deadProcessID()
        let stale = ".clip.img2vid-\(dead)-9f3a1c0d.mp4"
        let live = ".clip.img2vid-\(getppid())-0badf00d.mp4"          // the test runner's parent is alive
        let unrelated = [".clip.img2vid-notapid-12.mp4", "clip.mp4", ".hidden", ".x.img2vid-\(dead)-zz.mp4"]
        for name in [stale, live] + unrelated { write(dir + "/" + name, "partial") }

        let output = try AtomicOutputFile(targetPath: dir + "/other.webm")
        XCTAssertNil(read(dir + "/" + stale), "the dead process's temporary is left")
        for name in [live] + unrelated { XCTAssertEqual(read(dir + "/" + name), "partial", "\(name) must stay") }
        output.discard()
    }

    func testTemporaryOwnerParsesOnlyNamesThisTypeMakes() throws {
        let dir = try makeTemporaryDirectory(self)
        let mine = try AtomicOutputFile(targetPath: dir + "/a.b.mp4")
        let name = (mine.temporaryPath as NSString).lastPathComponent
        // A name made by init is recognised (and, being this process's, kept).
        write(mine.temporaryPath, "x")
        XCTAssertEqual(AtomicOutputFile.removeStaleTemporaries(in: dir), [])
        XCTAssertEqual(read(dir + "/" + name), "x")
        mine.discard()
        XCTAssertEqual(AtomicOutputFile.removeStaleTemporaries(in: dir + "/missing"), [])
    }
}
