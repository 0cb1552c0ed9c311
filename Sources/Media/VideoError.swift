/// Why a video could not be encoded. Each message says what to do.
public enum VideoError: Error, Equatable, CustomStringConvertible {
    /// The output path's extension does not choose a supported container.
    case unsupportedExtension(path: String, supported: [String])
    /// This FFmpeg build lacks the encoder the container needs.
    case encoderUnavailable(encoder: String, format: String)
    /// `encode` was given no frames.
    case noFrames
    /// Frame `index` is not the size of frame 0 (or is empty).
    case frameSizeMismatch(index: Int, width: Int, height: Int, expectedWidth: Int, expectedHeight: Int)
    /// A frame rate outside 1...1000.
    case invalidFrameRate(Int)
    /// A quality value outside the codec's range.
    case invalidQuality(crf: Int, range: ClosedRange<Int>, encoder: String)
    /// The output file could not be created (missing folder, permissions).
    case cannotCreate(path: String, reason: String)
    /// The disk (or quota) filled up while writing.
    case diskFull(path: String)
    /// Writing failed for another I/O reason.
    case writeFailed(path: String, reason: String)
    /// FFmpeg refused a step of encoding (`stage` names it).
    case encodingFailed(path: String, stage: String, reason: String)

    public var description: String {
        switch self {
        case .unsupportedExtension(let path, let supported):
            return "cannot tell the video format of \(path) from its extension. Use one of: "
                + supported.map { "." + $0 }.joined(separator: ", ") + "."
        case .encoderUnavailable(let encoder, let format):
            return "this FFmpeg build has no '\(encoder)' encoder, needed for .\(format) output. "
                + "Install an FFmpeg with \(encoder) (Debian: libavcodec-extra) or choose another extension."
        case .noFrames:
            return "no frames to encode. Generate at least one frame."
        case .frameSizeMismatch(let index, let width, let height, let expectedWidth, let expectedHeight):
            return "frame \(index) is \(width)x\(height) but frame 0 is \(expectedWidth)x\(expectedHeight); "
                + "every frame of a video must have the same non-zero size."
        case .invalidFrameRate(let fps):
            return "frame rate \(fps) is out of range; use a whole number of frames per second from 1 to 1000."
        case .invalidQuality(let crf, let range, let encoder):
            return "CRF \(crf) is out of range for \(encoder); use \(range.lowerBound)...\(range.upperBound) (lower is better quality)."
        case .cannotCreate(let path, let reason):
            return "cannot create \(path): \(reason). Check that the folder exists and is writable."
        case .diskFull(let path):
            return "the disk is full while writing \(path). Free some space or write to another disk."
        case .writeFailed(let path, let reason):
            return "writing \(path) failed: \(reason). Check the disk and try again."
        case .encodingFailed(let path, let stage, let reason):
            return "encoding \(path) failed at \(stage): \(reason). Try another output format; if it persists, report it with this message."
        }
    }
}
