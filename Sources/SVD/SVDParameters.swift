/// The settings of one generation, named as `StableVideoDiffusionPipeline.__call__` names them.
/// `defaults(for:)` gives the pipeline's defaults for a model (frames from the UNet config).
public struct SVDParameters: Codable, Equatable, Sendable {
    public var numFrames: Int
    public var numInferenceSteps: Int = 25
    public var width: Int = 1024
    public var height: Int = 576
    /// The frame rate the model is conditioned on; the pipeline passes `fps - 1` to the UNet.
    public var fps: Int = 7
    public var motionBucketId: Int = 127
    public var noiseAugStrength: Float = 0.02
    public var minGuidanceScale: Float = 1.0
    public var maxGuidanceScale: Float = 3.0
    public var decodeChunkSize: Int
    public var seed: UInt64 = 0

    public init(numFrames: Int, decodeChunkSize: Int? = nil) {
        self.numFrames = numFrames
        self.decodeChunkSize = decodeChunkSize ?? numFrames
    }

    /// diffusers' `do_classifier_free_guidance`: guidance runs when the largest scale exceeds 1.
    public var usesClassifierFreeGuidance: Bool { maxGuidanceScale > 1 }

    /// Checks settings against a model before any work; the message says what to change.
    public func validate(sizeMultiple: Int) throws {
        func fail(_ s: String) -> SVDParametersError { SVDParametersError(message: s) }
        guard numFrames >= 1 else { throw fail("--num-frames must be at least 1") }
        guard numInferenceSteps >= 1 else { throw fail("--steps must be at least 1") }
        guard decodeChunkSize >= 1 else { throw fail("--decode-chunk-size must be at least 1") }
        guard width > 0, height > 0, width % sizeMultiple == 0, height % sizeMultiple == 0 else {
            throw fail("--width and --height must be positive multiples of \(sizeMultiple), the VAE's scale factor (got \(width)x\(height))")
        }
        guard fps >= 1 else { throw fail("--fps must be at least 1") }
        guard (0...1023).contains(motionBucketId) else { throw fail("--motion-bucket-id must be between 0 and 1023 (SVD was trained on 0-255)") }
        guard noiseAugStrength >= 0, noiseAugStrength.isFinite else { throw fail("--noise-aug-strength must be a finite number >= 0") }
        guard minGuidanceScale.isFinite, maxGuidanceScale.isFinite else { throw fail("guidance scales must be finite") }
    }
}

/// Impossible generation settings (exit code 2 on the command line).
public struct SVDParametersError: Error, CustomStringConvertible, Equatable {
    public let message: String
    public var description: String { message }
}
