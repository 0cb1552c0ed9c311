import Foundation

/// transformers' CLIPTextConfig (`config.json` of a CLIPTextModelWithProjection folder, or the
/// `text_config` of a CLIPModel folder, whose top-level `projection_dim` then applies), field names kept.
public struct CLIPTextModelConfig: Decodable, Equatable, Sendable {
    public var vocabSize: Int = 49408
    public var hiddenSize: Int = 512
    public var intermediateSize: Int = 2048
    public var numHiddenLayers: Int = 12
    public var numAttentionHeads: Int = 8
    public var maxPositionEmbeddings: Int = 77
    public var hiddenAct: String = "quick_gelu"
    public var layerNormEps: Float = 1e-5
    public var projectionDim: Int = 512
    /// 2 in the released OpenAI configs: then the pooled token is at argmax(input_ids) (transformers' legacy rule).
    public var eosTokenId: Int = 2

    enum CodingKeys: String, CodingKey {
        case vocabSize = "vocab_size"
        case hiddenSize = "hidden_size"
        case intermediateSize = "intermediate_size"
        case numHiddenLayers = "num_hidden_layers"
        case numAttentionHeads = "num_attention_heads"
        case maxPositionEmbeddings = "max_position_embeddings"
        case hiddenAct = "hidden_act"
        case layerNormEps = "layer_norm_eps"
        case projectionDim = "projection_dim"
        case eosTokenId = "eos_token_id"
    }

    public init() {}

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = CLIPTextModelConfig()
        vocabSize = try c.decodeIfPresent(Int.self, forKey: .vocabSize) ?? d.vocabSize
        hiddenSize = try c.decodeIfPresent(Int.self, forKey: .hiddenSize) ?? d.hiddenSize
        intermediateSize = try c.decodeIfPresent(Int.self, forKey: .intermediateSize) ?? d.intermediateSize
        numHiddenLayers = try c.decodeIfPresent(Int.self, forKey: .numHiddenLayers) ?? d.numHiddenLayers
        numAttentionHeads = try c.decodeIfPresent(Int.self, forKey: .numAttentionHeads) ?? d.numAttentionHeads
        maxPositionEmbeddings = try c.decodeIfPresent(Int.self, forKey: .maxPositionEmbeddings) ?? d.maxPositionEmbeddings
        hiddenAct = try c.decodeIfPresent(String.self, forKey: .hiddenAct) ?? d.hiddenAct
        layerNormEps = try c.decodeIfPresent(Float.self, forKey: .layerNormEps) ?? d.layerNormEps
        projectionDim = try c.decodeIfPresent(Int.self, forKey: .projectionDim) ?? d.projectionDim
        eosTokenId = try c.decodeIfPresent(Int.self, forKey: .eosTokenId) ?? d.eosTokenId
    }

    /// A folder's `config.json`: flat (CLIPTextModel[WithProjection]) or a CLIPModel's `text_config`.
    static func read(_ data: Data, path: String) throws -> (config: CLIPTextModelConfig, isCLIPModel: Bool) {
        struct Outer: Decodable {
            let text_config: CLIPTextModelConfig?
            let projection_dim: Int?
            let model_type: String?
        }
        do {
            let outer = try JSONDecoder().decode(Outer.self, from: data)
            if var text = outer.text_config {
                if let p = outer.projection_dim { text.projectionDim = p }
                return (text, true)
            }
            if let type = outer.model_type, type == "clip_vision_model" {
                throw TextEncoderLoadError.unsupported(path: path, reason: "this is a CLIP vision model; --text-encoder needs a CLIPModel or CLIPTextModelWithProjection folder")
            }
            return (try JSONDecoder().decode(CLIPTextModelConfig.self, from: data), false)
        } catch let e as TextEncoderLoadError {
            throw e
        } catch {
            throw TextEncoderLoadError.invalidFile(path: path, reason: "\(error)")
        }
    }

    func validate(path: String) throws {
        guard ["gelu", "quick_gelu", "gelu_new", "gelu_pytorch_tanh"].contains(hiddenAct) else {
            throw TextEncoderLoadError.unsupported(path: path, reason: "hidden_act '\(hiddenAct)' is not supported (gelu, quick_gelu, gelu_new, gelu_pytorch_tanh)")
        }
        guard numAttentionHeads > 0, hiddenSize % numAttentionHeads == 0 else {
            throw TextEncoderLoadError.unsupported(path: path, reason: "hidden_size \(hiddenSize) is not divisible by \(numAttentionHeads) heads")
        }
    }
}
