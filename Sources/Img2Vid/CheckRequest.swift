import Media

/// What `img2vid check` asks: would a request with this image and these texts pass the
/// moderation layer's input and prompt stages? No model is loaded, nothing is generated.
public struct CheckRequest: Sendable {
    public var imagePath: String
    public var maxInputPixels = ImageDecoder.defaultMaxPixels
    /// Every user text of the request (`--prompt`).
    public var texts: [String] = []

    public init(imagePath: String, texts: [String] = []) {
        self.imagePath = imagePath
        self.texts = texts
    }
}
