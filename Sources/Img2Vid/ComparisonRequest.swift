import ConceptGuidance

/// Everything `img2vid compare` asks for: the same image, seed and settings under several
/// guidance presets, written side by side into one video.
public struct ComparisonRequest: Sendable {
    /// Image, output, model, pipeline settings, seed, resize, overwrite, user texts and precision, as
    /// `generate` takes them. Its `conceptGuidance` is ignored: `concepts` and `presets` say it.
    public var generation: GenerationRequest
    /// The concepts (and `--sld-*` overrides) every guided variant uses.
    public var concepts = ConceptGuidanceSettings()
    /// One variant per preset, in order.
    public var presets: [SLDConfiguration.Preset]

    public init(generation: GenerationRequest, presets: [SLDConfiguration.Preset]) {
        self.generation = generation
        self.presets = presets
    }
}
