import Foundation
import Layers
import Tensor

/// Mirrors transformers' BertModel (models/bert/modeling_bert.py) up to `last_hidden_state`:
/// `embeddings` (word + position + token type, LayerNorm), then `encoder.layer.N` (post-LN
/// self-attention and GELU feed-forward). The pooler (`pooler.dense`, unused by sentence-transformers)
/// is not built; its weights are skipped. The attention mask works as the reference's: a position
/// with mask 0 receives no attention from any query, while its own output row is still computed.
///
/// Loads a BertModel folder (`config.json`, `model.safetensors`), also one saved from a task model
/// whose keys carry a `bert.` prefix (the task heads are skipped).
public struct BertModel {
    public let config: BertConfig
    let embeddings: BertEmbeddings
    let layers: [BertLayer]

    public init(config: BertConfig, weights w: WeightScope) {
        self.config = config
        embeddings = BertEmbeddings(w["embeddings"], config: config)
        layers = (0..<config.numHiddenLayers).map { BertLayer(w["encoder"]["layer"][$0], config: config) }
    }

    /// Checkpoint keys the encoder does not use: the pooler and the `position_ids` / `token_type_ids` buffers.
    public static func isIgnoredKey(_ key: String) -> Bool {
        key.hasPrefix("pooler.") || key.hasSuffix("embeddings.position_ids") || key.hasSuffix("embeddings.token_type_ids")
    }

    /// Loads `config.json` and `model.safetensors` (or a sharded `model.safetensors.index.json`) from `folder`.
    public static func load(folder: String) throws -> BertModel {
        func path(_ name: String) -> String { (folder as NSString).appendingPathComponent(name) }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw TextEncoderLoadError.missingFile(path: folder, hint: "a BERT model is a folder with config.json and model.safetensors")
        }
        let config = try BertConfig.read(path: path("config.json"))
        guard let file = ["model.safetensors", "model.safetensors.index.json"].map(path).first(where: { FileManager.default.fileExists(atPath: $0) }) else {
            throw TextEncoderLoadError.missingFile(path: path("model.safetensors"), hint: "the BERT weights must be in safetensors format")
        }
        let checkpoint: SafeTensorsCheckpoint
        do {
            checkpoint = try SafeTensorsCheckpoint(path: file)
        } catch {
            throw TextEncoderLoadError.invalidFile(path: file, reason: "\(error)")
        }
        let prefixed = checkpoint.entry("bert.embeddings.word_embeddings.weight") != nil
        let source = CheckpointWeights(checkpoint) { key in
            if prefixed { return !key.hasPrefix("bert.") || isIgnoredKey(String(key.dropFirst(5))) }
            return isIgnoredKey(key)
        }
        let root = WeightScope(source)
        let model = BertModel(config: config, weights: prefixed ? root["bert"] : root)
        do { try source.finish() } catch { throw TextEncoderLoadError.weights(path: file, reason: "\(error)") }
        return model
    }

    /// The encoder's last hidden state.
    /// - Parameters:
    ///   - inputIds: [B][L] token ids, every row of the same length L <= max_position_embeddings.
    ///   - attentionMask: [B][L] of 1 (attend) and 0 (padding); nil attends everywhere. A row must keep
    ///     at least one position.
    ///   - tokenTypeIds: [B][L] segment ids; nil means zeros (single sentences).
    /// - Returns: `last_hidden_state` [B, L, hidden].
    public func callAsFunction(_ inputIds: [[Int]], attentionMask: [[Int]]? = nil, tokenTypeIds: [[Int]]? = nil) -> Tensor {
        let b = inputIds.count, l = inputIds.first?.count ?? 0
        precondition(b > 0 && l > 0 && l <= config.maxPositionEmbeddings && inputIds.allSatisfy { $0.count == l },
                     "input ids must be a non-empty rectangle no longer than max_position_embeddings (\(config.maxPositionEmbeddings))")
        precondition(inputIds.allSatisfy { $0.allSatisfy { $0 >= 0 && $0 < config.vocabSize } }, "token id outside the vocabulary")
        if let tokenTypeIds {
            precondition(tokenTypeIds.count == b && tokenTypeIds.allSatisfy { $0.count == l && $0.allSatisfy { $0 >= 0 && $0 < config.typeVocabSize } },
                         "token type ids must match the input ids and lie below type_vocab_size")
        }
        var validKeys = [[Int]?](repeating: nil, count: b)
        if let attentionMask {
            precondition(attentionMask.count == b && attentionMask.allSatisfy { $0.count == l }, "the attention mask must match the input ids")
            for (row, mask) in attentionMask.enumerated() where mask.contains(where: { $0 == 0 }) {
                let keep = mask.indices.filter { mask[$0] != 0 }
                precondition(!keep.isEmpty, "attention mask row \(row) masks every position")
                validKeys[row] = keep
            }
        }
        var h = embeddings(inputIds, tokenTypeIds: tokenTypeIds)
        for layer in layers { h = layer(h, validKeys: validKeys) }
        return h
    }
}
