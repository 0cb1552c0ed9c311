import Foundation
import Tensor

/// A diffusers pipeline folder (`model_index.json`, one sub-folder per component) as downloaded
/// from a model hub, read without any renaming: configs decode with diffusers' field names and
/// weights load from `diffusion_pytorch_model[.variant].safetensors` / `model[.variant].safetensors`,
/// single-file or sharded through `*.safetensors.index.json`.
public struct ModelFolder: Sendable {
    public let path: String
    /// "fp16" picks `*.fp16.safetensors` files (`--variant fp16`).
    public let variant: String?

    public init(path: String, variant: String? = nil) throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw ModelLoadingError.notFound(path: path)
        }
        guard isDirectory.boolValue else { throw ModelLoadingError.notAFolder(path: path) }
        self.path = path
        self.variant = variant
    }

    public func file(_ component: String, _ name: String) -> String {
        ((path as NSString).appendingPathComponent(component) as NSString).appendingPathComponent(name)
    }

    /// Decodes `<component>/<name>` (a JSON config).
    public func config<T: Decodable>(_ type: T.Type, component: String, name: String = "config.json") throws -> T {
        let p = component.isEmpty ? (path as NSString).appendingPathComponent(name) : file(component, name)
        guard let data = FileContents.read(atPath: p) else { throw ModelLoadingError.missingFile(path: p) }
        do {
            return try JSONDecoder().decode(T.self, from: data)
        } catch {
            throw ModelLoadingError.invalidConfig(path: p, reason: "\(error)")
        }
    }

    /// The checkpoint of a component: `<base>[.variant].safetensors` or its sharded index.
    public func checkpoint(component: String, base: String) throws -> SafeTensorsCheckpoint {
        let suffix = variant.map { ".\($0)" } ?? ""
        let candidates = ["\(base)\(suffix).safetensors", "\(base).safetensors.index\(suffix).json", "\(base)\(suffix).safetensors.index.json"]
        for name in candidates where FileManager.default.fileExists(atPath: file(component, name)) {
            do {
                return try SafeTensorsCheckpoint(path: file(component, name))
            } catch let e as SafeTensorsError {
                throw ModelLoadingError.badWeights(e)
            }
        }
        throw ModelLoadingError.missingWeights(folder: (path as NSString).appendingPathComponent(component),
                                               expected: candidates[0], variant: variant)
    }
}

/// Why a model folder could not be loaded (exit code 4 on the command line).
public enum ModelLoadingError: Error, CustomStringConvertible {
    case notFound(path: String)
    case notAFolder(path: String)
    case missingFile(path: String)
    case invalidConfig(path: String, reason: String)
    case unsupportedPipeline(path: String, className: String)
    case missingWeights(folder: String, expected: String, variant: String?)
    case badWeights(SafeTensorsError)
    case mismatchedWeights(WeightLoadingError)
    case config(ModelConfigError)
    /// `--unet FILE` names no file.
    case missingUNetFile(path: String)

    public var description: String {
        switch self {
        case .notFound(let p):
            return "model folder \(p) does not exist. Pass --model with a diffusers pipeline folder (see README: Getting weights)."
        case .notAFolder(let p):
            return "\(p) is not a folder. --model takes a diffusers pipeline folder holding model_index.json, unet/, vae/, image_encoder/ and scheduler/."
        case .missingFile(let p):
            return "\(p) is missing: the model folder is incomplete (download it again, or check --model)."
        case .invalidConfig(let p, let r):
            return "\(p) is not a valid config: \(r)"
        case .unsupportedPipeline(let p, let c):
            return "\(p) describes a \(c), not a StableVideoDiffusionPipeline."
        case .missingWeights(let folder, let expected, let variant):
            let hint = variant == nil ? " (if the folder only has .fp16 files, add --variant fp16)" : " (drop --variant to use the full-precision files)"
            return "no weights in \(folder): expected \(expected)\(hint)."
        case .badWeights(let e):
            return "malformed weight file: \(e)"
        case .mismatchedWeights(let e):
            return e.description
        case .config(let e):
            return e.description
        case .missingUNetFile(let p):
            return "--unet \(p): no such file. Pass a single .safetensors file holding a UNet state dict in diffusers key names (for example AnimateLCM-SVD-xt.safetensors)."
        }
    }
}
