/// Why a text encoder (BERT, CLIP text), its tokenizer (WordPiece, CLIP BPE) or a
/// sentence-transformers folder could not be loaded. One type for every encoder of this module:
/// the cases are about files and configs, not about which model reads them.
public enum TextEncoderLoadError: Error, CustomStringConvertible, Equatable {
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
