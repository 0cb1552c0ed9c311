import Layers
import Tensor

/// Mirrors diffusers' Attention (models/attention_processor.py) with AttnProcessor2_0 as the SVD
/// UNet builds it: `to_q`, `to_k`, `to_v` without bias, `to_out.0` with bias, scale 1/sqrt(head dim).
struct MultiHeadAttention {
    let toQ: LinearLayer
    let toK: LinearLayer
    let toV: LinearLayer
    let toOut: LinearLayer
    let heads: Int

    init(_ w: WeightScope, queryDim: Int, crossAttentionDim: Int? = nil, heads: Int, dimHead: Int) {
        let inner = heads * dimHead
        let kvDim = crossAttentionDim ?? queryDim
        toQ = LinearLayer(w["to_q"], in: queryDim, out: inner, bias: false)
        toK = LinearLayer(w["to_k"], in: kvDim, out: inner, bias: false)
        toV = LinearLayer(w["to_v"], in: kvDim, out: inner, bias: false)
        toOut = LinearLayer(w["to_out"][0], in: inner, out: queryDim)
        self.heads = heads
    }

    /// Self-attention within each sample: x [N, L, C].
    func selfAttention(_ x: Tensor) -> Tensor {
        toOut(attention(query: toQ(x), key: toK(x), value: toV(x), heads: heads))
    }

    /// residual += selfAttention(x), with `to_out` accumulating into the residual.
    func addSelfAttention(_ x: Tensor, to residual: inout Tensor) {
        toOut.add(attention(query: toQ(x), key: toK(x), value: toV(x), heads: heads), to: &residual)
    }

    /// Cross-attention of x [N, L, C] to context [N, Lk, D]. With a single context token (SVD's
    /// image embedding) the softmax is exactly 1, so every query receives that token's value:
    /// the result is computed once per sample and broadcast, which equals the full computation.
    func crossAttention(_ x: Tensor, context: Tensor) -> Tensor {
        let n = x.shape[0], l = x.shape[1]
        if context.shape[1] == 1 {
            // FLOPs the reference spends and this shortcut skips (to_q, to_k, Q K^T, P V, and
            // to_out for all but one row per sample), so GFLOP/s compares with PyTorch's.
            let qDim = Double(toQ.inFeatures), inner = Double(toQ.outFeatures), kvDim = Double(toK.inFeatures)
            let rows = Double(n * l), samples = Double(n)
            OpProfile.addNominal(2 * rows * qDim * inner + 2 * samples * kvDim * inner + 4 * rows * inner
                                 + 2 * (rows - samples) * inner * Double(toOut.outFeatures))
            let value = toOut(toV(context)).reshaped([n, -1])
            return broadcastRows(value, rows: l)
        }
        return toOut(attention(query: toQ(x), key: toK(context), value: toV(context), heads: heads))
    }

    /// Self-attention across frames on rows (batch, frame, position): x [batch*frames*positions, C].
    func frameSelfAttention(_ x: Tensor, batch: Int, frames: Int) -> Tensor {
        toOut(frameAttention(query: toQ(x), key: toK(x), value: toV(x), batch: batch, frames: frames, heads: heads))
    }

    /// residual += frameSelfAttention(x), with `to_out` accumulating into the residual.
    func addFrameSelfAttention(_ x: Tensor, batch: Int, frames: Int, to residual: inout Tensor) {
        toOut.add(frameAttention(query: toQ(x), key: toK(x), value: toV(x), batch: batch, frames: frames, heads: heads), to: &residual)
    }
}
