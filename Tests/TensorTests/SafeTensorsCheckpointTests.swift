import Foundation
import Tensor
import TestSupport
import XCTest

/// Sharded checkpoints through `*.safetensors.index.json`, in the layout transformers writes
/// (fixtures from Scripts/reference/safetensors_fixtures.py), and broken indexes.
final class SafeTensorsCheckpointTests: XCTestCase {
    private var folder: String!

    override func setUpWithError() throws {
        folder = NSTemporaryDirectory() + "st-checkpoint-tests-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: folder)
    }

    private func copyShards() throws {
        for shard in ["model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"] {
            try FileManager.default.copyItem(atPath: fixturePath("safetensors_sharded/" + shard), toPath: folder + "/" + shard)
        }
    }

    private func writeIndex(_ json: String, name: String = "model.safetensors.index.json") -> String {
        let path = folder + "/" + name
        FileManager.default.createFile(atPath: path, contents: Data(json.utf8))
        return path
    }

    private func assertProblem(_ path: String, file errorFile: String? = nil, tensor: String?, _ check: (SafeTensorsError.Problem) -> Bool,
                               file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try SafeTensorsCheckpoint(path: path), file: file, line: line) { error in
            guard let e = error as? SafeTensorsError else { return XCTFail("\(error)", file: file, line: line) }
            XCTAssertTrue(check(e.problem), "unexpected problem: \(e)", file: file, line: line)
            XCTAssertEqual(e.file, errorFile ?? path, file: file, line: line)
            XCTAssertEqual(e.tensor, tensor, file: file, line: line)
            XCTAssertTrue(e.description.hasPrefix((errorFile ?? path) + ":"), "\(e)", file: file, line: line)
        }
    }

    func testShardedCheckpoint() throws {
        let checkpoint = try SafeTensorsCheckpoint(path: fixturePath("safetensors_sharded/model.safetensors.index.json"))
        XCTAssertEqual(checkpoint.names, ["layer.0.bias", "layer.0.weight", "layer.1.bias", "layer.1.weight"])
        XCTAssertEqual(checkpoint.files.map { ($0.path as NSString).lastPathComponent },
                       ["model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"])
        XCTAssertEqual(checkpoint.entry("layer.0.weight")?.shape, [2, 3])
        XCTAssertEqual(checkpoint.entry("layer.1.bias")?.dtype, .bf16)
        XCTAssertEqual(try checkpoint.tensor("layer.0.weight").floatTensor().scalars, [0, 1, 2, 3, 4, 5])
        XCTAssertEqual(try checkpoint.tensor("layer.0.bias").floatTensor().scalars, [1, 2])
        XCTAssertEqual(try checkpoint.tensor("layer.1.weight").floatTensor().scalars, [-0.0, -1, -2, -3])
        XCTAssertEqual(try checkpoint.tensor("layer.1.bias").floatTensor().scalars, [0.5, -0.5])
        XCTAssertNil(checkpoint.entry("layer.2.weight"))
        XCTAssertThrowsError(try checkpoint.tensor("layer.2.weight")) { error in
            XCTAssertEqual(error as? SafeTensorsError, SafeTensorsError(file: checkpoint.path, tensor: "layer.2.weight", .missingTensor))
        }
    }

    func testSingleFileCheckpoint() throws {
        let checkpoint = try SafeTensorsCheckpoint(path: fixturePath("safetensors_sharded/model-00002-of-00002.safetensors"))
        XCTAssertEqual(checkpoint.names, ["layer.1.bias", "layer.1.weight"])
        XCTAssertEqual(try checkpoint.tensor("layer.1.bias").floatTensor().scalars, [0.5, -0.5])
    }

    func testIndexPlacingATensorInAShardThatLacksIt() {
        let index = fixturePath("safetensors_sharded/broken.safetensors.index.json")
        let shard = fixturePath("safetensors_sharded/model-00001-of-00002.safetensors")
        assertProblem(index, file: shard, tensor: "layer.1.weight") { $0 == .notInShard(index: index) }
    }

    func testIndexNamingAMissingShard() throws {
        try copyShards()
        let index = writeIndex(#"{"weight_map": {"a": "model-00003-of-00002.safetensors"}}"#)
        assertProblem(index, file: folder + "/model-00003-of-00002.safetensors", tensor: nil) { $0 == .cannotOpen("No such file or directory") }
    }

    func testMalformedIndexes() throws {
        try copyShards()
        assertProblem(writeIndex(#"{"weight_map": {"a": "../model-00001-of-00002.safetensors"}}"#), tensor: "a") {
            if case .invalidIndex = $0 { return true } else { return false }
        }
        assertProblem(writeIndex(#"{"weight_map": {"a": 3}}"#), tensor: "a") {
            $0 == .invalidIndex("the shard must be a file name string, found the number 3")
        }
        assertProblem(writeIndex(#"{"metadata": {}}"#), tensor: nil) {
            $0 == .invalidIndex(#"expected {"weight_map": {tensor name: shard file name}}"#)
        }
        assertProblem(writeIndex(#"{"weight_map": {"a": "x", "#), tensor: nil) {
            if case .invalidIndex(let why) = $0 { return why.hasPrefix("not valid JSON") } else { return false }
        }
        let dup = #"{"weight_map": {"layer.0.bias": "model-00001-of-00002.safetensors", "layer.0.bias": "model-00002-of-00002.safetensors"}}"#
        assertProblem(writeIndex(dup), tensor: "layer.0.bias") { $0 == .duplicateKey("layer.0.bias") }
        // An index that is a directory is refused, not read.
        let dir = folder + "/dir.safetensors.index.json"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: false)
        assertProblem(dir, tensor: nil) { $0 == .notARegularFile(kind: "a directory") }
    }

    /// A shard that is itself malformed fails the checkpoint with the shard's own error.
    func testCorruptShard() throws {
        try copyShards()
        let shard = folder + "/model-00002-of-00002.safetensors"
        let bytes = try Data(contentsOf: URL(fileURLWithPath: shard))
        try bytes.prefix(bytes.count - 1).write(to: URL(fileURLWithPath: shard))
        let index = writeIndex(try String(contentsOfFile: fixturePath("safetensors_sharded/model.safetensors.index.json"), encoding: .utf8))
        XCTAssertThrowsError(try SafeTensorsCheckpoint(path: index)) { error in
            guard let e = error as? SafeTensorsError, case .offsetsOutOfBounds = e.problem else { return XCTFail("\(error)") }
            XCTAssertEqual(e.file, shard)
            XCTAssertNotNil(e.tensor)
        }
    }
}
