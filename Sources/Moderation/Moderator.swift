import Foundation
import Media

/// Runs a policy's rules at the three checkpoints. Built once per request (or process): building
/// constructs every detector the rules use, so a missing weight file or an unknown detector fails
/// before any work is done.
///
/// Each detector runs once per scanned item however many rules use it; every rule then yields one
/// `ModerationDecision`. A detector that throws fails closed: its rules become `reject` decisions.
///
/// Shared by concurrent requests: it holds the policy and the built detectors, never a request's
/// state (the built-in detectors keep no state between calls either).
public final class Moderator: @unchecked Sendable {
    public let policy: ModerationPolicy
    private let detectors: [String: Detector]

    public init(policy: ModerationPolicy, registry: DetectorRegistry = .builtIn) throws {
        try policy.validate()
        self.policy = policy
        detectors = try registry.makeDetectors(for: policy)
    }

    /// The audit log the policy names, if any.
    public var auditLog: AuditLog? { policy.auditLog.map { AuditLog(path: policy.resolveOutput($0)) } }

    /// The quarantine folder the policy names, resolved.
    public var quarantineFolder: String? { policy.quarantineFolder.map(policy.resolveOutput) }

    /// True when the policy has rules at `stage`.
    public func hasRules(at stage: ModerationStage) -> Bool { policy.rules.contains { $0.stage == stage } }

    /// The input stage: the decoded image, before any model work.
    public func checkInput(_ image: RGBImage) -> ModerationVerdict {
        let decisions = evaluate(stage: .input, index: nil, count: nil) { detector, context in
            try detector.detect(image: image, context: context)
        }
        return ModerationVerdict(stage: .input, decisions: decisions)
    }

    /// The prompt stage: each user text on its own (empty texts are skipped).
    public func checkPrompt(_ texts: [String]) -> ModerationVerdict {
        var decisions: [ModerationDecision] = []
        for (i, text) in texts.enumerated() where !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
            decisions += evaluate(stage: .prompt, index: i, count: texts.count) { detector, context in
                try detector.detect(text: text, context: context)
            }
        }
        return ModerationVerdict(stage: .prompt, decisions: decisions)
    }

    /// The output stage: every n-th frame (n = the detector's `frame_stride`) is scanned; frames
    /// that hit a `blur` rule, with their unscanned neighbours, come back blurred. Scanning stops at
    /// the first reject or withhold.
    public func checkOutput(_ frames: [RGBImage]) -> (verdict: ModerationVerdict, frames: [RGBImage]) {
        var decisions: [ModerationDecision] = []
        var blur = Set<Int>()
        let rules = policy.rules(at: .output)
        let names = orderedDetectors(rules)
        scan: for index in frames.indices {
            for name in names {
                let stride = policy.detectors[name]?.stride ?? 1
                guard index % stride == 0 else { continue }
                let found = evaluate(stage: .output, index: index, count: frames.count, only: name) { detector, context in
                    try detector.detect(image: frames[index], context: context)
                }
                decisions += found
                for d in found where d.triggered && d.action == .blur {
                    for j in max(0, index - stride + 1)...min(frames.count - 1, index + stride - 1) { blur.insert(j) }
                }
                if found.contains(where: { $0.triggered && ($0.action == .reject || $0.action == .withhold) }) { break scan }
            }
        }
        var out = frames
        for i in blur.sorted() { out[i] = FrameBlur.obscure(frames[i]) }
        return (ModerationVerdict(stage: .output, decisions: decisions, blurredFrames: blur), out)
    }

    // MARK: Rules

    private func orderedDetectors(_ rules: [PolicyRule]) -> [String] {
        var names: [String] = []
        for r in rules where !names.contains(r.detector) { names.append(r.detector) }
        return names
    }

    /// Runs each detector of the stage's rules once (or only `only`) and turns its findings into
    /// one decision per rule.
    private func evaluate(stage: ModerationStage, index: Int?, count: Int?, only: String? = nil,
                         scan: (Detector, DetectionContext) throws -> [Detection]) -> [ModerationDecision] {
        let rules = policy.rules(at: stage).filter { only == nil || $0.detector == only }
        var decisions: [ModerationDecision] = []
        let frame = stage == .output ? index : nil
        for name in orderedDetectors(rules) {
            guard let detector = detectors[name] else { continue }
            let start = Date()
            let result: Result<[Detection], Error> = Result { try scan(detector, DetectionContext(stage: stage, index: index, count: count)) }
            let seconds = Date().timeIntervalSince(start)
            for rule in rules where rule.detector == name {
                switch result {
                case .failure(let error):
                    decisions.append(ModerationDecision(stage: stage, detector: name, label: nil, score: 0, threshold: rule.threshold,
                                                        action: .reject, triggered: true, seconds: seconds, frame: frame,
                                                        error: "\(error)"))
                case .success(let detections):
                    let best = detections.filter { rule.covers($0.label) }.max { $0.score < $1.score }
                    let score = best?.score ?? 0
                    decisions.append(ModerationDecision(stage: stage, detector: name, label: best?.label, score: score,
                                                        threshold: rule.threshold, action: rule.action,
                                                        triggered: best != nil && score >= rule.threshold,
                                                        seconds: seconds, frame: frame))
                }
            }
        }
        return decisions
    }
}
