import Encoders
import Layers
import Tensor

/// Mirrors transformers' CLIPVisionModelWithProjection: patch embedding (conv, no bias), class
/// token, position embedding, `pre_layrnorm` (sic, transformers' key), encoder layers,
/// `post_layernorm` on the class token, `visual_projection` (no bias) -> image_embeds.
public struct CLIPVisionModelWithProjection {
    public let config: CLIPVisionConfig
    let patchEmbedding: Conv2d
    let classEmbedding: StoredTensor
    let positionEmbedding: StoredTensor
    let preLayerNorm: LayerNorm
    let layers: [CLIPEncoderLayer]
    let postLayerNorm: LayerNorm
    let visualProjection: LinearLayer

    /// Checkpoint keys that older exports carry but the model recomputes.
    public static func isIgnoredKey(_ key: String) -> Bool { key.hasSuffix("embeddings.position_ids") }

    public init(config: CLIPVisionConfig, weights w: WeightScope) throws {
        try config.validate()
        self.config = config
        let v = w["vision_model"]
        let d = config.hiddenSize
        let positions = (config.imageSize / config.patchSize) * (config.imageSize / config.patchSize) + 1
        patchEmbedding = Conv2d(v["embeddings"]["patch_embedding"], in: config.numChannels, out: d, kernel: config.patchSize,
                                stride: config.patchSize, bias: false)
        classEmbedding = v["embeddings"].tensor("class_embedding", [d])
        positionEmbedding = v["embeddings"]["position_embedding"].tensor("weight", [positions, d])
        preLayerNorm = LayerNorm(v["pre_layrnorm"], dim: d, eps: config.layerNormEps)
        layers = (0..<config.numHiddenLayers).map {
            CLIPEncoderLayer(v["encoder"]["layers"][$0], hiddenSize: d, intermediateSize: config.intermediateSize,
                             heads: config.numAttentionHeads, hiddenAct: config.hiddenAct, layerNormEps: config.layerNormEps, causal: false)
        }
        postLayerNorm = LayerNorm(v["post_layernorm"], dim: d, eps: config.layerNormEps)
        visualProjection = LinearLayer(w["visual_projection"], in: d, out: config.projectionDim, bias: false)
    }

    /// pixel values [N, 3, 224, 224] (CLIP-normalised) -> (image_embeds [N, projection], last_hidden_state [N, 1+patches, hidden]).
    public func callAsFunction(_ pixels: Tensor) -> (imageEmbeds: Tensor, lastHiddenState: Tensor) {
        let n = pixels.shape[0], d = config.hiddenSize
        let patches = patchEmbedding(pixels)                                  // [N, D, g, g]
        let tokens = transpose(patches.reshaped([n, d, -1]), 1, 2)            // [N, g*g, D]
        let cls = broadcastRows(classEmbedding.widened.reshaped([1, d]), rows: 1).reshaped([1, 1, d])
        var h = concat([concat(Array(repeating: cls, count: n), axis: 0), tokens], axis: 1)
        addInPlace(&h, concat(Array(repeating: positionEmbedding.widened.reshaped([1, -1, d]), count: n), axis: 0))
        h = preLayerNorm(h)
        for layer in layers { h = layer(h) }
        let pooled = postLayerNorm(slice(h, axis: 1, range: 0..<1).reshaped([n, d]))
        return (visualProjection(pooled), h)
    }
}
