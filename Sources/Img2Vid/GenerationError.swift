import ConceptGuidance
import Media
import Moderation
import SVD
import Tensor

/// Every way a generation can fail, each with the exit code the command line documents.
public enum GenerationError: Error, CustomStringConvertible {
    /// Impossible settings, an unsupported output extension, an existing output (exit 2).
    case usage(String)
    /// The input image (exit 3).
    case image(ImageError)
    /// The model folder or its weights (exit 4).
    case model(String)
    /// SIGINT or SIGTERM (exit 130).
    case cancelled
    /// Writing the video or frames failed (exit 1).
    case output(String)
    /// Refused by the moderation layer: rejected, withheld or quarantined (exit 5). The message
    /// says where and why.
    case rejected(String)

    public var exitCode: Int32 {
        switch self {
        case .usage: return 2
        case .image: return 3
        case .model: return 4
        case .cancelled: return 130
        case .output: return 1
        case .rejected: return 5
        }
    }

    public var description: String {
        switch self {
        case .usage(let s): return s
        case .image(let e): return e.description
        case .model(let s): return s
        case .cancelled: return "interrupted: stopped at a safe point; no output was written"
        case .output(let s): return s
        case .rejected(let s): return s
        }
    }

    /// Classifies an error thrown by the layers below.
    public static func wrap(_ error: Error) -> GenerationError {
        switch error {
        case let e as GenerationError: return e
        case let e as ImageError: return .image(e)
        case let e as ModelLoadingError: return .model(e.description)
        case let e as SafeTensorsError: return .model(e.description)
        case let e as SVDParametersError: return .usage(e.description)
        case let e as ConceptGuidanceError: return e.isUsage ? .usage(e.description) : .model(e.description)
        case let e as OutputFileError:
            if case .commitFailed = e { return .output(e.description) }
            return .usage(e.description)
        case let e as VideoError:
            switch e {
            case .unsupportedExtension, .invalidFrameRate, .invalidQuality: return .usage(e.description)
            default: return .output(e.description)
            }
        case let e as PolicyError:
            if case .missingWeights = e { return .model(e.description) }
            if case .detectorUnavailable = e { return .model(e.description) }
            if case .detectorFailedToLoad = e { return .model(e.description) }
            return .usage(e.description)
        case let e as AuditLogError: return .output(e.description)
        default: return .output("\(error)")
        }
    }
}
