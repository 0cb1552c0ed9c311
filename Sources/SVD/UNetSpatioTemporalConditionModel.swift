import Layers
import Tensor

/// Mirrors diffusers' UNetSpatioTemporalConditionModel (models/unets/unet_spatio_temporal_condition.py).
///
/// Input sample [batch, frames, in_channels, H, W] (noisy latents concatenated with the image
/// latents), a continuous timestep, the image embedding [batch, 1, D] and the added time ids
/// [batch, 3] = (fps - 1, motion_bucket_id, noise_aug_strength). Output [batch, frames, out_channels, H, W].
/// Internally activations stay [batch*frames, C, H, W]; embeddings are repeated per frame.
public struct UNetSpatioTemporalConditionModel {
    public let config: UNetConfig
    let convIn: Conv2d
    let timeEmbedding: EmbeddingMLP
    let addEmbedding: EmbeddingMLP
    let downBlocks: [UNetDownBlock]
    let midBlock: UNetMidBlock
    let upBlocks: [UNetUpBlock]
    let convNormOut: GroupNorm
    let convOut: Conv2d

    public init(config: UNetConfig, weights w: WeightScope) throws {
        try config.validate()
        self.config = config
        let channels = config.blockOutChannels
        let levels = channels.count
        let heads = config.numAttentionHeads.values(count: levels)
        let layers = config.layersPerBlock.values(count: levels)
        let crossDims = config.crossAttentionDim.values(count: levels)
        let transformerLayers = config.transformerLayersPerBlock.values(count: levels)
        let tembChannels = channels[0] * 4

        convIn = Conv2d(w["conv_in"], in: config.inChannels, out: channels[0], kernel: 3, padding: 1)
        timeEmbedding = EmbeddingMLP(w["time_embedding"], in: channels[0], timeEmbedDim: tembChannels)
        addEmbedding = EmbeddingMLP(w["add_embedding"], in: config.projectionClassEmbeddingsInputDim, timeEmbedDim: tembChannels)

        var down: [UNetDownBlock] = []
        var output = channels[0]
        for (i, type) in config.downBlockTypes.enumerated() {
            let input = output
            output = channels[i]
            down.append(UNetDownBlock(w["down_blocks"][i], crossAttention: type.hasPrefix("CrossAttn"), layers: layers[i],
                                      inChannels: input, outChannels: output, tembChannels: tembChannels, heads: heads[i],
                                      transformerLayers: transformerLayers[i], crossAttentionDim: crossDims[i],
                                      addDownsample: i < levels - 1))
        }
        downBlocks = down
        midBlock = UNetMidBlock(w["mid_block"], channels: channels[levels - 1], tembChannels: tembChannels, heads: heads[levels - 1],
                                transformerLayers: transformerLayers[levels - 1], crossAttentionDim: crossDims[levels - 1])

        let reversedChannels = Array(channels.reversed())
        var up: [UNetUpBlock] = []
        output = reversedChannels[0]
        for (i, type) in config.upBlockTypes.enumerated() {
            let previous = output
            output = reversedChannels[i]
            let input = reversedChannels[min(i + 1, levels - 1)]
            let r = levels - 1 - i
            up.append(UNetUpBlock(w["up_blocks"][i], crossAttention: type.hasPrefix("CrossAttn"), layers: layers[r] + 1,
                                  inChannels: input, prevOutputChannels: previous, outChannels: output, tembChannels: tembChannels,
                                  heads: heads[r], transformerLayers: transformerLayers[r], crossAttentionDim: crossDims[r],
                                  addUpsample: i < levels - 1))
        }
        upBlocks = up
        convNormOut = GroupNorm(w["conv_norm_out"], channels: channels[0], eps: 1e-5)
        convOut = Conv2d(w["conv_out"], in: channels[0], out: config.outChannels, kernel: 3, padding: 1)
    }

    /// Batches whose latent positions (batch x frames x h x w) exceed this run one sample at a
    /// time (same result: every op is per sample), halving the activation memory of the guidance
    /// batch at full size (2 x 25 x 72 x 128 = 460,800 positions) at no cost in GEMM width.
    public static var splitBatchAbove: Int {
        get { splitBatchAboveKnob.value }
        set { splitBatchAboveKnob.value = newValue }
    }
    private static let splitBatchAboveKnob = Locked(1 << 18)

    public func callAsFunction(_ sample: Tensor, timestep: Float, encoderHiddenStates: Tensor, addedTimeIds: Tensor) -> Tensor {
        precondition(sample.rank == 5, "sample must be [batch, frames, channels, height, width]")
        let batch = sample.shape[0]
        if batch > 1 && sample.count / sample.shape[2] > Self.splitBatchAbove {
            let outputs = (0..<batch).map { i in
                forward(slice(sample, axis: 0, range: i..<(i + 1)), timestep: timestep,
                        encoderHiddenStates: slice(encoderHiddenStates, axis: 0, range: i..<(i + 1)),
                        addedTimeIds: slice(addedTimeIds, axis: 0, range: i..<(i + 1)))
            }
            return concat(outputs, axis: 0)
        }
        return forward(sample, timestep: timestep, encoderHiddenStates: encoderHiddenStates, addedTimeIds: addedTimeIds)
    }

    private func forward(_ sample: Tensor, timestep: Float, encoderHiddenStates: Tensor, addedTimeIds: Tensor) -> Tensor {
        let batch = sample.shape[0], frames = sample.shape[1]

        // Time and added-time-id embeddings, per sample, then repeated per frame.
        let tEmb = timestepEmbedding(Array(repeating: timestep, count: batch), dim: config.blockOutChannels[0],
                                     flipSinToCos: true, downscaleFreqShift: 0)
        var emb = timeEmbedding(tEmb)
        let timeIds = timestepEmbedding(addedTimeIds.scalars, dim: config.additionTimeEmbedDim, flipSinToCos: true, downscaleFreqShift: 0)
        addInPlace(&emb, addEmbedding(timeIds.reshaped([batch, -1])))
        let tembActivated = silu(repeatInterleave(emb, repeats: frames, axis: 0))
        let context = repeatInterleave(encoderHiddenStates, repeats: frames, axis: 0)

        var h = convIn(sample.reshaped([batch * frames] + Array(sample.shape[2...])))
        var skips = [h]
        for block in downBlocks {
            let (out, blockSkips) = block(h, tembActivated: tembActivated, context: context, frames: frames)
            h = out
            skips += blockSkips
        }
        h = midBlock(h, tembActivated: tembActivated, context: context, frames: frames)
        for block in upBlocks {
            h = block(h, skips: &skips, tembActivated: tembActivated, context: context, frames: frames)
        }
        h = convOut(convNormOut(h, silu: true))
        return h.reshaped([batch, frames] + Array(h.shape[1...]))
    }
}
