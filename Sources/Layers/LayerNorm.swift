import Tensor

/// Mirrors torch.nn.LayerNorm over the last dimension (affine).
public struct LayerNorm {
    public let eps: Float
    public let weight: StoredTensor
    public let bias: StoredTensor

    public init(_ w: WeightScope, dim: Int, eps: Float = 1e-5) {
        self.eps = eps
        weight = w.tensor("weight", [dim])
        bias = w.tensor("bias", [dim])
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        layerNorm(x, weight: weight.widened, bias: bias.widened, eps: eps)
    }
}
