/// diffusers' `UNetSpatioTemporalConditionModel` config (`unet/config.json`), with its own field names.
public struct UNetConfig: Codable, Equatable, Sendable {
    public var sampleSize: Int?
    public var inChannels: Int = 8
    public var outChannels: Int = 4
    public var downBlockTypes: [String] = [
        "CrossAttnDownBlockSpatioTemporal", "CrossAttnDownBlockSpatioTemporal",
        "CrossAttnDownBlockSpatioTemporal", "DownBlockSpatioTemporal",
    ]
    public var upBlockTypes: [String] = [
        "UpBlockSpatioTemporal", "CrossAttnUpBlockSpatioTemporal",
        "CrossAttnUpBlockSpatioTemporal", "CrossAttnUpBlockSpatioTemporal",
    ]
    public var blockOutChannels: [Int] = [320, 640, 1280, 1280]
    public var additionTimeEmbedDim: Int = 256
    public var projectionClassEmbeddingsInputDim: Int = 768
    public var layersPerBlock: PerBlock = .all(2)
    public var crossAttentionDim: PerBlock = .all(1024)
    public var transformerLayersPerBlock: PerBlock = .all(1)
    public var numAttentionHeads: PerBlock = .each([5, 10, 20, 20])
    public var numFrames: Int = 25

    enum CodingKeys: String, CodingKey {
        case sampleSize = "sample_size"
        case inChannels = "in_channels"
        case outChannels = "out_channels"
        case downBlockTypes = "down_block_types"
        case upBlockTypes = "up_block_types"
        case blockOutChannels = "block_out_channels"
        case additionTimeEmbedDim = "addition_time_embed_dim"
        case projectionClassEmbeddingsInputDim = "projection_class_embeddings_input_dim"
        case layersPerBlock = "layers_per_block"
        case crossAttentionDim = "cross_attention_dim"
        case transformerLayersPerBlock = "transformer_layers_per_block"
        case numAttentionHeads = "num_attention_heads"
        case numFrames = "num_frames"
    }

    public init() {}

    /// Missing fields take diffusers' defaults (the SVD-XT values).
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = UNetConfig()
        sampleSize = try c.decodeIfPresent(Int.self, forKey: .sampleSize)
        inChannels = try c.decodeIfPresent(Int.self, forKey: .inChannels) ?? d.inChannels
        outChannels = try c.decodeIfPresent(Int.self, forKey: .outChannels) ?? d.outChannels
        downBlockTypes = try c.decodeIfPresent([String].self, forKey: .downBlockTypes) ?? d.downBlockTypes
        upBlockTypes = try c.decodeIfPresent([String].self, forKey: .upBlockTypes) ?? d.upBlockTypes
        blockOutChannels = try c.decodeIfPresent([Int].self, forKey: .blockOutChannels) ?? d.blockOutChannels
        additionTimeEmbedDim = try c.decodeIfPresent(Int.self, forKey: .additionTimeEmbedDim) ?? d.additionTimeEmbedDim
        projectionClassEmbeddingsInputDim = try c.decodeIfPresent(Int.self, forKey: .projectionClassEmbeddingsInputDim) ?? d.projectionClassEmbeddingsInputDim
        layersPerBlock = try c.decodeIfPresent(PerBlock.self, forKey: .layersPerBlock) ?? d.layersPerBlock
        crossAttentionDim = try c.decodeIfPresent(PerBlock.self, forKey: .crossAttentionDim) ?? d.crossAttentionDim
        transformerLayersPerBlock = try c.decodeIfPresent(PerBlock.self, forKey: .transformerLayersPerBlock) ?? d.transformerLayersPerBlock
        numAttentionHeads = try c.decodeIfPresent(PerBlock.self, forKey: .numAttentionHeads) ?? d.numAttentionHeads
        numFrames = try c.decodeIfPresent(Int.self, forKey: .numFrames) ?? d.numFrames
    }

    /// Checks what diffusers' constructor checks, plus what this port relies on.
    public func validate() throws {
        let n = blockOutChannels.count
        func fail(_ why: String) -> ModelConfigError { ModelConfigError(component: "unet", problem: why) }
        guard n > 0, downBlockTypes.count == n, upBlockTypes.count == n else {
            throw fail("down_block_types, up_block_types and block_out_channels must have the same length")
        }
        for field in [("num_attention_heads", numAttentionHeads), ("layers_per_block", layersPerBlock),
                      ("cross_attention_dim", crossAttentionDim), ("transformer_layers_per_block", transformerLayersPerBlock)] {
            guard field.1.values(count: n).count == n else { throw fail("\(field.0) must have one value per block (\(n))") }
        }
        let known = ["CrossAttnDownBlockSpatioTemporal", "DownBlockSpatioTemporal", "UpBlockSpatioTemporal", "CrossAttnUpBlockSpatioTemporal"]
        for t in downBlockTypes + upBlockTypes where !known.contains(t) {
            throw fail("block type \(t) is not a Stable Video Diffusion block")
        }
        for c in blockOutChannels where c % 32 != 0 {
            throw fail("block_out_channels must be multiples of 32 (GroupNorm uses 32 groups), got \(c)")
        }
        for (c, h) in zip(blockOutChannels, numAttentionHeads.values(count: n)) where h <= 0 || c % h != 0 {
            throw fail("block channels \(c) are not divisible by \(h) attention heads")
        }
        guard projectionClassEmbeddingsInputDim == 3 * additionTimeEmbedDim else {
            throw fail("projection_class_embeddings_input_dim must be 3 x addition_time_embed_dim (fps, motion bucket, noise augmentation)")
        }
    }
}

/// A config that this port cannot run, with the reason.
public struct ModelConfigError: Error, CustomStringConvertible, Equatable {
    public let component: String
    public let problem: String
    public var description: String { "\(component) config: \(problem)" }
}
