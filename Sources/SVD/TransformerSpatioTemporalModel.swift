import Layers
import Tensor

/// Mirrors diffusers' TransformerSpatioTemporalModel (models/transformers/transformer_temporal.py):
/// GroupNorm(32, eps 1e-6), `proj_in`, then per layer a spatial BasicTransformerBlock, the frame
/// position embedding (`time_pos_embed` of sinusoidal frame indices) added, a
/// TemporalBasicTransformerBlock, and an AlphaBlender mix; `proj_out`; residual.
struct TransformerSpatioTemporalModel {
    let norm: GroupNorm
    let projIn: LinearLayer
    let transformerBlocks: [BasicTransformerBlock]
    let temporalTransformerBlocks: [TemporalBasicTransformerBlock]
    let timePosEmbed: EmbeddingMLP
    let timeMixer: AlphaBlender
    let projOut: LinearLayer
    let channels: Int

    init(_ w: WeightScope, heads: Int, headDim: Int, inChannels: Int, layers: Int, crossAttentionDim: Int) {
        let inner = heads * headDim
        channels = inChannels
        norm = GroupNorm(w["norm"], channels: inChannels, eps: 1e-6)
        projIn = LinearLayer(w["proj_in"], in: inChannels, out: inner)
        transformerBlocks = (0..<layers).map {
            BasicTransformerBlock(w["transformer_blocks"][$0], dim: inner, heads: heads, dimHead: headDim, crossAttentionDim: crossAttentionDim)
        }
        temporalTransformerBlocks = (0..<layers).map {
            TemporalBasicTransformerBlock(w["temporal_transformer_blocks"][$0], dim: inner, heads: heads, dimHead: headDim, crossAttentionDim: crossAttentionDim)
        }
        timePosEmbed = EmbeddingMLP(w["time_pos_embed"], in: inChannels, timeEmbedDim: inChannels * 4, outDim: inChannels)
        timeMixer = AlphaBlender(w["time_mixer"])
        projOut = LinearLayer(w["proj_out"], in: inner, out: inChannels)
    }

    /// x [batch*frames, C, H, W]; context [batch*frames, Lk, D] (the image embedding repeated per frame).
    func callAsFunction(_ x: Tensor, context: Tensor, frames: Int) -> Tensor {
        let bf = x.shape[0], c = x.shape[1], hgt = x.shape[2], wid = x.shape[3]
        let batch = bf / frames
        // The temporal blocks attend to the first frame's context of each sample.
        let firstFrameContext = stack((0..<batch).map { slice(context, axis: 0, range: ($0 * frames)..<($0 * frames + 1)) }, axis: 0)
            .reshaped([batch, context.shape[1], context.shape[2]])
        var h = norm(x)
        h = transpose(h.reshaped([bf, c, hgt * wid]), 1, 2)
        h = projIn(h)
        let frameIndices = (0..<bf).map { Float($0 % frames) }
        let positionEmbedding = timePosEmbed(timestepEmbedding(frameIndices, dim: c, flipSinToCos: true, downscaleFreqShift: 0))
        for (spatialBlock, temporalBlock) in zip(transformerBlocks, temporalTransformerBlocks) {
            h = spatialBlock(h, context: context)
            var mixed = h
            addPerSampleRowBias(&mixed, positionEmbedding)
            mixed = temporalBlock(mixed, batch: batch, frames: frames, context: firstFrameContext)
            h = timeMixer(spatial: h, temporal: consume mixed)
        }
        h = projOut(h)
        var out = transpose(h, 1, 2).reshaped([bf, c, hgt, wid])
        addInPlace(&out, x)
        return out
    }
}
