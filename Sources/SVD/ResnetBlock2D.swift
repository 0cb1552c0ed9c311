import Layers
import Tensor

/// Mirrors diffusers' ResnetBlock2D (models/resnet.py) as SVD configures it: GroupNorm(32) + SiLU,
/// conv 3x3, time embedding projected and added per channel, GroupNorm + SiLU, conv 3x3, a 1x1
/// `conv_shortcut` when the channel count changes, output_scale_factor 1.
struct ResnetBlock2D {
    let norm1: GroupNorm
    let conv1: Conv2d
    let timeEmbProj: LinearLayer?
    let norm2: GroupNorm
    let conv2: Conv2d
    let convShortcut: Conv2d?

    init(_ w: WeightScope, in inChannels: Int, out outChannels: Int, tembChannels: Int?, eps: Float) {
        norm1 = GroupNorm(w["norm1"], channels: inChannels, eps: eps)
        conv1 = Conv2d(w["conv1"], in: inChannels, out: outChannels, kernel: 3, padding: 1)
        timeEmbProj = tembChannels.map { LinearLayer(w["time_emb_proj"], in: $0, out: outChannels) }
        norm2 = GroupNorm(w["norm2"], channels: outChannels, eps: eps)
        conv2 = Conv2d(w["conv2"], in: outChannels, out: outChannels, kernel: 3, padding: 1)
        convShortcut = inChannels != outChannels ? Conv2d(w["conv_shortcut"], in: inChannels, out: outChannels, kernel: 1) : nil
    }

    /// x [N, C, H, W]; `tembActivated` = SiLU(temb) [N, T], shared by the blocks of one forward.
    /// The shortcut is taken first, so that when the caller gives `x` up (`consume`) and the block
    /// changes the channel count, `norm1` can write over `x` instead of beside it.
    func callAsFunction(_ x: consuming Tensor, tembActivated: Tensor?) -> Tensor {
        let residual = convShortcut.map { $0(x) } ?? copy x
        var h = conv1(norm1(consume x, silu: true))
        if let proj = timeEmbProj, let t = tembActivated {
            addPerSampleChannelBias(&h, proj(t))
        }
        h = conv2(norm2(consume h, silu: true))
        addInPlace(&h, residual)
        return h
    }
}
