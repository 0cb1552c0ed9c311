/// Weights read from a safetensors checkpoint, with every problem collected rather than thrown
/// at the first one. Call `finish()` after building the model: it reports missing, mis-shaped,
/// unreadable and unexpected (present but never asked for) tensors together.
public final class CheckpointWeights: WeightSource {
    public let checkpoint: SafeTensorsCheckpoint
    private var used: Set<String> = []
    private var problems: WeightLoadingError
    /// Keys the model may legitimately ignore (for example buffers that the reference recomputes).
    private let ignoredKeys: (String) -> Bool

    public init(_ checkpoint: SafeTensorsCheckpoint, ignoring ignoredKeys: @escaping (String) -> Bool = { _ in false }) {
        self.checkpoint = checkpoint
        self.ignoredKeys = ignoredKeys
        problems = WeightLoadingError(checkpoint: checkpoint.path)
    }

    public func load(_ key: String, shape: [Int]) -> StoredTensor {
        used.insert(key)
        guard let entry = checkpoint.entry(key) else {
            problems.missing.append(key)
            return placeholder(shape)
        }
        guard entry.shape == shape else {
            problems.misshapen.append(.init(key: key, expected: shape, found: entry.shape))
            return placeholder(shape)
        }
        guard entry.dtype.isFloatingPoint else {
            problems.unreadable.append("\(key) (dtype \(entry.dtype.rawValue))")
            return placeholder(shape)
        }
        do {
            return try checkpoint.tensor(key)
        } catch {
            // For example a file truncated or replaced after it was opened: say so, never read it.
            problems.unreadable.append("\(key) (\(error))")
            return placeholder(shape)
        }
    }

    /// Throws the collected problems, if any.
    public func finish() throws {
        var result = problems
        result.unexpected = checkpoint.names.filter { !used.contains($0) && !ignoredKeys($0) }
        result.missing.sort()
        if !result.isEmpty { throw result }
    }

    /// The number of float parameters handed out so far.
    public var parameterCount: Int { used.compactMap { checkpoint.entry($0)?.shape.reduce(1, *) }.reduce(0, +) }

    private func placeholder(_ shape: [Int]) -> StoredTensor { StoredTensor(Tensor(zeros: shape)) }
}
