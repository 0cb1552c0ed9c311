/// Conversions between the stored floating-point dtypes and `Float`.
///
/// f16 -> f32 and bf16 -> f32 are exact; f32 -> f16/bf16 rounds to nearest even (as torch's `.to()`).
public enum Widening {
    /// Widens IEEE half-precision values.
    @inlinable
    public static func f16ToF32(_ src: UnsafePointer<UInt16>, _ dst: UnsafeMutablePointer<Float>, count: Int) {
        Parallel.forRanges(count, minChunk: 1 << 16) { r in
            for i in r { dst[i] = Float(Float16(bitPattern: src[i])) }
        }
    }

    /// Widens bfloat16 values (the top 16 bits of an f32).
    @inlinable
    public static func bf16ToF32(_ src: UnsafePointer<UInt16>, _ dst: UnsafeMutablePointer<Float>, count: Int) {
        Parallel.forRanges(count, minChunk: 1 << 16) { r in
            for i in r { dst[i] = Float(bitPattern: UInt32(src[i]) << 16) }
        }
    }

    @inlinable
    public static func f32ToF16(_ value: Float) -> UInt16 { Float16(value).bitPattern }

    /// Rounds to nearest even, keeping NaN a NaN.
    @inlinable
    public static func f32ToBF16(_ value: Float) -> UInt16 {
        if value.isNaN { return 0x7FC0 }
        let bits = value.bitPattern
        let rounding = UInt32(0x7FFF) + ((bits >> 16) & 1)
        return UInt16(truncatingIfNeeded: (bits &+ rounding) >> 16)
    }
}
