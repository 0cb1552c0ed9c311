import ArgumentParser
import Foundation

/// How a command reports: progress on stderr, a JSON object on stdout, or quiet.
struct ReportingOptions: ParsableArguments {
    @Flag(help: "Print one JSON object with the result on stdout.")
    var json = false

    @Flag(help: "Show progress on stderr even when it is not a terminal.")
    var progress = false

    @Flag(help: "Print nothing but errors.")
    var quiet = false

    /// Progress shows on a terminal, or when asked for; never with --quiet.
    var showsProgress: Bool { !quiet && (progress || isatty(STDERR_FILENO) != 0) }

    /// Prints the report as JSON when --json is set.
    func emit<Report: Encodable>(_ report: Report) {
        guard json else { return }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        if let data = try? encoder.encode(report) {
            FileHandle.standardOutput.write(data + Data("\n".utf8))
        }
    }

    /// Prints an error on stderr (always) and the error report on stdout with --json.
    func fail<Report: Encodable>(_ message: String, exitCode: Int32, report: Report) {
        Console.error(message)
        emit(report)
    }
}

/// Writes to stderr (the C global `stderr` is not concurrency-safe in Swift 6).
enum Console {
    static func error(_ message: String) {
        FileHandle.standardError.write(Data("img2vid: error: \(message)\n".utf8))
    }

    static func note(_ message: String) {
        FileHandle.standardError.write(Data("img2vid: \(message)\n".utf8))
    }
}
