import Foundation
import Tensor

/// Sentence embeddings as sentence-transformers computes them for a folder whose `modules.json` lists
/// `Transformer` (a BERT model), `Pooling` and optionally `Normalize` (all-MiniLM-L6-v2 is exactly that):
/// 1. WordPiece ids `[CLS] ... [SEP]` truncated to `max_seq_length` (`sentence_bert_config.json`; when
///    absent, the smaller of the tokenizer's `model_max_length` and `max_position_embeddings`);
/// 2. `BertModel` over the batch, padded to its longest text with an attention mask;
/// 3. pooling from `1_Pooling/config.json`: mean over the positions with mask 1
///    (`sum(h * mask) / clamp(sum(mask), 1e-9)`) or the `[CLS]` row;
/// 4. with `Normalize`, `x / max(||x||_2, 1e-12)` (torch.nn.functional.normalize).
/// Mirrors sentence_transformers' SentenceTransformer.encode (models/Transformer.py, Pooling.py, Normalize.py).
public final class SentenceEmbedder {
    public enum Pooling: String, Sendable {
        case mean
        case cls
    }

    public let tokenizer: WordPieceTokenizer
    public let model: BertModel
    public let maxSequenceLength: Int
    public let pooling: Pooling
    public let normalize: Bool
    /// Texts per forward pass (sentence-transformers' default batch size); texts are grouped by length.
    public var batchSize = 32

    /// The embedding width (hidden size).
    public var dimension: Int { model.config.hiddenSize }

    public init(tokenizer: WordPieceTokenizer, model: BertModel, maxSequenceLength: Int, pooling: Pooling = .mean, normalize: Bool = true) {
        precondition(maxSequenceLength >= 2 && maxSequenceLength <= model.config.maxPositionEmbeddings,
                     "max sequence length \(maxSequenceLength) outside 2...\(model.config.maxPositionEmbeddings)")
        self.tokenizer = tokenizer
        self.model = model
        self.maxSequenceLength = maxSequenceLength
        self.pooling = pooling
        self.normalize = normalize
    }

    /// Loads a sentence-transformers folder (`modules.json`, `config.json`, `model.safetensors`,
    /// `vocab.txt`, `sentence_bert_config.json`, `1_Pooling/config.json`). A plain BERT folder without
    /// `modules.json` gets mean pooling and no normalisation, as sentence-transformers gives it.
    public convenience init(folder: String) throws {
        func path(_ name: String) -> String { (folder as NSString).appendingPathComponent(name) }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw TextEncoderLoadError.missingFile(path: folder, hint: "a sentence-embedding model is a sentence-transformers folder (Scripts/fetch-minilm writes Weights/moderation/all-MiniLM-L6-v2)")
        }
        var poolingFolder: String?
        var normalize = false
        if let data = FileContents.read(atPath: path("modules.json")) {
            guard let modules = (try? JSONSerialization.jsonObject(with: data)) as? [[String: Any]] else {
                throw TextEncoderLoadError.invalidFile(path: path("modules.json"), reason: "not a JSON list of modules")
            }
            for (i, module) in modules.enumerated() {
                let type = module["type"] as? String ?? ""
                let name = type.split(separator: ".").last.map(String.init) ?? type
                switch name {
                case "Transformer":
                    guard i == 0, (module["path"] as? String ?? "").isEmpty else {
                        throw TextEncoderLoadError.unsupported(path: path("modules.json"), reason: "the Transformer module must come first, in the folder itself")
                    }
                case "Pooling": poolingFolder = path(module["path"] as? String ?? "")
                case "Normalize": normalize = true
                default:
                    throw TextEncoderLoadError.unsupported(path: path("modules.json"), reason: "module \(type) is not supported (Transformer, Pooling, Normalize)")
                }
            }
        }
        var pooling = Pooling.mean
        if let poolingFolder {
            let file = (poolingFolder as NSString).appendingPathComponent("config.json")
            guard let data = FileContents.read(atPath: file),
                  let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
                throw TextEncoderLoadError.missingFile(path: file, hint: "the Pooling module needs its config.json")
            }
            var modes: [Pooling] = []
            if let mode = object["pooling_mode"] as? String {
                guard let m = Pooling(rawValue: mode) else {
                    throw TextEncoderLoadError.unsupported(path: file, reason: "pooling mode '\(mode)' is not supported (mean, cls)")
                }
                modes = [m]
            } else {
                for (key, value) in object where key.hasPrefix("pooling_mode_") && (value as? Bool) == true {
                    switch key {
                    case "pooling_mode_mean_tokens": modes.append(.mean)
                    case "pooling_mode_cls_token": modes.append(.cls)
                    default: throw TextEncoderLoadError.unsupported(path: file, reason: "\(key) is not supported (mean or cls pooling)")
                    }
                }
            }
            guard modes.count == 1 else {
                throw TextEncoderLoadError.unsupported(path: file, reason: "exactly one pooling mode (mean or cls) must be on, found \(modes.count)")
            }
            pooling = modes[0]
        }
        let tokenizer = try WordPieceTokenizer(folder: folder)
        let model = try BertModel.load(folder: folder)
        var maxLength = min(tokenizer.maxLength, model.config.maxPositionEmbeddings)
        if let data = FileContents.read(atPath: path("sentence_bert_config.json")) {
            guard let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
                throw TextEncoderLoadError.invalidFile(path: path("sentence_bert_config.json"), reason: "not a JSON object")
            }
            if let m = object["max_seq_length"] as? Int {
                guard m >= 2 && m <= model.config.maxPositionEmbeddings else {
                    throw TextEncoderLoadError.invalidFile(path: path("sentence_bert_config.json"),
                                                reason: "max_seq_length \(m) outside 2...\(model.config.maxPositionEmbeddings)")
                }
                maxLength = m
            }
            if (object["do_lower_case"] as? Bool) == true && !tokenizer.lowercase {
                throw TextEncoderLoadError.unsupported(path: path("sentence_bert_config.json"), reason: "do_lower_case over a cased tokenizer is not supported")
            }
        }
        self.init(tokenizer: tokenizer, model: model, maxSequenceLength: maxLength, pooling: pooling, normalize: normalize)
    }

    /// Token ids of `text` as the embedder feeds them to the model.
    public func tokenIds(_ text: String) -> [Int] {
        tokenizer.encode(text, maxLength: maxSequenceLength)
    }

    /// Embeddings of `texts`, one row each: [texts.count, dimension].
    public func embed(_ texts: [String]) -> Tensor {
        let d = dimension
        var out = Tensor(zeros: [texts.count, d])
        guard !texts.isEmpty else { return out }
        let ids = texts.map(tokenIds)
        // Longest first, as sentence-transformers orders them, so each batch pads little.
        let order = ids.indices.sorted { ids[$0].count > ids[$1].count || (ids[$0].count == ids[$1].count && $0 < $1) }
        var start = 0
        while start < order.count {
            let rows = Array(order[start..<min(start + max(batchSize, 1), order.count)])
            start += rows.count
            let length = rows.map { ids[$0].count }.max()!
            let batchIds = rows.map { ids[$0] + [Int](repeating: tokenizer.padTokenId, count: length - ids[$0].count) }
            let mask = rows.map { [Int](repeating: 1, count: ids[$0].count) + [Int](repeating: 0, count: length - ids[$0].count) }
            let hidden = model(batchIds, attentionMask: mask)
            hidden.withUnsafeBufferPointer { hp in
                out.withUnsafeMutableBufferPointer { op in
                    for (n, row) in rows.enumerated() {
                        pool(hp.baseAddress! + n * length * d, valid: ids[row].count, width: d, into: op.baseAddress! + row * d)
                    }
                }
            }
        }
        return out
    }

    /// The embedding of one text.
    public func embed(_ text: String) -> [Float] {
        embed([text]).scalars
    }

    /// Pools one sequence's rows (the first `valid` rows hold its tokens) and normalises.
    private func pool(_ h: UnsafePointer<Float>, valid: Int, width d: Int, into o: UnsafeMutablePointer<Float>) {
        switch pooling {
        case .cls:
            o.update(from: h, count: d)
        case .mean:
            // torch sums the masked rows in float32, then divides by the token count.
            o.update(repeating: 0, count: d)
            for r in 0..<valid {
                let row = h + r * d
                for c in 0..<d { o[c] += row[c] }
            }
            let count = max(Float(valid), 1e-9)
            for c in 0..<d { o[c] /= count }
        }
        if normalize {
            var sumSq: Float = 0
            for c in 0..<d { sumSq += o[c] * o[c] }
            let norm = max(sumSq.squareRoot(), 1e-12)
            for c in 0..<d { o[c] /= norm }
        }
    }

    /// Cosine similarity of two vectors (0 when either is zero).
    public static func cosineSimilarity(_ a: [Float], _ b: [Float]) -> Float {
        precondition(a.count == b.count, "cosine similarity of vectors of different lengths")
        var dot: Float = 0, na: Float = 0, nb: Float = 0
        for i in 0..<a.count {
            dot += a[i] * b[i]
            na += a[i] * a[i]
            nb += b[i] * b[i]
        }
        let denominator = (na * nb).squareRoot()
        return denominator > 0 ? dot / denominator : 0
    }
}
