import Layers
import Tensor

/// Mirrors diffusers' Encoder (models/autoencoders/vae.py) with DownEncoderBlock2D blocks and
/// double_z, followed by the autoencoder's `quant_conv`: image [N, 3, H, W] in [-1, 1] ->
/// moments [N, 2*latent, H/2^k, W/2^k]. Downsample2D with padding 0 pads right and bottom by one
/// before its stride-2 conv, as diffusers does.
struct VAEEncoder {
    let convIn: Conv2d
    let downResnets: [[ResnetBlock2D]]
    let downsamplers: [Conv2d?]
    let midResnets: [ResnetBlock2D]
    let midAttention: SpatialSelfAttention
    let convNormOut: GroupNorm
    let convOut: Conv2d
    let quantConv: Conv2d

    init(_ w: WeightScope, quantConv q: WeightScope, config: VAEConfig) {
        let channels = config.blockOutChannels
        let e = w
        convIn = Conv2d(e["conv_in"], in: config.inChannels, out: channels[0], kernel: 3, padding: 1)
        var resnets: [[ResnetBlock2D]] = []
        var downs: [Conv2d?] = []
        var output = channels[0]
        for i in channels.indices {
            let input = output
            output = channels[i]
            let block = e["down_blocks"][i]
            resnets.append((0..<config.layersPerBlock).map {
                ResnetBlock2D(block["resnets"][$0], in: $0 == 0 ? input : output, out: output, tembChannels: nil, eps: 1e-6)
            })
            downs.append(i < channels.count - 1 ? Conv2d(block["downsamplers"][0]["conv"], in: output, out: output, kernel: 3, stride: 2) : nil)
        }
        downResnets = resnets
        downsamplers = downs
        let last = channels[channels.count - 1]
        midResnets = (0..<2).map { ResnetBlock2D(e["mid_block"]["resnets"][$0], in: last, out: last, tembChannels: nil, eps: 1e-6) }
        midAttention = SpatialSelfAttention(e["mid_block"]["attentions"][0], channels: last)
        convNormOut = GroupNorm(e["conv_norm_out"], channels: last, eps: 1e-6)
        convOut = Conv2d(e["conv_out"], in: last, out: 2 * config.latentChannels, kernel: 3, padding: 1)
        quantConv = Conv2d(q, in: 2 * config.latentChannels, out: 2 * config.latentChannels, kernel: 1)
    }

    func callAsFunction(_ image: Tensor) -> Tensor {
        var h = convIn(image)
        for (resnets, down) in zip(downResnets, downsamplers) {
            for r in resnets { h = r(h, tembActivated: nil) }
            if let down { h = down(padRightBottom(h, 1)) }
        }
        h = midResnets[0](h, tembActivated: nil)
        h = midAttention(h)
        h = midResnets[1](h, tembActivated: nil)
        return quantConv(convOut(convNormOut(h, silu: true)))
    }
}
