import ArgumentParser

/// img2vid's documented exit codes (README "Exit codes").
extension ExitCode {
    /// Usage error: bad flags, impossible settings, an existing output without --overwrite.
    static let usage = ExitCode(2)
    /// The input image is missing, unreadable, corrupt, empty or too large.
    static let badImage = ExitCode(3)
    /// The model folder or a weight file is missing or malformed.
    static let badModel = ExitCode(4)
    /// Refused by the moderation layer.
    static let rejected = ExitCode(5)
    /// Stopped by SIGINT or SIGTERM.
    static let interrupted = ExitCode(130)
}
