import Foundation
import Layers
import Tensor

/// Mirrors transformers' CLIPTextModelWithProjection (models/clip/modeling_clip.py): token and position
/// embeddings (`text_model.embeddings.{token,position}_embedding`), causal encoder layers,
/// `text_model.final_layer_norm`, the hidden state at the end-of-text token (the first position holding
/// `eos_token_id`, or argmax(input_ids) when the config has the legacy `eos_token_id` 2), then
/// `text_projection` (no bias) -> text_embeds.
///
/// Loads from a transformers CLIPTextModelWithProjection folder or a whole CLIPModel folder (same
/// `text_model.*` / `text_projection.weight` keys; the vision tower's weights are skipped).
public struct CLIPTextModelWithProjection {
    public let config: CLIPTextModelConfig
    let tokenEmbedding: StoredTensor
    let positionEmbedding: StoredTensor
    let layers: [CLIPEncoderLayer]
    let finalLayerNorm: LayerNorm
    let textProjection: LinearLayer

    /// Checkpoint keys a text-only model skips: a CLIPModel's vision tower, its logit scale, and buffers.
    public static func isIgnoredKey(_ key: String) -> Bool {
        key.hasPrefix("vision_model.") || key.hasPrefix("visual_projection.") || key == "logit_scale"
            || key.hasSuffix("embeddings.position_ids")
    }

    public init(config: CLIPTextModelConfig, weights w: WeightScope) {
        self.config = config
        let t = w["text_model"]
        let d = config.hiddenSize
        tokenEmbedding = t["embeddings"]["token_embedding"].tensor("weight", [config.vocabSize, d])
        positionEmbedding = t["embeddings"]["position_embedding"].tensor("weight", [config.maxPositionEmbeddings, d])
        layers = (0..<config.numHiddenLayers).map {
            CLIPEncoderLayer(t["encoder"]["layers"][$0], hiddenSize: config.hiddenSize, intermediateSize: config.intermediateSize,
                             heads: config.numAttentionHeads, hiddenAct: config.hiddenAct, layerNormEps: config.layerNormEps, causal: true)
        }
        finalLayerNorm = LayerNorm(t["final_layer_norm"], dim: d, eps: config.layerNormEps)
        textProjection = LinearLayer(w["text_projection"], in: d, out: config.projectionDim, bias: false)
    }

    /// Loads `config.json` and `model[.safetensors|.safetensors.index.json]` from a transformers folder.
    public static func load(folder: String) throws -> CLIPTextModelWithProjection {
        func path(_ name: String) -> String { (folder as NSString).appendingPathComponent(name) }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw TextEncoderLoadError.missingFile(path: folder, hint: "--text-encoder takes a transformers CLIPModel or CLIPTextModelWithProjection folder")
        }
        guard let data = FileContents.read(atPath: path("config.json")) else {
            throw TextEncoderLoadError.missingFile(path: path("config.json"), hint: "--text-encoder takes a transformers CLIPModel or CLIPTextModelWithProjection folder")
        }
        let (config, _) = try CLIPTextModelConfig.read(data, path: path("config.json"))
        try config.validate(path: path("config.json"))
        guard let file = ["model.safetensors", "model.safetensors.index.json"].map(path).first(where: { FileManager.default.fileExists(atPath: $0) }) else {
            throw TextEncoderLoadError.missingFile(path: path("model.safetensors"), hint: "the text encoder's weights must be in safetensors format")
        }
        let source: CheckpointWeights
        do {
            source = CheckpointWeights(try SafeTensorsCheckpoint(path: file), ignoring: isIgnoredKey)
        } catch {
            throw TextEncoderLoadError.invalidFile(path: file, reason: "\(error)")
        }
        let model = CLIPTextModelWithProjection(config: config, weights: WeightScope(source))
        do { try source.finish() } catch { throw TextEncoderLoadError.weights(path: file, reason: "\(error)") }
        return model
    }

    /// input ids [B][L] -> (text_embeds [B, projection_dim], last_hidden_state [B, L, hidden]).
    public func callAsFunction(_ inputIds: [[Int]]) -> (textEmbeds: Tensor, lastHiddenState: Tensor) {
        let b = inputIds.count, l = inputIds.first?.count ?? 0, d = config.hiddenSize
        precondition(b > 0 && l > 0 && l <= config.maxPositionEmbeddings && inputIds.allSatisfy { $0.count == l },
                     "input ids must be a non-empty rectangle no longer than max_position_embeddings")
        let tokens = tokenEmbedding.widened, positions = positionEmbedding.widened
        var h = Tensor(uninitialized: [b, l, d])
        tokens.withUnsafeBufferPointer { tp in
            positions.withUnsafeBufferPointer { pp in
                h.withUnsafeMutableBufferPointer { hp in
                    for (row, ids) in inputIds.enumerated() {
                        for (i, id) in ids.enumerated() {
                            precondition(id >= 0 && id < config.vocabSize, "token id \(id) outside the vocabulary")
                            for c in 0..<d { hp[(row * l + i) * d + c] = tp[id * d + c] + pp[i * d + c] }
                        }
                    }
                }
            }
        }
        for layer in layers { h = layer(h) }
        h = finalLayerNorm(h)
        var pooled = Tensor(uninitialized: [b, d])
        h.withUnsafeBufferPointer { hp in
            pooled.withUnsafeMutableBufferPointer { pp in
                for (row, ids) in inputIds.enumerated() {
                    let at = Self.poolingIndex(ids, eosTokenId: config.eosTokenId)
                    for c in 0..<d { pp[row * d + c] = hp[(row * l + at) * d + c] }
                }
            }
        }
        return (textProjection(pooled), h)
    }

    /// transformers' rule: argmax(input_ids) (first maximum) when eos_token_id == 2, else the first eos.
    static func poolingIndex(_ ids: [Int], eosTokenId: Int) -> Int {
        if eosTokenId == 2 {
            var best = 0
            for (i, id) in ids.enumerated() where id > ids[best] { best = i }
            return best
        }
        return ids.firstIndex(of: eosTokenId) ?? 0
    }
}
