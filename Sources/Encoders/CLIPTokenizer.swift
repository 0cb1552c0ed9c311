import Foundation
import Tensor

/// CLIP's byte-level BPE tokenizer, read from a transformers tokenizer folder (`vocab.json`,
/// `merges.txt`, optionally `tokenizer_config.json` / `special_tokens_map.json`).
///
/// Mirrors transformers' CLIPTokenizer (models/clip/tokenization_clip.py, tokenizers backend):
/// 1. the special tokens `<|startoftext|>` / `<|endoftext|>` written in the text are taken out first
///    (added tokens, matched on the raw text);
/// 2. normalizer: NFC, every run of Unicode white space replaced by one space, lowercase (per code point,
///    full mapping, as tokenizers' `Lowercase`, so no final-sigma rule);
/// 3. pre-tokenizer: the pieces matched by `'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+`
///    (everything else dropped), each mapped byte by byte through GPT-2's `bytes_to_unicode`. The reference
///    pattern also lists the two special tokens, but they never match there: a special token that only
///    appears after lowercasing (`<|ENDOFTEXT|>`) is split as `<|`, `endoftext`, `|>` (measured on
///    transformers 5.23, and tested);
/// 4. BPE on each piece with `</w>` appended to its last symbol, merging the lowest-ranked pair first;
///    symbols missing from the vocabulary become the unknown token;
/// 5. `encode(_:length:)` adds `<|startoftext|>` ... `<|endoftext|>`, truncates to `length` (77) and pads
///    with the pad token, as `tokenizer(text, padding="max_length", max_length=77, truncation=True)`.
public final class CLIPTokenizer: @unchecked Sendable {
    public let vocabulary: [String: Int]
    private let ranks: [Pair: Int]
    public let bosTokenId: Int
    public let eosTokenId: Int
    public let padTokenId: Int
    public let unknownTokenId: Int
    /// `model_max_length` (77 for CLIP).
    public let maxLength: Int
    private let byteSymbols: [String]
    private var cache: [String: [Int]] = [:]
    private let lock = NSLock()

    static let bosToken = "<|startoftext|>"
    static let eosToken = "<|endoftext|>"

    private struct Pair: Hashable {
        let a: String
        let b: String
    }

    /// Loads `vocab.json` and `merges.txt` from `folder`.
    public convenience init(folder: String) throws {
        func path(_ name: String) -> String { (folder as NSString).appendingPathComponent(name) }
        guard let vocabData = FileContents.read(atPath: path("vocab.json")) else {
            throw TextEncoderLoadError.missingFile(path: path("vocab.json"), hint: "a CLIP tokenizer needs vocab.json and merges.txt beside the text encoder's config.json")
        }
        guard let mergesData = FileContents.read(atPath: path("merges.txt")),
              let mergesText = String(data: mergesData, encoding: .utf8) else {
            throw TextEncoderLoadError.missingFile(path: path("merges.txt"), hint: "a CLIP tokenizer needs vocab.json and merges.txt beside the text encoder's config.json")
        }
        let vocabulary: [String: Int]
        do {
            vocabulary = try JSONDecoder().decode([String: Int].self, from: vocabData)
        } catch {
            throw TextEncoderLoadError.invalidFile(path: path("vocab.json"), reason: "\(error)")
        }
        var merges: [(String, String)] = []
        for line in mergesText.split(separator: "\n", omittingEmptySubsequences: true) {
            if line.hasPrefix("#version") { continue }
            let parts = line.split(separator: " ")
            guard parts.count == 2 else {
                throw TextEncoderLoadError.invalidFile(path: path("merges.txt"), reason: "line '\(line)' is not two symbols")
            }
            merges.append((String(parts[0]), String(parts[1])))
        }
        var padToken = Self.eosToken
        var maxLength = 77
        for name in ["tokenizer_config.json", "special_tokens_map.json"] {
            if let data = FileContents.read(atPath: path(name)),
               let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] {
                if let pad = object["pad_token"] as? String { padToken = pad }
                if let pad = (object["pad_token"] as? [String: Any])?["content"] as? String { padToken = pad }
                if let m = object["model_max_length"] as? Int, m > 2, m < 100_000 { maxLength = m }
            }
        }
        try self.init(vocabulary: vocabulary, merges: merges, padToken: padToken, maxLength: maxLength)
    }

    public init(vocabulary: [String: Int], merges: [(String, String)], padToken: String = "<|endoftext|>", maxLength: Int = 77) throws {
        guard let bos = vocabulary[Self.bosToken], let eos = vocabulary[Self.eosToken] else {
            throw TextEncoderLoadError.invalidFile(path: "vocab.json", reason: "the vocabulary lacks \(Self.bosToken) or \(Self.eosToken)")
        }
        self.vocabulary = vocabulary
        var ranks: [Pair: Int] = [:]
        for (i, m) in merges.enumerated() where ranks[Pair(a: m.0, b: m.1)] == nil { ranks[Pair(a: m.0, b: m.1)] = i }
        self.ranks = ranks
        bosTokenId = bos
        eosTokenId = eos
        unknownTokenId = eos
        padTokenId = vocabulary[padToken] ?? eos
        self.maxLength = maxLength
        byteSymbols = Self.bytesToUnicode()
    }

    /// GPT-2's reversible byte -> printable character table (`bytes_to_unicode`).
    static func bytesToUnicode() -> [String] {
        var bs: [Int] = Array(33...126) + Array(161...172) + Array(174...255)
        var cs = bs
        var n = 0
        for b in 0..<256 where !bs.contains(b) {
            bs.append(b)
            cs.append(256 + n)
            n += 1
        }
        var table = [String](repeating: "", count: 256)
        for (b, c) in zip(bs, cs) { table[b] = String(Character(Unicode.Scalar(UInt32(c))!)) }
        return table
    }

    /// Token ids of `text` without special tokens, truncation or padding.
    public func tokenize(_ text: String) -> [Int] {
        var ids: [Int] = []
        for segment in Self.splitSpecialTokens(text) {
            switch segment {
            case .special(let token): ids.append(token == Self.bosToken ? bosTokenId : eosTokenId)
            case .text(let s):
                for piece in Self.preTokenize(Self.normalize(s)) { ids += bpe(piece) }
            }
        }
        return ids
    }

    /// `<|startoftext|>` + ids + `<|endoftext|>`, truncated to `length` and padded with the pad token.
    public func encode(_ text: String, length: Int? = nil) -> [Int] {
        let n = length ?? maxLength
        precondition(n >= 2, "a CLIP sequence holds at least the two special tokens")
        var ids = [bosTokenId] + tokenize(text).prefix(n - 2) + [eosTokenId]
        ids += [Int](repeating: padTokenId, count: n - ids.count)
        return ids
    }

    // MARK: - Stages

    enum Segment: Equatable {
        case special(String)
        case text(String)
    }

    /// Splits out the special tokens written literally in the text (matched before normalisation).
    static func splitSpecialTokens(_ text: String) -> [Segment] {
        var segments: [Segment] = []
        var rest = Substring(text)
        while !rest.isEmpty {
            let found = [bosToken, eosToken].compactMap { token in rest.range(of: token).map { (token, $0) } }
                .min { $0.1.lowerBound < $1.1.lowerBound }
            guard let (token, range) = found else { break }
            if range.lowerBound > rest.startIndex { segments.append(.text(String(rest[..<range.lowerBound]))) }
            segments.append(.special(token))
            rest = rest[range.upperBound...]
        }
        if !rest.isEmpty { segments.append(.text(String(rest))) }
        return segments
    }

    /// NFC, white-space runs to one space, per-code-point full lowercase mapping.
    static func normalize(_ text: String) -> String {
        let nfc = text.precomposedStringWithCanonicalMapping
        var out = String.UnicodeScalarView()
        var inSpace = false
        for scalar in nfc.unicodeScalars {
            if scalar.properties.isWhitespace {
                if !inSpace { out.append(" ") }
                inSpace = true
                continue
            }
            inSpace = false
            out.append(contentsOf: scalar.properties.lowercaseMapping.unicodeScalars)
        }
        return String(out)
    }

    private enum CharClass { case space, letter, number, other }

    private static func charClass(_ s: Unicode.Scalar) -> CharClass {
        if s.properties.isWhitespace { return .space }
        switch s.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: return .letter
        case .decimalNumber, .letterNumber, .otherNumber: return .number
        default: return .other
        }
    }

    private static let contractions: [[Unicode.Scalar]] = ["s", "t", "re", "ve", "m", "ll", "d"].map { Array(("'" + $0).unicodeScalars) }

    /// The pieces of CLIP's split pattern, leftmost-first alternation as in the reference regex.
    static func preTokenize(_ text: String) -> [String] {
        let scalars = Array(text.unicodeScalars)
        var pieces: [String] = []
        var i = 0
        func hasPrefix(_ p: [Unicode.Scalar], at i: Int) -> Bool {
            i + p.count <= scalars.count && zip(p, scalars[i..<(i + p.count)]).allSatisfy { $0 == $1 }
        }
        func emit(_ range: Range<Int>) {
            var v = String.UnicodeScalarView()
            v.append(contentsOf: scalars[range])
            pieces.append(String(v))
        }
        while i < scalars.count {
            if let p = contractions.first(where: { hasPrefix($0, at: i) }) {
                emit(i..<(i + p.count))
                i += p.count
                continue
            }
            let cls = charClass(scalars[i])
            switch cls {
            case .space:
                i += 1
            case .number:
                emit(i..<(i + 1))
                i += 1
            case .letter, .other:
                var j = i + 1
                while j < scalars.count, charClass(scalars[j]) == cls { j += 1 }
                emit(i..<j)
                i = j
            }
        }
        return pieces
    }

    /// Byte-level BPE of one piece, with `</w>` on the last symbol.
    func bpe(_ piece: String) -> [Int] {
        lock.lock()
        if let hit = cache[piece] { lock.unlock(); return hit }
        lock.unlock()
        var symbols = piece.utf8.map { byteSymbols[Int($0)] }
        guard !symbols.isEmpty else { return [] }
        symbols[symbols.count - 1] += "</w>"
        while symbols.count > 1 {
            var best = Int.max, at = -1
            for k in 0..<(symbols.count - 1) {
                if let r = ranks[Pair(a: symbols[k], b: symbols[k + 1])], r < best { best = r; at = k }
            }
            if at < 0 { break }
            // Merge every occurrence of the best pair, left to right (as CLIP's reference `bpe`).
            let first = symbols[at], second = symbols[at + 1]
            var merged: [String] = []
            merged.reserveCapacity(symbols.count)
            var k = 0
            while k < symbols.count {
                if k < symbols.count - 1, symbols[k] == first, symbols[k + 1] == second {
                    merged.append(first + second)
                    k += 2
                } else {
                    merged.append(symbols[k])
                    k += 1
                }
            }
            symbols = merged
        }
        let ids = symbols.map { vocabulary[$0] ?? unknownTokenId }
        lock.lock()
        cache[piece] = ids
        lock.unlock()
        return ids
    }
}
