import Foundation

/// The detector types a policy can name, each with a factory that builds it from its settings.
///
/// Built in: `nudenet` (image), `semantic` (text), `keywords` (text), `exec` (image and text). An
/// operator adds a type in Swift by conforming to `Detector` and registering a factory:
/// ```swift
/// var registry = DetectorRegistry.builtIn
/// registry.register("watermark", reads: .image) { name, settings, policy in try WatermarkDetector(...) }
/// let moderator = try Moderator(policy: policy, registry: registry)
/// ```
public struct DetectorRegistry {
    /// What a detector type can scan: images (input and output stages), text (prompt stage).
    public struct Reads: OptionSet, Sendable {
        public let rawValue: Int
        public init(rawValue: Int) { self.rawValue = rawValue }
        public static let image = Reads(rawValue: 1)
        public static let text = Reads(rawValue: 2)
    }

    /// Builds a detector named `name` (the policy's key) from its settings; paths in the settings
    /// resolve through `policy.resolve(_:)`.
    public typealias Factory = (_ name: String, _ settings: DetectorSettings, _ policy: ModerationPolicy) throws -> Detector

    struct Entry {
        let reads: Reads
        let make: Factory
    }

    private var entries: [String: Entry] = [:]

    public init() {}

    /// Adds or replaces a detector type.
    public mutating func register(_ type: String, reads: Reads, make: @escaping Factory) {
        entries[type] = Entry(reads: reads, make: make)
    }

    /// The registered type names, sorted.
    public var types: [String] { entries.keys.sorted() }

    /// What `type` can scan, nil when it is not registered.
    public func reads(_ type: String) -> Reads? { entries[type]?.reads }

    /// Builds every detector the policy's rules use (once each), checking that each type exists,
    /// can scan what its stages give it, and finds its files. Fails closed: any problem is an error
    /// before the request does any work.
    public func makeDetectors(for policy: ModerationPolicy) throws -> [String: Detector] {
        var built: [String: Detector] = [:]
        for (i, rule) in policy.rules.enumerated() {
            guard let settings = policy.detectors[rule.detector] else {
                throw PolicyError.invalid(source: policy.source, reason: "rules[\(i)]: unknown detector '\(rule.detector)'")
            }
            let type = settings.type ?? rule.detector
            guard let entry = entries[type] else {
                throw PolicyError.invalid(source: policy.source, reason:
                    "detectors.\(rule.detector): unknown detector type '\(type)' (known: \(types.joined(separator: ", ")))")
            }
            let needs: Reads = rule.stage == .prompt ? .text : .image
            guard entry.reads.contains(needs) else {
                throw PolicyError.invalid(source: policy.source, reason:
                    "rules[\(i)]: detector '\(rule.detector)' (type \(type)) reads only \(entry.reads.contains(.text) ? "text" : "images"), "
                    + "so it cannot run at stage '\(rule.stage.rawValue)'")
            }
            if built[rule.detector] == nil {
                do {
                    built[rule.detector] = try entry.make(rule.detector, settings, policy)
                } catch let e as PolicyError {
                    throw e
                } catch {
                    throw PolicyError.detectorFailedToLoad(detector: rule.detector, reason: "\(error)")
                }
            }
        }
        return built
    }

    /// The four built-in types.
    public static var builtIn: DetectorRegistry {
        var r = DetectorRegistry()
        r.register("keywords", reads: .text) { name, settings, policy in
            guard let lists = settings.lists, !lists.isEmpty, lists.values.contains(where: { !$0.isEmpty }) else {
                throw PolicyError.invalid(source: policy.source, reason: "detectors.\(name): a keywords detector needs \"lists\" (label -> words)")
            }
            return KeywordDetector(name: name, lists: lists)
        }
        r.register("exec", reads: [.image, .text]) { name, settings, policy in
            guard let command = settings.command, let program = command.first, !program.isEmpty else {
                throw PolicyError.invalid(source: policy.source, reason: "detectors.\(name): an exec detector needs \"command\" (program and arguments)")
            }
            var resolved = command
            if program.contains("/") { resolved[0] = policy.resolve(program) }
            return ExecDetector(name: name, command: resolved, timeoutSeconds: settings.timeoutSeconds ?? ExecDetector.defaultTimeout)
        }
        r.register("nudenet", reads: .image) { name, settings, policy in
            let path = try requiredFile(settings.weights, field: "weights", detector: name, policy: policy)
            return try NudeNetDetector(weightsPath: path)
        }
        r.register("semantic", reads: .text) { name, settings, policy in
            guard let phrases = settings.phrases, !phrases.isEmpty else {
                throw PolicyError.invalid(source: policy.source, reason: "detectors.\(name): a semantic detector needs \"phrases\" (label -> example phrases)")
            }
            let path = try requiredFile(settings.model, field: "model", detector: name, policy: policy)
            return try SemanticDetector(modelPath: path, phrases: phrases)
        }
        return r
    }

    /// The path of a detector's weights, looked up next to the policy and then in its weight
    /// folders (`ModerationPolicy.weightCandidates`); missing weights fail closed with instructions.
    static func requiredFile(_ value: String?, field: String, detector: String, policy: ModerationPolicy) throws -> String {
        guard let value, !value.isEmpty else {
            throw PolicyError.invalid(source: policy.source, reason: "detectors.\(detector): \"\(field)\" is required")
        }
        guard let path = policy.locateWeights(value) else {
            let places = policy.weightCandidates(value)
            throw PolicyError.missingWeights(detector: detector, path: places[0], searched: Array(places.dropFirst()))
        }
        return path
    }
}
