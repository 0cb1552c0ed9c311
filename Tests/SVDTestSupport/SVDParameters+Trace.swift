import SVD
import TestSupport

extension SVDParameters {
    /// The settings of a pipeline run traced by Scripts/reference (svd_fixtures.py,
    /// svd_fixtures_tiny2.py, sld_fixtures.py), read from the trace's metadata, where they are named
    /// as `StableVideoDiffusionPipeline.__call__` names them.
    public init(trace: Fixture) {
        self.init(numFrames: trace.int("num_frames"), decodeChunkSize: trace.int("decode_chunk_size"))
        numInferenceSteps = trace.int("num_inference_steps")
        width = trace.int("width")
        height = trace.int("height")
        fps = trace.int("fps")
        motionBucketId = trace.int("motion_bucket_id")
        noiseAugStrength = trace.float("noise_aug_strength")
        minGuidanceScale = trace.float("min_guidance_scale")
        maxGuidanceScale = trace.float("max_guidance_scale")
        seed = UInt64(trace.string("seed"))!
    }
}
