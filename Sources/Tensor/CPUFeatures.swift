import Foundation

/// What the CPU offers the numeric kernels, read once per process.
public enum CPUFeatures {
    /// True when the CPU has native bf16 dot products (the `avx512_bf16` or `amx_bf16` flag
    /// in /proc/cpuinfo).
    public static let hasNativeBF16: Bool = {
        guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
              let flags = text.split(separator: "\n").first(where: { $0.hasPrefix("flags") }) else { return false }
        let set = Set(flags.split(separator: " ").map(String.init))
        return set.contains("avx512_bf16") || set.contains("amx_bf16")
    }()
}
