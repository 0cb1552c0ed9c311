/// bfloat16 conversion: the upper 16 bits of an f32, rounded to nearest even (what
/// torch's `Tensor.to(torch.bfloat16)` and oneDNN's reorders do).
public enum BFloat16 {
    /// The bf16 bit pattern nearest to `x` (ties to even); NaN stays a quiet NaN.
    @inline(__always)
    public static func bits(_ x: Float) -> UInt16 {
        let b = x.bitPattern
        let rounded = UInt16(truncatingIfNeeded: (b &+ 0x7FFF &+ ((b >> 16) & 1)) >> 16)
        return (b & 0x7FFF_FFFF) > 0x7F80_0000 ? 0x7FC0 : rounded
    }

    /// `x` rounded to the nearest bf16 value, as an f32.
    @inline(__always)
    public static func rounded(_ x: Float) -> Float {
        Float(bitPattern: UInt32(bits(x)) << 16)
    }

    /// The f32 value of bf16 bits.
    @inline(__always)
    public static func float(_ bits: UInt16) -> Float {
        Float(bitPattern: UInt32(bits) << 16)
    }

    /// Packs a `rows x cols` f32 matrix with row stride `ld` into dense bf16.
    static func pack(_ src: UnsafePointer<Float>, rows: Int, cols: Int, ld: Int, into dst: UnsafeMutablePointer<UInt16>) {
        Parallel.forRanges(rows, minChunk: max(1, 65_536 / max(cols, 1))) { range in
            for r in range {
                let s = src + r * ld, d = dst + r * cols
                for j in 0..<cols { d[j] = bits(s[j]) }
            }
        }
    }

    /// Copies a `rows x cols` f32 matrix with row stride `ld` into a dense one, each value rounded to bf16.
    static func round(_ src: UnsafePointer<Float>, rows: Int, cols: Int, ld: Int, into dst: UnsafeMutablePointer<Float>) {
        Parallel.forRanges(rows, minChunk: max(1, 65_536 / max(cols, 1))) { range in
            for r in range {
                let s = src + r * ld, d = dst + r * cols
                for j in 0..<cols { d[j] = rounded(s[j]) }
            }
        }
    }
}
