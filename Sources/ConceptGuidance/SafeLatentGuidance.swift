import Diffusion
import Tensor

/// Safe Latent Diffusion guidance for SVD: classifier-free guidance with a per-frame scale, minus a
/// safety term that steers away from one or more concept embeddings.
///
/// Mirrors the loop of diffusers' StableDiffusionPipelineSafe (pipelines/stable_diffusion_safe/
/// pipeline_stable_diffusion_safe.py, `perform_safety_guidance`), adapted to SVD's per-frame scale g_f.
/// For every element, with u, c the unconditional and conditional predictions and s_k the prediction
/// conditioned on concept k (image latents as for c):
///
///     scale_k = min(|c - s_k| * sld_guidance_scale, 1)
///     mu_k    = 0 where c - s_k >= sld_threshold, else scale_k
///     gamma   = sum_k (s_k - u) * mu_k + sld_momentum_scale * v
///     v       = sld_mom_beta * v + (1 - sld_mom_beta) * gamma          (v starts at 0, updated every step)
///     out     = u + g_f * ((c - u) - gamma)    from step sld_warmup_steps on,
///     out     = u + g_f * (c - u)              before it
///
/// in that float32 order (one concept is exactly diffusers' formula). The concept embeddings are the
/// `extraConditionings`: `SVDDenoiser` evaluates [u, c, s_1, ...] in one batched UNet call.
public struct SafeLatentGuidance: Guidance {
    public let configuration: SLDConfiguration
    /// Concept embeddings, each shaped like the image embedding ([1, 1, D]).
    public let concepts: [Tensor]
    /// The momentum v (nil until the first step).
    public private(set) var momentum: Tensor?
    /// One entry per step combined so far.
    public private(set) var statistics: [SLDStepStatistics] = []

    public init(configuration: SLDConfiguration, concepts: [Tensor]) {
        precondition(!concepts.isEmpty, "SafeLatentGuidance needs at least one concept")
        self.configuration = configuration
        self.concepts = concepts
    }

    public var extraConditionings: [Tensor] { concepts }

    public mutating func combine(uncond: Tensor, cond: Tensor, extra: [Tensor], frameScales: [Float], stepIndex: Int) -> Tensor {
        let frames = uncond.shape[0]
        precondition(extra.count == concepts.count, "one extra prediction per concept expected")
        precondition(frameScales.count == frames && cond.shape == uncond.shape && extra.allSatisfy { $0.shape == uncond.shape },
                     "guidance shapes disagree")
        let perFrame = uncond.count / frames
        let c = configuration
        let guidanceScale = Float(c.guidanceScale)
        let threshold = Float(c.threshold)
        let momentumScale = Float(c.momentumScale)
        let beta = Float(c.momentumBeta)
        let oneMinusBeta = Float(1 - c.momentumBeta)
        let applied = stepIndex >= c.warmupSteps

        var v = momentum ?? Tensor(zeros: uncond.shape)
        var out = Tensor(uninitialized: uncond.shape)
        var activeCounts = [Int](repeating: 0, count: frames)
        var squaredNorms = [Double](repeating: 0, count: frames)
        let conceptCount = extra.count
        // Base addresses of the concept predictions (kept alive by `extra` for the whole call).
        let conceptPointers: [UnsafePointer<Float>] = extra.map { t in t.withUnsafeBufferPointer { $0.baseAddress! } }
        withExtendedLifetime(extra) {
            uncond.withUnsafeBufferPointer { u in
                cond.withUnsafeBufferPointer { cp in
                    v.withUnsafeMutableBufferPointer { vp in
                        out.withUnsafeMutableBufferPointer { o in
                            activeCounts.withUnsafeMutableBufferPointer { counts in
                                squaredNorms.withUnsafeMutableBufferPointer { norms in
                                    Parallel.forEach(frames) { f in
                                        let g = frameScales[f]
                                        var active = 0
                                        var squared = 0.0
                                        for i in (f * perFrame)..<((f + 1) * perFrame) {
                                            let ui = u[i], ci = cp[i]
                                            var gamma: Float = 0
                                            for k in 0..<conceptCount {
                                                let si = conceptPointers[k][i]
                                                let d = ci - si
                                                let scale = min(abs(d) * guidanceScale, 1)
                                                let mu: Float = d >= threshold ? 0 : scale
                                                if mu > 0 { active += 1 }
                                                let term = (si - ui) * mu
                                                gamma = k == 0 ? term : gamma + term
                                            }
                                            gamma = gamma + momentumScale * vp[i]
                                            vp[i] = beta * vp[i] + oneMinusBeta * gamma
                                            squared += Double(gamma) * Double(gamma)
                                            o[i] = applied ? ui + g * ((ci - ui) - gamma) : ui + g * (ci - ui)
                                        }
                                        counts[f] = active
                                        norms[f] = squared
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        momentum = v
        let total = Double(uncond.count * conceptCount)
        statistics.append(SLDStepStatistics(step: stepIndex, applied: applied,
                                            activeFraction: total > 0 ? Double(activeCounts.reduce(0, +)) / total : 0,
                                            gammaNorm: squaredNorms.reduce(0, +).squareRoot()))
        return out
    }
}
