import ConceptGuidance
import Tensor

/// Everything `img2vid bench` asks for. Unset sizes take the model's defaults (frames from the
/// UNet config, 1024x576, 25 steps for `pipeline`).
public struct BenchmarkRequest: Sendable {
    /// Where the weights come from.
    public enum Weights: Sendable, Equatable {
        /// A diffusers pipeline folder and its weight variant (`--model PATH [--variant fp16]`).
        case model(path: String, variant: String?)
        /// A folder of component configs with seeded random weights in `dtype`
        /// (`--config Models/svd-xt --random-weights [--weights-dtype f16]`).
        case random(configPath: String, dtype: DType, seed: UInt64)
    }

    public var weights: Weights
    public var component: BenchmarkComponent
    public var numFrames: Int?
    public var width: Int?
    public var height: Int?
    /// Denoising steps of `pipeline` (default 25).
    public var steps: Int?
    /// Timed runs; the median, min and max are over these.
    public var runs = 3
    /// Untimed runs before the timed ones (first-touch page faults, OpenBLAS buffers, caches).
    public var warmup = 1
    /// Seed of the deterministic random inputs.
    public var inputSeed: UInt64 = 0
    /// `unet`: run the classifier-free guidance batch of 2 ([uncond, cond]) instead of 1.
    public var classifierFreeBatch = false
    /// `step` and `pipeline`: concept guidance preset (adds one UNet branch per concept; a
    /// deterministic random concept embedding stands in for a real one). nil or `.off`: none.
    public var conceptGuidance: SLDConfiguration.Preset?
    /// `vae-decode`: frames per decoder call (the pipeline's `--decode-chunk-size`); nil decodes
    /// all frames as one chunk.
    public var decodeChunkSize: Int?
    /// Arithmetic of products, convolutions and attention (`auto`: bf16 where the CPU has native bf16).
    public var precision: PrecisionSetting = .auto
    /// Count FLOPs (2 x multiply-adds of every GEMM, conv and attention) on the first timed run.
    public var countsFLOPs = true

    public init(weights: Weights, component: BenchmarkComponent) {
        self.weights = weights
        self.component = component
    }
}
