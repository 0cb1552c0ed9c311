import Foundation
import Tensor

/// transformers' BertConfig (`config.json` of a BERT folder), field names kept. Defaults are BertConfig's.
public struct BertConfig: Codable, Equatable, Sendable {
    public var vocabSize: Int = 30522
    public var hiddenSize: Int = 768
    public var numHiddenLayers: Int = 12
    public var numAttentionHeads: Int = 12
    public var intermediateSize: Int = 3072
    public var hiddenAct: String = "gelu"
    public var maxPositionEmbeddings: Int = 512
    public var typeVocabSize: Int = 2
    public var layerNormEps: Float = 1e-12
    public var positionEmbeddingType: String = "absolute"

    enum CodingKeys: String, CodingKey {
        case vocabSize = "vocab_size"
        case hiddenSize = "hidden_size"
        case numHiddenLayers = "num_hidden_layers"
        case numAttentionHeads = "num_attention_heads"
        case intermediateSize = "intermediate_size"
        case hiddenAct = "hidden_act"
        case maxPositionEmbeddings = "max_position_embeddings"
        case typeVocabSize = "type_vocab_size"
        case layerNormEps = "layer_norm_eps"
        case positionEmbeddingType = "position_embedding_type"
    }

    public init() {}

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = BertConfig()
        vocabSize = try c.decodeIfPresent(Int.self, forKey: .vocabSize) ?? d.vocabSize
        hiddenSize = try c.decodeIfPresent(Int.self, forKey: .hiddenSize) ?? d.hiddenSize
        numHiddenLayers = try c.decodeIfPresent(Int.self, forKey: .numHiddenLayers) ?? d.numHiddenLayers
        numAttentionHeads = try c.decodeIfPresent(Int.self, forKey: .numAttentionHeads) ?? d.numAttentionHeads
        intermediateSize = try c.decodeIfPresent(Int.self, forKey: .intermediateSize) ?? d.intermediateSize
        hiddenAct = try c.decodeIfPresent(String.self, forKey: .hiddenAct) ?? d.hiddenAct
        maxPositionEmbeddings = try c.decodeIfPresent(Int.self, forKey: .maxPositionEmbeddings) ?? d.maxPositionEmbeddings
        typeVocabSize = try c.decodeIfPresent(Int.self, forKey: .typeVocabSize) ?? d.typeVocabSize
        layerNormEps = try c.decodeIfPresent(Float.self, forKey: .layerNormEps) ?? d.layerNormEps
        positionEmbeddingType = try c.decodeIfPresent(String.self, forKey: .positionEmbeddingType) ?? d.positionEmbeddingType
    }

    /// Reads and checks a folder's `config.json`.
    public static func read(path: String) throws -> BertConfig {
        guard let data = FileContents.read(atPath: path) else {
            throw TextEncoderLoadError.missingFile(path: path, hint: "a BERT model folder needs its config.json")
        }
        let config: BertConfig
        do {
            config = try JSONDecoder().decode(BertConfig.self, from: data)
        } catch {
            throw TextEncoderLoadError.invalidFile(path: path, reason: "\(error)")
        }
        try config.validate(path: path)
        return config
    }

    /// The activations and embeddings this port implements.
    public func validate(path: String) throws {
        guard ["gelu", "gelu_new", "gelu_pytorch_tanh"].contains(hiddenAct) else {
            throw TextEncoderLoadError.unsupported(path: path, reason: "hidden_act '\(hiddenAct)' is not supported (gelu, gelu_new, gelu_pytorch_tanh)")
        }
        guard positionEmbeddingType == "absolute" else {
            throw TextEncoderLoadError.unsupported(path: path, reason: "position_embedding_type '\(positionEmbeddingType)' is not supported (absolute)")
        }
        guard numAttentionHeads > 0, hiddenSize > 0, hiddenSize % numAttentionHeads == 0 else {
            throw TextEncoderLoadError.unsupported(path: path, reason: "hidden_size \(hiddenSize) is not divisible by \(numAttentionHeads) heads")
        }
        guard vocabSize > 0, maxPositionEmbeddings > 0, typeVocabSize > 0, numHiddenLayers >= 0, intermediateSize > 0 else {
            throw TextEncoderLoadError.invalidFile(path: path, reason: "sizes must be positive")
        }
    }
}
