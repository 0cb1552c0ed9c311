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
/// Field names are those of `StableVideoDiffusionPipeline.__call__`; the file decodes as
/// `SVDParameterOverrides`.
public enum ModelDefaults {
    public static let fileName = "img2vid.json"

    /// Reads `<folder>/img2vid.json`; no file gives empty defaults, a malformed one is an error.
    public static func load(_ folder: ModelFolder) throws -> SVDParameterOverrides {
        let path = (folder.path as NSString).appendingPathComponent(fileName)
        guard FileManager.default.fileExists(atPath: path) else { return SVDParameterOverrides() }
        return try folder.config(SVDParameterOverrides.self, component: "", name: fileName)
    }
}
