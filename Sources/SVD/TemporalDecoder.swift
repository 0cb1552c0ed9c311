import Layers
import Tensor

/// Mirrors diffusers' TemporalDecoder (models/autoencoders/autoencoder_kl_temporal_decoder.py):
/// conv_in, MidBlockTemporalDecoder (SpatioTemporalResBlock, attention, SpatioTemporalResBlock),
/// UpBlockTemporalDecoder blocks (layers+1 resnets, nearest 2x + conv), GroupNorm + SiLU,
/// conv_out, then `time_conv_out` (Conv3d (3,1,1)) across the frames of the chunk.
/// The resnets have no time embedding, eps 1e-6 spatial / 1e-5 temporal, and the switched mix.
struct TemporalDecoder {
    let convIn: Conv2d
    let midResnets: [SpatioTemporalResBlock]
    let midAttention: SpatialSelfAttention
    let upResnets: [[SpatioTemporalResBlock]]
    let upsamplers: [Conv2d?]
    let convNormOut: GroupNorm
    let convOut: Conv2d
    let timeConvOut: TemporalConv3d

    init(_ w: WeightScope, config: VAEConfig) {
        let channels = config.blockOutChannels
        let last = channels[channels.count - 1]
        func resBlock(_ s: WeightScope, _ i: Int, _ o: Int) -> SpatioTemporalResBlock {
            SpatioTemporalResBlock(s, in: i, out: o, tembChannels: nil, eps: 1e-6, temporalEps: 1e-5, switchSpatialToTemporalMix: true)
        }
        convIn = Conv2d(w["conv_in"], in: config.latentChannels, out: last, kernel: 3, padding: 1)
        midResnets = (0..<config.layersPerBlock).map { resBlock(w["mid_block"]["resnets"][$0], last, last) }
        midAttention = SpatialSelfAttention(w["mid_block"]["attentions"][0], channels: last)
        let reversed = Array(channels.reversed())
        var resnets: [[SpatioTemporalResBlock]] = []
        var ups: [Conv2d?] = []
        var output = reversed[0]
        for i in reversed.indices {
            let previous = output
            output = reversed[i]
            let block = w["up_blocks"][i]
            resnets.append((0...config.layersPerBlock).map { resBlock(block["resnets"][$0], $0 == 0 ? previous : output, output) })
            ups.append(i < reversed.count - 1 ? Conv2d(block["upsamplers"][0]["conv"], in: output, out: output, kernel: 3, padding: 1) : nil)
        }
        upResnets = resnets
        upsamplers = ups
        convNormOut = GroupNorm(w["conv_norm_out"], channels: channels[0], eps: 1e-6)
        convOut = Conv2d(w["conv_out"], in: channels[0], out: config.outChannels, kernel: 3, padding: 1)
        timeConvOut = TemporalConv3d(w["time_conv_out"], in: config.outChannels, out: config.outChannels)
    }

    /// z [frames, latent, h, w] (one chunk of one video) -> [frames, 3, 8h, 8w].
    /// Each activation is handed on (`consume`), so that it is freed, or normalised in place, as
    /// soon as the next layer no longer needs it: at 512x320 they are 1.2-2.3 GB each.
    func callAsFunction(_ z: Tensor, frames: Int) -> Tensor {
        var h = convIn(z)
        h = midResnets[0](consume h, tembActivated: nil, frames: frames)
        for resnet in midResnets.dropFirst() {
            h = midAttention(h)
            h = resnet(consume h, tembActivated: nil, frames: frames)
        }
        for (resnets, up) in zip(upResnets, upsamplers) {
            for r in resnets { h = r(consume h, tembActivated: nil, frames: frames) }
            if let up {
                let upsampled = upsampleNearest2x(consume h)
                h = up(upsampled)
            }
        }
        h = convOut(convNormOut(consume h, silu: true))
        return timeConvOut(h, frames: frames)
    }
}
