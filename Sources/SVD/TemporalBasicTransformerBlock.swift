import Layers
import Tensor

/// Mirrors diffusers' TemporalBasicTransformerBlock (models/attention.py): `norm_in` + `ff_in`
/// (residual), self-attention across frames, cross-attention to the first frame's image
/// embedding, `norm3` + `ff`, each residual. diffusers permutes tokens to
/// (batch*positions, frames, C); every layer but the frame attention is per token, so this keeps
/// the rows in (batch, frame, position) order and attends across frames in place.
struct TemporalBasicTransformerBlock {
    let normIn: LayerNorm
    let ffIn: TransformerFeedForward
    let norm1: LayerNorm
    let attn1: MultiHeadAttention
    let norm2: LayerNorm
    let attn2: MultiHeadAttention
    let norm3: LayerNorm
    let ff: TransformerFeedForward

    init(_ w: WeightScope, dim: Int, heads: Int, dimHead: Int, crossAttentionDim: Int) {
        normIn = LayerNorm(w["norm_in"], dim: dim)
        ffIn = TransformerFeedForward(w["ff_in"], dim: dim, dimOut: dim)
        norm1 = LayerNorm(w["norm1"], dim: dim)
        attn1 = MultiHeadAttention(w["attn1"], queryDim: dim, heads: heads, dimHead: dimHead)
        norm2 = LayerNorm(w["norm2"], dim: dim)
        attn2 = MultiHeadAttention(w["attn2"], queryDim: dim, crossAttentionDim: crossAttentionDim, heads: heads, dimHead: dimHead)
        norm3 = LayerNorm(w["norm3"], dim: dim)
        ff = TransformerFeedForward(w["ff"], dim: dim)
    }

    /// x: [batch*frames, positions, C]; context: [batch, Lk, D] (each sample's first-frame embedding).
    func callAsFunction(_ x: Tensor, batch: Int, frames: Int, context: Tensor) -> Tensor {
        let shape = x.shape
        let c = shape[2]
        var h = x.reshaped([-1, c])
        ffIn.add(normIn(h), to: &h)
        attn1.addFrameSelfAttention(norm1(h), batch: batch, frames: frames, to: &h)
        let perSample = h.reshaped([batch, -1, c])
        // diffusers broadcasts the context to every position and runs to_k and to_v on
        // batch*positions rows (equal rows); counted so GFLOP/s compares with PyTorch's.
        let positions = shape[1]
        OpProfile.addNominal(4 * Double(batch * (positions - 1)) * Double(attn2.toK.inFeatures * attn2.toK.outFeatures))
        addInPlace(&h, attn2.crossAttention(norm2(perSample), context: context).reshaped([-1, c]))
        ff.add(norm3(h), to: &h)
        return h.reshaped(shape)
    }
}
