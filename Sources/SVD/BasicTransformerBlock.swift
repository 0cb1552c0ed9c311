import Layers
import Tensor

/// Mirrors diffusers' BasicTransformerBlock (models/attention.py) with layer norms, as SVD's
/// spatial transformer uses it: self-attention, cross-attention to the image embedding, GEGLU
/// feed-forward, each pre-normed and residual. Tokens [batch*frames, H*W, C].
struct BasicTransformerBlock {
    let norm1: LayerNorm
    let attn1: MultiHeadAttention
    let norm2: LayerNorm
    let attn2: MultiHeadAttention
    let norm3: LayerNorm
    let ff: TransformerFeedForward

    init(_ w: WeightScope, dim: Int, heads: Int, dimHead: Int, crossAttentionDim: Int) {
        norm1 = LayerNorm(w["norm1"], dim: dim)
        attn1 = MultiHeadAttention(w["attn1"], queryDim: dim, heads: heads, dimHead: dimHead)
        norm2 = LayerNorm(w["norm2"], dim: dim)
        attn2 = MultiHeadAttention(w["attn2"], queryDim: dim, crossAttentionDim: crossAttentionDim, heads: heads, dimHead: dimHead)
        norm3 = LayerNorm(w["norm3"], dim: dim)
        ff = TransformerFeedForward(w["ff"], dim: dim)
    }

    func callAsFunction(_ x: Tensor, context: Tensor) -> Tensor {
        var h = x
        attn1.addSelfAttention(norm1(h), to: &h)
        addInPlace(&h, attn2.crossAttention(norm2(h), context: context))
        ff.add(norm3(h), to: &h)
        return h
    }
}
