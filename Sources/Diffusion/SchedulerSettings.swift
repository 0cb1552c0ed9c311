import Foundation

/// Which sampler a pipeline runs (`img2vid generate --scheduler euler|animatelcm`).
public enum SchedulerKind: String, CaseIterable, Sendable, Codable {
    /// diffusers' `EulerDiscreteScheduler`, the sampler of the Stable Video Diffusion releases (25 steps, guidance).
    case euler
    /// AnimateLCM-SVD's consistency sampler (`AnimateLCMSVDStochasticIterativeScheduler`, 1-8 steps), for the
    /// consistency-distilled UNet AnimateLCM-SVD-xt.
    case animatelcm
}

/// A sampler with its configuration: what a model folder's `scheduler/scheduler_config.json` describes, or what
/// `--scheduler` chose.
public enum SchedulerSettings: Equatable, Sendable {
    case euler(SchedulerConfig)
    case animateLCM(AnimateLCMSchedulerConfig)

    public var kind: SchedulerKind {
        switch self {
        case .euler: return .euler
        case .animateLCM: return .animatelcm
        }
    }

    /// The sampler's published settings for SVD: the SVD releases' Euler config, or the AnimateLCM-SVD demo's.
    public static func defaults(for kind: SchedulerKind) -> SchedulerSettings {
        switch kind {
        case .euler: return .euler(.stableVideoDiffusion)
        case .animatelcm: return .animateLCM(.animateLCMSVD)
        }
    }

    /// The sampler a request runs when it asks for `kind`: these settings when `kind` is nil or names this sampler
    /// (a folder's own AnimateLCM config is kept), else `kind`'s published settings (`defaults(for:)`).
    public func choosing(_ kind: SchedulerKind?) -> SchedulerSettings {
        guard let kind, kind != self.kind else { return self }
        return .defaults(for: kind)
    }

    /// Decodes a `scheduler_config.json`: the AnimateLCM sampler when `_class_name` is
    /// `AnimateLCMSVDStochasticIterativeScheduler`, otherwise the Euler family (as diffusers' SVD releases ship).
    public static func decode(_ data: Data) throws -> SchedulerSettings {
        struct ClassName: Decodable { let _class_name: String? }
        let name = try JSONDecoder().decode(ClassName.self, from: data)._class_name
        if name == AnimateLCMSchedulerConfig.className {
            return .animateLCM(try JSONDecoder().decode(AnimateLCMSchedulerConfig.self, from: data))
        }
        return .euler(try JSONDecoder().decode(SchedulerConfig.self, from: data))
    }

    /// A scheduler built from the configuration, its timesteps not yet set.
    public func makeScheduler() throws -> any Scheduler {
        switch self {
        case .euler(let config): return try EulerDiscreteScheduler(config: config)
        case .animateLCM(let config): return try AnimateLCMScheduler(config: config)
        }
    }

    /// A scheduler with the timesteps of `steps` steps (throws `SchedulerError` for an impossible count).
    public func makeScheduler(steps: Int) throws -> any Scheduler {
        var scheduler = try makeScheduler()
        try scheduler.setTimesteps(steps)
        return scheduler
    }
}
