import Foundation
import Media
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The `exec` detector: runs an operator's program and reads its verdict, so any classifier (in
/// any language, on any hardware) can sit behind a policy rule.
///
/// - Images: written to a temporary PNG whose path is appended to the command's arguments
///   (stdin is empty). Text: on stdin, UTF-8 (no extra argument).
/// - Environment: the caller's, plus `IMG2VID_STAGE` (input, prompt, output), `IMG2VID_INDEX`
///   and `IMG2VID_COUNT` (frame or text index, 0-based, and the count) when known.
/// - Verdict on stdout: `{"detections": [{"label": "...", "score": 0.93}]}`, scores in [0, 1].
/// - Exit status 0 expected. A non-zero status, a signal, a timeout (the whole process group is
///   killed), or output that is not such a verdict throws `ExecDetectorError`: the layer fails
///   closed and rejects.
///
/// The program runs without a shell (`command[0]` is looked up in `PATH` when it has no slash).
public final class ExecDetector: Detector {
    public static let defaultTimeout: Double = 30
    /// Output beyond this many bytes is an error.
    public static let maxOutputBytes = 1 << 20

    public let name: String
    public let command: [String]
    public let timeoutSeconds: Double

    public init(name: String = "exec", command: [String], timeoutSeconds: Double = ExecDetector.defaultTimeout) {
        precondition(!command.isEmpty, "ExecDetector needs a command")
        self.name = name
        self.command = command
        self.timeoutSeconds = timeoutSeconds
    }

    public func detect(image: RGBImage) throws -> [Detection] {
        try detect(image: image, context: DetectionContext(stage: .input))
    }

    public func detect(text: String) throws -> [Detection] {
        try detect(text: text, context: DetectionContext(stage: .prompt))
    }

    public func detect(image: RGBImage, context: DetectionContext) throws -> [Detection] {
        let path = (NSTemporaryDirectory() as NSString)
            .appendingPathComponent("img2vid-exec-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).png")
        do {
            try PNGWriter.write(image, to: path)
        } catch {
            throw ExecDetectorError.failed(detector: name, reason: "could not write the image for the command: \(error)")
        }
        defer { unlink(path) }
        return try run(arguments: Array(command.dropFirst()) + [path], stdin: Data(), context: context)
    }

    public func detect(text: String, context: DetectionContext) throws -> [Detection] {
        try run(arguments: Array(command.dropFirst()), stdin: Data(text.utf8), context: context)
    }

    // MARK: Running the command

    private struct Verdict: Decodable {
        let detections: [Detection]
    }

    private func run(arguments: [String], stdin: Data, context: DetectionContext) throws -> [Detection] {
        var environment = ProcessInfo.processInfo.environment
        environment["IMG2VID_STAGE"] = context.stage.rawValue
        environment["IMG2VID_INDEX"] = context.index.map(String.init)
        environment["IMG2VID_COUNT"] = context.count.map(String.init)
        let result = try ChildProcess.run(executable: try executablePath(), arguments: arguments, environment: environment,
                                          stdin: stdin, timeoutSeconds: timeoutSeconds, maxOutputBytes: Self.maxOutputBytes)
        let tail = String(decoding: result.stderr.suffix(300), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        let hint = tail.isEmpty ? "" : "; stderr: \(tail)"
        switch result.termination {
        case .timedOut:
            throw ExecDetectorError.failed(detector: name, reason: "timed out after \(Self.format(timeoutSeconds)) s")
        case .signal(let s):
            throw ExecDetectorError.failed(detector: name, reason: "killed by signal \(s)\(hint)")
        case .exit(let code) where code != 0:
            throw ExecDetectorError.failed(detector: name, reason: "exited with status \(code)\(hint)")
        case .outputTooLong:
            throw ExecDetectorError.failed(detector: name, reason: "wrote more than \(Self.maxOutputBytes) bytes")
        case .exit:
            break
        }
        let verdict: Verdict
        do {
            verdict = try JSONDecoder().decode(Verdict.self, from: result.stdout)
        } catch {
            let shown = String(decoding: result.stdout.prefix(120), as: UTF8.self)
            throw ExecDetectorError.failed(detector: name, reason:
                "printed no verdict (expected {\"detections\": [{\"label\": ..., \"score\": ...}]}, got \"\(shown)\")")
        }
        for d in verdict.detections where !(d.score >= 0 && d.score <= 1) {
            throw ExecDetectorError.failed(detector: name, reason: "reported score \(d.score) for \(d.label), outside [0, 1]")
        }
        return verdict.detections
    }

    private func executablePath() throws -> String {
        let program = command[0]
        if program.contains("/") { return program }
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        for dir in path.split(separator: ":") {
            let candidate = "\(dir)/\(program)"
            if access(candidate, X_OK) == 0 { return candidate }
        }
        throw ExecDetectorError.failed(detector: name, reason: "program '\(program)' not found in PATH")
    }

    private static func format(_ seconds: Double) -> String {
        seconds == seconds.rounded() ? String(Int(seconds)) : String(format: "%.1f", seconds)
    }
}

/// Why the exec detector gave no verdict (the layer rejects: fail closed).
public enum ExecDetectorError: Error, CustomStringConvertible, Equatable {
    case failed(detector: String, reason: String)

    public var description: String {
        switch self {
        case .failed(_, let reason): return reason
        }
    }
}
