import Layers
import Tensor

/// Mirrors diffusers' UNetMidBlockSpatioTemporal (models/unets/unet_3d_blocks.py):
/// resnet, then per layer a transformer followed by a resnet (eps 1e-5).
struct UNetMidBlock {
    let resnets: [SpatioTemporalResBlock]
    let attentions: [TransformerSpatioTemporalModel]

    init(_ w: WeightScope, channels: Int, tembChannels: Int, heads: Int, transformerLayers: Int, crossAttentionDim: Int) {
        resnets = (0..<2).map {
            SpatioTemporalResBlock(w["resnets"][$0], in: channels, out: channels, tembChannels: tembChannels, eps: 1e-5)
        }
        attentions = [TransformerSpatioTemporalModel(w["attentions"][0], heads: heads, headDim: channels / heads, inChannels: channels,
                                                     layers: transformerLayers, crossAttentionDim: crossAttentionDim)]
    }

    func callAsFunction(_ x: Tensor, tembActivated: Tensor, context: Tensor, frames: Int) -> Tensor {
        var h = resnets[0](x, tembActivated: tembActivated, frames: frames)
        for (attention, resnet) in zip(attentions, resnets.dropFirst()) {
            h = attention(h, context: context, frames: frames)
            h = resnet(h, tembActivated: tembActivated, frames: frames)
        }
        return h
    }
}
