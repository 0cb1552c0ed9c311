import Foundation

/// Seeded random weights for a model built from its config alone (`--random-weights`):
/// benchmarks and tests of the real architecture without a download. Values are normal with a
/// fan-in scaled standard deviation (1/sqrt(fan_in), like PyTorch's default init in magnitude);
/// 1-D tensors (biases, norm scales) are drawn around zero or one, as their role suggests.
/// It also counts what it hands out, so a config's parameter count can be checked.
public final class RandomWeights: WeightSource {
    public let dtype: DType
    private var state: UInt64
    public private(set) var tensorCount = 0
    public private(set) var parameterCount = 0

    public init(seed: UInt64, dtype: DType = .f32) {
        self.dtype = dtype
        state = seed &* 0x9E37_79B9_7F4A_7C15 | 1
    }

    public func load(_ key: String, shape: [Int]) -> StoredTensor {
        tensorCount += 1
        let n = shape.reduce(1, *)
        parameterCount += n
        let fanIn = shape.count > 1 ? shape.dropFirst().reduce(1, *) : 1
        let isNormScale = shape.count == 1 && (key.contains("norm") && key.hasSuffix(".weight"))
        let std: Float = shape.count > 1 ? 1 / Float(fanIn).squareRoot() : 0.02
        var t = Tensor(uninitialized: shape)
        t.withUnsafeMutableBufferPointer { p in
            for i in 0..<n { p[i] = (isNormScale ? 1 : 0) + std * nextNormal() }
        }
        return StoredTensor(t, as: dtype)
    }

    /// xorshift64* uniform in (0, 1), Box-Muller normal (speed over quality: these are benchmark weights).
    private func nextUniform() -> Float {
        state ^= state >> 12
        state ^= state << 25
        state ^= state >> 27
        let bits = (state &* 0x2545_F491_4F6C_DD1D) >> 40
        return (Float(bits) + 0.5) / Float(1 << 24)
    }

    private func nextNormal() -> Float {
        let u1 = nextUniform(), u2 = nextUniform()
        return (-2 * log(u1)).squareRoot() * cos(2 * .pi * u2)
    }
}
