import Foundation
import Media
import Moderation
import Tensor
import TestSupport
import XCTest

/// The NudeNet detector against the `nudenet` 3.4.2 package (fixtures from
/// Scripts/reference/nudenet_fixtures.py: OpenCV 5.0 pre-processing, onnxruntime 1.31 on
/// `320n.onnx`, the package's `_postprocess`), on two benign public-domain images.
///
/// Tolerances: pre-processing, resize, NMS and decoding of the reference output are exact (they
/// are integer or f32 arithmetic in the same order). The network's raw output is compared with
/// a max-norm relative error of 1e-5 on the box rows (scale: the largest coordinate, ~320 px)
/// and 1e-5 absolute on the class-score rows (scores are in [0, 1]): 64 convolutions summed in
/// a different order than onnxruntime's kernels; measured 1.4e-6 and 7e-7 on the astronaut
/// (the project's 1e-5 op tolerance holds for the whole network).
/// End-to-end detections: same labels in the same order, scores within 1e-3, integer boxes
/// within 0.5 px (that is, equal).
///
/// Tests that need the model skip when `Weights/moderation/nudenet-320n.safetensors` is absent
/// (Scripts/setup fetches it; CI runs Scripts/test, which runs setup first).
final class NudeNetDetectorTests: XCTestCase {
    // MARK: Helpers (nested, so they cannot clash with other test files of this target)

    static var weightsPath: String {
        URL(fileURLWithPath: "\(#filePath)").deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent(NudeNetDetector.defaultWeightsPath).path
    }

    static func fixture(_ name: String) throws -> SafeTensorsFile { try SafeTensorsFile(path: fixturePath(name)) }

    static func bytes(_ file: SafeTensorsFile, _ name: String) throws -> [UInt8] {
        let stored = try file.tensor(name)
        XCTAssertEqual(stored.dtype, .u8, name)
        return Array(stored.bytes)
    }

    static func floats(_ file: SafeTensorsFile, _ name: String) throws -> Tensor { try file.tensor(name).floatTensor() }

    /// The detector, or XCTSkip when the weights have not been fetched.
    func loadDetector() throws -> NudeNetDetector {
        let path = Self.weightsPath
        guard FileManager.default.fileExists(atPath: path) else {
            throw XCTSkip("nudenet weights not found at \(path): run Scripts/fetch-nudenet (Scripts/setup does) to run this test")
        }
        return try NudeNetDetector(weightsPath: path)
    }

    static let images = [("astronaut", "astronaut-96x128.png"), ("rocket", "rocket-150x100.png")]

    // MARK: Pre-processing

    func testResizeMatchesOpenCVByteForByte() throws {
        let f = try Self.fixture("nudenet_ops.safetensors")
        let cases = f.metadata["resize_cases"]!.split(separator: ",").map(String.init)
        XCTAssertEqual(cases.count, 6)
        for name in cases {
            let entry = f.entries["\(name).src"]!
            let image = RGBImage(width: entry.shape[1], height: entry.shape[0], pixels: try Self.bytes(f, "\(name).src"))
            let canvas = f.metadata["\(name).canvas"]!.split(separator: ",").map { Int($0)! }
            let out = NudeNetPreprocessor.resizeLinear(image, canvasWidth: canvas[0], canvasHeight: canvas[1], width: 64, height: 64)
            let expected = try Self.bytes(f, "\(name).out")
            let differing = zip(out.pixels, expected).filter { $0 != $1 }.count
            XCTAssertEqual(differing, 0, "\(name): \(differing) of \(expected.count) bytes differ from cv2.resize")
        }
    }

    func testBlobMatchesThePackageInputExactly() throws {
        for (name, file) in Self.images {
            let f = try Self.fixture("nudenet_\(name).safetensors")
            let image = try ImageDecoder.decode(path: fixturePath(file))
            XCTAssertEqual([image.width, image.height], [Int(f.metadata["width"]!)!, Int(f.metadata["height"]!)!])
            let blob = NudeNetPreprocessor.blob(image)
            XCTAssertEqual(blob.shape, [1, 3, 320, 320])
            // The package's blob is byte * f32(1/255); the fixture stores the bytes.
            let expected = try Self.bytes(f, "input").map { Float($0) * Float(1.0 / 255.0) }
            let differing = zip(blob.scalars, expected).filter { $0 != $1 }.count
            XCTAssertEqual(differing, 0, "\(name): \(differing) input values differ from the package's blob")
        }
    }

    // MARK: Post-processing

    func testNMSMatchesOpenCV() throws {
        let f = try Self.fixture("nudenet_ops.safetensors")
        let b = try Self.floats(f, "nms.boxes").scalars
        var boxes: [(x: Float, y: Float, width: Float, height: Float)] = []
        for i in 0..<(b.count / 4) {
            boxes.append((x: b[4 * i], y: b[4 * i + 1], width: b[4 * i + 2], height: b[4 * i + 3]))
        }
        let keep = NudeNetPostprocessor.nmsBoxes(boxes, scores: try Self.floats(f, "nms.scores").scalars)
        let expected = try Self.floats(f, "nms.keep").scalars.map { Int($0) }
        XCTAssertGreaterThan(expected.count, 5)
        XCTAssertLessThan(expected.count, 34)  // some boxes above the score threshold were suppressed
        XCTAssertEqual(keep, expected)
    }

    func testDecodingTheReferenceOutputGivesThePackagesDetections() throws {
        for (name, _) in Self.images {
            let f = try Self.fixture("nudenet_\(name).safetensors")
            let (w, h) = (Int(f.metadata["width"]!)!, Int(f.metadata["height"]!)!)
            let output = try Self.floats(f, "output")
            let candidates = NudeNetPostprocessor.candidates(output, imageWidth: w, imageHeight: h)
            let expected = try Self.floats(f, "candidates")
            XCTAssertEqual(candidates.count, expected.shape[0], name)
            for (i, c) in candidates.enumerated() where i < expected.shape[0] {
                XCTAssertEqual(c.classIndex, Int(expected[i, 0]), "\(name) candidate \(i)")
                XCTAssertEqual(c.score, expected[i, 1], "\(name) candidate \(i)")
                for (k, v) in [c.x, c.y, c.width, c.height].enumerated() {
                    XCTAssertEqual(v, expected[i, 2 + k], "\(name) candidate \(i) box \(k)")
                }
            }
            let detections = NudeNetDetector.detections(output: output, imageWidth: w, imageHeight: h)
            try assertSameDetections(detections, f, name, scoreTolerance: 0)
        }
    }

    /// Compares with the fixture's `detections` [K, 6] (class, score, x, y, w, h).
    func assertSameDetections(_ detections: [Detection], _ f: SafeTensorsFile, _ name: String, scoreTolerance: Float,
                              file: StaticString = #filePath, line: UInt = #line) throws {
        let expected = try Self.floats(f, "detections")
        let count = expected.count / 6
        XCTAssertEqual(detections.count, count, "\(name): \(detections)", file: file, line: line)
        for (i, d) in detections.enumerated() where i < count {
            XCTAssertEqual(d.label, NudeNetDetector.labels[Int(expected[i, 0])], name, file: file, line: line)
            XCTAssertEqual(d.score, expected[i, 1], accuracy: scoreTolerance, name, file: file, line: line)
            let box = try XCTUnwrap(d.box)
            XCTAssertEqual(box.count, 4)
            for k in 0..<4 { XCTAssertEqual(box[k], expected[i, 2 + k], accuracy: 0.5, "\(name) box \(k)", file: file, line: line) }
        }
    }

    // MARK: The network (needs the weights)

    func testRawOutputMatchesOnnxRuntime() throws {
        let detector = try loadDetector()
        for (name, _) in Self.images {
            let f = try Self.fixture("nudenet_\(name).safetensors")
            let input = Tensor(shape: [1, 3, 320, 320], scalars: try Self.bytes(f, "input").map { Float($0) * Float(1.0 / 255.0) })
            let output = detector.rawOutput(input)
            let expected = try Self.floats(f, "output")
            XCTAssertEqual(output.shape, [1, 22, 2100])
            XCTAssertEqual(expected.shape, [1, 22, 2100])
            let boxes = slice(output, axis: 1, range: 0..<4), expectedBoxes = slice(expected, axis: 1, range: 0..<4)
            var diff: Float = 0, scale: Float = 0
            for (a, e) in zip(boxes.scalars, expectedBoxes.scalars) { diff = max(diff, abs(a - e)); scale = max(scale, abs(e)) }
            XCTAssertLessThanOrEqual(diff / scale, 1e-5, "\(name): box rows, max-norm relative error \(diff / scale)")
            XCTAssertGreaterThan(scale, 100, "\(name): boxes span the input")
            var scoreDiff: Float = 0
            for (a, e) in zip(slice(output, axis: 1, range: 4..<22).scalars, slice(expected, axis: 1, range: 4..<22).scalars) {
                scoreDiff = max(scoreDiff, abs(a - e))
            }
            XCTAssertLessThanOrEqual(scoreDiff, 1e-5, "\(name): class scores, max absolute error \(scoreDiff)")
        }
    }

    func testDetectionsMatchThePackage() throws {
        let detector = try loadDetector()
        XCTAssertEqual(detector.name, "nudenet")
        for (name, file) in Self.images {
            let f = try Self.fixture("nudenet_\(name).safetensors")
            let image = try ImageDecoder.decode(path: fixturePath(file))
            try assertSameDetections(try detector.detect(image: image), f, name, scoreTolerance: 1e-3)
        }
    }

    func testPortraitIsAFaceAndTheLandscapeIsNot() throws {
        let detector = try loadDetector()
        let portrait = try detector.detect(image: ImageDecoder.decode(path: fixturePath("astronaut-96x128.png")))
        let face = try XCTUnwrap(portrait.first { $0.label == "FACE_FEMALE" }, "\(portrait)")
        XCTAssertGreaterThan(face.score, 0.5)
        let box = try XCTUnwrap(face.box)
        // The face sits in the upper middle of the 96x128 portrait.
        XCTAssertTrue(box[0] > 10 && box[0] + box[2] < 80 && box[1] < 40 && box[3] > 10, "\(box)")
        let landscape = try detector.detect(image: ImageDecoder.decode(path: fixturePath("rocket-150x100.png")))
        XCTAssertFalse(landscape.contains { $0.label.hasPrefix("FACE_") }, "\(landscape)")
        XCTAssertEqual(try detector.detect(text: "a portrait"), [])
    }

    // MARK: Weights errors

    func testMissingWeightsSayHowToFetchThem() {
        let path = NSTemporaryDirectory() + "no-such-dir/nudenet-320n.safetensors"
        XCTAssertThrowsError(try NudeNetDetector(weightsPath: path)) { error in
            XCTAssertEqual(error as? NudeNetError, .weightsMissing(path: path))
            XCTAssertTrue("\(error)".contains("Scripts/fetch-nudenet"), "\(error)")
            XCTAssertTrue("\(error)".contains("--policy none"), "\(error)")
        }
    }

    func testWrongFileIsAMismatchNotACrash() throws {
        let path = NSTemporaryDirectory() + "nudenet-wrong-\(getpid()).safetensors"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try SafeTensorsWriter.write(floatTensors: ["model.0.conv.weight": Tensor(zeros: [8, 3, 3, 3])], to: path)
        XCTAssertThrowsError(try NudeNetDetector(weightsPath: path)) { error in
            guard case .weightsMismatch(let p, let reason)? = error as? NudeNetError else {
                return XCTFail("expected weightsMismatch, got \(error)")
            }
            XCTAssertEqual(p, path)
            XCTAssertTrue(reason.contains("model.0.conv.weight is [8, 3, 3, 3], expected [16, 3, 3, 3]"), reason)
            XCTAssertTrue(reason.contains("missing"), reason)
        }
        try Data("not safetensors".utf8).write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try NudeNetDetector(weightsPath: path)) { error in
            guard case .weightsUnreadable? = error as? NudeNetError else { return XCTFail("expected weightsUnreadable, got \(error)") }
        }
    }
}
