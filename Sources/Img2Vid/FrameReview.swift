import Media

/// A look at the decoded frames between decoding and writing, the seam an outside layer (the
/// moderation layer's output stage) uses without the generator knowing what it is. Set it on
/// `GenerationRequest.frameReview`; the generator calls it once, before anything is written.
/// Throwing stops the request with that error (nothing is written).
public protocol FrameReview: AnyObject, Sendable {
    func review(_ frames: [RGBImage]) throws -> FrameVerdict
}

/// What to do with the reviewed frames.
public enum FrameVerdict {
    /// Write the frames as they are.
    case allow
    /// Write these frames instead (same count and size), for example blurred ones.
    case replace([RGBImage])
    /// Write nothing; the request fails with `GenerationError.rejected(reason)`.
    case withhold(reason: String)
    /// Write the video (these frames, or the originals when nil) to `path` instead of the
    /// requested output; frames requested with `--save-frames` are not written.
    case quarantine(path: String, frames: [RGBImage]?)
}
