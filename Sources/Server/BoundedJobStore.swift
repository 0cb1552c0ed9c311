import Foundation
import Jobs

/// The job store as the HTTP handlers see it: every call answers within `timeout` seconds, and every
/// failure that means the store cannot serve now (as the store itself classifies it,
/// `JobStore.unavailability`) is thrown as `JobStoreUnavailable`, which the envelope turns into 503
/// with code 5002 or 5003 and `Retry-After` (docs/API.md, "Errors").
///
/// Without it a PostgreSQL-backed server that loses its database holds each request until
/// postgres-nio's pool gives up (about a minute) and then answers 500. The worker slots and the
/// webhook dispatcher use the store directly: they retry on their own schedule.
struct BoundedJobStore: JobStore {
    let base: any JobStore
    let timeout: Double

    init(_ base: any JobStore, timeout: Double) {
        self.base = base
        self.timeout = timeout
    }

    /// Runs one store call under the deadline; `late` gets the result of a call that ended after it.
    func call<T: Sendable>(_ what: String, late: (@Sendable (Result<T, any Error>) -> Void)? = nil,
                           _ operation: @escaping @Sendable () async throws -> T) async throws -> T {
        do {
            return try await Deadline.run(seconds: timeout, late: late, operation)
        } catch let passed as Deadline.Passed {
            throw JobStoreUnavailable(.timedOut, "the job store gave no answer within \(Self.seconds(passed.seconds)) s (\(what)); it is down, "
                                      + "unreachable or overloaded")
        } catch {
            if let unavailable = base.unavailability(error) { throw unavailable }
            throw error
        }
    }

    static func seconds(_ value: Double) -> String {
        value == value.rounded() ? String(Int(value)) : String(value)
    }

    /// A submission under the deadline. When the deadline passes first, the caller answers 503
    /// and `lateFailure` runs if the store's call fails after all (the caller removes the input it
    /// wrote); a call that commits late leaves its task, which a retry with the same
    /// `external_task_id` finds.
    func submit(_ task: NewTask, lateFailure: @escaping @Sendable () -> Void) async throws -> (task: TaskRecord, created: Bool) {
        let base = self.base
        return try await call("submit", late: { result in
            if case .failure = result { lateFailure() }
        }) { try await base.submit(task) }
    }

    // MARK: JobStore

    func submit(_ task: NewTask) async throws -> (task: TaskRecord, created: Bool) {
        let base = self.base
        return try await call("submit") { try await base.submit(task) }
    }
    func task(externalTaskId: String, keyId: String?) async throws -> TaskRecord? {
        let base = self.base
        return try await call("read a task") { try await base.task(externalTaskId: externalTaskId, keyId: keyId) }
    }
    func task(id: String) async throws -> TaskRecord? {
        let base = self.base
        return try await call("read a task") { try await base.task(id: id) }
    }
    func task(fileId: String) async throws -> TaskRecord? {
        let base = self.base
        return try await call("read a file's task") { try await base.task(fileId: fileId) }
    }
    func tasks(keyId: String?, page: Int, pageSize: Int) async throws -> (tasks: [TaskRecord], total: Int) {
        let base = self.base
        return try await call("list tasks") { try await base.tasks(keyId: keyId, page: page, pageSize: pageSize) }
    }
    func requestCancel(id: String) async throws -> TaskRecord? {
        let base = self.base
        return try await call("cancel") { try await base.requestCancel(id: id) }
    }
    func claim(workerId: String, leaseSeconds: Double) async throws -> TaskRecord? {
        let base = self.base
        return try await call("claim") { try await base.claim(workerId: workerId, leaseSeconds: leaseSeconds) }
    }
    func heartbeat(id: String, attempt: Int, leaseSeconds: Double) async throws -> Bool? {
        let base = self.base
        return try await call("heartbeat") { try await base.heartbeat(id: id, attempt: attempt, leaseSeconds: leaseSeconds) }
    }
    func progress(id: String, attempt: Int, _ progress: TaskProgress) async throws -> Bool {
        let base = self.base
        return try await call("progress") { try await base.progress(id: id, attempt: attempt, progress) }
    }
    func finish(id: String, attempt: Int, _ outcome: TaskOutcome) async throws -> Bool {
        let base = self.base
        return try await call("finish") { try await base.finish(id: id, attempt: attempt, outcome) }
    }
    func requeueAbandoned() async throws -> Int {
        let base = self.base
        return try await call("requeue") { try await base.requeueAbandoned() }
    }
    func counts(keyId: String?) async throws -> [TaskStatus: Int] {
        let base = self.base
        return try await call("count tasks") { try await base.counts(keyId: keyId) }
    }
    func events(taskId: String, after afterId: Int64) async throws -> [TaskEvent] {
        let base = self.base
        return try await call("read events") { try await base.events(taskId: taskId, after: afterId) }
    }
    func dueDeliveries(now: Int64, limit: Int) async throws -> [WebhookDelivery] {
        let base = self.base
        return try await call("read deliveries") { try await base.dueDeliveries(now: now, limit: limit) }
    }
    func recordAttempt(deliveryId: String, statusCode: Int?, error: String?, delivered: Bool, nextAttemptAt: Int64?) async throws {
        let base = self.base
        try await call("record a delivery") {
            try await base.recordAttempt(deliveryId: deliveryId, statusCode: statusCode, error: error, delivered: delivered, nextAttemptAt: nextAttemptAt)
        }
    }
    func deliveries(taskId: String) async throws -> [WebhookDelivery] {
        let base = self.base
        return try await call("read deliveries") { try await base.deliveries(taskId: taskId) }
    }
    func addKey(_ key: APIKey) async throws {
        let base = self.base
        try await call("add a key") { try await base.addKey(key) }
    }
    func keys() async throws -> [APIKey] {
        let base = self.base
        return try await call("read the API keys") { try await base.keys() }
    }
    func revokeKey(_ idOrName: String) async throws -> Bool {
        let base = self.base
        return try await call("revoke a key") { try await base.revokeKey(idOrName) }
    }
    func hasActiveKeys() async throws -> Bool {
        let base = self.base
        return try await call("read the API keys") { try await base.hasActiveKeys() }
    }
    func unavailability(_ error: any Error) -> JobStoreUnavailable? { base.unavailability(error) }
}
