import Tensor

/// Mirrors torch.nn.Conv3d with kernel (3, 1, 1) and padding (1, 0, 0), as diffusers'
/// TemporalResnetBlock and the SVD VAE's `time_conv_out` use it, applied to activations kept in
/// the flattened [batch*frames, C, H, W] layout (no permutes). Weight [O, C, 3, 1, 1].
public struct TemporalConv3d {
    public let weight: StoredTensor
    public let bias: StoredTensor?

    public init(_ w: WeightScope, in inChannels: Int, out outChannels: Int) {
        weight = w.tensor("weight", [outChannels, inChannels, 3, 1, 1])
        bias = w.tensor("bias", [outChannels])
    }

    public func callAsFunction(_ x: Tensor, frames: Int) -> Tensor {
        temporalConv3d(x, frames: frames, weight: weight.widened, bias: bias?.widened)
    }
}
