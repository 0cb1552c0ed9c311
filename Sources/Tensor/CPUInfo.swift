import Foundation

/// What the kernel says about the first CPU in `/proc/cpuinfo`: its vendor and its instruction-set
/// flags (only the sets the OS has enabled, so an AVX-512 flag here is usable).
public struct CPUInfo: Sendable {
    /// The `name : value` lines of the first CPU listed.
    public let fields: [String: String]

    /// This machine's CPU.
    public static let current = CPUInfo(contentsOf: "/proc/cpuinfo")

    /// Reads a cpuinfo file; a file that cannot be read gives no fields.
    public init(contentsOf path: String) {
        var fields: [String: String] = [:]
        let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
        // CPUs are blocks separated by a blank line; only the first is read.
        let firstCPU = text.range(of: "\n\n").map { text[..<$0.lowerBound] } ?? text[...]
        for line in firstCPU.split(separator: "\n") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let name = line[..<colon].trimmingCharacters(in: .whitespaces)
            fields[name] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        self.fields = fields
    }

    /// "GenuineIntel", "AuthenticAMD", ... or "unknown".
    public var vendor: String { fields["vendor_id"] ?? "unknown" }

    /// Instruction-set flags ("avx2", "fma", "avx512f", "avx512_bf16", ...).
    public var flags: Set<String> { Set((fields["flags"] ?? "").split(separator: " ").map(String.init)) }
}
