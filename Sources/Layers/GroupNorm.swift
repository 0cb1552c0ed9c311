import Tensor

/// Mirrors torch.nn.GroupNorm (affine), optionally followed by SiLU in the same pass (every
/// diffusers resnet applies norm then SiLU). `temporal(_:frames:)` normalises a
/// [batch*frames, C, H, W] tensor as if it were (batch, C, frames, H, W), as Conv3d blocks do.
public struct GroupNorm {
    public let groups: Int
    public let eps: Float
    public let weight: StoredTensor
    public let bias: StoredTensor

    public init(_ w: WeightScope, groups: Int = 32, channels: Int, eps: Float) {
        self.groups = groups
        self.eps = eps
        weight = w.tensor("weight", [channels])
        bias = w.tensor("bias", [channels])
    }

    /// Normalises in `x`'s memory when the caller gives `x` up (`consume`) and nothing else holds it.
    public func callAsFunction(_ x: consuming Tensor, silu: Bool = false) -> Tensor {
        groupNorm(consume x, groups: groups, weight: weight.widened, bias: bias.widened, eps: eps, silu: silu)
    }

    public func temporal(_ x: consuming Tensor, frames: Int, silu: Bool = false) -> Tensor {
        temporalGroupNorm(consume x, frames: frames, groups: groups, weight: weight.widened, bias: bias.widened, eps: eps, silu: silu)
    }
}
