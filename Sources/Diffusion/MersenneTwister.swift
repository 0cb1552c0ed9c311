/// The 32-bit Mersenne Twister behind torch's CPU generator.
///
/// Mirrors `at::mt19937` (aten/src/ATen/core/MT19937RNGEngine.h): the state is seeded with the low 32 bits of
/// the 64-bit seed (`init_with_uint32`), so seeds `s` and `s + 2^32` give the same stream, exactly as in torch.
/// The output sequence is the standard mt19937 one (`std::mt19937`).
public struct MersenneTwister: Sendable {
    static let n = 624
    static let m = 397
    static let matrixA: UInt32 = 0x9908_b0df
    static let upperMask: UInt32 = 0x8000_0000
    static let lowerMask: UInt32 = 0x7fff_ffff

    private var state: [UInt32]
    /// Index of the next state word to temper; `n` means the state must be regenerated first.
    private var next: Int

    /// The seed the engine was created with (all 64 bits, as `torch.Generator.initial_seed()` reports it).
    public let seed: UInt64

    public init(seed: UInt64) {
        self.seed = seed
        var s = [UInt32](repeating: 0, count: Self.n)
        s[0] = UInt32(truncatingIfNeeded: seed)
        for j in 1..<Self.n {
            s[j] = 1_812_433_253 &* (s[j - 1] ^ (s[j - 1] >> 30)) &+ UInt32(j)
        }
        state = s
        next = Self.n
    }

    /// The next 32 random bits (`at::mt19937::operator()`, `CPUGeneratorImpl::random()`).
    @inline(__always)
    public mutating func nextUInt32() -> UInt32 {
        if next == Self.n { regenerate() }
        var y = state[next]
        next += 1
        y ^= y >> 11
        y ^= (y << 7) & 0x9d2c_5680
        y ^= (y << 15) & 0xefc6_0000
        y ^= y >> 18
        return y
    }

    /// 64 random bits from two draws, the first in the high half (`CPUGeneratorImpl::random64()`).
    @inline(__always)
    public mutating func nextUInt64() -> UInt64 {
        let hi = UInt64(nextUInt32())
        let lo = UInt64(nextUInt32())
        return (hi << 32) | lo
    }

    /// Mirrors `mt19937_engine::next_state()`.
    private mutating func regenerate() {
        let n = Self.n, m = Self.m
        state.withUnsafeMutableBufferPointer { p in
            @inline(__always) func twist(_ u: UInt32, _ v: UInt32) -> UInt32 {
                (((u & Self.upperMask) | (v & Self.lowerMask)) >> 1) ^ ((v & 1) != 0 ? Self.matrixA : 0)
            }
            for k in 0..<(n - m) { p[k] = p[k + m] ^ twist(p[k], p[k + 1]) }
            for k in (n - m)..<(n - 1) { p[k] = p[k + m - n] ^ twist(p[k], p[k + 1]) }
            p[n - 1] = p[m - 1] ^ twist(p[n - 1], p[0])
        }
        next = 0
    }
}
