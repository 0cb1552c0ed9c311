import ArgumentParser
import ConceptGuidance

/// Concept-guidance flags of `generate`: `--guidance PRESET` plus the concept and `--sld-*` flags.
/// Without any of them, generation is exactly the plain pipeline (bit-identical to `--guidance off`).
struct GuidanceOptions: ParsableArguments {
    @Option(name: .customLong("guidance"), help: ArgumentHelp(
        "Concept guidance (Safe Latent Diffusion): off, weak, medium, strong or max.",
        discussion: "Default: off, or medium when a concept is given. README: Concept guidance.",
        valueName: "preset"))
    var preset: SLDConfiguration.Preset?

    @OptionGroup var concepts: ConceptOptions

    /// The request's settings.
    var settings: ConceptGuidanceSettings {
        var s = concepts.settings
        s.preset = preset
        return s
    }
}

/// The concept flags and `--sld-*` overrides, shared by `generate` and `compare`.
struct ConceptOptions: ParsableArguments {
    @Option(name: .customLong("avoid-image"), help: ArgumentHelp(
        "Steer away from what this image shows (repeatable: the concept is the images' mean embedding).", valueName: "path"))
    var avoidImages: [String] = []

    @Option(name: .customLong("avoid-concept"), help: ArgumentHelp(
        "Steer away from this text (repeatable, one concept each); needs --text-encoder.", valueName: "text"))
    var avoidTexts: [String] = []

    @Option(help: ArgumentHelp(
        "CLIP text encoder for --avoid-concept: a transformers CLIPModel or CLIPTextModelWithProjection folder with vocab.json and merges.txt (for SVD: OpenCLIP ViT-H/14).",
        valueName: "path"))
    var textEncoder: String?

    @Option(help: ArgumentHelp("Named concept vectors (made with 'img2vid concepts export').", valueName: "file.safetensors"))
    var conceptFile: String?

    @Option(name: .customLong("avoid"), help: ArgumentHelp(
        "A concept of --concept-file, by name (repeatable; default: all of them).", valueName: "name"))
    var avoidNames: [String] = []

    @Option(help: "Override the preset's sld_guidance_scale (saturation speed of the per-element weight).")
    var sldGuidanceScale: Double?

    @Option(help: "Override the preset's sld_warmup_steps (steps before the safety term applies).")
    var sldWarmupSteps: Int?

    @Option(help: "Override the preset's sld_threshold.")
    var sldThreshold: Double?

    @Option(help: "Override the preset's sld_momentum_scale.")
    var sldMomentumScale: Double?

    @Option(help: "Override the preset's sld_mom_beta.")
    var sldMomBeta: Double?

    var settings: ConceptGuidanceSettings {
        var s = ConceptGuidanceSettings()
        s.avoidImages = avoidImages
        s.avoidTexts = avoidTexts
        s.textEncoderPath = textEncoder
        s.conceptFile = conceptFile
        s.avoidNames = avoidNames
        s.guidanceScale = sldGuidanceScale
        s.warmupSteps = sldWarmupSteps
        s.threshold = sldThreshold
        s.momentumScale = sldMomentumScale
        s.momentumBeta = sldMomBeta
        return s
    }
}

extension SLDConfiguration.Preset: ExpressibleByArgument {
    public static var allValueStrings: [String] { allCases.map(\.rawValue) }
}
