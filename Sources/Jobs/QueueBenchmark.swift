import Foundation

/// Measures the job store itself, not the model (`img2vid bench-queue`, issue 17): how many
/// trivial tasks per second W concurrent claimers claim and finish, and how long a task waits
/// from `submit` to `claim` when tasks arrive at a steady rate while the claimers run.
///
/// Each claimer is a Swift task that loops as a `WorkerPool` slot does, less the model:
/// `claim` then `finish` with `.failed(kind: "error", message: "benchmark")`, through the public
/// `JobStore` protocol only. A failed outcome is the cheapest finish that is still a real one: the
/// same fenced status update, event row and (PostgreSQL) attempt row as a success, without copying
/// a video into the store (that cost grows with the video, not with the queue). No heartbeat: a
/// trivial task ends long before the first one would be due.
///
/// One round, on a store that holds no unfinished task, has two phases:
/// 1. **Throughput**: `tasks` tasks are submitted first (not timed); the claimers start together
///    and the clock runs until the last of them finds the queue empty. tasks/s = tasks / that time.
/// 2. **Latency**: with the claimers running (idle), `latencyTasks` tasks are submitted at `rate`
///    per second (open loop: each at its scheduled time, concurrently with submissions still in
///    flight, not after the previous one returned or was claimed). An idle claimer waits for a wake-up (`WakeSource`) or its jittered poll interval,
///    as a `WorkerPool` slot does. A task's latency is the time its claim returned minus the time
///    `submit` was called for it, both read from this process's monotonic clock, so it includes
///    the submit transaction, the wake-up and the claim transaction.
///
/// Then every task is checked: each submitted task claimed exactly once (attempt 1), each claim
/// finished, no task claimed that the round did not submit, and the store's own counts moved by
/// exactly the round's tasks. `QueueBenchmarkRound.problems` lists every discrepancy.
public struct QueueBenchmark: Sendable {
    public struct Settings: Sendable {
        /// Tasks of the throughput phase.
        public var tasks: Int
        /// Tasks of the latency phase.
        public var latencyTasks: Int
        /// Submissions per second in the latency phase.
        public var rate: Double
        /// An idle claimer's poll interval (jittered by +-25%) when no wake-up comes.
        public var pollSeconds: Double = 0.25
        public var leaseSeconds: Double = 60
        /// The input file every task names (the PostgreSQL store copies its bytes into the row).
        public var imagePath: String
        /// The start of every task id of the round (followed by the worker count and a number).
        public var idPrefix: String = "bench"
        /// For testing the checker: claimer 0 leaves its first claim unfinished, which the
        /// exactly-once check must report.
        public var leaveOneUnfinished = false

        public init(tasks: Int, latencyTasks: Int, rate: Double, imagePath: String) {
            self.tasks = tasks
            self.latencyTasks = latencyTasks
            self.rate = rate
            self.imagePath = imagePath
        }
    }

    /// How an idle claimer learns of a new task before its next poll.
    public enum WakeSource: Sendable {
        /// The submitter wakes one idle claimer after each submission, as `serve` wakes its
        /// in-process slots (`WorkerPool.wake()` after `submit`).
        case inProcess
        /// A listener calls `wake` for each submission it hears of, as `img2vid worker` does with
        /// PostgreSQL's LISTEN/NOTIFY (`PostgresJobStore.listenForSubmissions`). It runs for the
        /// latency phase and is cancelled at its end; its first call (on starting to listen) is
        /// awaited before the first submission.
        case listener(@Sendable (_ wake: @escaping @Sendable () async -> Void) async -> Void)
    }

    /// The outcome every claimed task is finished with.
    public static let outcome = TaskOutcome.failed(kind: "error", message: "benchmark", moderation: nil)
    public static let outcomeDescription = #"failed(kind: "error", message: "benchmark")"#

    public let settings: Settings

    public init(settings: Settings) {
        precondition(settings.tasks >= 1 && settings.latencyTasks >= 0 && settings.rate > 0, "QueueBenchmark settings out of range")
        self.settings = settings
    }

    /// Runs one round with `workers` concurrent claimers. Throws `QueueBenchmarkError.storeNotEmpty`
    /// when the store holds unfinished tasks (the claimers would take them), and any store error.
    public func run(store: any JobStore, workers: Int, wakeSource: WakeSource) async throws -> QueueBenchmarkRound {
        precondition(workers >= 1, "at least one claimer")
        let before = try await store.counts(keyId: nil)
        let unfinished = (before[.submitted] ?? 0) + (before[.processing] ?? 0)
        if unfinished > 0 { throw QueueBenchmarkError.storeNotEmpty(unfinished) }

        // Warm-up, not timed: every claimer reads once, so a pool has opened its connections.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<workers { group.addTask { _ = try await store.counts(keyId: nil) } }
            try await group.waitForAll()
        }

        // 1. Throughput: a backlog of `tasks`, drained by the claimers.
        let backlog = (0..<settings.tasks).map { "\(settings.idPrefix)_w\(workers)_t\($0)" }
        for id in backlog { _ = try await store.submit(newTask(id)) }
        let drained = Doorbell(permitLimit: workers)
        await drained.close()
        let throughputStart = Self.now()
        let throughputLogs = try await claimers(workers, store: store, doorbell: drained, leaveOneUnfinished: settings.leaveOneUnfinished)
        let throughputSeconds = Self.seconds(Self.now() - throughputStart)

        // 2. Latency: tasks at a steady rate while the claimers wait for work.
        let arrivals = (0..<settings.latencyTasks).map { "\(settings.idPrefix)_w\(workers)_l\($0)" }
        let doorbell = Doorbell(permitLimit: workers)
        var listener: Task<Void, Never>?
        if case .listener(let listen) = wakeSource {
            listener = Task { await listen { await doorbell.ring() } }
        }
        defer { listener?.cancel() }
        if listener != nil {
            let deadline = Self.now() + 5_000_000_000
            while await doorbell.rings == 0 && Self.now() < deadline { try await Task.sleep(nanoseconds: 5_000_000) }
            await doorbell.clearPermits()
        }
        let inProcess: Bool
        if case .inProcess = wakeSource { inProcess = true } else { inProcess = false }
        let claiming = Task { try await claimers(workers, store: store, doorbell: doorbell, leaveOneUnfinished: false) }
        var submittedAt: [String: UInt64] = [:]
        do {
            submittedAt = try await submitSteadily(arrivals, store: store, doorbell: inProcess ? doorbell : nil)
        } catch {
            await doorbell.close()
            claiming.cancel()
            _ = try? await claiming.value
            throw error
        }
        // Achieved rate: submissions per second between the first and the last submit call.
        let starts = submittedAt.values
        let submitSeconds = starts.count > 1 ? Self.seconds(starts.max()! - starts.min()!) : 0
        await doorbell.close()
        let latencyLogs = try await withTaskCancellationHandler { try await claiming.value } onCancel: { claiming.cancel() }

        // The count: every task claimed once, finished once; the store agrees.
        let after = try await store.counts(keyId: nil)
        return tally(workers: workers, backlog: backlog, arrivals: arrivals, submittedAt: submittedAt,
                     throughput: throughputLogs, throughputSeconds: throughputSeconds, latency: latencyLogs,
                     submitSeconds: submitSeconds, before: before, after: after)
    }

    /// Submits `ids` at `settings.rate` per second, open loop: each submission starts at its
    /// scheduled time in a child task of its own, whether or not the earlier ones have returned.
    /// Answers when `submit` was called for each; rings `doorbell` (if any) after each submit.
    private func submitSteadily(_ ids: [String], store: any JobStore, doorbell: Doorbell?) async throws -> [String: UInt64] {
        let rate = settings.rate
        return try await withThrowingTaskGroup(of: (String, UInt64).self) { group in
            let start = Self.now()
            for (i, id) in ids.enumerated() {
                let due = start + UInt64(Double(i) / rate * 1e9)
                let now = Self.now()
                if due > now { try await Task.sleep(nanoseconds: due - now) }
                let task = newTask(id)
                group.addTask {
                    let calledAt = Self.now()
                    _ = try await store.submit(task)
                    await doorbell?.ring()
                    return (id, calledAt)
                }
            }
            var calledAt: [String: UInt64] = [:]
            for try await (id, at) in group { calledAt[id] = at }
            return calledAt
        }
    }

    // MARK: Claimers

    /// One claim as a claimer saw it.
    struct Claim: Sendable {
        var id: String
        var attempt: Int
        /// When the claim returned (monotonic nanoseconds).
        var at: UInt64
        var seconds: Double
    }

    /// What one claimer did in one phase.
    struct ClaimLog: Sendable {
        var claims: [Claim] = []
        var finishSeconds: [Double] = []
        var finished = 0
        var refused = 0
    }

    /// Runs `count` claimers until the doorbell is closed and the queue is empty.
    private func claimers(_ count: Int, store: any JobStore, doorbell: Doorbell, leaveOneUnfinished: Bool) async throws -> [ClaimLog] {
        let lease = settings.leaseSeconds, poll = settings.pollSeconds, prefix = settings.idPrefix
        let pid = ProcessInfo.processInfo.processIdentifier
        return try await withThrowingTaskGroup(of: ClaimLog.self) { group in
            for index in 0..<count {
                group.addTask {
                    try await Self.claimLoop(store: store, workerId: "\(prefix)-\(pid)-\(index)", leaseSeconds: lease, pollSeconds: poll,
                                             doorbell: doorbell, leaveFirstUnfinished: leaveOneUnfinished && index == 0)
                }
            }
            var logs: [ClaimLog] = []
            for try await log in group { logs.append(log) }
            return logs
        }
    }

    /// One claimer: claim, finish, again; when the queue is empty, wait for the doorbell (or the
    /// poll interval) unless it was closed before that claim began (then the queue is drained:
    /// every submission had committed before the claim looked).
    private static func claimLoop(store: any JobStore, workerId: String, leaseSeconds: Double, pollSeconds: Double,
                                  doorbell: Doorbell, leaveFirstUnfinished: Bool) async throws -> ClaimLog {
        var log = ClaimLog()
        while true {
            try Task.checkCancellation()
            let closed = await doorbell.isClosed
            let start = now()
            guard let task = try await store.claim(workerId: workerId, leaseSeconds: leaseSeconds) else {
                if closed { return log }
                await doorbell.wait(timeout: pollSeconds * Double.random(in: 0.75...1.25))
                continue
            }
            let claimedAt = now()
            log.claims.append(Claim(id: task.id, attempt: task.attempt, at: claimedAt, seconds: seconds(claimedAt - start)))
            if leaveFirstUnfinished && log.claims.count == 1 { continue }
            let finishStart = now()
            let done = try await store.finish(id: task.id, attempt: task.attempt, outcome)
            log.finishSeconds.append(seconds(now() - finishStart))
            if done { log.finished += 1 } else { log.refused += 1 }
        }
    }

    // MARK: The count

    private func tally(workers: Int, backlog: [String], arrivals: [String], submittedAt: [String: UInt64],
                       throughput: [ClaimLog], throughputSeconds: Double, latency: [ClaimLog], submitSeconds: Double,
                       before: [TaskStatus: Int], after: [TaskStatus: Int]) -> QueueBenchmarkRound {
        let submitted = Set(backlog).union(arrivals)
        let allClaims = (throughput + latency).flatMap(\.claims)
        var claimsPerTask: [String: Int] = [:]
        for claim in allClaims { claimsPerTask[claim.id, default: 0] += 1 }
        let duplicates = claimsPerTask.values.reduce(0) { $0 + max(0, $1 - 1) }
        let neverClaimed = submitted.filter { claimsPerTask[$0] == nil }.count
        let foreign = claimsPerTask.keys.filter { !submitted.contains($0) }.count
        let laterAttempts = allClaims.filter { $0.attempt != 1 }.count
        let finished = (throughput + latency).reduce(0) { $0 + $1.finished }
        let refused = (throughput + latency).reduce(0) { $0 + $1.refused }
        let delta = Dictionary(uniqueKeysWithValues: TaskStatus.allCases.map { ($0, (after[$0] ?? 0) - (before[$0] ?? 0)) })

        var problems: [String] = []
        if neverClaimed > 0 { problems.append("\(neverClaimed) of \(submitted.count) submitted tasks were never claimed (lost)") }
        if duplicates > 0 { problems.append("\(duplicates) claims of tasks that had been claimed already (duplicated)") }
        if foreign > 0 { problems.append("\(foreign) claimed tasks were not submitted by this round") }
        if laterAttempts > 0 { problems.append("\(laterAttempts) claims had an attempt number other than 1") }
        if refused > 0 { problems.append("\(refused) finishes were refused (fenced)") }
        if finished + refused != allClaims.count { problems.append("\(allClaims.count - finished - refused) claimed tasks were not finished") }
        if delta[.failed] != submitted.count || delta[.submitted] != 0 || delta[.processing] != 0 || delta[.succeed] != 0 {
            let shown = TaskStatus.allCases.map { "\($0.rawValue) \(delta[$0] ?? 0)" }.joined(separator: ", ")
            problems.append("the store's counts moved by \(shown); expected failed \(submitted.count) and nothing else")
        }

        let latencies = latency.flatMap(\.claims).compactMap { claim in
            submittedAt[claim.id].map { claim.at >= $0 ? Self.seconds(claim.at - $0) * 1000 : 0 }
        }
        return QueueBenchmarkRound(
            workers: workers, tasks: backlog.count, seconds: throughputSeconds,
            tasksPerSecond: Double(backlog.count) / throughputSeconds,
            claimMilliseconds: .init(throughput.flatMap(\.claims).map { $0.seconds * 1000 }),
            finishMilliseconds: .init(throughput.flatMap(\.finishSeconds).map { $0 * 1000 }),
            latencyTasks: arrivals.count, rate: settings.rate,
            achievedRate: arrivals.count > 1 && submitSeconds > 0 ? Double(arrivals.count - 1) / submitSeconds : settings.rate,
            submitToClaimMilliseconds: .init(latencies),
            submitted: submitted.count, claims: allClaims.count, finished: finished, refusedFinishes: refused,
            neverClaimed: neverClaimed, duplicateClaims: duplicates, foreignClaims: foreign,
            storeCounts: Dictionary(uniqueKeysWithValues: delta.map { ($0.key.rawValue, $0.value) }),
            problems: problems)
    }

    private func newTask(_ id: String) -> NewTask {
        NewTask(id: id, keyId: nil, externalTaskId: nil, input: TaskInput(modelName: "bench"), imagePath: settings.imagePath,
                policy: "none", callbackURL: nil)
    }

    static func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds }
    static func seconds(_ nanoseconds: UInt64) -> Double { Double(nanoseconds) / 1e9 }
}
