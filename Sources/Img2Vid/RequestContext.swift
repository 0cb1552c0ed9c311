import Foundation
import Moderation

/// Everything that belongs to one request and to nothing else: its cancellation handle, its
/// progress stream, the moderation decisions taken for it and the audit records written for it.
/// Created by the engine per request and handed down the call chain; shared objects (the engine,
/// its model cache, the moderation layer) hold no per-request state.
final class RequestContext: @unchecked Sendable {
    let cancellation: CancellationFlag
    private let continuation: AsyncStream<GenerationEvent>.Continuation
    private let lock = NSLock()
    private var decisionList: [ModerationDecision] = []
    private var auditList: [AuditRecord] = []

    init(cancellation: CancellationFlag, continuation: AsyncStream<GenerationEvent>.Continuation) {
        self.cancellation = cancellation
        self.continuation = continuation
    }

    /// Sends an event to the request's progress stream.
    func emit(_ event: GenerationEvent) {
        continuation.yield(event)
    }

    /// Adds moderation decisions (in the order taken) and reports each on the stream.
    func record(_ decisions: [ModerationDecision]) {
        lock.lock()
        decisionList += decisions
        lock.unlock()
        for d in decisions { emit(.moderation(d)) }
    }

    func recordAudit(_ record: AuditRecord) {
        lock.lock()
        auditList.append(record)
        lock.unlock()
    }

    var decisions: [ModerationDecision] {
        lock.lock()
        defer { lock.unlock() }
        return decisionList
    }

    var auditRecords: [AuditRecord] {
        lock.lock()
        defer { lock.unlock() }
        return auditList
    }

    /// Ends the progress stream (the request finished, failed or was cancelled).
    func finish() {
        continuation.finish()
    }

    /// Throws `GenerationError.cancelled` once the request has been cancelled.
    func checkCancelled() throws {
        if cancellation.isCancelled { throw GenerationError.cancelled }
    }

    /// Runs `body` as the stage `stage`, reporting its start and end; returns its value and seconds.
    func stage<T>(_ stage: GenerationStage, _ body: () throws -> T) rethrows -> (T, Double) {
        emit(.stageStarted(stage))
        let start = Date()
        let value = try body()
        let elapsed = Date().timeIntervalSince(start)
        emit(.stageFinished(stage, seconds: elapsed))
        return (value, elapsed)
    }
}
