import Foundation

/// Seeded random weights for a model built from its config alone (`--random-weights`):
/// benchmarks and tests of the real architecture without a download. Values are normal with a
/// fan-in scaled standard deviation (1/sqrt(fan_in), like PyTorch's default init in magnitude);
/// 1-D tensors are drawn around zero (biases) or one (norm scales).
/// It also counts what it hands out, so a config's parameter count can be checked.
///
/// Generation is threaded: each tensor is cut into fixed blocks, each block has its own
/// generator seeded from (seed, tensor number, block number), so the values do not depend on the
/// thread count.
public final class RandomWeights: WeightSource {
    public let dtype: DType
    public let seed: UInt64
    public private(set) var tensorCount = 0
    public private(set) var parameterCount = 0
    static let blockSize = 1 << 16

    public init(seed: UInt64, dtype: DType = .f32) {
        self.dtype = dtype
        self.seed = seed
    }

    public func load(_ key: String, shape: [Int]) -> StoredTensor {
        let tensorNumber = UInt64(tensorCount)
        tensorCount += 1
        let n = shape.reduce(1, *)
        parameterCount += n
        let fanIn = shape.count > 1 ? shape.dropFirst().reduce(1, *) : 1
        let mean: Float = shape.count == 1 && key.contains("norm") && key.hasSuffix(".weight") ? 1 : 0
        let std: Float = shape.count > 1 ? 1 / Float(fanIn).squareRoot() : 0.02
        var t = Tensor(uninitialized: shape)
        let blocks = (n + Self.blockSize - 1) / Self.blockSize
        let base = seed
        t.withUnsafeMutableBufferPointer { p in
            Parallel.forEach(blocks) { b in
                var rng = SplitMix64(state: base ^ (tensorNumber &* 0x9E37_79B9_7F4A_7C15) ^ (UInt64(b) &* 0xD1B5_4A32_D192_ED03))
                let end = min(n, (b + 1) * Self.blockSize)
                var i = b * Self.blockSize
                while i < end {
                    let (z0, z1) = rng.normalPair()
                    p[i] = mean + std * z0
                    if i + 1 < end { p[i + 1] = mean + std * z1 }
                    i += 2
                }
            }
        }
        return StoredTensor(t, as: dtype)
    }
}

/// SplitMix64 with Box-Muller normals: fast, seedable per block (benchmark weights, not statistics).
struct SplitMix64 {
    var state: UInt64

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Two independent standard normals.
    mutating func normalPair() -> (Float, Float) {
        let u1 = (Float(next() >> 40) + 0.5) / Float(1 << 24)
        let u2 = Float(next() >> 40) / Float(1 << 24)
        let r = (-2 * log(u1)).squareRoot()
        let theta = 2 * Float.pi * u2
        return (r * cos(theta), r * sin(theta))
    }
}
