import Media

/// One finding of a detector: a label with a score in [0, 1] (and where in the image, if known).
public struct Detection: Equatable, Sendable, Codable {
    public let label: String
    public let score: Float
    /// Pixel box (x, y, width, height) in the scanned image, for image detectors that localise.
    public let box: [Float]?

    public init(label: String, score: Float, box: [Float]? = nil) {
        self.label = label
        self.score = score
        self.box = box
    }
}

/// A content detector the moderation layer can run. Operators add their own by conforming to this
/// protocol and registering a factory in `DetectorRegistry` (or, without Swift, through the `exec`
/// detector). A detector reports what it sees; the policy decides what that means.
///
/// Detectors throw when they cannot give an answer (a crash, a timeout, unreadable output): the
/// layer then fails closed and rejects the request.
public protocol Detector: AnyObject {
    /// The name policies refer to ("nudenet", "keywords", "semantic", "exec", ...).
    var name: String { get }
    /// Findings on an image; detectors that do not look at images return [].
    func detect(image: RGBImage) throws -> [Detection]
    /// Findings on a text; detectors that do not read text return [].
    func detect(text: String) throws -> [Detection]
    /// Findings on an image, told where it comes from (stage, frame index). The default ignores
    /// the context and calls `detect(image:)`; the exec detector passes it on to its command.
    func detect(image: RGBImage, context: DetectionContext) throws -> [Detection]
    /// Findings on a text, told where it comes from. The default calls `detect(text:)`.
    func detect(text: String, context: DetectionContext) throws -> [Detection]
}

extension Detector {
    public func detect(image: RGBImage, context: DetectionContext) throws -> [Detection] {
        try detect(image: image)
    }

    public func detect(text: String, context: DetectionContext) throws -> [Detection] {
        try detect(text: text)
    }
}
