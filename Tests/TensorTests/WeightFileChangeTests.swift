import Foundation
import Tensor
import XCTest

/// Fault injection on memory-mapped weight files (issue 15): a file truncated, replaced or deleted
/// after `SafeTensorsFile` opened it is reported by `tensor(_:)` as `.changedSinceOpened` before any
/// byte of the mapping is handed out. Without the check, reading the truncated tensor's pages would
/// kill the test process with SIGBUS.
final class WeightFileChangeTests: XCTestCase {
    private var folder: String!

    override func setUpWithError() throws {
        folder = NSTemporaryDirectory() + "weight-change-tests-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: folder)
    }

    /// A file with one f32 tensor "w" of 65,536 values (256 KiB: many pages past the header's).
    private func writeWeights(_ name: String, value: Float = 1.5) throws -> String {
        let path = folder + "/" + name
        try SafeTensorsWriter.write(floatTensors: ["w": Tensor(shape: [65_536], repeating: value)], metadata: [:], to: path)
        return path
    }

    private func assertChanged(_ file: SafeTensorsFile, mentions words: String, line: UInt = #line) {
        XCTAssertThrowsError(try file.tensor("w"), line: line) { error in
            guard let e = error as? SafeTensorsError, case .changedSinceOpened(let what) = e.problem else {
                return XCTFail("expected .changedSinceOpened, got \(error)", line: line)
            }
            XCTAssertTrue(what.contains(words), "'\(what)' should mention '\(words)'", line: line)
            XCTAssertTrue(e.description.contains(file.path) && e.description.contains("changed while it was being read"), e.description, line: line)
        }
    }

    func testUnchangedFileReads() throws {
        let file = try SafeTensorsFile(path: try writeWeights("ok.safetensors"))
        XCTAssertEqual(try file.tensor("w").floatTensor().scalars.last, 1.5)
    }

    func testTruncatedAfterOpeningIsReportedNotSIGBUS() throws {
        let path = try writeWeights("truncated.safetensors")
        let file = try SafeTensorsFile(path: path)
        XCTAssertEqual(truncate(path, off_t(file.dataStart + 16)), 0, String(cString: strerror(errno)))
        assertChanged(file, mentions: "bytes now")
    }

    func testExtendedAfterOpeningIsReported() throws {
        let path = try writeWeights("grown.safetensors")
        let file = try SafeTensorsFile(path: path)
        let handle = try XCTUnwrap(FileHandle(forWritingAtPath: path))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data([1, 2, 3, 4]))
        try handle.close()
        assertChanged(file, mentions: "bytes now")
    }

    func testReplacedAfterOpeningIsReported() throws {
        let path = try writeWeights("replaced.safetensors")
        let file = try SafeTensorsFile(path: path)
        let other = try writeWeights("other.safetensors", value: 2.5)
        XCTAssertEqual(rename(other, path), 0)
        assertChanged(file, mentions: "replaced")
    }

    func testDeletedAfterOpeningIsReported() throws {
        let path = try writeWeights("deleted.safetensors")
        let file = try SafeTensorsFile(path: path)
        XCTAssertEqual(unlink(path), 0)
        assertChanged(file, mentions: "deleted")
    }

    /// Loading a model through `CheckpointWeights` from a file truncated after it was opened: the
    /// tensor is reported unreadable with the reason, and nothing reads the lost pages.
    func testModelLoadingReportsTheChangeWithItsReason() throws {
        let path = try writeWeights("loading.safetensors")
        let weights = CheckpointWeights(try SafeTensorsCheckpoint(path: path))
        XCTAssertEqual(truncate(path, 100), 0)
        let stored = weights.load("w", shape: [65_536])
        XCTAssertEqual(try stored.floatTensor().scalars.max(), 0, "a placeholder, not the lost bytes")
        XCTAssertThrowsError(try weights.finish()) { error in
            let e = error as? WeightLoadingError
            XCTAssertEqual(e?.unreadable.count, 1)
            XCTAssertTrue(e?.unreadable.first?.contains("the file changed while it was being read") ?? false, "\(error)")
        }
    }
}
