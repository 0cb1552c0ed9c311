import Tensor

/// A linear layer over checkpoint weights (mirrors torch.nn.Linear): y = x W^T + b, weight [out, in] (`<key>.weight`, `<key>.bias`).
/// The weight stays in its stored dtype and is widened to f32 for each call.
public struct LinearLayer {
    public let weight: StoredTensor
    public let bias: StoredTensor?
    public var inFeatures: Int { weight.shape[1] }
    public var outFeatures: Int { weight.shape[0] }

    public init(_ w: WeightScope, in inFeatures: Int, out outFeatures: Int, bias: Bool = true) {
        weight = w.tensor("weight", [outFeatures, inFeatures])
        self.bias = bias ? w.tensor("bias", [outFeatures]) : nil
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        linear(x, weight: weight.widened, bias: bias?.widened)
    }

    /// y += self(x) in place (residual connections; see `linearAdd`).
    public func add(_ x: Tensor, to y: inout Tensor) {
        linearAdd(x, weight: weight.widened, bias: bias?.widened, to: &y)
    }
}

extension StoredTensor {
    /// The weight as f32. Weight sources hand out floating-point tensors only, so this cannot fail.
    public var widened: Tensor {
        do { return try floatTensor() } catch { preconditionFailure("weight source handed out a non-float tensor: \(error)") }
    }
}
