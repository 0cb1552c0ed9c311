import ConceptGuidance
import Moderation
import Tensor

/// What `img2vid compare` produced: per variant, the timings, per-step guidance statistics and the
/// cosine of every output frame's image embedding to every concept (the `--json` object).
public struct ComparisonReport: Encodable, Sendable {
    public struct Variant: Encodable, Sendable {
        public var guidance: String
        public var configuration: SLDConfiguration?
        public var stageSeconds: [String: Double]
        public var stepSeconds: [Double]
        public var steps: [SLDStepStatistics]
        /// [frame][concept]
        public var frameConceptCosine: [[Double]]
        /// Mean over frames, per concept.
        public var meanConceptCosine: [Double]

        enum CodingKeys: String, CodingKey {
            case guidance, configuration, steps
            case stageSeconds = "stage_seconds"
            case stepSeconds = "step_seconds"
            case frameConceptCosine = "frame_concept_cosine"
            case meanConceptCosine = "mean_concept_cosine"
        }
    }

    public var status = "ok"
    public var output: String
    public var seed: UInt64
    public var frames: Int
    public var width: Int
    public var height: Int
    public var steps: Int
    public var precision: ComputePrecision
    public var concepts: [String]
    public var variants: [Variant]
    public var loadSeconds: Double
    /// Every moderation decision of the request (not in the JSON object: the command prints them).
    public var moderation: [ModerationDecision] = []

    enum CodingKeys: String, CodingKey {
        case status, output, seed, frames, width, height, steps, precision, concepts, variants
        case loadSeconds = "load_seconds"
    }
}
