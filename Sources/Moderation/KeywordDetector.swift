import Media

/// The `keywords` detector: word lists per label, matched with `KeywordFolding` (case-, accent-
/// and spacing-insensitive, l33t digits, repeated letters and inserted punctuation folded). A
/// label hits with score 1 when any of its words or phrases occurs; it reads text only.
public final class KeywordDetector: Detector {
    public let name: String
    private let lists: [(label: String, keywords: [KeywordFolding])]

    /// `lists`: label -> words or phrases.
    public init(name: String = "keywords", lists: [String: [String]]) {
        self.name = name
        self.lists = lists.keys.sorted().map { label in
            (label, lists[label]!.map(KeywordFolding.init).filter { !$0.folded.isEmpty })
        }
    }

    public func detect(image: RGBImage) throws -> [Detection] { [] }

    public func detect(text: String) throws -> [Detection] {
        let folded = KeywordFolding(text)
        return lists.compactMap { entry in
            entry.keywords.contains(where: folded.contains) ? Detection(label: entry.label, score: 1) : nil
        }
    }
}
