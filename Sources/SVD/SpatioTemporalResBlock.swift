import Layers
import Tensor

/// Mirrors diffusers' SpatioTemporalResBlock (models/resnet.py): a ResnetBlock2D per frame, then
/// a TemporalResnetBlock across frames, mixed by an AlphaBlender
/// (alpha * spatial + (1 - alpha) * temporal; the VAE decoder switches the roles).
struct SpatioTemporalResBlock {
    let spatialResBlock: ResnetBlock2D
    let temporalResBlock: TemporalResnetBlock
    let timeMixer: AlphaBlender

    init(_ w: WeightScope, in inChannels: Int, out outChannels: Int, tembChannels: Int?, eps: Float,
         temporalEps: Float? = nil, switchSpatialToTemporalMix: Bool = false) {
        spatialResBlock = ResnetBlock2D(w["spatial_res_block"], in: inChannels, out: outChannels, tembChannels: tembChannels, eps: eps)
        temporalResBlock = TemporalResnetBlock(w["temporal_res_block"], channels: outChannels, tembChannels: tembChannels, eps: temporalEps ?? eps)
        timeMixer = AlphaBlender(w["time_mixer"], switchSpatialToTemporalMix: switchSpatialToTemporalMix)
    }

    func callAsFunction(_ x: consuming Tensor, tembActivated: Tensor?, frames: Int) -> Tensor {
        let spatial = spatialResBlock(consume x, tembActivated: tembActivated)
        return timeMixer(spatial: spatial, temporal: temporalResBlock(spatial, tembActivated: tembActivated, frames: frames))
    }
}
