import Encoders
import Foundation
import Media
import Moderation
import XCTest

/// The semantic detector, with benign phrases only.
/// - On the committed random-weight bert-tiny folder (Tests/EncodersTests/Fixtures): the API contract
///   (one detection per label, sorted, scores equal to the best cosine computed by SentenceEmbedder to
///   1e-5, a text equal to a phrase scoring 1 to 1e-5, images ignored, typed set-up errors).
/// - On all-MiniLM-L6-v2 (Weights/moderation, fetched by Scripts/setup; skipped when absent): a prompt about
///   a storm scores higher on "weather" (rain phrases) than a prompt about cooking, by a margin.
final class SemanticDetectorTests: XCTestCase {
    let phrases = [
        "weather": ["heavy rain and thunder", "a storm with strong winds"],
        "cooking": ["baking bread in the oven", "a recipe for tomato soup"],
    ]

    func testContractOnTinyModel() throws {
        let folder = URL(fileURLWithPath: "\(#filePath)").deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("EncodersTests/Fixtures/bert-tiny").path
        let detector = try SemanticDetector(modelPath: folder, phrases: phrases)
        XCTAssertEqual(detector.name, "semantic")
        XCTAssertEqual(detector.labels, ["cooking", "weather"])

        let text = "A storm is rolling in over the harbour tonight."
        let found = try detector.detect(text: text)
        XCTAssertEqual(found.map(\.label), ["cooking", "weather"])
        let embedder = detector.embedder
        for detection in found {
            let best = phrases[detection.label]!.map { SentenceEmbedder.cosineSimilarity(embedder.embed(text), embedder.embed($0)) }.max()!
            XCTAssertEqual(detection.score, min(max(best, 0), 1), accuracy: 1e-5, detection.label)
            XCTAssertNil(detection.box)
        }
        // A phrase itself is the best possible match.
        let exact = try detector.detect(text: "a recipe for tomato soup")
        XCTAssertEqual(exact.first { $0.label == "cooking" }!.score, 1, accuracy: 1e-5)
        XCTAssertLessThan(exact.first { $0.label == "weather" }!.score, 0.999)
        XCTAssertEqual(try detector.detect(image: RGBImage(width: 4, height: 4, red: 10, green: 20, blue: 30)), [])
    }

    func testStormScoresAboveCookingOnMiniLM() throws {
        let folder = URL(fileURLWithPath: "\(#filePath)").deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Weights/moderation/all-MiniLM-L6-v2").path
        guard FileManager.default.fileExists(atPath: folder + "/model.safetensors") else {
            throw XCTSkip("all-MiniLM-L6-v2 is not at \(folder): run Scripts/fetch-minilm (Scripts/setup does)")
        }
        let detector = try SemanticDetector(modelPath: folder, phrases: phrases)
        func score(_ text: String, _ label: String) throws -> Float {
            try detector.detect(text: text).first { $0.label == label }!.score
        }
        let storm = try score("a thunderstorm rolls over the harbour with pouring rain", "weather")
        let cooking = try score("how to bake a crusty loaf of sourdough bread", "weather")
        XCTAssertGreaterThan(storm, 0.5)
        XCTAssertGreaterThan(storm, cooking + 0.3)
        // And the other way round on the cooking label.
        XCTAssertGreaterThan(try score("how to bake a crusty loaf of sourdough bread", "cooking"),
                             try score("a thunderstorm rolls over the harbour with pouring rain", "cooking") + 0.3)
    }

    func testSetupErrorsSayWhatToDo() {
        XCTAssertThrowsError(try SemanticDetector(modelPath: "/nonexistent/all-MiniLM-L6-v2", phrases: phrases)) { error in
            XCTAssertEqual(error as? SemanticDetector.SetupError, .modelMissing(path: "/nonexistent/all-MiniLM-L6-v2"))
            XCTAssertTrue("\(error)".contains("Scripts/fetch-minilm"), "\(error)")
            XCTAssertTrue("\(error)".contains("--policy none"), "\(error)")
        }
        let folder = URL(fileURLWithPath: "\(#filePath)").deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("EncodersTests/Fixtures/bert-tiny").path
        XCTAssertThrowsError(try SemanticDetector(modelPath: folder, phrases: ["weather": []])) { error in
            XCTAssertEqual(error as? SemanticDetector.SetupError, .noPhrases(label: "weather"))
        }
        XCTAssertThrowsError(try SemanticDetector(modelPath: folder, phrases: [:])) { error in
            XCTAssertEqual(error as? SemanticDetector.SetupError, .noPhrases(label: nil))
        }
    }
}
