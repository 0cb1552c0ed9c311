/// The arithmetic used by matrix products, convolutions and attention.
///
/// - `f32`: operands and accumulation in f32 (the path that reproduces diffusers on CPU).
/// - `bf16`: operands rounded to bfloat16, products accumulated in f32 (what
///   `torch.autocast("cpu", dtype=torch.bfloat16)` does for matmul/conv). Norms, softmax
///   statistics, residual sums, embeddings and scheduler arithmetic stay in f32 either way.
///
/// The precision in force is a task-local value (`ComputePrecision.$current.withValue(.bf16) { ... }`):
/// a request sets it around its own work, so two requests in one process can use different ones.
/// Work handed to `Parallel` worker threads reads it on the calling thread and passes it on.
public enum ComputePrecision: String, Sendable, CaseIterable, Codable {
    case f32
    case bf16

    /// The precision of the calling task's ops (f32 unless a caller set it).
    @TaskLocal public static var current: ComputePrecision = .f32
}

/// What a user asks for: `auto` picks bf16 where bf16 products run faster than f32 ones
/// (`OneDNN.bf16OutrunsF32`: AMX, or avx512_bf16 on AMD, unless `ONEDNN_MAX_CPU_ISA` caps the ISA
/// below them), f32 elsewhere.
public enum PrecisionSetting: String, Sendable, CaseIterable, Codable {
    case auto
    case f32
    case bf16

    /// The precision this setting runs at on this machine.
    public func resolved() -> ComputePrecision {
        switch self {
        case .f32: return .f32
        case .bf16: return .bf16
        case .auto: return OneDNN.bf16OutrunsF32 ? .bf16 : .f32
        }
    }
}
