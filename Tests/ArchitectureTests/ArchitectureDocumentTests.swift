import Foundation
import XCTest

/// docs/ARCHITECTURE.md is the source of the module rules: every module of Sources/ is in its
/// table, every `import` is one the table allows, and no file name stands in two modules.
final class ArchitectureDocumentTests: XCTestCase {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    let systemModules: Set<String> = ["Foundation", "Dispatch", "Glibc", "Darwin", "XCTest"]

    /// Module -> the modules it may import, from the first code block after "## Modules".
    func table() throws -> [String: Set<String>] {
        let text = try String(contentsOf: root.appendingPathComponent("docs/ARCHITECTURE.md"), encoding: .utf8)
        let section = try XCTUnwrap(text.range(of: "## Modules"), "docs/ARCHITECTURE.md has no Modules section")
        let rest = text[section.upperBound...]
        let open = try XCTUnwrap(rest.range(of: "```\n"))
        let close = try XCTUnwrap(rest[open.upperBound...].range(of: "```"))
        var allowed: [String: Set<String>] = [:]
        for line in rest[open.upperBound..<close.lowerBound].split(separator: "\n") {
            let parts = line.components(separatedBy: "<-")
            guard parts.count == 2 else { continue }
            let module = parts[0].trimmingCharacters(in: .whitespaces)
            // Dependencies run up to the first run of two spaces (the description follows).
            let deps = parts[1].trimmingCharacters(in: .whitespaces).components(separatedBy: "  ")[0]
            allowed[module] = Set(deps.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty })
        }
        return allowed
    }

    func imports(of module: String) throws -> Set<String> {
        let dir = root.appendingPathComponent("Sources/\(module)")
        var found = Set<String>()
        for file in try FileManager.default.contentsOfDirectory(atPath: dir.path) where file.hasSuffix(".swift") {
            for line in try String(contentsOf: dir.appendingPathComponent(file), encoding: .utf8).split(separator: "\n") {
                let words = line.split(separator: " ")
                if let i = words.firstIndex(of: "import"), i + 1 < words.count, words[..<i].allSatisfy({ $0.hasPrefix("@") }) {
                    found.insert(String(words[i + 1]))
                }
            }
        }
        return found
    }

    func testEveryModuleImportsOnlyWhatTheDocumentAllows() throws {
        let allowed = try table()
        let modules = try FileManager.default.contentsOfDirectory(atPath: root.appendingPathComponent("Sources").path).filter { !$0.hasPrefix(".") }
        XCTAssertFalse(modules.isEmpty)
        for module in modules {
            guard let may = allowed[module] else {
                XCTFail("Sources/\(module) is not in the module table of docs/ARCHITECTURE.md")
                continue
            }
            let extra = try imports(of: module).subtracting(may).subtracting(systemModules)
            XCTAssertEqual(extra, [], "\(module) imports \(extra.sorted()), which docs/ARCHITECTURE.md does not allow it")
        }
    }

    func testEveryTargetOfTheManifestIsInTheDocument() throws {
        let allowed = try table()
        let manifest = try String(contentsOf: root.appendingPathComponent("Package.swift"), encoding: .utf8)
        let pattern = try NSRegularExpression(pattern: #"\.(?:target|systemLibrary|executableTarget)\(\s*name: "(\w+)""#)
        let names = pattern.matches(in: manifest, range: NSRange(manifest.startIndex..., in: manifest)).map {
            String(manifest[Range($0.range(at: 1), in: manifest)!])
        }
        XCTAssertFalse(names.isEmpty)
        for name in names where !name.hasSuffix("TestSupport") {
            XCTAssertNotNil(allowed[name], "target \(name) is not in the module table of docs/ARCHITECTURE.md")
        }
    }

    /// One name per concept: a source file name appears in one module only.
    func testNoFileNameStandsInTwoModules() throws {
        let sources = root.appendingPathComponent("Sources")
        var owner: [String: String] = [:]
        for module in try FileManager.default.contentsOfDirectory(atPath: sources.path) {
            let files = (try? FileManager.default.contentsOfDirectory(atPath: sources.appendingPathComponent(module).path)) ?? []
            for file in files where file.hasSuffix(".swift") {
                if let other = owner[file] {
                    XCTFail("\(file) stands in both \(other) and \(module): name each after its role")
                }
                owner[file] = module
            }
        }
    }
}
