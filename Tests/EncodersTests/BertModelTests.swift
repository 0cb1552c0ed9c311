import Encoders
import Foundation
import Tensor
import TestSupport
import XCTest

/// BertModel against transformers' BertModel on a seeded random-weight model (hidden 32, 2 layers,
/// 4 heads; Scripts/reference/minilm_fixtures.py): last_hidden_state for a [3, 12] batch with padding
/// in two rows and token types in one. Tolerance: 1e-5 max-norm relative error over every position,
/// padded ones included (the reference computes them too).
final class BertModelTests: XCTestCase {
    func testLastHiddenStateMatchesTransformers() throws {
        let fixture = try SafeTensorsFile(path: fixturePath("bert_tiny.safetensors"))
        let rows = { (name: String) throws -> [[Int]] in
            let flat = try bertInts(fixture.tensor(name))
            return (0..<3).map { Array(flat[($0 * 12)..<(($0 + 1) * 12)]) }
        }
        let ids = try rows("model.input_ids"), mask = try rows("model.attention_mask"), types = try rows("model.token_type_ids")
        XCTAssertEqual(mask[2].filter { $0 == 0 }.count, 8)
        let expected = try fixture.tensor("model.last_hidden_state").floatTensor()

        let model = try BertModel.load(folder: fixturePath("bert-tiny"))
        XCTAssertEqual(model.config.hiddenSize, 32)
        XCTAssertEqual(model.config.numHiddenLayers, 2)
        let hidden = model(ids, attentionMask: mask, tokenTypeIds: types)
        XCTAssertEqual(hidden.shape, [3, 12, 32])
        XCTAssertLessThanOrEqual(maxRelativeError(hidden, expected), 1e-5)

        // A padded row run alone, without its padding, gives the same rows for its real tokens.
        let alone = model([Array(ids[2][0..<4])], tokenTypeIds: [Array(types[2][0..<4])])
        XCTAssertLessThanOrEqual(maxRelativeError(alone, slice(slice(expected, axis: 0, range: 2..<3), axis: 1, range: 0..<4)), 1e-5)
        // Without the mask the padded rows differ: the mask is what the parity above depends on.
        let unmasked = model(ids, tokenTypeIds: types)
        XCTAssertGreaterThan(maxRelativeError(unmasked, expected), 1e-2)
    }

    func testLoadErrorsNameTheProblem() throws {
        XCTAssertThrowsError(try BertModel.load(folder: "/nonexistent")) { error in
            XCTAssertTrue("\(error)".contains("config.json"), "\(error)")
        }
        // A folder whose config does not match its weights lists the mis-shaped tensors.
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("bert-bad-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try FileManager.default.copyItem(atPath: fixturePath("bert-tiny/model.safetensors"), toPath: dir.appendingPathComponent("model.safetensors").path)
        try #"{"hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 4, "intermediate_size": 48, "vocab_size": 2045, "max_position_embeddings": 40}"#
            .write(to: dir.appendingPathComponent("config.json"), atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try BertModel.load(folder: dir.path)) { error in
            XCTAssertTrue("\(error)".contains("encoder.layer.0.intermediate.dense.weight"), "\(error)")
        }
        try #"{"hidden_size": 32, "num_attention_heads": 4, "hidden_act": "swish"}"#
            .write(to: dir.appendingPathComponent("config.json"), atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try BertModel.load(folder: dir.path)) { error in
            XCTAssertTrue("\(error)".contains("swish"), "\(error)")
        }
    }
}
