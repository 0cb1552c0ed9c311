import Foundation
import Moderation

/// The narrow seam between the task queue and the engine: run one claimed task, reporting
/// progress and stopping when asked. `Server` and `WorkerPool` see only this; `EngineTaskRunner`
/// adapts the engine facade to it.
public protocol TaskRunner: Sendable {
    /// Runs `job`, writing the video to `job.outputPath`. Throws `TaskRunError`.
    func run(_ job: RunJob, progress: @escaping @Sendable (TaskProgress) -> Void, cancellation: RunCancellation) async throws -> RunOutput
    /// The submit-time moderation stages (input image and prompt) under `policy`: the decisions,
    /// and the decisive one when the request would be rejected. Throws `TaskRunError` for an
    /// unreadable image or a broken policy.
    func preflight(imagePath: String, texts: [String], policy: String) async throws -> PreflightResult
    /// Whether `modelName` is configured.
    func hasModel(_ modelName: String) -> Bool
    /// Ready to run (the default model loaded).
    func isReady() async -> Bool
    /// Models loaded since start (`/metrics`): a loaded model is kept for later tasks, so this
    /// stays at one per model while the cache holds them.
    var modelLoadCount: Int { get }
}

/// One task, as the runner needs it.
public struct RunJob: Sendable {
    public var taskId: String
    public var input: TaskInput
    public var imagePath: String
    public var policy: String
    public var outputPath: String

    public init(taskId: String, input: TaskInput, imagePath: String, policy: String, outputPath: String) {
        self.taskId = taskId
        self.input = input
        self.imagePath = imagePath
        self.policy = policy
        self.outputPath = outputPath
    }
}

public struct RunOutput: Sendable {
    public var outputPath: String
    /// Seconds of video.
    public var duration: Double
    public var decisions: [ModerationDecision]

    public init(outputPath: String, duration: Double, decisions: [ModerationDecision]) {
        self.outputPath = outputPath
        self.duration = duration
        self.decisions = decisions
    }
}

public struct PreflightResult: Sendable {
    public var decisions: [ModerationDecision]
    /// The decision that rejects the request; nil when it passes.
    public var rejection: ModerationDecision?
    /// The policy's source (path or "none"), for `data.moderation.policy`.
    public var policySource: String

    public init(decisions: [ModerationDecision], rejection: ModerationDecision?, policySource: String) {
        self.decisions = decisions
        self.rejection = rejection
        self.policySource = policySource
    }
}

/// Why a run produced no video.
public enum TaskRunError: Error, Sendable, CustomStringConvertible {
    /// Moderation withheld or quarantined the output (or rejected the input at run time).
    case rejected(String, TaskModeration?)
    case cancelled
    /// Bad settings for this model (the submission's fault).
    case invalid(String)
    /// Anything else (missing weights, encoder failure, ...).
    case failed(String)

    public var description: String {
        switch self {
        case .rejected(let s, _), .invalid(let s), .failed(let s): return s
        case .cancelled: return "cancelled"
        }
    }
}

/// Set by the worker when a cancel is requested; read by the runner between steps.
public final class RunCancellation: @unchecked Sendable {
    private let lock = NSLock()
    private var flag = false
    private var handlers: [@Sendable () -> Void] = []

    public init() {}

    public var isCancelled: Bool { lock.withLock { flag } }

    public func cancel() {
        let toRun: [@Sendable () -> Void] = lock.withLock {
            guard !flag else { return [] }
            flag = true
            defer { handlers = [] }
            return handlers
        }
        toRun.forEach { $0() }
    }

    /// Runs `handler` on cancel (at once when already cancelled).
    public func onCancel(_ handler: @escaping @Sendable () -> Void) {
        let now: Bool = lock.withLock {
            if flag { return true }
            handlers.append(handler)
            return false
        }
        if now { handler() }
    }
}
