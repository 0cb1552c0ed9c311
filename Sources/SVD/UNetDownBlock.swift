import Layers
import Tensor

/// Mirrors diffusers' CrossAttnDownBlockSpatioTemporal (resnets with eps 1e-6, each followed by
/// a TransformerSpatioTemporalModel) and DownBlockSpatioTemporal (resnets with eps 1e-5, no
/// attention) from models/unets/unet_3d_blocks.py, with the optional `downsamplers.0`
/// (Downsample2D: conv 3x3, stride 2, padding 1).
struct UNetDownBlock {
    let resnets: [SpatioTemporalResBlock]
    let attentions: [TransformerSpatioTemporalModel]
    let downsampler: Conv2d?

    init(_ w: WeightScope, crossAttention: Bool, layers: Int, inChannels: Int, outChannels: Int, tembChannels: Int,
         heads: Int, transformerLayers: Int, crossAttentionDim: Int, addDownsample: Bool) {
        let eps: Float = crossAttention ? 1e-6 : 1e-5
        resnets = (0..<layers).map {
            SpatioTemporalResBlock(w["resnets"][$0], in: $0 == 0 ? inChannels : outChannels, out: outChannels, tembChannels: tembChannels, eps: eps)
        }
        attentions = crossAttention ? (0..<layers).map {
            TransformerSpatioTemporalModel(w["attentions"][$0], heads: heads, headDim: outChannels / heads, inChannels: outChannels,
                                           layers: transformerLayers, crossAttentionDim: crossAttentionDim)
        } : []
        downsampler = addDownsample ? Conv2d(w["downsamplers"][0]["conv"], in: outChannels, out: outChannels, kernel: 3, stride: 2, padding: 1) : nil
    }

    /// Returns the block output and the skip connections it contributes.
    func callAsFunction(_ x: Tensor, tembActivated: Tensor, context: Tensor, frames: Int) -> (Tensor, [Tensor]) {
        var h = x
        var skips: [Tensor] = []
        for (i, resnet) in resnets.enumerated() {
            h = resnet(h, tembActivated: tembActivated, frames: frames)
            if !attentions.isEmpty { h = attentions[i](h, context: context, frames: frames) }
            skips.append(h)
        }
        if let down = downsampler {
            h = down(h)
            skips.append(h)
        }
        return (h, skips)
    }
}
