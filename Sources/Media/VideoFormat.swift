/// The video containers `VideoEncoder` writes, chosen by the output path's extension.
///
/// | extension | muxer | encoder | pixels |
/// |---|---|---|---|
/// | `.mp4` | mp4 (+faststart) | libx264 | yuv420p, BT.709 limited range |
/// | `.mkv` | matroska | libx264 | yuv420p, BT.709 limited range |
/// | `.webm` | webm | libvpx-vp9 (constant quality: CRF, `b:v 0`) | yuv420p, BT.709 limited range |
/// | `.gif` | gif (loops forever) | gif | PAL8, one global palette |
public enum VideoFormat: String, Sendable, CaseIterable {
    case mp4, mkv, webm, gif

    /// The extensions accepted, in the order error messages list them.
    public static var supportedExtensions: [String] { allCases.map(\.rawValue) }

    /// The format for `path`'s extension (case-insensitive), or `VideoError.unsupportedExtension`.
    public static func forPath(_ path: String) throws -> VideoFormat {
        let name = path.split(separator: "/").last.map(String.init) ?? path
        if let dot = name.lastIndex(of: "."), let format = VideoFormat(rawValue: name[name.index(after: dot)...].lowercased()) {
            return format
        }
        throw VideoError.unsupportedExtension(path: path, supported: supportedExtensions)
    }

    /// FFmpeg's muxer name.
    var muxerName: String {
        switch self {
        case .mp4: return "mp4"
        case .mkv: return "matroska"
        case .webm: return "webm"
        case .gif: return "gif"
        }
    }

    /// FFmpeg's encoder name.
    public var encoderName: String {
        switch self {
        case .mp4, .mkv: return "libx264"
        case .webm: return "libvpx-vp9"
        case .gif: return "gif"
        }
    }

    /// Whether the codec subsamples chroma 2x2 (yuv420p), so width and height must be even.
    public var needsEvenSize: Bool { self != .gif }

    /// The CRF used when none is given: 18 for H.264 (visually lossless), 24 for VP9. Nil for GIF.
    public var defaultCRF: Int? {
        switch self {
        case .mp4, .mkv: return 18
        case .webm: return 24
        case .gif: return nil
        }
    }

    /// The CRF values the encoder accepts.
    var crfRange: ClosedRange<Int> { self == .webm ? 0...63 : 0...51 }
}
