import Foundation
import Jobs
import XCTest

/// The store's queue semantics: claim order, fencing by attempt, cancel, requeue, events, outbox.
final class SQLiteJobStoreTests: XCTestCase {
    func makeStore() throws -> SQLiteJobStore {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("img2vid-store-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        return try SQLiteJobStore(path: dir.appendingPathComponent("db.sqlite").path)
    }

    func new(_ id: String, callback: String? = nil, key: String? = nil) -> NewTask {
        NewTask(id: id, keyId: key, externalTaskId: nil, input: TaskInput(modelName: "demo"), imagePath: "/x.png", policy: "none", callbackURL: callback)
    }

    func testClaimFencingCancelAndRequeue() async throws {
        let store = try makeStore()
        _ = try await store.submit(new("a", callback: "http://127.0.0.1:1/h"))
        try await Task.sleep(nanoseconds: 2_000_000)
        _ = try await store.submit(new("b"))
        let a = try await store.claim(workerId: "w", leaseSeconds: 60)
        XCTAssertEqual(a?.id, "a", "oldest first")
        XCTAssertEqual(a?.attempt, 1)
        let v1 = try await store.heartbeat(id: "a", attempt: 1, leaseSeconds: 60)
        XCTAssertEqual(v1, false)
        let v2 = try await store.progress(id: "a", attempt: 1, TaskProgress(stage: "denoise", step: 1, steps: 3))
        XCTAssertTrue(v2)

        // A restart queues it again; the old attempt can no longer write.
        let v3 = try await store.requeueAbandoned()
        XCTAssertEqual(v3, 1)
        let again = try await store.claim(workerId: "w2", leaseSeconds: 60)
        XCTAssertEqual(again?.id, "a")
        XCTAssertEqual(again?.attempt, 2)
        let v4 = try await store.progress(id: "a", attempt: 1, TaskProgress(stage: "denoise", step: 2, steps: 3))
        XCTAssertFalse(v4)
        let v5 = try await store.heartbeat(id: "a", attempt: 1, leaseSeconds: 60)
        XCTAssertNil(v5)
        let v6 = try await store.finish(id: "a", attempt: 1, .succeeded(fileId: "file_x", path: "/x.mp4", duration: 1))
        XCTAssertFalse(v6)
        let v7 = try await store.finish(id: "a", attempt: 2, .succeeded(fileId: "file_y", path: "/y.mp4", duration: 1))
        XCTAssertTrue(v7)
        let done = try await store.task(id: "a")
        XCTAssertEqual(done?.status, .succeed)
        XCTAssertEqual(done?.resultFileId, "file_y")
        let v8 = try await store.task(fileId: "file_y")?.id
        XCTAssertEqual(v8, "a")

        // Cancel: queued -> failed at once; processing -> flagged, read by the heartbeat.
        let b = try await store.requestCancel(id: "b")
        XCTAssertEqual(b?.status, .failed)
        XCTAssertEqual(b?.cancelled, true)
        let v9 = try await store.claim(workerId: "w", leaseSeconds: 60)
        XCTAssertNil(v9, "a cancelled task never starts")
        _ = try await store.submit(new("c"))
        _ = try await store.claim(workerId: "w", leaseSeconds: 60)
        _ = try await store.requestCancel(id: "c")
        let v10 = try await store.heartbeat(id: "c", attempt: 1, leaseSeconds: 60)
        XCTAssertEqual(v10, true)
        let v11 = try await store.finish(id: "c", attempt: 1, .cancelled)
        XCTAssertTrue(v11)
        let v12 = try await store.task(id: "c")?.cancelled
        XCTAssertEqual(v12, true)

        // Events: every status change and the progress, in order; resumable.
        let events = try await store.events(taskId: "a", after: 0)
        XCTAssertEqual(events.map(\.kind), ["status", "status", "progress", "status", "status", "status"])
        let v13 = try await store.events(taskId: "a", after: events[2].id).count
        XCTAssertEqual(v13, 3)
        // Outbox: one delivery per status change of the task with a callback.
        let due = try await store.dueDeliveries(now: Int64.max, limit: 100)
        XCTAssertEqual(due.count, 5)
        XCTAssertEqual(Set(due.map(\.id)).count, 5)
        try await store.recordAttempt(deliveryId: due[0].id, statusCode: 500, error: "HTTP 500", delivered: false, nextAttemptAt: Int64.max - 1)
        try await store.recordAttempt(deliveryId: due[1].id, statusCode: 200, error: nil, delivered: true, nextAttemptAt: nil)
        let after = try await store.deliveries(taskId: "a")
        XCTAssertEqual(after[0].attempts, 1)
        XCTAssertEqual(after[0].state, "pending")
        XCTAssertEqual(after[1].state, "delivered")
        let v14 = try await store.dueDeliveries(now: Int64.max - 2, limit: 100).count
        XCTAssertEqual(v14, 3)
    }

    /// `external_task_id` names one task per key: a repeat answers the first task (created false),
    /// another key (or the keyless server) gets its own; concurrent repeats store one task.
    func testExternalTaskIdIsIdempotentPerKey() async throws {
        let store = try makeStore()
        func external(_ id: String, key: String?) -> NewTask {
            NewTask(id: id, keyId: key, externalTaskId: "order-7", input: TaskInput(modelName: "demo"), imagePath: "/x.png",
                    policy: "none", callbackURL: nil)
        }
        let first = try await store.submit(external("t1", key: "alice"))
        XCTAssertTrue(first.created)
        let repeated = try await store.submit(external("t2", key: "alice"))
        XCTAssertFalse(repeated.created)
        XCTAssertEqual(repeated.task.id, "t1")
        let bobs = try await store.submit(external("t3", key: "bob"))
        XCTAssertTrue(bobs.created, "another key's id space")
        let keyless = try await store.submit(external("t4", key: nil))
        XCTAssertTrue(keyless.created)
        let keylessAgain = try await store.submit(external("t5", key: nil))
        XCTAssertEqual(keylessAgain.task.id, "t4")
        let found = try await store.task(externalTaskId: "order-7", keyId: "bob")
        XCTAssertEqual(found?.id, "t3")
        let raced = try await withThrowingTaskGroup(of: Bool.self) { group in
            for i in 0..<8 { group.addTask { try await store.submit(external("r\(i)", key: "carol")).created } }
            return try await group.reduce(into: 0) { $0 += $1 ? 1 : 0 }
        }
        XCTAssertEqual(raced, 1, "one of eight racing submissions stores a task")
        let total = try await store.tasks(keyId: nil, page: 1, pageSize: 50).total
        XCTAssertEqual(total, 4)
    }

    /// A key's unfinished-task limit holds under concurrent submissions: the count and the insert
    /// are one transaction, so of ten racing submissions under a limit of three, three are stored.
    func testUnfinishedLimitHoldsUnderConcurrentSubmissions() async throws {
        let store = try makeStore()
        let tasks = (0..<10).map { i -> NewTask in
            var task = new("l\(i)", key: "dave")
            task.unfinishedLimit = 3
            return task
        }
        let stored = try await withThrowingTaskGroup(of: Bool.self) { group in
            for task in tasks {
                group.addTask {
                    do { return try await store.submit(task).created } catch is UnfinishedLimitReached { return false }
                }
            }
            return try await group.reduce(into: 0) { $0 += $1 ? 1 : 0 }
        }
        XCTAssertEqual(stored, 3)
        let total = try await store.tasks(keyId: "dave", page: 1, pageSize: 50).total
        XCTAssertEqual(total, 3)
        // Another key is not counted against dave's limit.
        var other = new("e1", key: "erin")
        other.unfinishedLimit = 1
        let created = try await store.submit(other).created
        XCTAssertTrue(created)
    }

    func testLeaseExpiryAndPerKeyConcurrency() async throws {
        let store = try makeStore()
        let (_, key) = KeyHasher.newKey(name: "k", policy: nil, maxConcurrent: 1, maxQueued: nil)
        try await store.addKey(key)
        let v15 = try await store.hasActiveKeys()
        XCTAssertTrue(v15)
        _ = try await store.submit(new("k1", key: key.id))
        try await Task.sleep(nanoseconds: 2_000_000)
        _ = try await store.submit(new("k2", key: key.id))
        try await Task.sleep(nanoseconds: 2_000_000)
        _ = try await store.submit(new("free"))
        let v16 = try await store.claim(workerId: "w", leaseSeconds: 0.05)?.id
        XCTAssertEqual(v16, "k1")
        let v17 = try await store.claim(workerId: "w", leaseSeconds: 60)?.id
        XCTAssertEqual(v17, "free", "k2 waits: its key runs one already")
        try await Task.sleep(nanoseconds: 100_000_000)
        let reclaimed = try await store.claim(workerId: "w2", leaseSeconds: 60)
        XCTAssertEqual(reclaimed?.id, "k1", "an expired lease is claimed again")
        XCTAssertEqual(reclaimed?.attempt, 2)
        let v18 = try await store.counts(keyId: key.id)[.processing]
        XCTAssertEqual(v18, 1)
        let v19 = try await store.revokeKey("k")
        XCTAssertTrue(v19)
        let v20 = try await store.hasActiveKeys()
        XCTAssertFalse(v20)
    }
}
