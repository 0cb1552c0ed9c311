import Layers
import Tensor

/// Mirrors diffusers' TemporalResnetBlock (models/resnet.py): GroupNorm over (C, frames, H, W)
/// + SiLU, Conv3d (3,1,1), time embedding added per frame and channel, GroupNorm + SiLU,
/// Conv3d, residual. Works on the flattened [batch*frames, C, H, W] layout.
struct TemporalResnetBlock {
    let norm1: GroupNorm
    let conv1: TemporalConv3d
    let timeEmbProj: LinearLayer?
    let norm2: GroupNorm
    let conv2: TemporalConv3d

    init(_ w: WeightScope, channels: Int, tembChannels: Int?, eps: Float) {
        norm1 = GroupNorm(w["norm1"], channels: channels, eps: eps)
        conv1 = TemporalConv3d(w["conv1"], in: channels, out: channels)
        timeEmbProj = tembChannels.map { LinearLayer(w["time_emb_proj"], in: $0, out: channels) }
        norm2 = GroupNorm(w["norm2"], channels: channels, eps: eps)
        conv2 = TemporalConv3d(w["conv2"], in: channels, out: channels)
    }

    func callAsFunction(_ x: Tensor, tembActivated: Tensor?, frames: Int) -> Tensor {
        var h = conv1(norm1.temporal(x, frames: frames, silu: true), frames: frames)
        if let proj = timeEmbProj, let t = tembActivated {
            addPerSampleChannelBias(&h, proj(t))
        }
        h = conv2(norm2.temporal(h, frames: frames, silu: true), frames: frames)
        addInPlace(&h, x)
        return h
    }
}
