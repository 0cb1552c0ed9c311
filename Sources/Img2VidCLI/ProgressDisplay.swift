import Foundation
import Img2Vid

/// One line per stage on stderr with elapsed times; the denoising line updates in place with the
/// step, the rate and the time left. Silent when disabled. When stderr is not a terminal
/// (`--progress` into a log or a pipe) every update is a line of its own, without carriage returns.
final class ProgressDisplay {
    private let enabled: Bool
    private let inPlace = isatty(STDERR_FILENO) != 0
    private let start = Date()
    private var lineOpen = false

    init(enabled: Bool) { self.enabled = enabled }

    func handle(_ event: GenerationEvent) {
        guard enabled else { return }
        switch event {
        case .stageStarted(let stage):
            if inPlace { write("\(stamp()) \(stage.label)...", newline: false) }
        case .step(let index, let count, let seconds):
            let rate = String(format: "%.2f s/step", seconds)
            let eta = String(format: "%.0f s left", seconds * Double(count - index))
            update("\(stamp()) denoise: step \(index)/\(count)  \(rate)  \(eta)")
        case .decoded(let done, let total):
            update("\(stamp()) decode frames: \(done)/\(total)")
        case .stageFinished(let stage, let seconds):
            let line = "\(stamp()) \(stage.label): done in \(String(format: "%.2f", seconds)) s"
            write(inPlace ? "\r\(line)          " : line, newline: true)
        case .moderation, .message:
            break   // the commands print decisions and messages themselves
        }
    }

    func finish(_ message: String) {
        guard enabled else { return }
        write("\(stamp()) \(message) (total \(String(format: "%.1f", Date().timeIntervalSince(start))) s)", newline: true)
    }

    /// Ends a half-written line before an error message.
    func abandon() {
        if enabled && lineOpen { write("", newline: true) }
    }

    /// Rewrites the current line on a terminal; a new line elsewhere.
    private func update(_ text: String) {
        if inPlace { write("\r\(text)   ", newline: false) } else { write(text, newline: true) }
    }

    private func stamp() -> String { String(format: "[%6.1fs]", Date().timeIntervalSince(start)) }

    private func write(_ text: String, newline: Bool) {
        FileHandle.standardError.write(Data((text + (newline ? "\n" : "")).utf8))
        lineOpen = !newline
    }
}
