/// Settings that replace some of an `SVDParameters`' values; a nil field leaves that value as it
/// is. Field names (and JSON keys) are those of `StableVideoDiffusionPipeline.__call__`. A model
/// folder's `img2vid.json` is one (`ModelDefaults`), laid over the pipeline's defaults; the settings
/// of a request (`img2vid generate --steps ...`) are another, laid over the model's.
public struct SVDParameterOverrides: Codable, Equatable, Sendable {
    public var width: Int?
    public var height: Int?
    public var numInferenceSteps: Int?
    public var fps: Int?
    public var motionBucketId: Int?
    public var noiseAugStrength: Float?
    public var minGuidanceScale: Float?
    public var maxGuidanceScale: Float?
    public var decodeChunkSize: Int?

    enum CodingKeys: String, CodingKey {
        case width, height, fps
        case numInferenceSteps = "num_inference_steps"
        case motionBucketId = "motion_bucket_id"
        case noiseAugStrength = "noise_aug_strength"
        case minGuidanceScale = "min_guidance_scale"
        case maxGuidanceScale = "max_guidance_scale"
        case decodeChunkSize = "decode_chunk_size"
    }

    public init() {}

    /// These settings without the ones that belong to a sampler (steps, guidance scales, fps, motion bucket): what
    /// a folder's `img2vid.json`, written for the folder's own sampler, still says when another sampler runs.
    public func droppingSamplerSettings() -> SVDParameterOverrides {
        var o = self
        o.numInferenceSteps = nil
        o.minGuidanceScale = nil
        o.maxGuidanceScale = nil
        o.fps = nil
        o.motionBucketId = nil
        return o
    }

    /// `parameters` with every field set here replaced.
    public func applied(to parameters: SVDParameters) -> SVDParameters {
        var p = parameters
        if let v = width { p.width = v }
        if let v = height { p.height = v }
        if let v = numInferenceSteps { p.numInferenceSteps = v }
        if let v = fps { p.fps = v }
        if let v = motionBucketId { p.motionBucketId = v }
        if let v = noiseAugStrength { p.noiseAugStrength = v }
        if let v = minGuidanceScale { p.minGuidanceScale = v }
        if let v = maxGuidanceScale { p.maxGuidanceScale = v }
        if let v = decodeChunkSize { p.decodeChunkSize = v }
        return p
    }
}
