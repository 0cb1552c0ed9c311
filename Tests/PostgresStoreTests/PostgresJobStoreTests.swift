import Foundation
import Jobs
import PostgresStore
import XCTest

/// The PostgreSQL store against a real server (a throw-away cluster started for this class):
/// claim exclusivity under concurrency, lease expiry and reclaim, fencing, max attempts with
/// per-attempt reasons, the outbox's atomicity, migrations under two concurrent starters, bytes
/// in and out, idempotent resubmission, delivery claims, LISTEN/NOTIFY and retention.
final class PostgresJobStoreTests: XCTestCase {
    nonisolated(unsafe) static var cluster: PostgresCluster?

    override class func setUp() {
        super.setUp()
        cluster = try? PostgresCluster()
    }

    override class func tearDown() {
        cluster?.destroy()
        cluster = nil
        super.tearDown()
    }

    var image: String = ""

    override func setUp() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("img2vid-pgtest-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        image = dir.appendingPathComponent("in.png").path
        FileManager.default.createFile(atPath: image, contents: Data([0x89, 0x50, 0x4E, 0x47, 1, 2, 3, 0, 255]))
    }

    func makeStore(database: String? = nil, maxAttempts: Int = 3) async throws -> (PostgresJobStore, String) {
        guard let cluster = Self.cluster else { throw XCTSkip("no PostgreSQL cluster (run Scripts/setup)") }
        let db = try database ?? cluster.createDatabase()
        var settings = PostgresJobStore.Settings(scratchDirectory: FileManager.default.temporaryDirectory
            .appendingPathComponent("img2vid-pgscratch-\(UUID().uuidString)").path)
        settings.maxAttempts = maxAttempts
        let store = try await PostgresJobStore.open(try PostgresLocation(url: cluster.url(database: db)), settings: settings,
                                                    render: { #"{"task_id":"\#($0.id)","task_status":"\#($0.status.rawValue)"}"# })
        addTeardownBlock {
            store.close()
            try? FileManager.default.removeItem(atPath: settings.scratchDirectory)
        }
        return (store, db)
    }

    /// A store on `url` with its own scratch folder (for starters racing each other).
    static func open(_ url: String) async throws -> PostgresJobStore {
        try await PostgresJobStore.open(try PostgresLocation(url: url), settings: .init(scratchDirectory: NSTemporaryDirectory() + "img2vid-pgrace-\(UUID().uuidString)"),
                                        render: { _ in "{}" })
    }

    func new(_ id: String, callback: String? = nil, external: String? = nil) -> NewTask {
        NewTask(id: id, keyId: nil, externalTaskId: external, input: TaskInput(modelName: "demo"), imagePath: image, policy: "none",
                callbackURL: callback)
    }

    func testLocationReadsURLAndEnvironmentAndNeverPrintsThePassword() throws {
        let l = try PostgresLocation(url: "postgres://img:s3cret@db.example:6432/queue?sslmode=require", environment: [:])
        XCTAssertEqual(l.host, "db.example")
        XCTAssertEqual(l.port, 6432)
        XCTAssertEqual(l.user, "img")
        XCTAssertEqual(l.password, "s3cret")
        XCTAssertEqual(l.database, "queue")
        XCTAssertEqual(l.sslMode, "require")
        XCTAssertFalse(l.description.contains("s3cret"), l.description)
        let e = try PostgresLocation(url: "postgres:///", environment: ["PGHOST": "/run/postgresql", "PGUSER": "u", "PGPASSWORD": "pw",
                                                                         "PGDATABASE": "d", "PGPORT": "5433"])
        XCTAssertEqual(e.host, "/run/postgresql")
        XCTAssertEqual(e.port, 5433)
        XCTAssertEqual(e.user, "u")
        XCTAssertEqual(e.password, "pw")
        XCTAssertEqual(e.database, "d")
        XCTAssertFalse(e.description.contains("pw"))
        XCTAssertThrowsError(try PostgresLocation(url: "mysql://x/y"))
        XCTAssertThrowsError(try PostgresLocation(url: "postgres://x/y?sslmode=maybe"))
    }

    func testClaimsAreExclusiveUnderConcurrency() async throws {
        let (first, db) = try await makeStore()
        let n = 40
        for i in 0..<n { _ = try await first.submit(new("t\(i)")) }
        var stores = [first]
        for _ in 0..<3 { stores.append(try await makeStore(database: db).0) }
        // 4 processes' pools, 3 claimers each, all at once.
        let claimed = try await withThrowingTaskGroup(of: [String].self) { group in
            for (s, store) in stores.enumerated() {
                for c in 0..<3 {
                    group.addTask {
                        var mine: [String] = []
                        while let task = try await store.claim(workerId: "w\(s).\(c)", leaseSeconds: 60) {
                            XCTAssertEqual(task.attempt, 1)
                            mine.append(task.id)
                        }
                        return mine
                    }
                }
            }
            var all: [String] = []
            for try await part in group { all += part }
            return all
        }
        XCTAssertEqual(claimed.count, n, "every task claimed once")
        XCTAssertEqual(Set(claimed).count, n, "no task claimed twice")
    }

    func testExpiredLeaseIsReclaimedAndTheOldAttemptIsFenced() async throws {
        let (store, _) = try await makeStore()
        _ = try await store.submit(new("a", callback: "http://127.0.0.1:9/hook"))
        let first = try await store.claim(workerId: "slow", leaseSeconds: 0.3)
        XCTAssertEqual(first?.attempt, 1)
        let notYet = try await store.claim(workerId: "other", leaseSeconds: 60)
        XCTAssertNil(notYet, "a live lease is not taken over")
        try await Task.sleep(nanoseconds: 500_000_000)
        let second = try await store.claim(workerId: "other", leaseSeconds: 60)
        XCTAssertEqual(second?.id, "a")
        XCTAssertEqual(second?.attempt, 2)

        // The first worker wakes up: every write of attempt 1 is refused.
        let beat = try await store.heartbeat(id: "a", attempt: 1, leaseSeconds: 60)
        XCTAssertNil(beat)
        let progressed = try await store.progress(id: "a", attempt: 1, TaskProgress(stage: "denoise", step: 1, steps: 2))
        XCTAssertFalse(progressed)
        let lateVideo = FileManager.default.temporaryDirectory.appendingPathComponent("late-\(UUID().uuidString).mp4").path
        FileManager.default.createFile(atPath: lateVideo, contents: Data("late".utf8))
        defer { try? FileManager.default.removeItem(atPath: lateVideo) }
        let lateFinish = try await store.finish(id: "a", attempt: 1, .succeeded(fileId: "file_late", path: lateVideo, duration: 1))
        XCTAssertFalse(lateFinish)

        let video = FileManager.default.temporaryDirectory.appendingPathComponent("v-\(UUID().uuidString).mp4").path
        FileManager.default.createFile(atPath: video, contents: Data("the video".utf8))
        let finished = try await store.finish(id: "a", attempt: 2, .succeeded(fileId: "file_ok", path: video, duration: 1.5))
        XCTAssertTrue(finished)
        XCTAssertFalse(FileManager.default.fileExists(atPath: video), "the bytes are in the database; the local copy is removed")
        let none = try await store.task(fileId: "file_late")
        XCTAssertNil(none)
        let served = try await store.task(fileId: "file_ok")
        XCTAssertEqual(served?.id, "a")
        XCTAssertEqual(served?.resultPath.flatMap { FileManager.default.contents(atPath: $0) }, Data("the video".utf8))

        let attempts = try await store.attempts(taskId: "a")
        XCTAssertEqual(attempts.map(\.attempt), [1, 2])
        XCTAssertEqual(attempts[0].outcome, "lost")
        XCTAssertTrue(attempts[0].reason?.contains("lease expired") == true, "\(attempts)")
        XCTAssertEqual(attempts[1].outcome, "succeeded")
        // One succeed delivery: submitted, processing (x2), succeed; the fenced finish wrote none.
        let bodies = try await store.deliveries(taskId: "a").map(\.body)
        XCTAssertEqual(bodies.filter { $0.contains(#""succeed""#) }.count, 1)
        XCTAssertEqual(bodies.count, 4, "\(bodies)")
    }

    func testMaxAttemptsFailWithTheReasonOfEachAttempt() async throws {
        let (store, _) = try await makeStore(maxAttempts: 2)
        _ = try await store.submit(new("doomed"))
        for attempt in 1...2 {
            let t = try await store.claim(workerId: "crashy-\(attempt)", leaseSeconds: 0.1)
            XCTAssertEqual(t?.attempt, attempt)
            try await Task.sleep(nanoseconds: 250_000_000)
        }
        let none = try await store.claim(workerId: "w", leaseSeconds: 60)
        XCTAssertNil(none, "no third attempt")
        let task = try await store.task(id: "doomed")
        XCTAssertEqual(task?.status, .failed)
        let message = task?.statusMessage ?? ""
        XCTAssertTrue(message.contains("gave up after 2 attempts"), message)
        XCTAssertTrue(message.contains("attempt 1 on crashy-1: lease expired"), message)
        XCTAssertTrue(message.contains("attempt 2 on crashy-2: lease expired"), message)
    }

    func testStatusChangeAndOutboxCommitTogetherOrNotAtAll() async throws {
        let (store, db) = try await makeStore()
        _ = try await store.submit(new("a", callback: "http://127.0.0.1:9/hook"))
        let claimed = try await store.claim(workerId: "w", leaseSeconds: 60)
        XCTAssertEqual(claimed?.attempt, 1)
        // The outbox refuses new rows: the status change must roll back with it.
        try Self.cluster!.psql("ALTER TABLE webhook_delivery ADD CONSTRAINT refuse CHECK (false) NOT VALID", database: db)
        do {
            _ = try await store.finish(id: "a", attempt: 1, .failed(kind: "error", message: "boom", moderation: nil))
            XCTFail("finish should have failed with the outbox insert")
        } catch {}
        let still = try await store.task(id: "a")
        XCTAssertEqual(still?.status, .processing, "no status change without its webhook")
        let eventsBefore = try await store.events(taskId: "a", after: 0).count
        try Self.cluster!.psql("ALTER TABLE webhook_delivery DROP CONSTRAINT refuse", database: db)
        let done = try await store.finish(id: "a", attempt: 1, .failed(kind: "error", message: "boom", moderation: nil))
        XCTAssertTrue(done)
        let after = try await store.task(id: "a")
        XCTAssertEqual(after?.status, .failed)
        let eventsAfter = try await store.events(taskId: "a", after: 0).count
        XCTAssertEqual(eventsAfter, eventsBefore + 1)
        let failedDeliveries = try await store.deliveries(taskId: "a").filter { $0.body.contains(#""failed""#) }
        XCTAssertEqual(failedDeliveries.count, 1)
    }

    func testMigrationsRunOnceUnderTwoConcurrentStarters() async throws {
        guard let cluster = Self.cluster else { throw XCTSkip("no PostgreSQL cluster") }
        let db = try cluster.createDatabase()
        let url = cluster.url(database: db)
        async let a = Self.open(url)
        async let b = Self.open(url)
        let (first, second) = try await (a, b)
        first.close()
        second.close()
        XCTAssertEqual(try cluster.psql("SELECT COUNT(*) FROM img2vid_migration", database: db), "\(PostgresMigrator.migrations.count)")
        let (third, _) = try await makeStore(database: db)
        let applied = try await PostgresMigrator.migrate(third.client, logger: .init(label: "test"))
        XCTAssertEqual(applied, [], "a current schema is left alone")
    }

    func testInputBytesTravelThroughTheDatabaseAndResubmissionIsIdempotent() async throws {
        let (store, _) = try await makeStore()
        let one = try await store.submit(new("x1", external: "order-7"))
        let again = try await store.submit(new("x2", external: "order-7"))
        XCTAssertEqual(one.task.id, "x1")
        XCTAssertTrue(one.created)
        XCTAssertEqual(again.task.id, "x1", "same external_task_id: the first task is answered")
        XCTAssertFalse(again.created)
        let found = try await store.task(externalTaskId: "order-7", keyId: nil)
        XCTAssertEqual(found?.id, "x1")
        let total = try await store.tasks(keyId: nil, page: 1, pageSize: 10).total
        XCTAssertEqual(total, 1)
        try FileManager.default.removeItem(atPath: image)   // the worker's machine has no copy
        let claimed = try await store.claim(workerId: "w", leaseSeconds: 60)
        let path = try XCTUnwrap(claimed?.imagePath)
        XCTAssertEqual(FileManager.default.contents(atPath: path), Data([0x89, 0x50, 0x4E, 0x47, 1, 2, 3, 0, 255]))
    }

    /// A key's unfinished-task limit under racing submissions through two processes' pools: of
    /// ten, exactly three are stored (the count and the insert are one transaction under the
    /// key's advisory lock).
    func testUnfinishedLimitHoldsUnderConcurrentSubmissionsFromTwoServers() async throws {
        let (a, db) = try await makeStore()
        let (b, _) = try await makeStore(database: db)
        let tasks = (0..<10).map { i -> NewTask in
            var task = NewTask(id: "l\(i)", keyId: "dave", externalTaskId: nil, input: TaskInput(modelName: "demo"), imagePath: image,
                               policy: "none", callbackURL: nil)
            task.unfinishedLimit = 3
            return task
        }
        let stored = try await withThrowingTaskGroup(of: Bool.self) { group in
            for (i, task) in tasks.enumerated() {
                let store = i % 2 == 0 ? a : b
                group.addTask {
                    do { return try await store.submit(task).created } catch is UnfinishedLimitReached { return false }
                }
            }
            return try await group.reduce(into: 0) { $0 += $1 ? 1 : 0 }
        }
        XCTAssertEqual(stored, 3)
        let total = try await a.tasks(keyId: "dave", page: 1, pageSize: 50).total
        XCTAssertEqual(total, 3)
    }

    func testCancelReachesTheHeartbeat() async throws {
        let (store, _) = try await makeStore()
        _ = try await store.submit(new("c"))
        _ = try await store.claim(workerId: "w", leaseSeconds: 60)
        let before = try await store.heartbeat(id: "c", attempt: 1, leaseSeconds: 60)
        XCTAssertEqual(before, false)
        _ = try await store.requestCancel(id: "c")
        let after = try await store.heartbeat(id: "c", attempt: 1, leaseSeconds: 60)
        XCTAssertEqual(after, true)
        let finished = try await store.finish(id: "c", attempt: 1, .cancelled)
        XCTAssertTrue(finished)
        let task = try await store.task(id: "c")
        XCTAssertEqual(task?.cancelled, true)
    }

    func testTwoProcessesNeverClaimTheSameDelivery() async throws {
        let (a, db) = try await makeStore()
        let (b, _) = try await makeStore(database: db)
        for i in 0..<10 { _ = try await a.submit(new("d\(i)", callback: "http://127.0.0.1:9/hook")) }
        let now = PostgresJobStore.now() + 1000
        async let fromA = a.dueDeliveries(now: now, limit: 100)
        async let fromB = b.dueDeliveries(now: now, limit: 100)
        let (x, y) = try await (fromA, fromB)
        XCTAssertEqual(x.count + y.count, 10)
        XCTAssertTrue(Set(x.map(\.id)).isDisjoint(with: y.map(\.id)))
        let later = try await a.dueDeliveries(now: now, limit: 100)
        XCTAssertEqual(later.count, 0, "claimed deliveries stay hidden until their attempt is recorded")
    }

    func testSubmissionWakesListeners() async throws {
        let (listener, db) = try await makeStore()
        let (submitter, _) = try await makeStore(database: db)
        let woken = WakeCounter()
        let listening = Task { await listener.listenForSubmissions { await woken.add() } }
        defer { listening.cancel() }
        // The first call is the catch-up when the LISTEN starts.
        for _ in 0..<100 where await woken.count == 0 { try await Task.sleep(nanoseconds: 20_000_000) }
        let start = await woken.count
        _ = try await submitter.submit(new("w"))
        for _ in 0..<100 where await woken.count == start { try await Task.sleep(nanoseconds: 20_000_000) }
        let end = await woken.count
        XCTAssertGreaterThan(end, start, "NOTIFY reached the listener within 2 s")
    }

    func testRetentionDeletesOldFinishedTasks() async throws {
        let (store, _) = try await makeStore()
        _ = try await store.submit(new("old"))
        _ = try await store.submit(new("queued"))
        _ = try await store.claim(workerId: "w", leaseSeconds: 60)
        _ = try await store.finish(id: "old", attempt: 1, .failed(kind: "error", message: "x", moderation: nil))
        let kept = try await store.deleteFinished(olderThan: PostgresJobStore.now() - 60_000)
        XCTAssertEqual(kept, 0)
        let deleted = try await store.deleteFinished(olderThan: PostgresJobStore.now() + 1)
        XCTAssertEqual(deleted, 1)
        let gone = try await store.task(id: "old")
        XCTAssertNil(gone)
        let queued = try await store.task(id: "queued")
        XCTAssertEqual(queued?.status, .submitted, "unfinished tasks are never deleted")
    }
}

actor WakeCounter {
    private(set) var count = 0
    func add() { count += 1 }
}
