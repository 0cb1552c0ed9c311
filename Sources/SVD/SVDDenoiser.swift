import Diffusion
import Tensor

/// The denoising loop of the SVD pipeline as a sequence of steps that the caller drives
/// (mirrors the `for i, t in enumerate(timesteps)` loop of diffusers' pipeline): each `step()`
/// scales the latents, concatenates the image latents on channels, runs the UNet once on the
/// batched branches ([uncond, cond, extras...]), combines them with the guidance and takes a
/// scheduler step (Euler, or AnimateLCM's consistency step, which adds noise drawn from `random`).
/// Between steps the caller may report progress, cancel, or read `latents`.
///
/// When guidance is off (diffusers' rule: the largest per-frame scale is not above 1, so every frame's
/// scale is at most 1 and with the usual min 1 exactly 1), one branch runs: u + 1 (c - u) is c, so the
/// unconditional branch would cost a whole UNet evaluation for nothing. The image embedding and the
/// image latents are computed once, in `prepare`, and reused by every step.
public struct SVDDenoiser {
    let unet: UNetSpatioTemporalConditionModel
    public let scheduler: any Scheduler
    /// Current latents [1, F, 4, h, w].
    public private(set) var latents: Tensor
    /// The VAE latents of the conditioning image, repeated per frame: [F, 4, h, w].
    public let imageLatents: Tensor
    public let imageEmbedding: Tensor // [1, 1, D]
    let addedTimeIds: [Float]
    /// Per-frame guidance scale: torch.linspace(min, max, F).
    public let frameScales: [Float]
    let classifierFree: Bool
    public private(set) var guidance: any Guidance
    public private(set) var stepIndex = 0
    /// The stream the steps' noise is drawn from: a copy of the pipeline's stream taken after the initial
    /// latents, so a stochastic sampler continues it as diffusers' global generator does.
    var random: any RandomSource
    /// The unconditional branch's inputs (zero image latents, zero embedding), made once.
    let unconditionalImageLatents: Tensor?
    let unconditionalEmbedding: Tensor?

    init(unet: UNetSpatioTemporalConditionModel, scheduler: any Scheduler, latents: Tensor, imageLatents: Tensor,
         imageEmbedding: Tensor, addedTimeIds: [Float], frameScales: [Float], classifierFree: Bool, guidance: any Guidance,
         random: any RandomSource) {
        self.unet = unet
        self.scheduler = scheduler
        self.latents = latents
        self.imageLatents = imageLatents
        self.imageEmbedding = imageEmbedding
        self.addedTimeIds = addedTimeIds
        self.frameScales = frameScales
        self.classifierFree = classifierFree
        self.guidance = guidance
        self.random = random
        unconditionalImageLatents = classifierFree ? Tensor(zeros: imageLatents.shape) : nil
        unconditionalEmbedding = classifierFree ? Tensor(zeros: imageEmbedding.shape) : nil
    }

    public var stepCount: Int { scheduler.timesteps.count }
    /// Whether steps run the unconditional branch (classifier-free guidance is on).
    public var runsUnconditionalBranch: Bool { classifierFree }
    /// UNet branches (batch items) per step: 1 without guidance; uncond + cond + one per extra conditioning with it.
    public var branchesPerStep: Int { classifierFree ? 2 + guidance.extraConditionings.count : 1 }
    public var isFinished: Bool { stepIndex >= stepCount }

    /// Runs the next step; returns false (doing nothing) once all steps have run.
    @discardableResult
    public mutating func step() -> Bool {
        guard !isFinished else { return false }
        let frames = latents.shape[1]
        let sample = latents.reshaped(Array([frames] + latents.shape[2...]))
        let scaled = scheduler.scaleModelInput(sample, stepIndex: stepIndex)
        let conditioned = concat([scaled, imageLatents], axis: 1)             // [F, 8, h, w]

        // Branches: [uncond, cond, extras...] as one batch, as diffusers batches [uncond, cond].
        let extras = classifierFree ? guidance.extraConditionings : []
        var inputs: [Tensor] = []
        var embeddings: [Tensor] = []
        if let zeroLatents = unconditionalImageLatents, let zeroEmbedding = unconditionalEmbedding {
            inputs.append(concat([scaled, zeroLatents], axis: 1))
            embeddings.append(zeroEmbedding)
        }
        inputs.append(conditioned)
        embeddings.append(imageEmbedding)
        for e in extras {
            inputs.append(conditioned)
            embeddings.append(e)
        }
        let batch = inputs.count
        let sampleBatch = concat(inputs, axis: 0).reshaped([batch, frames] + Array(conditioned.shape[1...]))
        let ids = Tensor(shape: [batch, 3], scalars: Array((0..<batch).map { _ in addedTimeIds }.joined()))
        let predictions = unet(sampleBatch, timestep: scheduler.timesteps[stepIndex],
                               encoderHiddenStates: concat(embeddings, axis: 0), addedTimeIds: ids)
        let branches = chunk(predictions.reshaped(Array([batch * frames] + predictions.shape[2...])), batch, axis: 0)

        let noisePrediction: Tensor
        if classifierFree {
            noisePrediction = guidance.combine(uncond: branches[0], cond: branches[1], extra: Array(branches.dropFirst(2)),
                                               frameScales: frameScales, stepIndex: stepIndex)
        } else {
            noisePrediction = branches[0]
        }
        let next = scheduler.step(modelOutput: noisePrediction, stepIndex: stepIndex, sample: sample, random: &random)
        latents = next.reshaped(latents.shape)
        stepIndex += 1
        return true
    }
}
