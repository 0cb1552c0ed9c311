import Layers
import Tensor

/// Mirrors diffusers' Attention as the VAE mid blocks build it (one head over all channels,
/// `group_norm` before, q/k/v with bias, `to_out.0`, residual connection, rescale 1), processed
/// by AttnProcessor2_0 on [N, C, H, W] input: tokens are the H*W positions of each image.
struct SpatialSelfAttention {
    let groupNorm: GroupNorm
    let toQ: LinearLayer
    let toK: LinearLayer
    let toV: LinearLayer
    let toOut: LinearLayer

    init(_ w: WeightScope, channels: Int) {
        groupNorm = GroupNorm(w["group_norm"], channels: channels, eps: 1e-6)
        toQ = LinearLayer(w["to_q"], in: channels, out: channels)
        toK = LinearLayer(w["to_k"], in: channels, out: channels)
        toV = LinearLayer(w["to_v"], in: channels, out: channels)
        toOut = LinearLayer(w["to_out"][0], in: channels, out: channels)
    }

    func callAsFunction(_ x: Tensor) -> Tensor {
        let n = x.shape[0], c = x.shape[1], hw = x.shape[2] * x.shape[3]
        let tokens = transpose(groupNorm(x).reshaped([n, c, hw]), 1, 2)
        let attended = toOut(attention(query: toQ(tokens), key: toK(tokens), value: toV(tokens), heads: 1))
        var out = transpose(attended, 1, 2).reshaped(x.shape)
        addInPlace(&out, x)
        return out
    }
}
