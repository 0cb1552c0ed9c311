import Foundation
import Tensor

/// An operator's moderation policy: which detectors run at which checkpoint and what their
/// findings lead to, where decisions are logged, where quarantined videos go.
///
/// ```json
/// {
///   "description": "faces are not allowed",
///   "audit_log": "audit.jsonl",
///   "quarantine_folder": "quarantine",
///   "detectors": {"nudenet": {"weights": "../../Weights/moderation/nudenet-320n.safetensors", "frame_stride": 2}},
///   "rules": [{"stage": "input", "detector": "nudenet", "labels": ["FACE_FEMALE", "FACE_MALE"],
///              "threshold": 0.5, "action": "reject"}]
/// }
/// ```
/// Relative paths (weights, model, audit log, quarantine folder, an exec command with a slash)
/// are resolved against the folder of the policy file. A detector's weights (`weights`, `model`)
/// travel with the policy: a relative path is looked up next to the policy file, then in each of
/// `weightFolders` (the installation's `Weights/`, then `--weights-dir` / `IMG2VID_WEIGHTS`), so a
/// copy of a shipped policy in `/etc/img2vid` finds the installed weights; the error names every
/// place looked. Unknown fields are errors, so a typo such as `"treshold"` does not silently fall
/// back to a default.
public struct ModerationPolicy: Codable, Sendable, Equatable {
    public var description: String?
    /// JSON Lines file every request's decisions are appended to (never the image: its SHA-256).
    public var auditLog: String?
    /// Folder receiving videos a `quarantine` rule holds back.
    public var quarantineFolder: String?
    public var detectors: [String: DetectorSettings]
    public var rules: [PolicyRule]
    /// The folder relative paths are resolved against (the policy file's folder); not in the JSON.
    public var baseDirectory: String = "."
    /// Where the policy was read from, for messages and the audit log; not in the JSON.
    public var source: String = "<memory>"
    /// Folders searched for detector weights after the policy's own folder, in order: the
    /// installation's `Weights/`, then `--weights-dir` / `IMG2VID_WEIGHTS`. Not in the JSON.
    public var weightFolders: [String] = []

    enum CodingKeys: String, CodingKey, CaseIterable {
        case description, detectors, rules
        case auditLog = "audit_log"
        case quarantineFolder = "quarantine_folder"
    }

    public init(description: String? = nil, auditLog: String? = nil, quarantineFolder: String? = nil,
                detectors: [String: DetectorSettings], rules: [PolicyRule], baseDirectory: String = ".") {
        self.description = description
        self.auditLog = auditLog
        self.quarantineFolder = quarantineFolder
        self.detectors = detectors
        self.rules = rules
        self.baseDirectory = baseDirectory
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        description = try c.decodeIfPresent(String.self, forKey: .description)
        auditLog = try c.decodeIfPresent(String.self, forKey: .auditLog)
        quarantineFolder = try c.decodeIfPresent(String.self, forKey: .quarantineFolder)
        detectors = try c.decodeIfPresent([String: DetectorSettings].self, forKey: .detectors) ?? [:]
        rules = try c.decode([PolicyRule].self, forKey: .rules)
    }

    /// Reads, decodes and validates a policy file.
    public static func load(path: String) throws -> ModerationPolicy {
        guard let data = FileContents.read(atPath: path) else {
            throw PolicyError.unreadable(path: path)
        }
        let base = (path as NSString).deletingLastPathComponent
        return try decode(data, source: path, baseDirectory: base.isEmpty ? "." : base)
    }

    /// Decodes and validates policy JSON.
    public static func decode(_ data: Data, source: String = "<memory>", baseDirectory: String = ".") throws -> ModerationPolicy {
        let raw: Any
        do {
            raw = try JSONSerialization.jsonObject(with: data)
        } catch {
            throw PolicyError.invalid(source: source, reason: "not valid JSON (\(error.localizedDescription))")
        }
        try checkKeys(raw, source: source)
        var policy: ModerationPolicy
        do {
            policy = try JSONDecoder().decode(ModerationPolicy.self, from: data)
        } catch let e as DecodingError {
            throw PolicyError.invalid(source: source, reason: describe(e))
        }
        policy.baseDirectory = baseDirectory
        policy.source = source
        try policy.validate()
        return policy
    }

    /// Checks that do not need the detector registry: thresholds, actions per stage, declared
    /// detectors, frame strides, the quarantine folder.
    public func validate() throws {
        if rules.isEmpty { throw PolicyError.invalid(source: source, reason: "the policy has no rules (use --policy none to turn moderation off)") }
        for (i, rule) in rules.enumerated() {
            let at = "rules[\(i)]"
            guard rule.stage.allowedActions.contains(rule.action) else {
                throw PolicyError.invalid(source: source, reason:
                    "\(at): action '\(rule.action.rawValue)' is not possible at stage '\(rule.stage.rawValue)' "
                    + "(allowed there: \(rule.stage.allowedActions.map(\.rawValue).joined(separator: ", ")))")
            }
            guard rule.threshold.isFinite, rule.threshold >= 0, rule.threshold <= 1 else {
                throw PolicyError.invalid(source: source, reason: "\(at): threshold \(rule.threshold) is outside [0, 1]")
            }
            guard detectors[rule.detector] != nil else {
                let known = detectors.keys.sorted()
                throw PolicyError.invalid(source: source, reason:
                    "\(at): unknown detector '\(rule.detector)'; declare it under \"detectors\" "
                    + (known.isEmpty ? "(none declared)" : "(declared: \(known.joined(separator: ", ")))"))
            }
            if rule.action == .quarantine && (quarantineFolder ?? "").isEmpty {
                throw PolicyError.invalid(source: source, reason: "\(at): action 'quarantine' needs \"quarantine_folder\" in the policy")
            }
        }
        for (name, settings) in detectors {
            if let s = settings.frameStride, s < 1 {
                throw PolicyError.invalid(source: source, reason: "detectors.\(name): frame_stride must be at least 1, not \(s)")
            }
            if let t = settings.timeoutSeconds, !(t > 0) {
                throw PolicyError.invalid(source: source, reason: "detectors.\(name): timeout_seconds must be positive, not \(t)")
            }
        }
    }

    /// `path` resolved against the policy's folder (`~` expands to the home folder).
    public func resolve(_ path: String) -> String {
        let expanded = (path as NSString).expandingTildeInPath
        if expanded.hasPrefix("/") { return expanded }
        return ((baseDirectory as NSString).appendingPathComponent(expanded) as NSString).standardizingPath
    }

    /// Every place a detector's weight path is looked for, in order: as given when absolute;
    /// otherwise next to the policy file, then in each of `weightFolders`, there without its leading
    /// `../` and `Weights/` (the shipped policies' `../../Weights/moderation/x` is `moderation/x` in
    /// a weights folder).
    public func weightCandidates(_ path: String) -> [String] {
        let expanded = (path as NSString).expandingTildeInPath
        if expanded.hasPrefix("/") { return [expanded] }
        var places = [resolve(expanded)]
        let inWeights = Self.withinWeightsFolder(expanded)
        for folder in weightFolders {
            let candidate = ((folder as NSString).appendingPathComponent(inWeights) as NSString).standardizingPath
            if !places.contains(candidate) { places.append(candidate) }
        }
        return places
    }

    /// The first of `weightCandidates(path)` that exists, nil when none does.
    public func locateWeights(_ path: String) -> String? {
        weightCandidates(path).first { FileManager.default.fileExists(atPath: $0) }
    }

    /// Where a file the policy writes (audit log, quarantine folder) goes: resolved against the
    /// policy's folder, except a path into a `Weights/` folder (the shipped policies'
    /// `../../Weights/moderation/audit.jsonl`) when that `Weights/` folder is not there, as for a
    /// copy of the policy elsewhere: it then goes into the installation's (`weightFolders.first`).
    public func resolveOutput(_ path: String) -> String {
        let expanded = (path as NSString).expandingTildeInPath
        let resolved = resolve(expanded)
        guard !expanded.hasPrefix("/"), let installation = weightFolders.first else { return resolved }
        let parts = (expanded as NSString).pathComponents
        guard let w = parts.firstIndex(of: "Weights"), parts[..<w].allSatisfy({ $0 == ".." || $0 == "." }) else { return resolved }
        let weightsHere = resolve(NSString.path(withComponents: Array(parts[...w])))
        if FileManager.default.fileExists(atPath: weightsHere) { return resolved }
        return ((installation as NSString).appendingPathComponent(Self.withinWeightsFolder(expanded)) as NSString).standardizingPath
    }

    /// `path` without its leading `./` and `../` components and then a leading `Weights/`.
    static func withinWeightsFolder(_ path: String) -> String {
        var parts = (path as NSString).pathComponents
        while let first = parts.first, first == ".." || first == "." { parts.removeFirst() }
        if parts.first == "Weights" { parts.removeFirst() }
        return parts.isEmpty ? path : NSString.path(withComponents: parts)
    }

    /// The rules of one stage, in file order.
    public func rules(at stage: ModerationStage) -> [PolicyRule] { rules.filter { $0.stage == stage } }

    // MARK: Messages

    private static func checkKeys(_ raw: Any, source: String) throws {
        guard let top = raw as? [String: Any] else {
            throw PolicyError.invalid(source: source, reason: "the policy must be a JSON object with \"rules\"")
        }
        try unknownKeys(top, allowed: CodingKeys.allCases.map(\.rawValue), at: "the policy", source: source)
        if let rules = top["rules"] as? [Any] {
            for (i, r) in rules.enumerated() {
                guard let rule = r as? [String: Any] else {
                    throw PolicyError.invalid(source: source, reason: "rules[\(i)] must be an object")
                }
                try unknownKeys(rule, allowed: PolicyRule.CodingKeys.allRawValues, at: "rules[\(i)]", source: source)
            }
        }
        if let detectors = top["detectors"] as? [String: Any] {
            for (name, d) in detectors {
                guard let settings = d as? [String: Any] else {
                    throw PolicyError.invalid(source: source, reason: "detectors.\(name) must be an object")
                }
                try unknownKeys(settings, allowed: DetectorSettings.CodingKeys.allCases.map(\.rawValue),
                                at: "detectors.\(name)", source: source)
            }
        }
    }

    private static func unknownKeys(_ object: [String: Any], allowed: [String], at place: String, source: String) throws {
        if let bad = object.keys.sorted().first(where: { !allowed.contains($0) }) {
            throw PolicyError.invalid(source: source, reason:
                "unknown field '\(bad)' in \(place) (known: \(allowed.sorted().joined(separator: ", ")))")
        }
    }

    private static func describe(_ error: DecodingError) -> String {
        func path(_ keys: [CodingKey]) -> String {
            var s = ""
            for k in keys {
                if let i = k.intValue { s += "[\(i)]" } else { s += (s.isEmpty ? "" : ".") + k.stringValue }
            }
            return s.isEmpty ? "the policy" : s
        }
        switch error {
        case .keyNotFound(let key, let ctx):
            let place = path(ctx.codingPath)
            return "\(place == "the policy" ? "the policy" : place) is missing \"\(key.stringValue)\""
        case .typeMismatch(let type, let ctx):
            return "\(path(ctx.codingPath)): expected \(type == String.self ? "a string" : "\(type)")"
        case .valueNotFound(_, let ctx):
            return "\(path(ctx.codingPath)): a value is missing"
        case .dataCorrupted(let ctx):
            return "\(path(ctx.codingPath)): \(ctx.debugDescription)"
        @unknown default:
            return "\(error)"
        }
    }
}

extension PolicyRule.CodingKeys {
    static var allRawValues: [String] { ["stage", "detector", "labels", "threshold", "action"] }
}
