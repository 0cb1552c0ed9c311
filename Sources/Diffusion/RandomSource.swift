import Tensor

/// A stream of random numbers that the denoising loop draws noise from.
///
/// Mirrors the role of apple/ml-stable-diffusion's `RandomSource` and of diffusers' `generator=` argument:
/// the pipeline owns one source and draws from it in a fixed order (for SVD: the noise augmentation of the
/// conditioning image first, then the initial latents), so one seed reproduces one video.
///
/// Conforming types are value types with `mutating` draws: copying a source forks the stream (both copies then
/// produce the same numbers), and passing it `inout` keeps one stream across several consumers.
public protocol RandomSource {
    /// Standard normal samples (mean 0, standard deviation 1) in a new row-major tensor of `shape`,
    /// advancing the stream. Mirrors `torch.randn(shape, generator=g, dtype=torch.float32)`.
    mutating func normal(shape: [Int]) -> Tensor
}
