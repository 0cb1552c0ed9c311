/// diffusers' `AutoencoderKLTemporalDecoder` config (`vae/config.json`), with its own field names.
public struct VAEConfig: Codable, Equatable, Sendable {
    public var inChannels: Int = 3
    public var outChannels: Int = 3
    public var downBlockTypes: [String] = Array(repeating: "DownEncoderBlock2D", count: 4)
    public var blockOutChannels: [Int] = [128, 256, 512, 512]
    public var layersPerBlock: Int = 2
    public var latentChannels: Int = 4
    public var scalingFactor: Float = 0.18215

    enum CodingKeys: String, CodingKey {
        case inChannels = "in_channels"
        case outChannels = "out_channels"
        case downBlockTypes = "down_block_types"
        case blockOutChannels = "block_out_channels"
        case layersPerBlock = "layers_per_block"
        case latentChannels = "latent_channels"
        case scalingFactor = "scaling_factor"
    }

    public init() {}

    /// Missing fields take the SVD release's values.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = VAEConfig()
        inChannels = try c.decodeIfPresent(Int.self, forKey: .inChannels) ?? d.inChannels
        outChannels = try c.decodeIfPresent(Int.self, forKey: .outChannels) ?? d.outChannels
        downBlockTypes = try c.decodeIfPresent([String].self, forKey: .downBlockTypes) ?? d.downBlockTypes
        blockOutChannels = try c.decodeIfPresent([Int].self, forKey: .blockOutChannels) ?? d.blockOutChannels
        layersPerBlock = try c.decodeIfPresent(Int.self, forKey: .layersPerBlock) ?? d.layersPerBlock
        latentChannels = try c.decodeIfPresent(Int.self, forKey: .latentChannels) ?? d.latentChannels
        scalingFactor = try c.decodeIfPresent(Float.self, forKey: .scalingFactor) ?? d.scalingFactor
    }

    public func validate() throws {
        func fail(_ why: String) -> ModelConfigError { ModelConfigError(component: "vae", problem: why) }
        guard !blockOutChannels.isEmpty, downBlockTypes.count == blockOutChannels.count else {
            throw fail("down_block_types and block_out_channels must have the same length")
        }
        for t in downBlockTypes where t != "DownEncoderBlock2D" { throw fail("down block type \(t) is not supported") }
        for c in blockOutChannels where c % 32 != 0 { throw fail("block_out_channels must be multiples of 32, got \(c)") }
        guard layersPerBlock >= 1 else { throw fail("layers_per_block must be at least 1") }
    }
}
