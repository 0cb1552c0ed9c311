import Encoders
import FuzzSupport

/// libFuzzer entry for the CLIP BPE tokenizer (concept text, the moderation prompt stage).
/// - Text mode (first byte not 0): the rest is a prompt, taken as UTF-8 (invalid sequences become
///   U+FFFD as everywhere else in the program) and tokenized by the test fixture's tokenizer. Every
///   id must be in the vocabulary and `encode` must give exactly `maxLength` ids.
/// - File mode (first byte 0): the rest is `vocab.json`, a 0 byte, then `merges.txt`, loaded with
///   `CLIPTokenizer(folder:)`; an accepted tokenizer then encodes a fixed phrase.
private let scratch = ScratchFolder("clip")
private let fixture = try! CLIPTokenizer(folder: ScratchFolder.repositoryRoot + "/Tests/EncodersTests/Fixtures/clip-text")
private let fixtureIds = Set(fixture.vocabulary.values)

@main
enum ClipTokenizerFuzzer {
    static func main() {
        // Globals first: LeakSanitizer would take what they allocate during the first input for a leak.
        keep((scratch, fixtureIds))
        FuzzDriver.run { clipTokenizerFuzzer($0, $1) }
    }
}

private func clipTokenizerFuzzer(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = UnsafeBufferPointer(start: data, count: size)
    if let first = bytes.first, first == 0 {
        let rest = bytes.dropFirst()
        let split = rest.firstIndex(of: 0) ?? rest.endIndex
        scratch.write("vocab.json", UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: rest[..<split])))
        let merges = split < rest.endIndex ? rest[(split + 1)...] : rest[rest.endIndex...]
        scratch.write("merges.txt", UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: merges)))
        guard let tokenizer = attempt({ try CLIPTokenizer(folder: scratch.path) }) else { return 0 }
        let ids = tokenizer.encode("a red rocket over a calm lake")
        precondition(ids.count == tokenizer.maxLength, "encode gave \(ids.count) ids, not \(tokenizer.maxLength)")
        return 0
    }
    let text = String(decoding: bytes, as: UTF8.self)
    let ids = fixture.tokenize(text)
    for id in ids where !fixtureIds.contains(id) { fatalError("id \(id) is not in the vocabulary") }
    let encoded = fixture.encode(text)
    precondition(encoded.count == fixture.maxLength, "encode gave \(encoded.count) ids, not \(fixture.maxLength)")
    precondition(encoded.first == fixture.bosTokenId, "encode does not start with the start token")
    return 0
}
