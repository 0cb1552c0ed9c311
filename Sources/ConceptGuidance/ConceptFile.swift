import Foundation
import Tensor

/// A file of named concept vectors: a safetensors file with one f32 tensor [D] per concept, named after it,
/// and metadata `format` = `img2vid-concepts-1` plus `source.<name>` describing where each came from.
/// Written by `img2vid concepts export`, read by `--concept-file`.
public enum ConceptFile {
    public static let format = "img2vid-concepts-1"

    public struct Entry: Equatable, Sendable {
        public var name: String
        /// [D]
        public var vector: Tensor
        public var source: String

        public init(name: String, vector: Tensor, source: String) {
            self.name = name
            self.vector = vector
            self.source = source
        }

        public static func == (a: Entry, b: Entry) -> Bool {
            a.name == b.name && a.source == b.source && a.vector.shape == b.vector.shape && a.vector.scalars == b.vector.scalars
        }
    }

    public static func write(_ entries: [Entry], to path: String) throws {
        var tensors: [String: Tensor] = [:]
        var metadata = ["format": format]
        for e in entries {
            tensors[e.name] = e.vector.reshaped([e.vector.count])
            metadata["source.\(e.name)"] = e.source
        }
        do {
            try SafeTensorsWriter.write(floatTensors: tensors, metadata: metadata, to: path)
        } catch {
            throw ConceptGuidanceError.conceptFile(path: path, reason: "\(error)")
        }
    }

    /// Every entry, sorted by name.
    public static func read(_ path: String) throws -> [Entry] {
        let file: SafeTensorsFile
        do { file = try SafeTensorsFile(path: path) } catch {
            throw ConceptGuidanceError.conceptFile(path: path, reason: "\(error)")
        }
        return try file.names.sorted().map { name in
            let stored = try file.tensor(name)
            guard stored.shape.count == 1 || (stored.shape.count == 3 && stored.shape[0] == 1 && stored.shape[1] == 1),
                  let vector = try? stored.floatTensor() else {
                throw ConceptGuidanceError.conceptFile(path: path, reason: "'\(name)' is not a concept vector (shape \(stored.shape), dtype \(stored.dtype.rawValue))")
            }
            return Entry(name: name, vector: vector.reshaped([vector.count]), source: file.metadata["source.\(name)"] ?? "")
        }
    }
}
