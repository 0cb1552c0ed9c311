import Foundation

/// The in-process worker slots of `img2vid serve --slots N`: each slot claims the oldest queued
/// task from the store, runs it through the `TaskRunner`, streams its progress into the store and
/// finishes it, fenced by the attempt number. A heartbeat renews the lease and reads cancel
/// requests, so a running task stops within one denoising step of a cancel.
public actor WorkerPool {
    public struct Settings: Sendable {
        public var slots: Int
        /// Where videos are written (`<files>/<file id>.mp4`).
        public var filesDirectory: String
        public var leaseSeconds: Double = 60
        public var heartbeatSeconds: Double = 0.5
        public var pollSeconds: Double = 0.25

        public init(slots: Int, filesDirectory: String) {
            self.slots = slots
            self.filesDirectory = filesDirectory
        }
    }

    /// What the metrics want to know about running work.
    public struct Observer: Sendable {
        public var stepFinished: @Sendable (Double) -> Void
        public var taskFinished: @Sendable (TaskOutcome) -> Void

        public init(stepFinished: @escaping @Sendable (Double) -> Void = { _ in },
                    taskFinished: @escaping @Sendable (TaskOutcome) -> Void = { _ in }) {
            self.stepFinished = stepFinished
            self.taskFinished = taskFinished
        }
    }

    let store: any JobStore
    let runner: any TaskRunner
    let settings: Settings
    let observer: Observer
    let workerId: String
    private var running: [String: RunCancellation] = [:]
    private var woken = false

    public init(store: any JobStore, runner: any TaskRunner, settings: Settings, observer: Observer = Observer()) {
        self.store = store
        self.runner = runner
        self.settings = settings
        self.observer = observer
        workerId = "\(ProcessInfo.processInfo.hostName):\(ProcessInfo.processInfo.processIdentifier)"
    }

    /// Runs the slots until the surrounding task is cancelled (graceful shutdown): running
    /// generations are stopped and left `processing`, so the next start queues them again.
    public func run() async {
        try? FileManager.default.createDirectory(atPath: settings.filesDirectory, withIntermediateDirectories: true)
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<settings.slots {
                group.addTask { await self.slotLoop() }
            }
        }
    }

    /// A task was submitted: wake an idle slot now instead of at its next poll.
    public func wake() { woken = true }

    /// Stops a task this process runs, at once (the heartbeat would also see the store's flag).
    public func cancel(taskId: String) {
        running[taskId]?.cancel()
    }

    public var runningCount: Int { running.count }

    private func slotLoop() async {
        while !Task.isCancelled {
            let task: TaskRecord?
            do {
                task = try await store.claim(workerId: workerId, leaseSeconds: settings.leaseSeconds)
            } catch {
                log("claim failed: \(error)")
                task = nil
            }
            if let task {
                await execute(task)
            } else {
                await sleepOrWake(settings.pollSeconds)
            }
        }
    }

    /// Sleeps about `seconds` (jittered by +-25%, so many workers polling one database spread
    /// out, as River's and Oban's pollers do) or until `wake()`.
    private func sleepOrWake(_ seconds: Double) async {
        let slices = max(1, Int(seconds * Double.random(in: 0.75...1.25) / 0.05))
        for _ in 0..<slices where !woken && !Task.isCancelled {
            try? await Task.sleep(nanoseconds: 50_000_000)
        }
        woken = false
    }

    private func execute(_ task: TaskRecord) async {
        let cancellation = RunCancellation()
        running[task.id] = cancellation
        defer { running[task.id] = nil }
        let fileId = "file_" + RandomToken.make(bytes: 16)
        let outputPath = (settings.filesDirectory as NSString).appendingPathComponent("\(fileId).mp4")
        let job = RunJob(taskId: task.id, input: task.input, imagePath: task.imagePath, policy: task.policy, outputPath: outputPath)

        // Progress: the runner's thread yields, one consumer writes them in order.
        let (stream, continuation) = AsyncStream.makeStream(of: TaskProgress.self)
        let store = self.store, observer = self.observer, attempt = task.attempt
        let writer = Task {
            var lastStep = 0
            var lastStepAt = Date()
            for await p in stream {
                if p.step != lastStep {
                    if p.step > lastStep && lastStep > 0 || p.step == 1 { observer.stepFinished(Date().timeIntervalSince(lastStepAt)) }
                    lastStep = p.step
                    lastStepAt = Date()
                }
                _ = try? await store.progress(id: task.id, attempt: attempt, p)
            }
        }
        // Heartbeat: renews the lease, reads cancel requests. A store that cannot be reached (a
        // database restarting) is retried until the lease would have expired; only a refused
        // renewal (another attempt holds the task) or an expired lease stops the run unwritten.
        let leaseLost = LeaseFlag()
        let heartbeat = Task {
            var renewedAt = Date()
            while !Task.isCancelled {
                try? await Task.sleep(nanoseconds: UInt64(settings.heartbeatSeconds * 1e9))
                if Task.isCancelled { break }
                do {
                    switch try await store.heartbeat(id: task.id, attempt: attempt, leaseSeconds: settings.leaseSeconds) {
                    case true?: cancellation.cancel()
                    case nil: leaseLost.set(); cancellation.cancel()   // fenced: stop, write nothing
                    case false?: renewedAt = Date()
                    }
                } catch {
                    if Date().timeIntervalSince(renewedAt) > settings.leaseSeconds { leaseLost.set(); cancellation.cancel() }
                }
            }
        }
        let outcome: TaskOutcome
        do {
            if task.cancelRequested { throw TaskRunError.cancelled }
            let output = try await withTaskCancellationHandler {
                try await runner.run(job, progress: { continuation.yield($0) }, cancellation: cancellation)
            } onCancel: {
                cancellation.cancel()
            }
            outcome = .succeeded(fileId: fileId, path: output.outputPath, duration: output.duration)
        } catch let error as TaskRunError {
            switch error {
            case .cancelled: outcome = .cancelled
            case .rejected(let message, let moderation): outcome = .failed(kind: "rejected", message: message, moderation: moderation)
            case .invalid(let message): outcome = .failed(kind: "invalid", message: message, moderation: nil)
            case .failed(let message): outcome = .failed(kind: "error", message: message, moderation: nil)
            }
        } catch {
            outcome = .failed(kind: "error", message: "\(error)", moderation: nil)
        }
        continuation.finish()
        await writer.value
        heartbeat.cancel()
        if Task.isCancelled {
            // Shutting down: leave the task processing; the next start queues it again.
            try? FileManager.default.removeItem(atPath: outputPath)
            return
        }
        if leaseLost.isSet {
            log("task \(task.id) attempt \(attempt): lease lost, result discarded (fenced)")
            try? FileManager.default.removeItem(atPath: outputPath)
            return
        }
        // The store may be briefly unreachable (a database restart): retry while the lease lasts.
        let deadline = Date().addingTimeInterval(settings.leaseSeconds)
        while true {
            do {
                if try await store.finish(id: task.id, attempt: attempt, outcome) {
                    observer.taskFinished(outcome)
                } else {
                    log("task \(task.id) attempt \(attempt): lease lost, result discarded (fenced)")
                    try? FileManager.default.removeItem(atPath: outputPath)
                }
                return
            } catch {
                guard Date() < deadline, !Task.isCancelled else {
                    log("task \(task.id): finishing failed: \(error)")
                    return
                }
                try? await Task.sleep(nanoseconds: 500_000_000)
            }
        }
    }

    private nonisolated func log(_ message: String) {
        FileHandle.standardError.write(Data("img2vid serve: \(message)\n".utf8))
    }
}
