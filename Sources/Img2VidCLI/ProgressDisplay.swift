import Foundation
import Img2Vid

/// One line per stage on stderr with elapsed times; the denoising line updates in place with the
/// step, the rate and the time left. Silent when disabled.
final class ProgressDisplay {
    private let enabled: Bool
    private let start = Date()
    private var lineOpen = false

    init(enabled: Bool) { self.enabled = enabled }

    func handle(_ event: GenerationEvent) {
        guard enabled else { return }
        switch event {
        case .stageStarted(let stage):
            write("\(stamp()) \(stage.label)...", newline: false)
        case .step(let index, let count, let seconds):
            let rate = String(format: "%.2f s/step", seconds)
            let eta = String(format: "%.0f s left", seconds * Double(count - index))
            write("\r\(stamp()) denoise: step \(index)/\(count)  \(rate)  \(eta)   ", newline: false)
        case .decoded(let done, let total):
            write("\r\(stamp()) decode frames: \(done)/\(total)   ", newline: false)
        case .stageFinished(let stage, let seconds):
            write("\r\(stamp()) \(stage.label): done in \(String(format: "%.2f", seconds)) s          ", newline: true)
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

    private func stamp() -> String { String(format: "[%6.1fs]", Date().timeIntervalSince(start)) }

    private func write(_ text: String, newline: Bool) {
        FileHandle.standardError.write(Data((text + (newline ? "\n" : "")).utf8))
        lineOpen = !newline
    }
}
