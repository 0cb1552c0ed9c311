/// The generation settings of one task, as the API received them (after validation). Unset fields
/// take the model's defaults. Encoded with the API's snake_case names, so the stored JSON reads like
/// the request.
public struct TaskInput: Codable, Sendable, Equatable {
    public var modelName: String
    public var prompt: String?
    public var negativePrompt: String?
    /// Kling's `cfg_scale` (0...1). Stored and echoed; SVD has no text conditioning, so the model ignores it.
    public var cfgScale: Double?
    public var seed: UInt64?
    public var numFrames: Int?
    public var width: Int?
    public var height: Int?
    public var steps: Int?
    public var fps: Int?
    public var motionBucketId: Int?
    public var noiseAugStrength: Double?
    public var minGuidanceScale: Double?
    public var maxGuidanceScale: Double?
    /// Concept guidance preset (off, weak, medium, strong, max).
    public var guidance: String?
    /// Compute precision (auto, f32, bf16).
    public var precision: String?

    public init(modelName: String) { self.modelName = modelName }

    enum CodingKeys: String, CodingKey {
        case modelName = "model_name", prompt, negativePrompt = "negative_prompt", cfgScale = "cfg_scale", seed
        case numFrames = "num_frames", width, height, steps, fps, motionBucketId = "motion_bucket_id"
        case noiseAugStrength = "noise_aug_strength", minGuidanceScale = "min_guidance_scale"
        case maxGuidanceScale = "max_guidance_scale", guidance, precision
    }

    /// The user texts the moderation prompt stage reads.
    public var userTexts: [String] { [prompt, negativePrompt].compactMap { $0 }.filter { !$0.isEmpty } }
}
