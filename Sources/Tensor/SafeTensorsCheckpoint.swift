import Foundation

/// A checkpoint in one `.safetensors` file or sharded through a `*.safetensors.index.json`
/// (`{"metadata": {...}, "weight_map": {"tensor name": "shard file name"}}`, as transformers'
/// `save_pretrained` and huggingface_hub's `split_state_dict_into_shards_factory` write it).
///
/// Mirrors transformers' `load_sharded_checkpoint`: shards are named relative to the index's
/// folder and opened once each; unlike it, every shard is validated up front and the index must
/// place each tensor in a shard that holds it (`.notInShard`). Shard names with a `/` are refused
/// (no escaping the folder). Tensors a shard holds but the index does not list are not exposed.
public final class SafeTensorsCheckpoint: @unchecked Sendable {
    public let path: String
    /// Every shard, each opened once.
    public let files: [SafeTensorsFile]
    private let fileForName: [String: SafeTensorsFile]

    public init(path: String) throws {
        self.path = path
        if path.hasSuffix(".index.json") {
            let weightMap = try Self.readIndex(path)
            let folder = (path as NSString).deletingLastPathComponent
            var opened: [String: SafeTensorsFile] = [:]
            var byName: [String: SafeTensorsFile] = [:]
            for (name, shard) in weightMap.sorted(by: { $0.key < $1.key }) {
                guard !shard.contains("/") else {
                    throw SafeTensorsError(file: path, tensor: name, .invalidIndex("shard '\(shard)' must be a file name in the same folder"))
                }
                let file = try opened[shard] ?? SafeTensorsFile(path: (folder as NSString).appendingPathComponent(shard))
                opened[shard] = file
                guard file.entries[name] != nil else {
                    throw SafeTensorsError(file: file.path, tensor: name, .notInShard(index: path))
                }
                byName[name] = file
            }
            files = opened.keys.sorted().map { opened[$0]! }
            fileForName = byName
        } else {
            let file = try SafeTensorsFile(path: path)
            files = [file]
            fileForName = Dictionary(uniqueKeysWithValues: file.entries.keys.map { ($0, file) })
        }
    }

    /// Every tensor name, sorted.
    public var names: [String] { fileForName.keys.sorted() }

    public func entry(_ name: String) -> SafeTensorsFile.Entry? { fileForName[name]?.entries[name] }

    public func tensor(_ name: String) throws -> StoredTensor {
        guard let file = fileForName[name] else { throw SafeTensorsError(file: path, tensor: name, .missingTensor) }
        return try file.tensor(name)
    }

    /// The `weight_map` of an index file, read with the safetensors header parser (strict JSON,
    /// duplicate tensor names refused) from a mapping (so a FIFO or directory is refused, not read).
    private static func readIndex(_ path: String) throws -> [String: String] {
        let file = try MappedFile(path: path)
        guard file.bytes.count <= SafeTensorsFile.maxHeaderBytes else {
            throw SafeTensorsError(file: path, .invalidIndex("\(file.bytes.count) bytes is larger than any index should be"))
        }
        let root: HeaderJSON
        do { root = try HeaderParser.parse(file.bytes) } catch let failure as HeaderParser.Failure {
            throw SafeTensorsError(file: path, .invalidIndex("not valid JSON: \(failure.message)"))
        }
        guard case .object(let members) = root,
              case .object(let map)? = members.last(where: { $0.key == "weight_map" })?.value else {
            throw SafeTensorsError(file: path, .invalidIndex("expected {\"weight_map\": {tensor name: shard file name}}"))
        }
        var result: [String: String] = [:]
        for (name, value) in map {
            guard case .string(let shard) = value else {
                throw SafeTensorsError(file: path, tensor: name, .invalidIndex("the shard must be a file name string, found \(value.kind)"))
            }
            guard result.updateValue(shard, forKey: name) == nil else {
                throw SafeTensorsError(file: path, tensor: name, .duplicateKey(name))
            }
        }
        return result
    }
}
