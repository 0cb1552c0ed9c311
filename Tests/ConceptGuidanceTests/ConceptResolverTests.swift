import ConceptGuidance
import Foundation
import Tensor
import XCTest

/// Concept sources: the concept file round trip, text concepts through the tiny CLIP text encoder rescaled
/// to the image embedding's norm, image concepts as the mean of what the caller's encoder returns, names
/// picked from a file, and the errors a user can act on.
final class ConceptResolverTests: XCTestCase {
    var directory: String!

    override func setUpWithError() throws {
        directory = NSTemporaryDirectory() + "concepts-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: directory)
    }

    func testConceptFileRoundTrip() throws {
        let path = directory + "/c.safetensors"
        let entries = [ConceptFile.Entry(name: "smoke", vector: Tensor(shape: [4], scalars: [1, -2, 3, 0.5]), source: "images:a.png"),
                       ConceptFile.Entry(name: "cat", vector: Tensor(shape: [4], scalars: [0, 1, 0, 0]), source: "text:a cat")]
        try ConceptFile.write(entries, to: path)
        XCTAssertEqual(try ConceptFile.read(path), entries.sorted { $0.name < $1.name })
    }

    func testResolveSourcesInOrder() throws {
        let path = directory + "/c.safetensors"
        try ConceptFile.write([ConceptFile.Entry(name: "smoke", vector: Tensor(shape: [32], repeating: 0.25), source: "images:x.png"),
                               ConceptFile.Entry(name: "dog", vector: Tensor(shape: [32], repeating: 2), source: "text:a dog")], to: path)
        var s = ConceptGuidanceSettings()
        s.avoidImages = ["a.png", "b.png"]
        s.avoidTexts = ["a photo of a cat"]
        s.textEncoderPath = encodersFixture("clip-text")
        s.conceptFile = path
        s.avoidNames = ["smoke", "dog"]
        XCTAssertEqual(s.effectivePreset, .medium, "a concept without --guidance selects medium")
        let image = Tensor(shape: [1, 1, 32], scalars: (0..<32).map { Float($0) / 10 })
        var asked: [String] = []
        let concepts = try ConceptResolver.resolve(s, imageEmbedding: image) { paths in
            asked = paths
            return ConceptResolver.mean([Tensor(shape: [1, 1, 32], repeating: 1), Tensor(shape: [1, 1, 32], repeating: 3)])
        }
        XCTAssertEqual(asked, ["a.png", "b.png"])
        XCTAssertEqual(concepts.map(\.name), ["image:a.png+b.png", "text:a photo of a cat", "smoke", "dog"])
        XCTAssertEqual(concepts[0].embedding.scalars, [Float](repeating: 2, count: 32))
        XCTAssertTrue(concepts.allSatisfy { $0.embedding.shape == [1, 1, 32] })
        // Text (from the encoder or from a file) is rescaled to the image embedding's norm; image vectors are not.
        let norm = ConceptResolver.l2Norm(image)
        XCTAssertEqual(ConceptResolver.l2Norm(concepts[1].embedding), norm, accuracy: 1e-4 * norm)
        XCTAssertEqual(ConceptResolver.l2Norm(concepts[3].embedding), norm, accuracy: 1e-4 * norm)
        XCTAssertEqual(concepts[2].embedding.scalars, [Float](repeating: 0.25, count: 32))
        // The text concept points where the text encoder's embedding points.
        let raw = try TextConceptEncoder(folder: encodersFixture("clip-text")).embed("a photo of a cat")
        XCTAssertEqual(ConceptResolver.cosine(raw, concepts[1].embedding), 1, accuracy: 1e-6)
    }

    func testErrors() throws {
        let image = Tensor(shape: [1, 1, 32], repeating: 1)
        func resolveError(_ s: ConceptGuidanceSettings) -> ConceptGuidanceError? {
            do {
                _ = try ConceptResolver.resolve(s, imageEmbedding: image) { _ in image }
                return nil
            } catch { return error as? ConceptGuidanceError }
        }
        var s = ConceptGuidanceSettings()
        s.preset = .strong
        XCTAssertEqual(resolveError(s), .noConcept(preset: "strong"))
        s.avoidTexts = ["x"]
        XCTAssertEqual(resolveError(s), .textEncoderRequired)
        s.preset = .off
        XCTAssertNil(resolveError(s), "--guidance off ignores the concept flags")
        var t = ConceptGuidanceSettings()
        t.avoidNames = ["x"]
        XCTAssertEqual(resolveError(t), .conceptFileRequired)
        let path = directory + "/c.safetensors"
        try ConceptFile.write([ConceptFile.Entry(name: "a", vector: Tensor(shape: [16], repeating: 1), source: "")], to: path)
        t.conceptFile = path
        XCTAssertEqual(resolveError(t), .unknownConcept(name: "x", file: path, available: ["a"]))
        t.avoidNames = ["a"]
        XCTAssertEqual(resolveError(t), .dimensionMismatch(source: "a", found: 16, expected: 32))
        XCTAssertTrue(resolveError(t)!.description.contains("another image encoder"))
        var u = ConceptGuidanceSettings()
        u.avoidImages = ["a.png"]
        u.momentumBeta = 2
        XCTAssertEqual(resolveError(u), .invalidSetting("--sld-mom-beta must be between 0 and 1"))
    }

    func testOverridesApplyToThePreset() {
        var s = ConceptGuidanceSettings()
        s.preset = .strong
        s.warmupSteps = 2
        s.threshold = 0.5
        XCTAssertEqual(s.configuration, SLDConfiguration(guidanceScale: 2000, warmupSteps: 2, threshold: 0.5, momentumScale: 0.5, momentumBeta: 0.7))
        XCTAssertNil(s.with(preset: .off).configuration)
        XCTAssertNil(ConceptGuidanceSettings().configuration, "no flag: guidance off")
    }

    private func encodersFixture(_ name: String, file: StaticString = #filePath) -> String {
        URL(fileURLWithPath: "\(file)").deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("EncodersTests/Fixtures").appendingPathComponent(name).path
    }
}
