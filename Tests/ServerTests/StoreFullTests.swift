import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// Issue 15's fault "job store full" with real components: a real `img2vid serve` whose data folder
/// (the SQLite job store, the inputs) is a small tmpfs that the test fills. A submission is then
/// answered 503 with code 5003 and `Retry-After`, and stores nothing: neither when the input image
/// cannot be written, nor when the image fits but the database cannot grow (SQLITE_FULL, the image
/// taken back). Reads still answer. Once space is freed the same process accepts submissions again.
/// The tmpfs is mounted by the test (the suite runs as root in CI) and unmounted at teardown; where
/// mounting is not permitted the test is skipped, saying why.
final class StoreFullTests: ServerTestCase {
    /// Mounts a tmpfs of `size` on a fresh folder; unmounted at teardown (after the server is gone).
    func mountTmpfs(size: String) throws -> String {
        let point = try Paths.temporaryFolder(self) + "/data"
        try FileManager.default.createDirectory(atPath: point, withIntermediateDirectories: true)
        let mount = try Self.runProgram(["mount", "-t", "tmpfs", "-o", "size=\(size)", "tmpfs", point])
        guard mount.status == 0 else {
            throw XCTSkip("cannot mount a tmpfs here (needs root or CAP_SYS_ADMIN): \(mount.output.trimmingCharacters(in: .whitespacesAndNewlines))")
        }
        addTeardownBlock { _ = try? Self.runProgram(["umount", "-l", point]) }
        return point
    }

    static func runProgram(_ args: [String]) throws -> (status: Int32, output: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = args
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = pipe
        try p.run()
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: output, as: UTF8.self))
    }

    /// Fills the file system of `folder` with 4 KiB files until it is full; their paths.
    func fill(_ folder: String) throws -> [String] {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let page = [UInt8](repeating: 0x5A, count: 4096)
        var files: [String] = []
        while files.count < 1_000_000 {
            let path = folder + "/fill-\(files.count)"
            let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
            guard fd >= 0 else { break }
            let n = page.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            close(fd)
            guard n == page.count else { unlink(path); break }
            files.append(path)
        }
        return files
    }

    func inputs(_ data: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: data + "/inputs")) ?? []).sorted()
    }

    func assertStoreFull(_ r: HTTPResult, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(r.status, 503, r.text, file: file, line: line)
        XCTAssertEqual(r.code, 5003, r.text, file: file, line: line)
        XCTAssertEqual(r.headers["retry-after"], "30", "\(r.headers)", file: file, line: line)
        XCTAssertTrue(r.message.contains("job store full") && r.message.contains("disk is full"), r.message, file: file, line: line)
    }

    func testFullDataFolderAnswers503StoresNothingAndRecoversOnceSpaceIsFreed() throws {
        let data = try mountTmpfs(size: "2m")
        let server = try ServerProcess(test: self, dataDir: data, extra: tinyArgs + ["--slots", "0"])
        let first = try submit(server, try taskBody())
        XCTAssertEqual(inputs(data).count, 1)

        // 1. No room even for the input image.
        var fillers = try fill(data + "/filler")
        XCTAssertGreaterThan(fillers.count, 10, "the tmpfs was full before the test filled it")
        let noRoom = try server.client.postJSON("/v1/videos/image2video", try taskBody())
        assertStoreFull(noRoom)
        XCTAssertTrue(noRoom.message.contains("/inputs/"), noRoom.message)
        print("StoreFullTests: no room for the image: \(noRoom.status) \(noRoom.code): \(noRoom.message)")
        XCTAssertEqual(inputs(data).count, 1, "a partial input image was left: \(inputs(data))")

        // Reads still answer: the database is readable, only writes need space.
        XCTAssertEqual(try server.client.get("/v1/videos/image2video/\(first)").status, 200)
        let listed = try server.client.get("/v1/videos/image2video")
        XCTAssertEqual(listed.status, 200, listed.text)
        XCTAssertEqual(listed.json()["total"] as? Int, 1, listed.text)

        // 2. Room for the 1.7 KB image (one 4 KiB page) but not for the database's write-ahead log:
        // SQLITE_FULL, the transaction rolled back and the image taken back.
        unlink(fillers.removeLast())
        let noRoomForTheTask = try server.client.postJSON("/v1/videos/image2video", try taskBody())
        assertStoreFull(noRoomForTheTask)
        XCTAssertTrue(noRoomForTheTask.message.contains("img2vid.sqlite"), "expected the database to be the one refusing: \(noRoomForTheTask.message)")
        XCTAssertEqual(inputs(data).count, 1, "the image of the refused task was left: \(inputs(data))")
        print("StoreFullTests: room for the image only: \(noRoomForTheTask.status) \(noRoomForTheTask.code): \(noRoomForTheTask.message)")
        XCTAssertEqual(try server.client.get("/v1/videos/image2video").json()["total"] as? Int, 1)

        // 3. Space freed: the same process accepts again, and holds exactly the accepted tasks.
        for path in fillers { unlink(path) }
        let second = try submit(server, try taskBody())
        let after = try server.client.get("/v1/videos/image2video")
        XCTAssertEqual(after.json()["total"] as? Int, 2, after.text)
        let ids = Set(((after.json()["data"] as? [[String: Any]]) ?? []).compactMap { $0["task_id"] as? String })
        XCTAssertEqual(ids, [first, second])
        XCTAssertEqual(inputs(data).count, 2, "\(inputs(data))")
        XCTAssertEqual(server.stop(), 0, server.stderr)
    }
}
