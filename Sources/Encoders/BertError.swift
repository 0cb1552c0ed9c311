/// Why a BERT encoder, its WordPiece vocabulary or a sentence-transformers folder could not be loaded.
public enum BertError: Error, CustomStringConvertible, Equatable {
    case missingFile(path: String, hint: String)
    case invalidFile(path: String, reason: String)
    case unsupported(path: String, reason: String)
    case weights(path: String, reason: String)

    public var description: String {
        switch self {
        case .missingFile(let p, let hint): return "\(p) is missing: \(hint)."
        case .invalidFile(let p, let r): return "\(p) is not valid: \(r)"
        case .unsupported(let p, let r): return "\(p): \(r)"
        case .weights(let p, let r): return "weights in \(p) do not match the config: \(r)"
        }
    }
}
