import Diffusion
import Tensor

/// The denoising loop of the SVD pipeline as a sequence of steps that the caller drives
/// (mirrors the `for i, t in enumerate(timesteps)` loop of diffusers' pipeline): each `step()`
/// scales the latents, concatenates the image latents on channels, runs the UNet once on the
/// batched branches ([uncond, cond, extras...]), combines them with the guidance and takes an
/// Euler step. Between steps the caller may report progress, cancel, or read `latents`.
public struct SVDDenoiser {
    let unet: UNetSpatioTemporalConditionModel
    public let scheduler: EulerDiscreteScheduler
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

    init(unet: UNetSpatioTemporalConditionModel, scheduler: EulerDiscreteScheduler, latents: Tensor, imageLatents: Tensor,
         imageEmbedding: Tensor, addedTimeIds: [Float], frameScales: [Float], classifierFree: Bool, guidance: any Guidance) {
        self.unet = unet
        self.scheduler = scheduler
        self.latents = latents
        self.imageLatents = imageLatents
        self.imageEmbedding = imageEmbedding
        self.addedTimeIds = addedTimeIds
        self.frameScales = frameScales
        self.classifierFree = classifierFree
        self.guidance = guidance
    }

    public var stepCount: Int { scheduler.timesteps.count }
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
        if classifierFree {
            inputs.append(concat([scaled, Tensor(zeros: imageLatents.shape)], axis: 1))
            embeddings.append(Tensor(zeros: imageEmbedding.shape))
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
        let next = scheduler.step(modelOutput: noisePrediction, stepIndex: stepIndex, sample: sample)
        latents = next.reshaped(latents.shape)
        stepIndex += 1
        return true
    }
}
