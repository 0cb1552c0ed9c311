import Foundation
import Layers
import Tensor

/// Mirrors diffusers' AlphaBlender (models/attention.py... resnet.py) with merge strategy
/// "learned_with_images" and an all-zero image_only_indicator, as the SVD pipeline always passes:
/// alpha = sigmoid(mix_factor); out = alpha * spatial + (1 - alpha) * temporal.
/// `switchSpatialToTemporalMix` (the VAE decoder) uses 1 - alpha instead.
struct AlphaBlender {
    let alpha: Float

    init(_ w: WeightScope, switchSpatialToTemporalMix: Bool = false) {
        let mix = w.tensor("mix_factor", [1]).widened.scalars[0]
        let a = 1 / (1 + exp(-mix))
        alpha = switchSpatialToTemporalMix ? 1 - a : a
    }

    /// Writes the mix into `temporal`'s storage (pass it consumed to avoid a copy).
    func callAsFunction(spatial: Tensor, temporal: consuming Tensor) -> Tensor {
        var out = temporal
        blendInPlace(spatial, into: &out, alpha: alpha)
        return out
    }
}
