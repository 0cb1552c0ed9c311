/// Supplies a model's weights by checkpoint key (for example `down_blocks.1.resnets.0.conv1.weight`).
///
/// Model code asks for every tensor it needs with the shape it expects; the source answers with
/// the stored tensor, or records what is wrong and answers with a zero placeholder, so that one
/// pass over the model finds every missing, mis-shaped or unexpected tensor (see `WeightLoadingError`).
public protocol WeightSource: AnyObject {
    func load(_ key: String, shape: [Int]) -> StoredTensor
}

/// A view of a `WeightSource` under a key prefix, walked with the checkpoint's own names:
/// `weights["down_blocks"][1]["resnets"][0]["conv1"]` reads `down_blocks.1.resnets.0.conv1.*`.
public struct WeightScope {
    public let source: WeightSource
    public let prefix: String

    public init(_ source: WeightSource, prefix: String = "") {
        self.source = source
        self.prefix = prefix
    }

    public subscript(_ name: String) -> WeightScope {
        WeightScope(source, prefix: prefix.isEmpty ? name : "\(prefix).\(name)")
    }

    public subscript(_ index: Int) -> WeightScope { self[String(index)] }

    /// The tensor `prefix.name` with the expected shape.
    public func tensor(_ name: String, _ shape: [Int]) -> StoredTensor {
        source.load(prefix.isEmpty ? name : "\(prefix).\(name)", shape: shape)
    }
}
