import ArgumentParser

/// Moderation flags shared by `generate` and `check` (filled in by the moderation layer).
struct ModerationOptions: ParsableArguments {}
