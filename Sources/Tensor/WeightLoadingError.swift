/// Everything wrong with a checkpoint against the model built from its config, listed at once.
public struct WeightLoadingError: Error, CustomStringConvertible, Equatable {
    public struct Misshapen: Equatable, Sendable {
        public let key: String
        public let expected: [Int]
        public let found: [Int]
    }

    public let checkpoint: String
    public var missing: [String] = []
    public var unexpected: [String] = []
    public var misshapen: [Misshapen] = []
    /// Keys whose dtype cannot be used as floating point, or whose file could not be read.
    public var unreadable: [String] = []

    public init(checkpoint: String) { self.checkpoint = checkpoint }

    public var isEmpty: Bool { missing.isEmpty && unexpected.isEmpty && misshapen.isEmpty && unreadable.isEmpty }

    public var description: String {
        var lines = ["\(checkpoint) does not match the model its config describes:"]
        func list(_ title: String, _ items: [String]) {
            guard !items.isEmpty else { return }
            lines.append("  \(title) (\(items.count)):")
            lines += items.prefix(20).map { "    \($0)" }
            if items.count > 20 { lines.append("    ... and \(items.count - 20) more") }
        }
        list("missing tensors", missing)
        list("mis-shaped tensors", misshapen.map { "\($0.key): expected \($0.expected), found \($0.found)" })
        list("unreadable tensors", unreadable)
        list("unexpected tensors", unexpected)
        lines.append("Check that the folder holds the weights for this config (and the right --variant).")
        return lines.joined(separator: "\n")
    }
}
