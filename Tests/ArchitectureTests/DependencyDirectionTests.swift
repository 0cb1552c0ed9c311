import Foundation
import XCTest

/// The architecture's rules (docs/ARCHITECTURE.md), checked on the sources themselves: the model
/// never knows about the layers around it, and the moderation layer never reaches into the model.
final class DependencyDirectionTests: XCTestCase {
    let sources = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Sources")

    func imports(of module: String) throws -> Set<String> {
        var found = Set<String>()
        let dir = sources.appendingPathComponent(module)
        let files = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".swift") }
        XCTAssertFalse(files.isEmpty, "no sources in \(module)")
        for file in files {
            let text = try String(contentsOf: dir.appendingPathComponent(file), encoding: .utf8)
            for line in text.split(separator: "\n") {
                let words = line.split(separator: " ")
                if let i = words.firstIndex(of: "import"), i + 1 < words.count, words[..<i].allSatisfy({ $0.hasPrefix("@") }) {
                    found.insert(String(words[i + 1]))
                }
            }
        }
        return found
    }

    func testSVDKnowsNothingOfModerationOrGuidance() throws {
        let svd = try imports(of: "SVD")
        XCTAssertFalse(svd.contains("Moderation"))
        XCTAssertFalse(svd.contains("ConceptGuidance"))
    }

    func testModerationKnowsNothingOfTheModel() throws {
        let moderation = try imports(of: "Moderation")
        XCTAssertFalse(moderation.contains("SVD"))
        XCTAssertFalse(moderation.contains("Diffusion"))
    }

    func testPackageManifestAgrees() throws {
        let manifest = try String(contentsOf: sources.deletingLastPathComponent().appendingPathComponent("Package.swift"), encoding: .utf8)
        let moderationLine = manifest.split(separator: "\n").first { $0.contains(".target(name: \"Moderation\"") }!
        XCTAssertFalse(moderationLine.contains("\"SVD\""))
        XCTAssertFalse(moderationLine.contains("\"Diffusion\""))
        let svdLine = manifest.split(separator: "\n").first { $0.contains(".target(name: \"SVD\"") }!
        XCTAssertFalse(svdLine.contains("Moderation"))
        XCTAssertFalse(svdLine.contains("ConceptGuidance"))
    }
}
