import Foundation
import Tensor

/// BERT's WordPiece tokenizer, read from a transformers tokenizer folder (`vocab.txt`, optionally
/// `tokenizer_config.json` / `special_tokens_map.json`).
///
/// Mirrors transformers' BertTokenizer (models/bert/tokenization_bert.py, tokenizers backend: the
/// Rust `BertNormalizer`, `BertPreTokenizer`, `WordPiece` model and `[CLS] $A [SEP]` template):
/// 1. the special tokens (`[PAD]`, `[UNK]`, `[CLS]`, `[SEP]`, `[MASK]`) written literally in the text
///    are taken out first (added tokens with `normalized: false`, matched case-sensitively on the raw
///    text, leftmost then longest);
/// 2. normaliser, per Unicode scalar: `clean_text` drops U+0000, U+FFFD and control characters
///    (general categories Cc, Cf, Co, Cn, except tab, newline and carriage return) and turns white
///    space into a space; `handle_chinese_chars` puts spaces around CJK ideographs (tokenizers' ranges:
///    U+4E00-9FFF, 3400-4DBF, 20000-2A6DF, 2A700-2B73F, 2B740-2B81F, 2B920-2CEAF, F900-FAFF,
///    2F800-2FA1F); `strip_accents` (on when `do_lower_case` and `strip_accents` is null) takes NFD and
///    drops non-spacing marks (Mn); `lowercase` applies the full per-scalar lowercase mapping;
/// 3. pre-tokeniser: splits on white space and isolates each punctuation scalar (ASCII punctuation,
///    which includes `$+<=>^`|~`, or a Unicode P* category);
/// 4. WordPiece per word: a word longer than 100 scalars is `[UNK]`; otherwise greedy longest match
///    first, pieces after the first prefixed with `##`; a word with any unmatched rest is one `[UNK]`;
/// 5. `encode(_:maxLength:)` gives `[CLS]` ids `[SEP]`, truncated to `maxLength` in all (no padding).
public final class WordPieceTokenizer: @unchecked Sendable {
    /// Token -> id (`vocab.txt` line number, from 0).
    public let vocabulary: [String: Int]
    public let lowercase: Bool
    public let stripAccents: Bool
    public let tokenizeChineseChars: Bool
    /// `model_max_length` (512 for BERT): the longest sequence `encode` makes by default.
    public let maxLength: Int
    public let clsTokenId: Int
    public let sepTokenId: Int
    public let padTokenId: Int
    public let unknownTokenId: Int
    /// Words longer than this (in Unicode scalars) become `[UNK]` (tokenizers' `max_input_chars_per_word`).
    public let maxInputCharsPerWord = 100
    /// Special tokens matched on the raw text, longest first.
    private let specialTokens: [(text: [Unicode.Scalar], id: Int)]

    /// Loads `vocab.txt` and the optional `tokenizer_config.json` from `folder`.
    public convenience init(folder: String) throws {
        func path(_ name: String) -> String { (folder as NSString).appendingPathComponent(name) }
        guard let data = FileContents.read(atPath: path("vocab.txt")) else {
            throw TextEncoderLoadError.missingFile(path: path("vocab.txt"), hint: "a WordPiece tokenizer needs the model's vocab.txt (one token per line)")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw TextEncoderLoadError.invalidFile(path: path("vocab.txt"), reason: "not UTF-8 text")
        }
        // Python's `load_vocab`: one token per line, the trailing newline removed, nothing else stripped.
        var tokens = text.components(separatedBy: "\n")
        if tokens.last == "" { tokens.removeLast() }
        var lowercase = true, strip: Bool? = nil, chinese = true, maxLength = 512
        var names = ["cls": "[CLS]", "sep": "[SEP]", "pad": "[PAD]", "unk": "[UNK]", "mask": "[MASK]"]
        for file in ["special_tokens_map.json", "tokenizer_config.json"] {
            guard let data = FileContents.read(atPath: path(file)) else { continue }
            guard let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
                throw TextEncoderLoadError.invalidFile(path: path(file), reason: "not a JSON object")
            }
            if let v = object["do_lower_case"] as? Bool { lowercase = v }
            if let v = object["strip_accents"] as? Bool { strip = v }
            if let v = object["tokenize_chinese_chars"] as? Bool { chinese = v }
            if let v = object["model_max_length"] as? Int, v > 2, v < 1_000_000 { maxLength = v }
            for key in Array(names.keys) {
                if let s = object["\(key)_token"] as? String { names[key] = s }
                if let s = (object["\(key)_token"] as? [String: Any])?["content"] as? String { names[key] = s }
            }
        }
        try self.init(tokens: tokens, lowercase: lowercase, stripAccents: strip, tokenizeChineseChars: chinese,
                      maxLength: maxLength, clsToken: names["cls"]!, sepToken: names["sep"]!, padToken: names["pad"]!,
                      unknownToken: names["unk"]!, maskToken: names["mask"]!)
    }

    /// - Parameters:
    ///   - tokens: the vocabulary in id order.
    ///   - stripAccents: nil follows `lowercase` (BERT's rule).
    public init(tokens: [String], lowercase: Bool = true, stripAccents: Bool? = nil, tokenizeChineseChars: Bool = true,
                maxLength: Int = 512, clsToken: String = "[CLS]", sepToken: String = "[SEP]", padToken: String = "[PAD]",
                unknownToken: String = "[UNK]", maskToken: String = "[MASK]") throws {
        var vocabulary: [String: Int] = [:]
        vocabulary.reserveCapacity(tokens.count)
        // A repeated line keeps its last id, as Python's dict assignment in `load_vocab`.
        for (i, t) in tokens.enumerated() { vocabulary[t] = i }
        func id(_ token: String) throws -> Int {
            guard let id = vocabulary[token] else {
                throw TextEncoderLoadError.invalidFile(path: "vocab.txt", reason: "the vocabulary lacks the special token \(token)")
            }
            return id
        }
        self.vocabulary = vocabulary
        self.lowercase = lowercase
        self.stripAccents = stripAccents ?? lowercase
        self.tokenizeChineseChars = tokenizeChineseChars
        precondition(maxLength >= 2, "a BERT sequence holds at least [CLS] and [SEP]")
        self.maxLength = maxLength
        clsTokenId = try id(clsToken)
        sepTokenId = try id(sepToken)
        padTokenId = try id(padToken)
        unknownTokenId = try id(unknownToken)
        var specials: [(text: [Unicode.Scalar], id: Int)] = []
        for token in [padToken, unknownToken, clsToken, sepToken, maskToken] where !token.isEmpty {
            if let i = vocabulary[token], !specials.contains(where: { $0.id == i }) { specials.append((Array(token.unicodeScalars), i)) }
        }
        specialTokens = specials.sorted { $0.text.count > $1.text.count }
    }

    /// Token ids of `text` without `[CLS]`/`[SEP]` and without truncation.
    public func tokenize(_ text: String) -> [Int] {
        var ids: [Int] = []
        for segment in splitSpecialTokens(text) {
            switch segment {
            case .special(let id): ids.append(id)
            case .text(let scalars):
                for word in Self.preTokenize(normalize(scalars)) { ids += wordPiece(word) }
            }
        }
        return ids
    }

    /// `[CLS]` + ids + `[SEP]`, the ids truncated so that the whole is at most `maxLength` (default: the
    /// tokenizer's), as `tokenizer(text, truncation=True, max_length=maxLength)`.
    public func encode(_ text: String, maxLength: Int? = nil) -> [Int] {
        let n = maxLength ?? self.maxLength
        precondition(n >= 2, "a BERT sequence holds at least [CLS] and [SEP]")
        return [clsTokenId] + tokenize(text).prefix(n - 2) + [sepTokenId]
    }

    // MARK: - Stages

    enum Segment: Equatable {
        case special(Int)
        case text([Unicode.Scalar])
    }

    /// Splits out the special tokens written in the raw text (leftmost match, longest at a position).
    func splitSpecialTokens(_ text: String) -> [Segment] {
        let scalars = Array(text.unicodeScalars)
        var segments: [Segment] = []
        var start = 0, i = 0
        scan: while i < scalars.count {
            for special in specialTokens where special.text[0] == scalars[i] && i + special.text.count <= scalars.count
                && scalars[i..<(i + special.text.count)].elementsEqual(special.text) {
                if start < i { segments.append(.text(Array(scalars[start..<i]))) }
                segments.append(.special(special.id))
                i += special.text.count
                start = i
                continue scan
            }
            i += 1
        }
        if start < scalars.count { segments.append(.text(Array(scalars[start...]))) }
        return segments
    }

    /// BertNormalizer: clean text, space around CJK, strip accents, lowercase.
    func normalize(_ scalars: [Unicode.Scalar]) -> [Unicode.Scalar] {
        var out: [Unicode.Scalar] = []
        out.reserveCapacity(scalars.count + 8)
        for s in scalars {
            if s.value == 0 || s.value == 0xFFFD || Self.isControl(s) { continue }
            if Self.isWhitespace(s) { out.append(" "); continue }
            if tokenizeChineseChars && Self.isChineseChar(s) {
                out.append(" "); out.append(s); out.append(" ")
            } else {
                out.append(s)
            }
        }
        if stripAccents {
            var view = String.UnicodeScalarView()
            view.append(contentsOf: out)
            out = String(view).decomposedStringWithCanonicalMapping.unicodeScalars
                .filter { $0.properties.generalCategory != .nonspacingMark }
        }
        if lowercase {
            var lowered: [Unicode.Scalar] = []
            lowered.reserveCapacity(out.count)
            for s in out {
                if s.isASCII {
                    lowered.append(s.value >= 65 && s.value <= 90 ? Unicode.Scalar(s.value + 32)! : s)
                } else {
                    lowered.append(contentsOf: s.properties.lowercaseMapping.unicodeScalars)
                }
            }
            out = lowered
        }
        return out
    }

    /// BertPreTokenizer: words split at white space, each punctuation scalar a word of its own.
    static func preTokenize(_ scalars: [Unicode.Scalar]) -> [[Unicode.Scalar]] {
        var words: [[Unicode.Scalar]] = []
        var current: [Unicode.Scalar] = []
        for s in scalars {
            if s.properties.isWhitespace {
                if !current.isEmpty { words.append(current); current = [] }
            } else if isPunctuation(s) {
                if !current.isEmpty { words.append(current); current = [] }
                words.append([s])
            } else {
                current.append(s)
            }
        }
        if !current.isEmpty { words.append(current) }
        return words
    }

    /// Greedy longest-match-first WordPiece of one word.
    func wordPiece(_ word: [Unicode.Scalar]) -> [Int] {
        if word.count > maxInputCharsPerWord { return [unknownTokenId] }
        var ids: [Int] = []
        var start = 0
        while start < word.count {
            var end = word.count
            var found: Int?
            while start < end {
                var piece = start > 0 ? "##" : ""
                piece.unicodeScalars.append(contentsOf: word[start..<end])
                if let id = vocabulary[piece] { found = id; break }
                end -= 1
            }
            guard let id = found else { return [unknownTokenId] }
            ids.append(id)
            start = end
        }
        return ids
    }

    // MARK: - Character classes (tokenizers' normalizers/bert.rs and pre_tokenizers/bert.rs)

    /// Tab, newline, carriage return, or Unicode White_Space (Rust's `char::is_whitespace`).
    static func isWhitespace(_ s: Unicode.Scalar) -> Bool {
        s == "\t" || s == "\n" || s == "\r" || s.properties.isWhitespace
    }

    /// Categories Cc, Cf, Co, Cn, except tab, newline and carriage return.
    static func isControl(_ s: Unicode.Scalar) -> Bool {
        if s == "\t" || s == "\n" || s == "\r" { return false }
        switch s.properties.generalCategory {
        case .control, .format, .privateUse, .unassigned: return true
        default: return false
        }
    }

    static func isChineseChar(_ s: Unicode.Scalar) -> Bool {
        switch s.value {
        case 0x4E00...0x9FFF, 0x3400...0x4DBF, 0x20000...0x2A6DF, 0x2A700...0x2B73F, 0x2B740...0x2B81F,
             0x2B920...0x2CEAF, 0xF900...0xFAFF, 0x2F800...0x2FA1F:
            return true
        default:
            return false
        }
    }

    /// ASCII punctuation (``!"#$%&'()*+,-./:;<=>?@[\]^_`{|}~``) or a Unicode punctuation category.
    static func isPunctuation(_ s: Unicode.Scalar) -> Bool {
        let v = s.value
        if (33...47).contains(v) || (58...64).contains(v) || (91...96).contains(v) || (123...126).contains(v) { return true }
        switch s.properties.generalCategory {
        case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation,
             .initialPunctuation, .finalPunctuation, .otherPunctuation:
            return true
        default:
            return false
        }
    }
}
