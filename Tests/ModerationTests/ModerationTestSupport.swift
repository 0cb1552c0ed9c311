import Foundation
import Media
import Moderation
import XCTest

/// A detector for tests: answers from a closure, counts its calls, remembers contexts.
final class ScriptedDetector: Detector {
    let name: String
    var imageCalls: [DetectionContext] = []
    var textCalls: [String] = []
    let onImage: (RGBImage, DetectionContext) throws -> [Detection]
    let onText: (String) throws -> [Detection]

    init(name: String = "test", onImage: @escaping (RGBImage, DetectionContext) throws -> [Detection] = { _, _ in [] },
         onText: @escaping (String) throws -> [Detection] = { _ in [] }) {
        self.name = name
        self.onImage = onImage
        self.onText = onText
    }

    func detect(image: RGBImage) throws -> [Detection] { try detect(image: image, context: DetectionContext(stage: .input)) }
    func detect(text: String) throws -> [Detection] { textCalls.append(text); return try onText(text) }
    func detect(image: RGBImage, context: DetectionContext) throws -> [Detection] {
        imageCalls.append(context)
        return try onImage(image, context)
    }
}

struct TestFailure: Error, CustomStringConvertible {
    var description: String { "the test detector broke" }
}

enum ModerationTestSupport {
    /// A registry with the built-ins plus "test", which hands out `detector`.
    static func registry(_ detector: ScriptedDetector) -> DetectorRegistry {
        var r = DetectorRegistry.builtIn
        r.register("test", reads: [.image, .text]) { _, _, _ in detector }
        return r
    }

    static func policy(_ rules: [PolicyRule], detectors: [String: DetectorSettings] = ["test": DetectorSettings()],
                       quarantine: String? = nil) -> ModerationPolicy {
        ModerationPolicy(quarantineFolder: quarantine, detectors: detectors, rules: rules)
    }

    static func frames(_ count: Int, width: Int = 16, height: Int = 16) -> [RGBImage] {
        (0..<count).map { i in RGBImage(width: width, height: height, red: UInt8(i * 10), green: 100, blue: 200) }
    }

    static func temporaryDirectory() throws -> String {
        let dir = (NSTemporaryDirectory() as NSString).appendingPathComponent("img2vid-moderation-\(UUID().uuidString)")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    static func writeScript(_ body: String, in dir: String, name: String = "scan.sh") throws -> String {
        let path = (dir as NSString).appendingPathComponent(name)
        try ("#!/bin/sh\n" + body + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        chmod(path, 0o755)
        return path
    }

    static var repositoryRoot: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }
}
