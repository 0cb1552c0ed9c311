import Foundation
import Tensor
import XCTest

/// `FileContents.read(atPath:)`, the whole-file read of configs, tokenizer vocabularies and policies
/// (it replaces `FileManager.contents(atPath:)`, which leaks 4 KB per empty file in swift-foundation
/// 6.3.1): the same answers, checked against `FileManager` for each kind of path.
final class FileContentsTests: XCTestCase {
    private var folder: String!

    override func setUpWithError() throws {
        folder = NSTemporaryDirectory() + "file-contents-tests-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: folder)
    }

    private func write(_ name: String, _ bytes: [UInt8]) throws -> String {
        let path = folder + "/" + name
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    func testEmptyFileIsEmptyDataNotNil() throws {
        let path = try write("empty.json", [])
        let data = try XCTUnwrap(FileContents.read(atPath: path), "an empty file is readable: empty, not missing")
        XCTAssertEqual(data.count, 0)
        XCTAssertEqual(FileManager.default.contents(atPath: path), data)
    }

    func testMissingFileIsNil() {
        XCTAssertNil(FileContents.read(atPath: folder + "/no-such-file.json"))
        XCTAssertNil(FileContents.read(atPath: folder + "/no-such-folder/config.json"))
        XCTAssertNil(FileContents.read(atPath: ""))
    }

    func testFolderIsNil() {
        XCTAssertNil(FileContents.read(atPath: folder))
        XCTAssertNil(FileManager.default.contents(atPath: folder), "the same answer as FileManager")
    }

    func testSmallFileGivesItsBytes() throws {
        let text = Array(#"{"model_max_length": 77, "pad_token": "!"}"#.utf8)
        let path = try write("config.json", text)
        XCTAssertEqual(FileContents.read(atPath: path), Data(text))
    }

    func testLargeFileGivesEveryByte() throws {
        // Larger than the 16 KiB chunk and not a multiple of it.
        var state: UInt32 = 12_345
        let bytes = (0..<300_001).map { _ -> UInt8 in
            state = state &* 1_664_525 &+ 1_013_904_223
            return UInt8(truncatingIfNeeded: state >> 24)
        }
        let path = try write("vocab.txt", bytes)
        XCTAssertEqual(FileContents.read(atPath: path), Data(bytes))
    }

    func testFollowsSymbolicLinks() throws {
        let target = try write("real.json", Array("[1]".utf8))
        let link = folder + "/link.json"
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: target)
        XCTAssertEqual(FileContents.read(atPath: link), Data("[1]".utf8))
        try FileManager.default.removeItem(atPath: target)
        XCTAssertNil(FileContents.read(atPath: link), "a dangling link is missing")
    }

    func testFileWhoseSizeSaysNothingIsReadToItsEnd() throws {
        // /proc files report size 0 but have contents; the read must not stop at the reported size.
        #if os(Linux)
        let data = try XCTUnwrap(FileContents.read(atPath: "/proc/self/status"))
        XCTAssertTrue(String(decoding: data, as: UTF8.self).contains("Name:"), "\(data.count) bytes")
        #else
        throw XCTSkip("/proc is Linux only")
        #endif
    }

    func testUnreadableFileIsNil() throws {
        guard getuid() != 0 else { throw XCTSkip("root reads files whatever their mode") }
        let path = try write("secret.json", Array("{}".utf8))
        XCTAssertEqual(chmod(path, 0), 0)
        XCTAssertNil(FileContents.read(atPath: path))
    }
}
