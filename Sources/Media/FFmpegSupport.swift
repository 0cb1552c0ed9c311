import CFFmpeg

/// Small shared pieces of the FFmpeg interop: quiet logging and error text.
enum FFmpegSupport {
    /// FFmpeg logs warnings and errors to stderr by itself (libx264 prints its statistics too);
    /// the Media module reports failures through typed errors instead, so the log is silenced
    /// (`av_log_set_level(AV_LOG_QUIET)`) before the first FFmpeg call.
    static let quietLogs: Void = {
        av_log_set_level(AV_LOG_QUIET)
    }()

    /// FFmpeg's message for an error code (what `av_err2str` gives in C).
    static func errorString(_ code: Int32) -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        img2vid_av_strerror(code, &buffer, buffer.count)
        return String(cString: buffer)
    }

    /// `AVERROR(e)` for a POSIX errno.
    static func averror(_ posix: Int32) -> Int32 { img2vid_averror(posix) }
}
