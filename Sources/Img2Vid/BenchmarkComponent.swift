/// What `img2vid bench --component` times, one call per run.
public enum BenchmarkComponent: String, CaseIterable, Sendable, Codable {
    /// One UNet forward on a batch of 1: latents [1, F, 8, H/8, W/8].
    case unet
    /// One CLIP vision forward on [1, 3, image_size, image_size] (preprocessing not included).
    case imageEncoder = "image-encoder"
    /// One VAE encode (latent mode) of [1, 3, H, W].
    case vaeEncode = "vae-encode"
    /// One VAE decode of F frames of latents [F, 4, H/8, W/8] as one chunk.
    case vaeDecode = "vae-decode"
    /// One denoising step: the UNet on the guidance batch of 2 ([uncond, cond]) plus the Euler step.
    case step
    /// A whole generation from an image tensor to frames (encode image, every step, decode), no video file.
    case pipeline
}
