import Diffusion
import Foundation
import SVD
import Tensor

/// `img2vid inspect`: describes a diffusers pipeline folder, a `.safetensors` file or a sharded
/// checkpoint (`*.safetensors.index.json`) without running anything.
///
/// For a pipeline it reads model_index.json, summarises each component's config, lists the weight
/// files present (every variant), picks the one `generate` would load (`--variant`, else the plain
/// file, else the only variant present), counts its tensors, parameters, dtypes and bytes, and
/// builds each model from its config against that checkpoint with the loaders `generate` uses
/// (`ModelFolder.loadUNet` etc., i.e. `CheckpointWeights`), so missing, unexpected and mis-shaped
/// tensors are listed exactly as loading would find them. Mirrors what diffusers'
/// `DiffusionPipeline.from_pretrained` checks (model_index classes, variant file names,
/// `_load_state_dict_into_model`'s missing/unexpected keys), reported instead of raised.
///
/// Never throws and never traps on a bad file: every problem lands in `ModelReport.problems`.
public enum ModelInspector {
    /// The components of a Stable Video Diffusion pipeline, in the order they are reported.
    public static let componentNames = ["unet", "vae", "image_encoder", "scheduler", "feature_extractor"]

    /// Config fields shown per component (all are in the file; these say what the model is).
    static let summaryKeys: [String: [String]] = [
        "unet": ["block_out_channels", "layers_per_block", "num_attention_heads", "cross_attention_dim",
                 "transformer_layers_per_block", "in_channels", "out_channels", "num_frames",
                 "addition_time_embed_dim", "sample_size"],
        "vae": ["block_out_channels", "layers_per_block", "latent_channels", "scaling_factor", "in_channels",
                "out_channels", "sample_size"],
        "image_encoder": ["hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size", "image_size",
                          "patch_size", "projection_dim", "hidden_act"],
        "scheduler": ["_class_name", "prediction_type", "beta_schedule", "beta_start", "beta_end", "num_train_timesteps",
                      "sigma_min", "sigma_max", "use_karras_sigmas", "timestep_spacing", "timestep_type", "steps_offset"],
        "feature_extractor": ["crop_size", "size", "image_mean", "image_std", "resample"],
    ]

    /// Inspects `path`: a pipeline folder, a `.safetensors` file or a `.safetensors.index.json`.
    /// `variant` is `generate`'s `--variant` (pipelines only).
    public static func inspect(path: String, variant: String? = nil) -> ModelReport {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            var report = ModelReport(path: path, kind: .unknown)
            report.problems = ["\(path) does not exist. Pass a diffusers pipeline folder, a .safetensors file or a .safetensors.index.json."]
            return report
        }
        if isDirectory.boolValue { return inspectPipeline(path, variant: variant) }
        let name = (path as NSString).lastPathComponent
        if name.hasSuffix(".json") && name.contains(".safetensors.index") {
            return inspectCheckpoint(path, kind: .shardedSafetensors)
        }
        if name.hasSuffix(".safetensors") { return inspectCheckpoint(path, kind: .safetensors) }
        if name == "model_index.json" { return inspectPipeline((path as NSString).deletingLastPathComponent, variant: variant) }
        var report = ModelReport(path: path, kind: .unknown)
        report.problems = ["\(path) is neither a pipeline folder, a .safetensors file nor a .safetensors.index.json"
                           + (name.hasSuffix(".bin") || name.hasSuffix(".ckpt") || name.hasSuffix(".pt")
                              ? " (PyTorch pickle weights are not read: convert them to safetensors)." : ".")]
        return report
    }

    // MARK: - Single checkpoints

    static func inspectCheckpoint(_ path: String, kind: ModelReport.Kind) -> ModelReport {
        var report = ModelReport(path: path, kind: kind)
        do {
            let weights = try summarize(checkpoint: path, displayName: path)
            report.weights = weights
            report.tensorCount = weights.tensorCount
            report.parameterCount = weights.parameterCount
            report.sizeBytes = weights.sizeBytes
            if weights.tensorCount == 0 { report.notes.append("the checkpoint holds no tensors") }
            let nonFloat = weights.dtypes.keys.filter { !(DType(rawValue: $0)?.isFloatingPoint ?? false) }.sorted()
            if !nonFloat.isEmpty { report.notes.append("non-float tensors (\(nonFloat.joined(separator: ", "))) cannot be model weights") }
        } catch {
            report.problems.append(describe(error))
        }
        return report
    }

    /// Tensor count, parameters, dtypes, bytes, metadata and the largest tensors of one checkpoint.
    static func summarize(checkpoint path: String, displayName: String, variant: String? = nil) throws -> ModelReport.Weights {
        let checkpoint = try SafeTensorsCheckpoint(path: path)
        var dtypes: [String: Int] = [:]
        var parameters = 0
        var tensors: [ModelReport.TensorInfo] = []
        for name in checkpoint.names {
            guard let entry = checkpoint.entry(name) else { continue }
            let count = entry.shape.reduce(1, *)
            dtypes[entry.dtype.rawValue, default: 0] += 1
            parameters += count
            tensors.append(.init(name: name, dtype: entry.dtype.rawValue, shape: entry.shape, parameters: count))
        }
        var size = checkpoint.files.reduce(0) { $0 + fileSize($1.path) }
        if checkpoint.files.count != 1 || checkpoint.files.first?.path != path { size += fileSize(path) }
        var metadata: [String: String] = [:]
        for file in checkpoint.files { metadata.merge(file.metadata) { first, _ in first } }
        let largest = tensors.sorted { ($0.parameters, $1.name) > ($1.parameters, $0.name) }.prefix(10)
        return ModelReport.Weights(file: displayName, files: checkpoint.files.map { ($0.path as NSString).lastPathComponent },
                                   variant: variant, tensorCount: tensors.count, parameterCount: parameters, dtypes: dtypes,
                                   sizeBytes: size, metadata: metadata, largest: Array(largest))
    }

    // MARK: - Pipeline folders

    static func inspectPipeline(_ root: String, variant: String?) -> ModelReport {
        var report = ModelReport(path: root, kind: .pipeline)
        report.variant = variant
        var indexClasses: [String: String] = [:]
        let indexPath = (root as NSString).appendingPathComponent("model_index.json")
        switch readJSONObject(indexPath) {
        case .missing:
            report.problems.append("model_index.json is missing: \(root) is not a diffusers pipeline folder "
                                   + "(expected model_index.json, unet/, vae/, image_encoder/, scheduler/).")
        case .invalid(let why):
            report.problems.append("model_index.json is not valid JSON: \(why)")
        case .object(let index):
            report.pipelineClass = index["_class_name"] as? String
            if let name = report.pipelineClass, name != "StableVideoDiffusionPipeline" {
                report.problems.append(ModelLoadingError.unsupportedPipeline(path: root, className: name).description)
            }
            for (key, value) in index where !key.hasPrefix("_") {
                if let pair = value as? [Any], pair.count == 2, let cls = pair[1] as? String { indexClasses[key] = cls }
            }
            for key in indexClasses.keys.sorted() where !componentNames.contains(key) {
                report.notes.append("model_index.json lists '\(key)', which img2vid does not use")
            }
        }

        for name in componentNames {
            var component = inspectComponent(root: root, name: name, variant: variant)
            if component.className == nil { component.className = indexClasses[name] }
            if let weights = component.weights {
                report.tensorCount += weights.tensorCount
                report.parameterCount += weights.parameterCount
                report.sizeBytes += weights.sizeBytes
            }
            report.problems += component.problems.map { "\(name): \($0)" }
            report.components.append(component)
        }

        // One --variant serves the whole pipeline in `generate`: say which, if the folder needs one.
        let used = Set(report.components.compactMap { $0.weights.map { $0.variant ?? "" } })
        if variant == nil, used.count == 1, let only = used.first, !only.isEmpty {
            report.notes.append("only '\(only)' weights are present: load this folder with --variant \(only)")
        } else if variant == nil, used.count > 1 {
            report.problems.append("components need different variants (\(used.map { $0.isEmpty ? "plain" : $0 }.sorted().joined(separator: ", "))): "
                                   + "generate takes one --variant for the whole folder")
        }
        return report
    }

    static func inspectComponent(root: String, name: String, variant: String?) -> ModelReport.Component {
        var c = ModelReport.Component(name: name)
        let folder = (root as NSString).appendingPathComponent(name)
        let configName = ["scheduler": "scheduler_config.json", "feature_extractor": "preprocessor_config.json"][name] ?? "config.json"
        let required = name != "feature_extractor"
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isDirectory), isDirectory.boolValue else {
            c.status = "missing"
            if required { c.problems.append("folder \(name)/ is missing") } else { c.notes.append("folder \(name)/ is missing (not needed: img2vid preprocesses the image itself)") }
            return c
        }
        c.configFile = "\(name)/\(configName)"
        switch readJSONObject((folder as NSString).appendingPathComponent(configName)) {
        case .missing:
            c.status = "missing"
            if required { c.problems.append("\(name)/\(configName) is missing") } else { c.notes.append("\(name)/\(configName) is missing (not needed by img2vid)") }
            return c
        case .invalid(let why):
            c.status = "invalid"
            c.problems.append("\(name)/\(configName) is not valid JSON: \(why)")
            return c
        case .object(let config):
            c.className = (config["_class_name"] as? String) ?? ((config["architectures"] as? [Any])?.first as? String)
            for key in summaryKeys[name] ?? [] {
                if let value = config[key], let text = compactJSON(value) { c.config[key] = text }
            }
        }

        let modelFolder: ModelFolder
        do { modelFolder = try ModelFolder(path: root, variant: variant) } catch {
            c.status = "invalid"
            c.problems.append(describe(error))
            return c
        }
        switch name {
        case "scheduler":
            do {
                _ = try modelFolder.loadScheduler()
                c.status = "ok"
            } catch {
                c.status = "invalid"
                c.problems.append(describe(error))
            }
            return c
        case "feature_extractor":
            c.status = "ok"
            return c
        default:
            break
        }

        // Weight files of every variant, then the one `generate` would read.
        let base = name == "image_encoder" ? "model" : "diffusion_pytorch_model"
        let files = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
        c.weightFilesFound = files.filter(isWeightFileName).sorted()
        var variants: [String?] = []
        for file in c.weightFilesFound {
            if let v = checkpointVariant(file, base: base), !variants.contains(where: { $0 == v }) { variants.append(v) }
        }
        let chosen: String?
        if let variant {
            chosen = variant
        } else if variants.contains(where: { $0 == nil }) || variants.isEmpty {
            chosen = nil
        } else if variants.count == 1 {
            chosen = variants[0]
        } else {
            c.status = "missing"
            c.problems.append("no plain weights; variants present: \(variants.compactMap { $0 }.sorted().joined(separator: ", ")). Pass --variant.")
            return c
        }
        let chosenFolder: ModelFolder
        do { chosenFolder = try ModelFolder(path: root, variant: chosen) } catch {
            c.status = "invalid"
            c.problems.append(describe(error))
            return c
        }

        let checkpointPath: String
        do {
            checkpointPath = try chosenFolder.checkpoint(component: name, base: base).path
        } catch {
            c.status = error is ModelLoadingError && isMissingWeights(error) ? "missing" : "invalid"
            var message = describe(error)
            if isMissingWeights(error) {
                let others = c.weightFilesFound
                message += others.isEmpty ? " The folder holds no weight files." : " Found: \(others.joined(separator: ", "))."
                if others.contains(where: { $0.hasSuffix(".bin") }) && !others.contains(where: { $0.contains(".safetensors") }) {
                    message += " PyTorch .bin weights are not read: convert them to safetensors."
                }
            }
            c.problems.append(message)
            return c
        }
        do {
            c.weights = try summarize(checkpoint: checkpointPath, displayName: "\(name)/\((checkpointPath as NSString).lastPathComponent)",
                                      variant: chosen)
        } catch {
            c.status = "invalid"
            c.problems.append(describe(error))
            return c
        }
        if variant == nil, let chosen { c.notes.append("read the '\(chosen)' variant: the folder has no plain \(base).safetensors") }

        // Build the model from its config against the checkpoint, exactly as loading does.
        do {
            switch name {
            case "unet": _ = try chosenFolder.loadUNet()
            case "vae": _ = try chosenFolder.loadVAE()
            default: _ = try chosenFolder.loadImageEncoder()
            }
            c.status = "ok"
            c.matchesConfig = true
        } catch ModelLoadingError.mismatchedWeights(let e) {
            c.status = "mismatch"
            c.matchesConfig = false
            c.missingTensors = e.missing
            c.unexpectedTensors = e.unexpected
            c.misshapenTensors = e.misshapen.map { "\($0.key): expected \($0.expected), found \($0.found)" }
            var parts: [String] = []
            if !e.missing.isEmpty { parts.append("\(e.missing.count) missing") }
            if !e.misshapen.isEmpty { parts.append("\(e.misshapen.count) mis-shaped") }
            if !e.unreadable.isEmpty { parts.append("\(e.unreadable.count) unreadable (\(e.unreadable.prefix(3).joined(separator: ", ")))") }
            if !e.unexpected.isEmpty { parts.append("\(e.unexpected.count) unexpected") }
            c.problems.append("the weights do not match the model its config describes: \(parts.joined(separator: ", ")) tensors")
        } catch {
            c.status = "invalid"
            c.matchesConfig = false
            c.problems.append(describe(error))
        }
        return c
    }

    // MARK: - Helpers

    enum JSONRead {
        case missing
        case invalid(String)
        case object([String: Any])
    }

    static func readJSONObject(_ path: String) -> JSONRead {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue,
              let data = FileContents.read(atPath: path) else { return .missing }
        do {
            guard let object = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
                return .invalid("expected a JSON object")
            }
            return .object(object)
        } catch {
            return .invalid("\(error.localizedDescription)")
        }
    }

    static func compactJSON(_ value: Any) -> String? {
        if let s = value as? String { return s }
        guard let data = try? JSONSerialization.data(withJSONObject: value, options: [.sortedKeys, .fragmentsAllowed]) else { return nil }
        return String(decoding: data, as: UTF8.self)
    }

    static func isWeightFileName(_ name: String) -> Bool {
        name.hasSuffix(".safetensors") || (name.contains(".safetensors.index") && name.hasSuffix(".json"))
            || name.hasSuffix(".bin") || name.hasSuffix(".ckpt") || name.hasSuffix(".pt") || name.hasSuffix(".pth")
            || (name.contains(".bin.index") && name.hasSuffix(".json"))
    }

    /// The variant of a safetensors checkpoint file of `base`: `.some(nil)` for the plain name,
    /// `.some("fp16")` for `base.fp16.safetensors`, `base.safetensors.index.fp16.json` or
    /// `base.fp16.safetensors.index.json`, nil for other files (shards included).
    static func checkpointVariant(_ file: String, base: String) -> String?? {
        guard file.hasPrefix(base + ".") else { return nil }
        let rest = String(file.dropFirst(base.count + 1))
        if rest == "safetensors" || rest == "safetensors.index.json" { return .some(nil) }
        if rest.hasPrefix("safetensors.index."), rest.hasSuffix(".json") {
            return .some(String(rest.dropFirst("safetensors.index.".count).dropLast(".json".count)))
        }
        for suffix in [".safetensors", ".safetensors.index.json"] where rest.hasSuffix(suffix) {
            let v = String(rest.dropLast(suffix.count))
            if !v.isEmpty, !v.contains("-of-"), !v.contains(".") { return .some(v) }
        }
        return nil
    }

    static func isMissingWeights(_ error: Error) -> Bool {
        if case ModelLoadingError.missingWeights = error { return true }
        return false
    }

    static func describe(_ error: Error) -> String {
        switch error {
        case let e as ModelLoadingError: return e.description
        case let e as SafeTensorsError: return "malformed weight file: \(e)"
        case let e as ModelConfigError: return e.description
        case let e as CustomStringConvertible: return e.description
        default: return "\(error)"
        }
    }

    static func fileSize(_ path: String) -> Int {
        ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber)?.intValue ?? 0
    }
}
