/// How GIF output maps colours to its 256-colour palette (see `GIFPalette`).
public enum GIFDither: String, Sendable, CaseIterable {
    /// Nearest colour only: flat areas stay flat, smooth gradients band.
    case none
    /// 8x8 ordered (Bayer) dither of +-8 levels: a fine regular pattern that hides banding and,
    /// unlike error diffusion, stays still from frame to frame (no crawling noise).
    /// Skipped automatically when the palette holds every colour of the frames exactly.
    case ordered
}
