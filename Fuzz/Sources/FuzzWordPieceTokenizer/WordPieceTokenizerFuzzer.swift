import Encoders
import FuzzSupport

/// libFuzzer entry for the WordPiece tokenizer (BERT/MiniLM: the semantic moderation detector and
/// text concepts).
/// - Text mode (first byte not 0): the rest is text, taken as UTF-8 (invalid sequences become U+FFFD),
///   tokenized by the MiniLM fixture's tokenizer. Every id must be in the vocabulary and `encode` must
///   start with [CLS], end with [SEP] and stay within `maxLength`.
/// - File mode (first byte 0): the rest is `vocab.txt`, a 0 byte, then `tokenizer_config.json`, loaded
///   with `WordPieceTokenizer(folder:)`; an accepted tokenizer then encodes a fixed phrase.
private let scratch = ScratchFolder("wordpiece")
private let fixture = try! WordPieceTokenizer(folder: ScratchFolder.repositoryRoot + "/Tests/EncodersTests/Fixtures/minilm-tokenizer")
private let fixtureIds = Set(fixture.vocabulary.values)

@main
enum WordPieceTokenizerFuzzer {
    static func main() {
        // Globals first: LeakSanitizer would take what they allocate during the first input for a leak.
        keep((scratch, fixtureIds))
        FuzzDriver.run { wordPieceTokenizerFuzzer($0, $1) }
    }
}

private func wordPieceTokenizerFuzzer(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = UnsafeBufferPointer(start: data, count: size)
    if let first = bytes.first, first == 0 {
        let rest = bytes.dropFirst()
        let split = rest.firstIndex(of: 0) ?? rest.endIndex
        scratch.write("vocab.txt", UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: rest[..<split])))
        if split < rest.endIndex {
            scratch.write("tokenizer_config.json", UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: rest[(split + 1)...])))
        } else {
            scratch.remove("tokenizer_config.json")
        }
        guard let tokenizer = attempt({ try WordPieceTokenizer(folder: scratch.path) }) else { return 0 }
        let ids = tokenizer.encode("a red rocket over a calm lake")
        precondition(ids.count <= tokenizer.maxLength && ids.first == tokenizer.clsTokenId, "bad encoding \(ids)")
        return 0
    }
    let text = String(decoding: bytes, as: UTF8.self)
    let ids = fixture.tokenize(text)
    for id in ids where !fixtureIds.contains(id) { fatalError("id \(id) is outside the vocabulary") }
    let encoded = fixture.encode(text)
    precondition(encoded.count <= fixture.maxLength, "encode gave \(encoded.count) ids, more than \(fixture.maxLength)")
    precondition(encoded.first == fixture.clsTokenId && encoded.last == fixture.sepTokenId, "encode lacks [CLS]/[SEP]")
    return 0
}
