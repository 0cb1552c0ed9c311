import Layers
import Tensor

/// Mirrors diffusers' CrossAttnUpBlockSpatioTemporal and UpBlockSpatioTemporal
/// (models/unets/unet_3d_blocks.py): each resnet (eps 1e-6: `get_up_block` does not forward the
/// UNet's `resnet_eps=1e-5` to these two classes, so their default 1e-6 applies) takes the
/// previous output concatenated on channels with the latest skip connection; the optional
/// `upsamplers.0` (Upsample2D) is a nearest resize to the next skip connection's size (2x, or
/// the `upsample_size` diffusers forwards when a latent side is not divisible) and a 3x3 conv.
struct UNetUpBlock {
    let resnets: [SpatioTemporalResBlock]
    let attentions: [TransformerSpatioTemporalModel]
    let upsampler: Conv2d?

    init(_ w: WeightScope, crossAttention: Bool, layers: Int, inChannels: Int, prevOutputChannels: Int, outChannels: Int,
         tembChannels: Int, heads: Int, transformerLayers: Int, crossAttentionDim: Int, addUpsample: Bool) {
        resnets = (0..<layers).map { i in
            let skipChannels = i == layers - 1 ? inChannels : outChannels
            let resnetIn = i == 0 ? prevOutputChannels : outChannels
            return SpatioTemporalResBlock(w["resnets"][i], in: resnetIn + skipChannels, out: outChannels, tembChannels: tembChannels, eps: 1e-6)
        }
        attentions = crossAttention ? (0..<layers).map {
            TransformerSpatioTemporalModel(w["attentions"][$0], heads: heads, headDim: outChannels / heads, inChannels: outChannels,
                                           layers: transformerLayers, crossAttentionDim: crossAttentionDim)
        } : []
        upsampler = addUpsample ? Conv2d(w["upsamplers"][0]["conv"], in: outChannels, out: outChannels, kernel: 3, padding: 1) : nil
    }

    /// `skips` holds the down path's outputs; this block consumes the last `resnets.count` of them.
    func callAsFunction(_ x: Tensor, skips: inout [Tensor], tembActivated: Tensor, context: Tensor, frames: Int) -> Tensor {
        var h = x
        for (i, resnet) in resnets.enumerated() {
            let skip = skips.removeLast()
            h = resnet(concat([h, skip], axis: 1), tembActivated: tembActivated, frames: frames)
            if !attentions.isEmpty { h = attentions[i](h, context: context, frames: frames) }
        }
        if let up = upsampler {
            let target = skips.last.map { ($0.shape[2], $0.shape[3]) } ?? (2 * h.shape[2], 2 * h.shape[3])
            h = up(resizeNearest(h, height: target.0, width: target.1))
        }
        return h
    }
}
