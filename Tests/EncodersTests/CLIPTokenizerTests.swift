import Encoders
import Foundation
import Tensor
import TestSupport
import XCTest

/// CLIPTokenizer against transformers' CLIPTokenizer (tokenizers backend) on a real CLIP BPE vocabulary cut
/// to its first 2,000 merges (Scripts/reference/clip_text_fixtures.py). Token ids must be exactly equal.
final class CLIPTokenizerTests: XCTestCase {
    func testIdsMatchTransformers() throws {
        let fixture = try SafeTensorsFile(path: fixturePath("clip_tokenizer.safetensors"))
        let texts = try JSONDecoder().decode([String].self, from: Data(fixture.metadata["texts"]!.utf8))
        let context = Int(fixture.metadata["context"]!)!
        let padded = try int64s(fixture.tensor("input_ids"))
        let raw = try int64s(fixture.tensor("raw_ids"))
        let lengths = try int64s(fixture.tensor("raw_lengths"))
        XCTAssertEqual(texts.count, 20)
        XCTAssertEqual(padded.count, texts.count * context)

        let tokenizer = try CLIPTokenizer(folder: fixturePath("clip-text"))
        XCTAssertEqual(tokenizer.maxLength, 77)
        var offset = 0
        var truncated = 0
        for (n, text) in texts.enumerated() {
            let expectedRaw = Array(raw[offset..<(offset + lengths[n])])
            offset += lengths[n]
            XCTAssertEqual(tokenizer.tokenize(text), expectedRaw, "raw ids of \(text.debugDescription)")
            let expected = Array(padded[(n * context)..<((n + 1) * context)])
            XCTAssertEqual(tokenizer.encode(text), expected, "padded ids of \(text.debugDescription)")
            if expectedRaw.count > context - 2 { truncated += 1 }
        }
        XCTAssertEqual(truncated, 1, "the set holds one text longer than the context (truncated at 77)")
    }

    func testSpecialTokenIdsAndPadding() throws {
        let tokenizer = try CLIPTokenizer(folder: fixturePath("clip-text"))
        XCTAssertEqual(tokenizer.bosTokenId, 2512)
        XCTAssertEqual(tokenizer.eosTokenId, 2513)
        XCTAssertEqual(tokenizer.encode("", length: 5), [2512, 2513, 2513, 2513, 2513])
        XCTAssertEqual(tokenizer.encode("a b c d e f", length: 4).count, 4)
        XCTAssertEqual(tokenizer.encode("a b c d e f", length: 4).last, 2513)
    }

    func testMissingFilesAreReported() {
        XCTAssertThrowsError(try CLIPTokenizer(folder: "/nonexistent-folder")) { error in
            XCTAssertTrue("\(error)".contains("vocab.json"), "\(error)")
        }
    }
}

/// A little-endian int64 tensor's values.
func int64s(_ t: StoredTensor) throws -> [Int] {
    XCTAssertEqual(t.dtype, .i64)
    let bytes = Array(t.bytes)
    return (0..<(bytes.count / 8)).map { i in
        var v: UInt64 = 0
        for b in 0..<8 { v |= UInt64(bytes[i * 8 + b]) << (8 * UInt64(b)) }
        return Int(Int64(bitPattern: v))
    }
}
