import Tensor

/// Mirrors torch.nn.Conv2d (square kernel, groups 1, symmetric zero padding) on NCHW activations.
public struct Conv2d {
    public let weight: StoredTensor
    public let bias: StoredTensor?
    public let stride: Int
    public let padding: Int

    public init(_ w: WeightScope, in inChannels: Int, out outChannels: Int, kernel: Int,
                stride: Int = 1, padding: Int = 0, bias: Bool = true) {
        weight = w.tensor("weight", [outChannels, inChannels, kernel, kernel])
        self.bias = bias ? w.tensor("bias", [outChannels]) : nil
        self.stride = stride
        self.padding = padding
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        conv2d(x, weight: weight.widened, bias: bias?.widened, stride: stride, padding: padding)
    }
}
