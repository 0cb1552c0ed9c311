import Foundation
import XCTest

/// The task layer's rules (docs/ARCHITECTURE.md): `Server` never runs a model (it imports no
/// engine module), and in `Jobs` only the adapter `EngineTaskRunner` knows the engine's types.
final class ServerLayerTests: XCTestCase {
    let sources = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Sources")
    let engineModules: Set<String> = ["Img2Vid", "SVD", "Diffusion", "Tensor", "Layers", "Encoders", "ConceptGuidance"]

    func imports(_ file: URL) throws -> Set<String> {
        let text = try String(contentsOf: file, encoding: .utf8)
        return Set(text.split(separator: "\n").compactMap { line -> String? in
            let words = line.split(separator: " ")
            guard let i = words.firstIndex(of: "import"), i + 1 < words.count, words[..<i].allSatisfy({ $0.hasPrefix("@") }) else { return nil }
            return String(words[i + 1])
        })
    }

    func files(_ module: String) throws -> [URL] {
        let dir = sources.appendingPathComponent(module)
        return try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".swift") }.map { dir.appendingPathComponent($0) }
    }

    func testServerRunsNoModel() throws {
        for file in try files("Server") {
            XCTAssertTrue(try imports(file).isDisjoint(with: engineModules), "\(file.lastPathComponent) imports an engine module")
        }
    }

    func testOnlyTheAdapterKnowsTheEngine() throws {
        for file in try files("Jobs") where file.lastPathComponent != "EngineTaskRunner.swift" {
            XCTAssertTrue(try imports(file).isDisjoint(with: engineModules), "\(file.lastPathComponent) imports an engine module")
        }
    }
}
