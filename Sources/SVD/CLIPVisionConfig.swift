import Encoders

/// transformers' CLIPVisionConfig (`image_encoder/config.json`), with its own field names.
public struct CLIPVisionConfig: Codable, Equatable, Sendable {
    public var hiddenSize: Int = 1280
    public var intermediateSize: Int = 5120
    public var numHiddenLayers: Int = 32
    public var numAttentionHeads: Int = 16
    public var numChannels: Int = 3
    public var imageSize: Int = 224
    public var patchSize: Int = 14
    public var projectionDim: Int = 1024
    public var hiddenAct: String = "gelu"
    public var layerNormEps: Float = 1e-5

    enum CodingKeys: String, CodingKey {
        case hiddenSize = "hidden_size"
        case intermediateSize = "intermediate_size"
        case numHiddenLayers = "num_hidden_layers"
        case numAttentionHeads = "num_attention_heads"
        case numChannels = "num_channels"
        case imageSize = "image_size"
        case patchSize = "patch_size"
        case projectionDim = "projection_dim"
        case hiddenAct = "hidden_act"
        case layerNormEps = "layer_norm_eps"
    }

    public init() {}

    /// Missing fields take the SVD release's values.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = CLIPVisionConfig()
        hiddenSize = try c.decodeIfPresent(Int.self, forKey: .hiddenSize) ?? d.hiddenSize
        intermediateSize = try c.decodeIfPresent(Int.self, forKey: .intermediateSize) ?? d.intermediateSize
        numHiddenLayers = try c.decodeIfPresent(Int.self, forKey: .numHiddenLayers) ?? d.numHiddenLayers
        numAttentionHeads = try c.decodeIfPresent(Int.self, forKey: .numAttentionHeads) ?? d.numAttentionHeads
        numChannels = try c.decodeIfPresent(Int.self, forKey: .numChannels) ?? d.numChannels
        imageSize = try c.decodeIfPresent(Int.self, forKey: .imageSize) ?? d.imageSize
        patchSize = try c.decodeIfPresent(Int.self, forKey: .patchSize) ?? d.patchSize
        projectionDim = try c.decodeIfPresent(Int.self, forKey: .projectionDim) ?? d.projectionDim
        hiddenAct = try c.decodeIfPresent(String.self, forKey: .hiddenAct) ?? d.hiddenAct
        layerNormEps = try c.decodeIfPresent(Float.self, forKey: .layerNormEps) ?? d.layerNormEps
    }

    public func validate() throws {
        func fail(_ why: String) -> ModelConfigError { ModelConfigError(component: "image_encoder", problem: why) }
        guard CLIPEncoderLayer.supportedActivations.contains(hiddenAct) else {
            throw fail("hidden_act '\(hiddenAct)' is not supported (gelu, quick_gelu, gelu_new, gelu_pytorch_tanh)")
        }
        guard numAttentionHeads > 0, hiddenSize % numAttentionHeads == 0 else {
            throw fail("hidden_size \(hiddenSize) is not divisible by \(numAttentionHeads) heads")
        }
        guard patchSize > 0, imageSize % patchSize == 0 else { throw fail("image_size must be a multiple of patch_size") }
    }
}
