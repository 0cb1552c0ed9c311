import Encoders
import Foundation
import Tensor
import TestSupport
import XCTest

/// WordPieceTokenizer against transformers' BertTokenizer (tokenizers backend) with all-MiniLM-L6-v2's
/// real vocabulary (Scripts/reference/minilm_fixtures.py): accents, CJK, emoji, Hangul, control and
/// zero-width characters, special tokens written in the text, an over-long word, the empty string and a
/// text truncated at 256. Token ids must be exactly equal.
final class WordPieceTokenizerTests: XCTestCase {
    func testIdsMatchTransformers() throws {
        let fixture = try SafeTensorsFile(path: fixturePath("minilm_reference.safetensors"))
        let texts = try JSONDecoder().decode([String].self, from: Data(fixture.metadata["texts"]!.utf8))
        let raw = try bertInts(fixture.tensor("raw_ids"))
        let rawLengths = try bertInts(fixture.tensor("raw_lengths"))
        let ids = try bertInts(fixture.tensor("input_ids"))
        let lengths = try bertInts(fixture.tensor("input_lengths"))
        XCTAssertEqual(texts.count, 18)
        XCTAssertEqual(rawLengths.count, texts.count)

        let tokenizer = try WordPieceTokenizer(folder: fixturePath("minilm-tokenizer"))
        XCTAssertEqual(tokenizer.maxLength, 512)
        XCTAssertTrue(tokenizer.lowercase && tokenizer.stripAccents && tokenizer.tokenizeChineseChars)
        var rawOffset = 0, offset = 0, truncated = 0
        for (n, text) in texts.enumerated() {
            let expectedRaw = Array(raw[rawOffset..<(rawOffset + rawLengths[n])])
            rawOffset += rawLengths[n]
            XCTAssertEqual(tokenizer.tokenize(text), expectedRaw, "raw ids of \(text.debugDescription)")
            let expected = Array(ids[offset..<(offset + lengths[n])])
            offset += lengths[n]
            XCTAssertEqual(tokenizer.encode(text, maxLength: 256), expected, "ids of \(text.debugDescription)")
            if expectedRaw.count > 254 { truncated += 1 }
        }
        XCTAssertEqual(truncated, 1, "the set holds one text longer than 256 tokens")
        XCTAssertEqual(offset, ids.count)
    }

    func testSpecialTokensAndEdges() throws {
        let tokenizer = try WordPieceTokenizer(folder: fixturePath("minilm-tokenizer"))
        XCTAssertEqual([tokenizer.padTokenId, tokenizer.unknownTokenId, tokenizer.clsTokenId, tokenizer.sepTokenId], [0, 100, 101, 102])
        XCTAssertEqual(tokenizer.encode(""), [101, 102])
        // Values read off transformers' BertTokenizer for all-MiniLM-L6-v2.
        XCTAssertEqual(tokenizer.encode("hello [MASK] world[SEP]x"), [101, 7592, 103, 2088, 102, 1060, 102])
        XCTAssertEqual(tokenizer.tokenize("$5+3=8 ^~`|"), [1002, 1019, 1009, 1017, 1027, 1022, 1034, 1066, 1036, 1064])
        // U+2B820 is outside tokenizers' CJK ranges (one unknown word), U+2B920 inside (split off).
        XCTAssertEqual(tokenizer.tokenize("a\u{2B820}b \u{2B920}c \u{4E00}d"), [100, 100, 1039, 1740, 1040])
        XCTAssertEqual(tokenizer.tokenize(String(repeating: "a", count: 101)), [100])
        XCTAssertEqual(tokenizer.encode("one two three four", maxLength: 4), [101, 2028, 2048, 102])
    }

    func testMissingVocabularyIsReported() {
        XCTAssertThrowsError(try WordPieceTokenizer(folder: "/nonexistent")) { error in
            XCTAssertTrue("\(error)".contains("vocab.txt"), "\(error)")
        }
        XCTAssertThrowsError(try WordPieceTokenizer(tokens: ["[PAD]", "a"])) { error in
            XCTAssertTrue("\(error)".contains("[CLS]"), "\(error)")
        }
    }
}

/// Integer values the MiniLM fixtures store as float32 (exact below 2^24).
func bertInts(_ t: StoredTensor) throws -> [Int] {
    try t.floatTensor().scalars.map { Int($0) }
}

/// Where Scripts/fetch-minilm puts all-MiniLM-L6-v2 (git-ignored; absent until Scripts/setup ran).
func minilmWeightsFolder(file: StaticString = #filePath) -> String {
    URL(fileURLWithPath: "\(file)").deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Weights/moderation/all-MiniLM-L6-v2").path
}
