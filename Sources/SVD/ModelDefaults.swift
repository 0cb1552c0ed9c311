import Foundation

/// Optional generation defaults shipped with a model folder in `img2vid.json` (an img2vid
/// extension; diffusers ignores the file). The bundled demo model uses it so that the quick start
/// runs at the size, step count and frame rate the model was trained for instead of SVD-XT's
/// 1024x576 / 25 steps. Every field is optional; a missing field keeps the pipeline default:
///
///     { "width": 128, "height": 128, "num_inference_steps": 12, "fps": 7,
///       "motion_bucket_id": 127, "noise_aug_strength": 0.02,
///       "min_guidance_scale": 1.0, "max_guidance_scale": 2.0, "decode_chunk_size": 8 }
///
/// Field names are those of `StableVideoDiffusionPipeline.__call__`.
public struct ModelDefaults: Codable, Equatable, Sendable {
    public static let fileName = "img2vid.json"

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

    /// Reads `<folder>/img2vid.json`; no file gives empty defaults, a malformed one is an error.
    public static func load(_ folder: ModelFolder) throws -> ModelDefaults {
        let path = (folder.path as NSString).appendingPathComponent(fileName)
        guard FileManager.default.fileExists(atPath: path) else { return ModelDefaults() }
        return try folder.config(ModelDefaults.self, component: "", name: fileName)
    }

    /// `parameters` with every field this file sets replaced.
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
