/// Why concept guidance could not be set up. `isUsage` errors are the user's flags (exit 2); the others
/// are files that could not be used (a concept file, a text encoder folder: exit 4).
public enum ConceptGuidanceError: Error, CustomStringConvertible, Equatable {
    case noConcept(preset: String)
    case textEncoderRequired
    case conceptFileRequired
    case invalidSetting(String)
    case unknownConcept(name: String, file: String, available: [String])
    case conceptFile(path: String, reason: String)
    case textEncoder(String)
    case dimensionMismatch(source: String, found: Int, expected: Int)

    public var isUsage: Bool {
        switch self {
        case .noConcept, .textEncoderRequired, .conceptFileRequired, .invalidSetting, .unknownConcept: return true
        case .conceptFile, .textEncoder, .dimensionMismatch: return false
        }
    }

    public var description: String {
        switch self {
        case .noConcept(let preset):
            return "--guidance \(preset) needs a concept to avoid: give --avoid-image PATH, --avoid-concept TEXT (with --text-encoder) or --concept-file FILE [--avoid NAME]"
        case .textEncoderRequired:
            return "--avoid-concept needs a CLIP text encoder that shares the image encoder's space: pass --text-encoder with a transformers CLIPModel or CLIPTextModelWithProjection folder (for SVD: OpenCLIP ViT-H/14), or use --avoid-image"
        case .conceptFileRequired:
            return "--avoid NAME picks a vector from a concept file: pass --concept-file FILE.safetensors (made with 'img2vid concepts export')"
        case .invalidSetting(let s):
            return s
        case .unknownConcept(let name, let file, let available):
            return "concept '\(name)' is not in \(file); it holds: \(available.joined(separator: ", ")) (see 'img2vid concepts list \(file)')"
        case .conceptFile(let path, let reason):
            return "concept file \(path) cannot be used: \(reason)"
        case .textEncoder(let s):
            return "text encoder: \(s)"
        case .dimensionMismatch(let source, let found, let expected):
            return "concept \(source) has \(found) dimensions but this model's image embedding has \(expected): the concept was made for another image encoder (--text-encoder must share the image encoder's space)"
        }
    }
}
