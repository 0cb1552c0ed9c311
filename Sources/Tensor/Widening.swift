/// Conversions between the stored floating-point dtypes and `Float`, bit-identical to torch on CPU
/// (checked exhaustively for f16 and on ties, subnormals, overflow and NaN payloads in WideningTests).
///
/// f16 -> f32 and bf16 -> f32 are exact (as torch's `.float()`: f16 signalling NaNs come back
/// quiet with their payload); f32 -> f16/bf16 rounds to nearest even (as torch's `.half()` and
/// `.to(torch.bfloat16)`).
public enum Widening {
    /// Widens IEEE half-precision values.
    @inlinable
    public static func f16ToF32(_ src: UnsafePointer<UInt16>, _ dst: UnsafeMutablePointer<Float>, count: Int) {
        OpProfile.measure(.widen) { Parallel.forRanges(count, minChunk: 1 << 16) { r in
            for i in r { dst[i] = Float(Float16(bitPattern: src[i])) }
        } }
    }

    /// Widens bfloat16 values (the top 16 bits of an f32).
    @inlinable
    public static func bf16ToF32(_ src: UnsafePointer<UInt16>, _ dst: UnsafeMutablePointer<Float>, count: Int) {
        OpProfile.measure(.widen) { Parallel.forRanges(count, minChunk: 1 << 16) { r in
            for i in r { dst[i] = Float(bitPattern: UInt32(src[i]) << 16) }
        } }
    }

    /// Rounds to nearest even (IEEE `vcvtps2ph` semantics, as torch's `.half()`): overflow gives
    /// infinity, NaN payloads are kept and quieted.
    @inlinable
    public static func f32ToF16(_ value: Float) -> UInt16 { Float16(value).bitPattern }

    /// Rounds to nearest even (c10's `round_to_nearest_even`). Every NaN becomes 0xFFFF, as torch's
    /// CPU `.to(torch.bfloat16)` writes it (its vectorised kernel; the scalar `c10::BFloat16`
    /// constructor would give 0x7FC0). Values that round past the largest bf16 become infinity.
    @inlinable
    public static func f32ToBF16(_ value: Float) -> UInt16 {
        if value.isNaN { return 0xFFFF }
        let bits = value.bitPattern
        let rounding = UInt32(0x7FFF) + ((bits >> 16) & 1)
        return UInt16(truncatingIfNeeded: (bits &+ rounding) >> 16)
    }
}
