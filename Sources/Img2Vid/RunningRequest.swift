import Moderation

/// A request the engine is running: its own progress stream, its own cancellation, its own
/// moderation decisions and audit records. Nothing of it lives in the engine.
///
/// ```swift
/// let running = engine.start(request)
/// for await event in running.events { show(event) }      // ends when the request ends
/// let result = try await running.value()                 // or GenerationError (.cancelled, ...)
/// ```
/// `cancel()` (or `cancellation.cancel()` from anywhere: a signal handler, another task) stops it
/// at its next safe point, within one denoising step; so does cancelling the task awaiting `value()`.
public final class RunningRequest<Value: Sendable>: Sendable {
    /// Stage, step, decode, moderation and message events, in order; finishes with the request.
    public let events: AsyncStream<GenerationEvent>
    /// The request's cancellation handle (the one passed to `start`, or a new one).
    public let cancellation: CancellationFlag
    let context: RequestContext
    let task: Task<Value, Error>

    init(events: AsyncStream<GenerationEvent>, context: RequestContext, task: Task<Value, Error>) {
        self.events = events
        self.cancellation = context.cancellation
        self.context = context
        self.task = task
    }

    /// Stops the request at its next safe point; it then ends with `GenerationError.cancelled`
    /// and writes nothing.
    public func cancel() {
        cancellation.cancel()
        task.cancel()
    }

    /// The request's result, or the `GenerationError` it ended with. Cancelling the awaiting task
    /// cancels the request.
    public func value() async throws -> Value {
        try await withTaskCancellationHandler {
            try await task.value
        } onCancel: {
            cancel()
        }
    }

    /// The moderation decisions taken so far, in order (all of them once `value()` has returned).
    public var decisions: [ModerationDecision] { context.decisions }

    /// The audit records written for this request (one per request when the policy has an audit log).
    public var auditRecords: [AuditRecord] { context.auditRecords }
}
