import Layers
import Tensor

/// Mirrors diffusers' AutoencoderKLTemporalDecoder: a 2D encoder whose latent distribution's
/// mode (the mean half of the moments) the SVD pipeline uses, and a temporal decoder that
/// decodes a chunk of frames at a time.
public struct AutoencoderKLTemporalDecoder {
    public let config: VAEConfig
    let encoder: VAEEncoder
    let decoder: TemporalDecoder

    public init(config: VAEConfig, weights w: WeightScope) throws {
        try config.validate()
        self.config = config
        encoder = VAEEncoder(w["encoder"], quantConv: w["quant_conv"], config: config)
        decoder = TemporalDecoder(w["decoder"], config: config)
    }

    /// Pixel size divided by latent size.
    public var downscale: Int { 1 << (config.blockOutChannels.count - 1) }

    /// image [N, 3, H, W] in [-1, 1] -> latent_dist.mode() [N, latent, H/8, W/8] (unscaled).
    public func encodeMode(_ image: Tensor) -> Tensor {
        let moments = encoder(image)
        return split(moments, sizes: [config.latentChannels, config.latentChannels], axis: 1)[0]
    }

    /// `decode(z, num_frames)`: z [frames, latent, h, w] of one video chunk -> frames [frames, 3, H, W].
    public func decode(_ z: Tensor, frames: Int) -> Tensor {
        decoder(z, frames: frames)
    }
}
