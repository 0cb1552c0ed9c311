import Diffusion
import Foundation
import Tensor

extension ModelFolder {
    /// Builds a model from a component's config and checkpoint, reporting every weight problem at once.
    func load<Model>(component: String, base: String, ignoring: @escaping (String) -> Bool = { _ in false },
                     _ build: (WeightScope) throws -> Model) throws -> Model {
        try Self.load(CheckpointWeights(try checkpoint(component: component, base: base), ignoring: ignoring), build)
    }

    static func load<Model>(_ source: CheckpointWeights, _ build: (WeightScope) throws -> Model) throws -> Model {
        let model: Model
        do { model = try build(WeightScope(source)) } catch let e as ModelConfigError { throw ModelLoadingError.config(e) }
        do { try source.finish() } catch let e as WeightLoadingError { throw ModelLoadingError.mismatchedWeights(e) }
        return model
    }

    public func loadUNet() throws -> UNetSpatioTemporalConditionModel {
        let config = try self.config(UNetConfig.self, component: "unet")
        return try load(component: "unet", base: "diffusion_pytorch_model") { try UNetSpatioTemporalConditionModel(config: config, weights: $0) }
    }

    /// The UNet of `unet/config.json` with its weights from `file` when given (`--unet FILE.safetensors`: one
    /// safetensors file holding the UNet's state dict in diffusers key names, such as AnimateLCM-SVD-xt.safetensors),
    /// else from the folder. The file must hold exactly the model's tensors: missing, unexpected and wrong-shaped
    /// keys are all reported by name (`ModelLoadingError.mismatchedWeights`), before any generation work; a
    /// sharded `*.safetensors.index.json` works too.
    public func loadUNet(file: String?) throws -> UNetSpatioTemporalConditionModel {
        guard let file else { return try loadUNet() }
        let config = try self.config(UNetConfig.self, component: "unet")
        guard FileManager.default.fileExists(atPath: file) else { throw ModelLoadingError.missingUNetFile(path: file) }
        // Anything else that is not a safetensors file (a .bin/.ckpt pickle, a folder) gets the parser's error.
        let checkpoint: SafeTensorsCheckpoint
        do {
            checkpoint = try SafeTensorsCheckpoint(path: file)
        } catch let e as SafeTensorsError {
            throw ModelLoadingError.badWeights(e)
        }
        return try Self.load(CheckpointWeights(checkpoint)) { try UNetSpatioTemporalConditionModel(config: config, weights: $0) }
    }

    /// The folder's sampler: `scheduler/scheduler_config.json`, AnimateLCM's when its `_class_name` says so.
    public func loadScheduler() throws -> SchedulerSettings {
        let p = file("scheduler", "scheduler_config.json")
        guard let data = FileManager.default.contents(atPath: p) else { throw ModelLoadingError.missingFile(path: p) }
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

    /// `scheduler/scheduler_config.json`.
    public func loadSchedulerConfig() throws -> SchedulerConfig {
        try config(SchedulerConfig.self, component: "scheduler", name: "scheduler_config.json")
    }

    private static func building<Model>(_ build: () throws -> Model) throws -> Model {
        do { return try build() } catch let e as ModelConfigError { throw ModelLoadingError.config(e) }
    }
}
