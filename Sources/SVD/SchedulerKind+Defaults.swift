import Diffusion

extension SchedulerKind {
    /// The generation defaults that come with the sampler, laid over diffusers' SVD defaults: none for Euler; for
    /// AnimateLCM the settings of the authors' demo (G-U-N/AnimateLCM, animatelcm_svd/app.py): 4 steps, guidance
    /// 1.0 -> 1.2, motion bucket 80, 8 frames per second.
    public var parameterDefaults: SVDParameterOverrides {
        var o = SVDParameterOverrides()
        switch self {
        case .euler:
            break
        case .animatelcm:
            o.numInferenceSteps = 4
            o.minGuidanceScale = 1.0
            o.maxGuidanceScale = 1.2
            o.motionBucketId = 80
            o.fps = 8
        }
        return o
    }
}
