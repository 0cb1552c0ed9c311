import Tensor

/// Combines the noise predictions of one denoising step into the guided prediction.
///
/// The loop evaluates the unconditional branch u (zero conditioning), the conditional branch c,
/// and one extra branch per entry of `extraConditionings` (evaluated like c but with that
/// embedding: concept guidance uses this), all in one batched model call, then asks the guidance
/// for the combination. `frameScales` holds the per-frame guidance scale g_f.
public protocol Guidance {
    /// Embeddings for extra branches, each shaped like the image embedding ([1, L, D]).
    var extraConditionings: [Tensor] { get }

    /// Predictions are [frames, C, H, W]; returns the guided prediction of the same shape.
    mutating func combine(uncond: Tensor, cond: Tensor, extra: [Tensor], frameScales: [Float], stepIndex: Int) -> Tensor
}

/// Classifier-free guidance with a per-frame scale, as diffusers' SVD pipeline computes it:
/// `noise_pred_uncond + guidance_scale * (noise_pred_cond - noise_pred_uncond)` (in that float32 order).
public struct ClassifierFreeGuidance: Guidance {
    public init() {}
    public var extraConditionings: [Tensor] { [] }

    public mutating func combine(uncond: Tensor, cond: Tensor, extra: [Tensor], frameScales: [Float], stepIndex: Int) -> Tensor {
        Self.guide(uncond: uncond, cond: cond, frameScales: frameScales)
    }

    /// out[f] = u[f] + g_f * (c[f] - u[f]) elementwise, threaded per frame.
    public static func guide(uncond: Tensor, cond: Tensor, frameScales: [Float]) -> Tensor {
        let frames = uncond.shape[0]
        precondition(frameScales.count == frames && cond.shape == uncond.shape, "guidance shapes disagree")
        let perFrame = uncond.count / frames
        var out = Tensor(uninitialized: uncond.shape)
        uncond.withUnsafeBufferPointer { u in
            cond.withUnsafeBufferPointer { c in
                out.withUnsafeMutableBufferPointer { o in
                    Parallel.forEach(frames) { f in
                        let g = frameScales[f]
                        for i in (f * perFrame)..<((f + 1) * perFrame) { o[i] = u[i] + g * (c[i] - u[i]) }
                    }
                }
            }
        }
        return out
    }
}
