import Foundation

/// A checkpoint in one `.safetensors` file or sharded through a `*.safetensors.index.json`
/// (`{"metadata": {...}, "weight_map": {"tensor name": "shard file name"}}`, as transformers writes it).
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
                    throw SafeTensorsError(file: file.path, tensor: name, .invalidIndex("the index places it in this shard, which does not hold it"))
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

    private static func readIndex(_ path: String) throws -> [String: String] {
        struct Index: Decodable { let weight_map: [String: String] }
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw SafeTensorsError(file: path, .cannotOpen(error.localizedDescription))
        }
        do { return try JSONDecoder().decode(Index.self, from: data).weight_map } catch {
            throw SafeTensorsError(file: path, .invalidIndex("expected {\"weight_map\": {name: shard}}: \(error)"))
        }
    }
}
