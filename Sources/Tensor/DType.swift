/// Element types of stored tensors, named as safetensors names them.
///
/// Activations are always `Float` (f32); weights keep their stored dtype and are widened when used.
public enum DType: String, Sendable, CaseIterable, Codable {
    case f32 = "F32"
    case f16 = "F16"
    case bf16 = "BF16"
    case f64 = "F64"
    case i8 = "I8"
    case u8 = "U8"
    case i16 = "I16"
    case i32 = "I32"
    case i64 = "I64"
    case bool = "BOOL"

    /// Bytes per element.
    public var size: Int {
        switch self {
        case .i8, .u8, .bool: return 1
        case .f16, .bf16, .i16: return 2
        case .f32, .i32: return 4
        case .f64, .i64: return 8
        }
    }

    /// Whether the runtime can widen this dtype to Float for computation.
    public var isFloatingPoint: Bool {
        switch self {
        case .f32, .f16, .bf16, .f64: return true
        default: return false
        }
    }
}
