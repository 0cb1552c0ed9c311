import Foundation
import Tensor

/// One concept to steer away from.
public struct Concept: Sendable {
    public var name: String
    /// [1, 1, D], shaped like the image embedding.
    public var embedding: Tensor

    public init(name: String, embedding: Tensor) {
        self.name = name
        self.embedding = embedding
    }
}

/// Turns `ConceptGuidanceSettings` into concept embeddings in the image encoder's space.
///
/// Images go through the model's own image encoder (`encodeImages`, supplied by the caller that holds the
/// model: the mean embedding of the given files); texts through the CLIP text encoder, each rescaled to the
/// L2 norm of the request's image embedding (text and image embeddings of CLIP have different norms);
/// named vectors are read from the concept file (those made from text rescaled as texts are).
public enum ConceptResolver {
    public static func resolve(_ settings: ConceptGuidanceSettings, imageEmbedding: Tensor,
                               encodeImages: ([String]) throws -> Tensor) throws -> [Concept] {
        try settings.validate()
        let dimension = imageEmbedding.count
        var concepts: [Concept] = []
        func add(_ name: String, _ vector: Tensor) throws {
            guard vector.count == dimension else {
                throw ConceptGuidanceError.dimensionMismatch(source: name, found: vector.count, expected: dimension)
            }
            concepts.append(Concept(name: name, embedding: vector.reshaped([1, 1, dimension])))
        }
        if !settings.avoidImages.isEmpty {
            let name = settings.avoidImages.map { ($0 as NSString).lastPathComponent }.joined(separator: "+")
            try add("image:\(name)", encodeImages(settings.avoidImages))
        }
        if !settings.avoidTexts.isEmpty, let folder = settings.textEncoderPath {
            let encoder = try TextConceptEncoder(folder: folder)
            let target = l2Norm(imageEmbedding)
            for text in settings.avoidTexts {
                try add("text:\(text)", rescaled(encoder.embed(text), toNorm: target))
            }
        }
        if let path = settings.conceptFile {
            let entries = try ConceptFile.read(path)
            let names = settings.avoidNames.isEmpty ? entries.map(\.name) : settings.avoidNames
            for name in names {
                guard let e = entries.first(where: { $0.name == name }) else {
                    throw ConceptGuidanceError.unknownConcept(name: name, file: path, available: entries.map(\.name))
                }
                // Text vectors are stored as the text encoder gave them; rescaled here like --avoid-concept.
                try add(name, e.source.hasPrefix("text:") ? rescaled(e.vector, toNorm: l2Norm(imageEmbedding)) : e.vector)
            }
        }
        return concepts
    }

    public static func l2Norm(_ x: Tensor) -> Double {
        x.withUnsafeBufferPointer { p in p.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot() }
    }

    /// x scaled so that its L2 norm is `norm` (unchanged when x is zero).
    public static func rescaled(_ x: Tensor, toNorm norm: Double) -> Tensor {
        let n = l2Norm(x)
        return n > 0 ? scale(x, by: Float(norm / n)) : x
    }

    /// Cosine similarity of two vectors of the same size.
    public static func cosine(_ a: Tensor, _ b: Tensor) -> Double {
        precondition(a.count == b.count, "cosine of vectors of different sizes")
        let x = a.scalars, y = b.scalars
        var dot = 0.0
        for i in 0..<x.count { dot += Double(x[i]) * Double(y[i]) }
        let d = l2Norm(a) * l2Norm(b)
        return d > 0 ? dot / d : 0
    }

    /// Mean of equally shaped tensors.
    public static func mean(_ tensors: [Tensor]) -> Tensor {
        precondition(!tensors.isEmpty, "mean of no tensors")
        var sum = tensors[0]
        for t in tensors.dropFirst() { addInPlace(&sum, t) }
        return scale(sum, by: 1 / Float(tensors.count))
    }
}
