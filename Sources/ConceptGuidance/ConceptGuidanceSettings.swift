/// What a request asks of concept guidance: the preset, any `--sld-*` overrides, and the concepts.
///
/// Concepts (one safety branch each, their safety terms summed):
/// - every `avoidImages` path together: one concept, the mean of their image embeddings;
/// - each `avoidTexts` entry: one concept, through the CLIP text encoder at `textEncoderPath`;
/// - each `avoidNames` entry: one vector of `conceptFile` (all of its vectors when no name is given).
///
/// Without `--guidance`, giving a concept selects the medium preset; `--guidance off` switches guidance off
/// whatever else is given, so that comparing runs is a one-flag change.
public struct ConceptGuidanceSettings: Sendable, Equatable {
    public var preset: SLDConfiguration.Preset?
    public var guidanceScale: Double?
    public var warmupSteps: Int?
    public var threshold: Double?
    public var momentumScale: Double?
    public var momentumBeta: Double?
    public var avoidImages: [String] = []
    public var avoidTexts: [String] = []
    public var conceptFile: String?
    public var avoidNames: [String] = []
    public var textEncoderPath: String?

    public init() {}

    public var hasConcepts: Bool { !avoidImages.isEmpty || !avoidTexts.isEmpty || conceptFile != nil || !avoidNames.isEmpty }

    /// The preset in force: the one given, else medium when a concept is given, else off.
    public var effectivePreset: SLDConfiguration.Preset { preset ?? (hasConcepts ? .medium : .off) }

    /// The step's numbers (preset with overrides); nil when guidance is off.
    public var configuration: SLDConfiguration? {
        guard var c = effectivePreset.configuration else { return nil }
        if let v = guidanceScale { c.guidanceScale = v }
        if let v = warmupSteps { c.warmupSteps = v }
        if let v = threshold { c.threshold = v }
        if let v = momentumScale { c.momentumScale = v }
        if let v = momentumBeta { c.momentumBeta = v }
        return c
    }

    /// The same settings with another preset (for `compare`).
    public func with(preset: SLDConfiguration.Preset) -> ConceptGuidanceSettings {
        var s = self
        s.preset = preset
        return s
    }

    /// Checks what can be checked before any model is loaded.
    public func validate() throws {
        guard configuration != nil else { return }
        guard hasConcepts else { throw ConceptGuidanceError.noConcept(preset: effectivePreset.rawValue) }
        if !avoidTexts.isEmpty, textEncoderPath == nil { throw ConceptGuidanceError.textEncoderRequired }
        if !avoidNames.isEmpty, conceptFile == nil { throw ConceptGuidanceError.conceptFileRequired }
        if let v = warmupSteps, v < 0 { throw ConceptGuidanceError.invalidSetting("--sld-warmup-steps must be 0 or more") }
        if let v = guidanceScale, !(v >= 0) { throw ConceptGuidanceError.invalidSetting("--sld-guidance-scale must be 0 or more") }
        if let v = momentumBeta, !(0...1).contains(v) { throw ConceptGuidanceError.invalidSetting("--sld-mom-beta must be between 0 and 1") }
    }
}
