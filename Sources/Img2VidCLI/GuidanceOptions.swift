import ArgumentParser

/// Concept-guidance flags of `generate` and `compare` (filled in by the concept-guidance module).
struct GuidanceOptions: ParsableArguments {}
