import Foundation

/// The text normalisation of the keywords detector: case, accents, width, spacing and simple
/// obfuscation folded away, with word boundaries kept so that a keyword never matches inside
/// another word.
///
/// Steps: Unicode folding (case, diacritics, full width; `ß` -> `ss`), a few Cyrillic and Greek
/// look-alikes to Latin; split on whitespace into tokens; inside each token, leading and trailing
/// punctuation is dropped, l33t digits and symbols become letters (`0`->o, `1`/`!`/`|`->i, `3`->e,
/// `4`/`@`->a, `5`/`$`->s, `7`/`+`->t, `8`->b, `9`->g), other inserted punctuation is dropped;
/// `l` folds to `i` (as `1` stands for both); repeated letters collapse to one. The tokens are then
/// concatenated, remembering where each began and ended.
///
/// A keyword (folded the same way, spaces removed) matches where it starts and ends on token
/// boundaries of that concatenation: "p u r p l e", "purple-banana" and "PURPL3  B4N4N4" match
/// "purple banana"; "grapurple" does not match "purple".
public struct KeywordFolding: Equatable, Sendable {
    /// The folded tokens, concatenated.
    public let folded: [Unicode.Scalar]
    /// Offsets in `folded` where a token begins or ends.
    public let boundaries: Set<Int>

    public init(_ text: String) {
        let unicodeFolded = text.folding(options: [.caseInsensitive, .diacriticInsensitive, .widthInsensitive], locale: nil)
            .lowercased()
        var out: [Unicode.Scalar] = []
        var bounds = Set<Int>()
        var token: [Unicode.Scalar] = []

        func flush() {
            defer { token.removeAll(keepingCapacity: true) }
            let alnum = token.map(KeywordFolding.isAlphanumeric)
            guard let first = alnum.firstIndex(of: true), let last = alnum.lastIndex(of: true) else { return }
            var start = out.count
            var wroteAny = false
            for s in token[first...last] {
                guard let mapped = KeywordFolding.map(s) else { continue }
                if let previous = out.last, previous == mapped {
                    // A repeat: collapse. At a token's start, the merged letter begins the token too.
                    if !wroteAny { start = out.count - 1 }
                    wroteAny = true
                    continue
                }
                out.append(mapped)
                wroteAny = true
            }
            if wroteAny {
                bounds.insert(start)
                bounds.insert(out.count)
            }
        }

        for scalar in unicodeFolded.unicodeScalars {
            if scalar.properties.isWhitespace {
                flush()
            } else {
                token.append(KeywordFolding.lookalike[scalar] ?? scalar)
            }
        }
        flush()
        folded = out
        boundaries = bounds
    }

    /// The folded form as a string (for tests and messages).
    public var string: String {
        var s = String.UnicodeScalarView()
        s.append(contentsOf: folded)
        return String(s)
    }

    /// True when `keyword` (folded with the same rules) occurs starting and ending on token boundaries.
    public func contains(_ keyword: KeywordFolding) -> Bool {
        let k = keyword.folded
        guard !k.isEmpty, k.count <= folded.count else { return false }
        var i = 0
        while i + k.count <= folded.count {
            if boundaries.contains(i) && boundaries.contains(i + k.count) {
                var j = 0
                while j < k.count && folded[i + j] == k[j] { j += 1 }
                if j == k.count { return true }
            }
            i += 1
        }
        return false
    }

    // MARK: Tables

    private static func isAlphanumeric(_ s: Unicode.Scalar) -> Bool {
        s.properties.isAlphabetic || s.properties.numericType != nil
    }

    /// The folded form of one scalar inside a token; nil drops it (inserted punctuation).
    private static func map(_ s: Unicode.Scalar) -> Unicode.Scalar? {
        switch s {
        case "0": return "o"
        case "1", "!", "|", "l": return "i"
        case "3": return "e"
        case "4", "@": return "a"
        case "5", "$": return "s"
        case "7", "+": return "t"
        case "8": return "b"
        case "9": return "g"
        default:
            return isAlphanumeric(s) ? s : nil
        }
    }

    /// Letters of other scripts that look like Latin ones, and Latin letters without a decomposition.
    private static let lookalike: [Unicode.Scalar: Unicode.Scalar] = [
        "а": "a", "е": "e", "о": "o", "р": "p", "с": "c", "х": "x", "у": "y", "і": "i", "ј": "j", "ѕ": "s",
        "к": "k", "м": "m", "т": "t", "в": "b", "н": "h",
        "α": "a", "ο": "o", "ρ": "p", "ι": "i", "κ": "k", "ν": "v", "τ": "t", "υ": "u", "χ": "x",
        "ø": "o", "ł": "l", "đ": "d", "ı": "i",
    ]
}
