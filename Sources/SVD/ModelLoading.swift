import Diffusion
import Foundation
import Tensor

extension ModelFolder {
    /// Builds a model from a component's config and checkpoint, reporting every weight problem at once.
    func load<Model>(component: String, base: String, ignoring: @escaping (String) -> Bool = { _ in false },
                     _ build: (WeightScope) throws -> Model) throws -> Model {
        try load(checkpoint: try checkpoint(component: component, base: base), ignoring: ignoring, build)
    }

    /// Builds a model from an open checkpoint, reporting every weight problem at once.
    func load<Model>(checkpoint: SafeTensorsCheckpoint, ignoring: @escaping (String) -> Bool = { _ in false },
                     _ build: (WeightScope) throws -> Model) throws -> Model {
        let source = CheckpointWeights(checkpoint, ignoring: ignoring)
        let model: Model
        do { model = try build(WeightScope(source)) } catch let e as ModelConfigError { throw ModelLoadingError.config(e) }
        do { try source.finish() } catch let e as WeightLoadingError { throw ModelLoadingError.mismatchedWeights(e) }
        return model
    }

    /// The folder's UNet; with `weightsFile`, the folder's `unet/config.json` with the weights of
    /// that file instead (`--unet`: one `.safetensors` file holding the UNet's state dict in diffusers key
    /// names, such as AnimateLCM-SVD-xt.safetensors, or a sharded `*.safetensors.index.json`: a fine-tuned
    /// or distilled UNet of the same architecture). The file must hold exactly the model's tensors:
    /// missing, unexpected and wrong-shaped keys are all reported by name
    /// (`ModelLoadingError.mismatchedWeights`), before any generation work.
    public func loadUNet(weightsFile: String? = nil) throws -> UNetSpatioTemporalConditionModel {
        let config = try self.config(UNetConfig.self, component: "unet")
        let checkpoint = try weightsFile.map(Self.openUNetWeights) ?? self.checkpoint(component: "unet", base: "diffusion_pytorch_model")
        return try load(checkpoint: checkpoint) { try UNetSpatioTemporalConditionModel(config: config, weights: $0) }
    }

    /// A UNet weight file named directly (`--unet`, not found through the folder's layout); anything that is
    /// not a safetensors file (a .bin/.ckpt pickle, a folder) gets the parser's error.
    static func openUNetWeights(_ path: String) throws -> SafeTensorsCheckpoint {
        guard FileManager.default.fileExists(atPath: path) else { throw ModelLoadingError.missingUNetFile(path: path) }
        do {
            return try SafeTensorsCheckpoint(path: path)
        } catch let e as SafeTensorsError {
            throw ModelLoadingError.badWeights(e)
        }
    }

    /// The folder's sampler: `scheduler/scheduler_config.json`, AnimateLCM's when its `_class_name` says so.
    public func loadScheduler() throws -> SchedulerSettings {
        let p = file("scheduler", "scheduler_config.json")
        guard let data = FileContents.read(atPath: p) else { throw ModelLoadingError.missingFile(path: p) }
        let settings: SchedulerSettings
        do {
            settings = try SchedulerSettings.decode(data)
            _ = try settings.makeScheduler()
        } catch {
            throw ModelLoadingError.invalidConfig(path: p, reason: "\(error)")
        }
        return settings
    }

    public func loadVAE() throws -> AutoencoderKLTemporalDecoder {
        let config = try self.config(VAEConfig.self, component: "vae")
        return try load(component: "vae", base: "diffusion_pytorch_model") { try AutoencoderKLTemporalDecoder(config: config, weights: $0) }
    }

    public func loadImageEncoder() throws -> CLIPVisionModelWithProjection {
        let config = try self.config(CLIPVisionConfig.self, component: "image_encoder")
        return try load(component: "image_encoder", base: "model", ignoring: CLIPVisionModelWithProjection.isIgnoredKey) {
            try CLIPVisionModelWithProjection(config: config, weights: $0)
        }
    }
}

extension ModelFolder {
    /// The UNet built from `unet/config.json` with weights from any source: `RandomWeights` for
    /// `img2vid bench --random-weights` (the real architecture without a download). Unlike `loadUNet`,
    /// nothing checks that the source held exactly the model's tensors.
    public func buildUNet(weights: WeightSource) throws -> UNetSpatioTemporalConditionModel {
        let config = try self.config(UNetConfig.self, component: "unet")
        return try Self.building { try UNetSpatioTemporalConditionModel(config: config, weights: WeightScope(weights)) }
    }

    /// The temporal VAE built from `vae/config.json` with weights from any source (see `buildUNet`).
    public func buildVAE(weights: WeightSource) throws -> AutoencoderKLTemporalDecoder {
        let config = try self.config(VAEConfig.self, component: "vae")
        return try Self.building { try AutoencoderKLTemporalDecoder(config: config, weights: WeightScope(weights)) }
    }

    /// The CLIP image encoder built from `image_encoder/config.json` with weights from any source (see `buildUNet`).
    public func buildImageEncoder(weights: WeightSource) throws -> CLIPVisionModelWithProjection {
        let config = try self.config(CLIPVisionConfig.self, component: "image_encoder")
        return try Self.building { try CLIPVisionModelWithProjection(config: config, weights: WeightScope(weights)) }
    }

    private static func building<Model>(_ build: () throws -> Model) throws -> Model {
        do { return try build() } catch let e as ModelConfigError { throw ModelLoadingError.config(e) }
    }
}
