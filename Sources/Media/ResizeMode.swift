/// How `ImageResizer` maps an image onto a target size of another aspect ratio.
/// The three modes are diffusers' `VaeImageProcessor.resize(resize_mode=...)` modes.
public enum ResizeMode: String, Sendable, CaseIterable {
    /// Scale to cover the target, then centre-crop the overflow (diffusers "crop").
    case crop
    /// Scale to fit inside the target and fill the margins from the image's edges (diffusers "fill").
    case fit
    /// Scale each axis independently, ignoring the aspect ratio (diffusers "default").
    case stretch
}
