import Foundation
import Media
import XCTest

/// The concept-guidance flags through the real `img2vid` binary on the tiny random-weight pipeline:
/// `--guidance off` is bit-identical to no guidance flag (PNG bytes of every frame), guidance changes the
/// frames, usage errors exit 2, `compare --json` reports every variant, `concepts export/list` round-trip.
final class ConceptGuidanceCLITests: XCTestCase {
    var directory: String!
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    var pipeline: String { root.appendingPathComponent("Tests/SVDTests/Fixtures/tiny/pipeline").path }
    var input: String { root.appendingPathComponent("Tests/ConceptGuidanceTests/Fixtures/sld/input.png").path }
    var concept: String { root.appendingPathComponent("Tests/ConceptGuidanceTests/Fixtures/sld/concept.png").path }
    var textEncoder: String { root.appendingPathComponent("Tests/EncodersTests/Fixtures/clip-text").path }
    var small: [String] {
        ["--model", pipeline, "--variant", "fp16", "--steps", "3", "--seed", "5", "--width", "32", "--height", "32", "--num-frames", "4"]
    }

    override func setUpWithError() throws {
        directory = NSTemporaryDirectory() + "sld-cli-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// The img2vid executable beside the test bundle (swift build puts every product in one folder).
    func binary() throws -> URL {
        var dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        if let bundle = Bundle.allBundles.first(where: { $0.bundlePath.hasSuffix(".xctest") }) {
            dir = URL(fileURLWithPath: bundle.bundlePath).deletingLastPathComponent()
        }
        let url = dir.appendingPathComponent("img2vid")
        guard FileManager.default.isExecutableFile(atPath: url.path) else {
            throw XCTSkip("img2vid binary not built beside the tests at \(url.path); run swift build first")
        }
        return url
    }

    @discardableResult
    func run(_ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
        let process = Process()
        process.executableURL = try binary()
        process.arguments = arguments
        var environment = ProcessInfo.processInfo.environment
        environment["IMG2VID_POLICY"] = "none"
        process.environment = environment
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let o = out.fileHandleForReading.readDataToEndOfFile(), e = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
    }

    func frames(_ name: String) throws -> [Data] {
        let dir = directory + "/" + name
        return try FileManager.default.contentsOfDirectory(atPath: dir).sorted().map { try Data(contentsOf: URL(fileURLWithPath: dir + "/" + $0)) }
    }

    func testGuidanceOffIsBitIdenticalAndGuidanceChangesFrames() throws {
        func generate(_ name: String, _ extra: [String]) throws {
            let r = try run(["generate", "--image", input, "--output", "\(directory!)/\(name).mp4", "--save-frames", "\(directory!)/\(name)", "--quiet"] + small + extra)
            XCTAssertEqual(r.status, 0, r.stderr)
        }
        try generate("plain", [])
        try generate("off", ["--guidance", "off", "--avoid-image", concept])
        try generate("strong", ["--guidance", "strong", "--sld-warmup-steps", "0", "--avoid-image", concept])
        let plain = try frames("plain"), off = try frames("off"), strong = try frames("strong")
        XCTAssertEqual(plain.count, 4)
        XCTAssertEqual(plain, off, "--guidance off must be bit-identical to no guidance flag")
        XCTAssertEqual(strong.count, 4)
        for f in 1..<4 { XCTAssertNotEqual(plain[f], strong[f], "guidance changes frame \(f)") }
    }

    func testUsageErrors() throws {
        let out = "\(directory!)/x.mp4"
        var r = try run(["generate", "--image", input, "--output", out, "--guidance", "medium"] + small)
        XCTAssertEqual(r.status, 2)
        XCTAssertTrue(r.stderr.contains("needs a concept"), r.stderr)
        r = try run(["generate", "--image", input, "--output", out, "--avoid-concept", "a cat"] + small)
        XCTAssertEqual(r.status, 2)
        XCTAssertTrue(r.stderr.contains("--text-encoder"), r.stderr)
        r = try run(["generate", "--image", input, "--output", out, "--avoid", "smoke"] + small)
        XCTAssertEqual(r.status, 2)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out))
    }

    func testCompareJSON() throws {
        let out = "\(directory!)/cmp.mp4"
        let r = try run(["compare", "--image", input, "--output", out, "--guidance", "off,strong", "--avoid-image", concept,
                         "--avoid-concept", "a red bicycle", "--text-encoder", textEncoder, "--sld-warmup-steps", "1", "--json", "--quiet"] + small)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(FileManager.default.fileExists(atPath: out))
        let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(json["status"] as? String, "ok")
        XCTAssertEqual((json["concepts"] as? [String])?.count, 2)
        let variants = try XCTUnwrap(json["variants"] as? [[String: Any]])
        XCTAssertEqual(variants.map { $0["guidance"] as? String }, ["off", "strong"])
        XCTAssertEqual((variants[0]["steps"] as? [Any])?.count, 0)
        let steps = try XCTUnwrap(variants[1]["steps"] as? [[String: Any]])
        XCTAssertEqual(steps.count, 3)
        XCTAssertEqual(steps.map { $0["applied"] as? Bool }, [false, true, true])
        for s in steps {
            let active = try XCTUnwrap(s["active_fraction"] as? Double)
            XCTAssertTrue(active > 0 && active <= 1)
            XCTAssertGreaterThan(try XCTUnwrap(s["gamma_norm"] as? Double), 0)
        }
        for v in variants {
            let cosines = try XCTUnwrap(v["frame_concept_cosine"] as? [[Double]])
            XCTAssertEqual(cosines.count, 4)
            XCTAssertTrue(cosines.allSatisfy { $0.count == 2 && $0.allSatisfy { abs($0) <= 1 + 1e-9 } })
            XCTAssertEqual((v["step_seconds"] as? [Double])?.count, 3)
        }
        XCTAssertNotEqual(variants[0]["frame_concept_cosine"] as? [[Double]], variants[1]["frame_concept_cosine"] as? [[Double]])
    }

    func testConceptsExportAndList() throws {
        let file = "\(directory!)/c.safetensors"
        var r = try run(["concepts", "export", "--output", file, "--name", "card", "--image", concept, "--image", input,
                         "--model", pipeline, "--variant", "fp16"])
        XCTAssertEqual(r.status, 0, r.stderr)
        r = try run(["concepts", "export", "--output", file, "--name", "bike", "--text", "a red bicycle", "--text-encoder", textEncoder])
        XCTAssertEqual(r.status, 0, r.stderr)
        r = try run(["concepts", "list", file, "--json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        let concepts = try XCTUnwrap(json["concepts"] as? [[String: Any]])
        XCTAssertEqual(concepts.map { $0["name"] as? String }, ["bike", "card"])
        XCTAssertEqual(concepts.map { $0["dimensions"] as? Int }, [32, 32])
        XCTAssertEqual(concepts[1]["source"] as? String, "images:concept.png,input.png")
        // The file drives generation like --avoid-image does.
        r = try run(["generate", "--image", input, "--output", "\(directory!)/f.mp4", "--concept-file", file, "--avoid", "card", "--quiet"] + small)
        XCTAssertEqual(r.status, 0, r.stderr)
        r = try run(["generate", "--image", input, "--output", "\(directory!)/g.mp4", "--concept-file", file, "--avoid", "nope", "--quiet"] + small)
        XCTAssertEqual(r.status, 2)
        XCTAssertTrue(r.stderr.contains("bike, card"), r.stderr)
    }
}
