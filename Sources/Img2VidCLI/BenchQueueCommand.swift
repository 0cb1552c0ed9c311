import ArgumentParser
import Foundation
import Jobs
import PostgresStore
import Server

/// `img2vid bench-queue`: the overhead of the job store itself (issue 17), with no model: trivial
/// tasks claimed and finished per second by 1, 4, 16... concurrent claimers, and the latency from
/// submit to claim. Each round gets a fresh store (a new SQLite file, or a new PostgreSQL database
/// created beside the URL's and dropped afterwards), so it never touches real tasks. The measuring
/// is `QueueBenchmark` (module Jobs), through the public `JobStore` protocol only.
struct BenchQueueCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-queue",
        abstract: "Measure the job store's overhead: trivial tasks claimed and finished per second, and submit-to-claim latency.",
        discussion: """
            A benchmark of the queue, not of the model. Each round (one per --workers count) opens a \
            fresh store: a new SQLite file under --data-dir, or, with a postgres:// URL, a new \
            database img2vid_bench_<random> created beside the URL's (the user needs CREATEDB) and \
            dropped at the end. Each claimer is a Swift task looping claim -> finish through the \
            JobStore protocol, as a worker slot does without a model; every task is finished as \
            failed(kind: "error", message: "benchmark"): the same fenced status update and event \
            as a success, without copying a video into the store. No heartbeat (a trivial task ends \
            before the first would be due), no webhook (no callback URL).

            Throughput: --tasks tasks are submitted first, then the claimers start together; \
            tasks/s = tasks / the time until the queue is empty. claim ms and finish ms are the \
            durations of single calls in that phase.

            Latency: while the claimers run idle, --latency-tasks more tasks are submitted at \
            --rate per second (open loop: each at its scheduled time, concurrently with submissions \
            still in flight). An idle claimer waits for a \
            wake-up or its poll interval (--poll-seconds, jittered +-25%): with SQLite the \
            submitter wakes one claimer after each submit, as serve wakes its slots; with \
            PostgreSQL the wake-up is LISTEN/NOTIFY, as img2vid worker uses. A task's latency is \
            the time its claim returned minus the time submit was called, both on this process's \
            monotonic clock (submit transaction + wake-up + claim transaction).

            The count: at the end of each round every submitted task must have been claimed exactly \
            once (attempt 1) and finished, no other task claimed, and the store's counts must have \
            moved by exactly the round's tasks. Any discrepancy is printed as TASKS LOST OR \
            DUPLICATED and the command exits 1.

            PostgreSQL pool: --pool-size (default: the largest --workers + 2: one connection per \
            claimer, the submitter, the LISTEN connection) is this process's client pool \
            (maxConnections); the server's max_connections is read and printed beside it.

            Examples:
              img2vid bench-queue
              img2vid bench-queue --store sqlite --workers 1,4,16 --tasks 2000 --json
              img2vid bench-queue --store postgres://postgres@127.0.0.1:5432/postgres \\
                  --workers 1,4,16 --pool-size 4
              Scripts/bench-queue        # SQLite, then a throw-away PostgreSQL 15 cluster

            Exit codes: 0 ok, 2 usage error, 130 interrupted, 1 a store error or a task lost or duplicated.
            """
    )

    @Option(help: ArgumentHelp("The job store: sqlite (a fresh file per round under --data-dir) or postgres://USER@HOST:PORT/DB (a fresh database per round beside DB).",
                               discussion: "The password comes from the URL or PGPASSWORD and is never printed.", valueName: "sqlite|url"))
    var store = "sqlite"

    @Option(help: ArgumentHelp("Concurrent claimers, one round per count.", valueName: "n,n,..."))
    var workers = "1,4,16"

    @Option(help: "Tasks of each round's throughput phase.")
    var tasks = 2000

    @Option(help: "Tasks of each round's latency phase (default: --tasks / 10, at least 1).")
    var latencyTasks: Int?

    @Option(help: "Submissions per second in the latency phase (keep it below the slowest round's tasks/s, or the figure is queueing, not overhead).")
    var rate = 20.0

    @Option(help: "An idle claimer's poll interval in seconds when no wake-up comes (jittered +-25%).")
    var pollSeconds = 0.25

    @Option(help: "PostgreSQL: connections in this process's pool (default: the largest --workers + 2).")
    var poolSize: Int?

    @Option(help: ArgumentHelp("Where the run's own folder (SQLite files, the store's scratch copies) is made and removed at the end (default: the temporary folder).",
                               valueName: "path"))
    var dataDir: String?

    @Flag(help: "Print one JSON object with every round on stdout.")
    var json = false

    /// Testing the checker (Tests/Img2VidCLITests): one claim is left unfinished, so the count must fail.
    @Flag(help: .hidden)
    var leaveOneUnfinished = false

    var workerCounts: [Int] { workers.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) } }
    var isPostgres: Bool { PostgresLocation.isPostgresURL(store) }

    func validate() throws {
        guard store == "sqlite" || isPostgres else { throw ValidationError("--store must be sqlite or a postgres:// URL") }
        let counts = workerCounts
        guard !counts.isEmpty, counts.count == workers.split(separator: ",").count, counts.allSatisfy({ $0 >= 1 && $0 <= 256 }) else {
            throw ValidationError("--workers must be a comma-separated list of counts from 1 to 256, for example 1,4,16")
        }
        if tasks < 1 { throw ValidationError("--tasks must be at least 1") }
        if let latencyTasks, latencyTasks < 0 { throw ValidationError("--latency-tasks must not be negative") }
        if !(rate > 0) { throw ValidationError("--rate must be more than 0") }
        if !(pollSeconds > 0) { throw ValidationError("--poll-seconds must be more than 0") }
        if let poolSize, poolSize < 1 { throw ValidationError("--pool-size must be at least 1") }
    }

    func run() async throws {
        let location: PostgresLocation?
        do { location = isPostgres ? try PostgresLocation(url: store) : nil } catch { throw ValidationError("\(error)") }
        // A folder of its own (under --data-dir or the temporary folder), removed at the end.
        let parent = dataDir.map { URL(fileURLWithPath: $0).standardizedFileURL.path } ?? FileManager.default.temporaryDirectory.path
        let folder = (parent as NSString).appendingPathComponent("img2vid-bench-queue-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let image = (folder as NSString).appendingPathComponent("bench-input.png")
        try Data(base64Encoded: Self.tinyPNG)!.write(to: URL(fileURLWithPath: image))

        var settings = QueueBenchmark.Settings(tasks: tasks, latencyTasks: latencyTasks ?? max(1, tasks / 10), rate: rate, imagePath: image)
        settings.pollSeconds = pollSeconds
        settings.leaveOneUnfinished = leaveOneUnfinished
        let benchmark = QueueBenchmark(settings: settings)
        let pool = poolSize ?? (workerCounts.max()! + 2)
        var report = QueueBenchReport(store: isPostgres ? "postgres" : "sqlite", location: location?.description ?? folder,
                                      outcome: QueueBenchmark.outcomeDescription, pollSeconds: pollSeconds, machine: .current)
        if location != nil { report.poolMaxConnections = pool }
        let config = ServerConfiguration(host: "127.0.0.1", port: 0, dataDirectory: folder, models: [:], defaultModel: "bench",
                                         policy: "none", resolvePolicy: { $0 }, slots: 0, webhookSecret: "")
        let render = APIServer.renderer(publicURL: PublicURL(config))

        let work = Task { [report] in
            var report = report
            for count in workerCounts {
                try Task.checkCancellation()
                let scratch = (folder as NSString).appendingPathComponent("round-\(count)")
                let round: QueueBenchmarkRound
                if let location {
                    round = try await Self.postgresRound(benchmark, workers: count, location: location, pool: pool, scratch: scratch,
                                                         render: render, report: &report)
                } else {
                    round = try await Self.sqliteRound(benchmark, workers: count, scratch: scratch, render: render)
                }
                try? FileManager.default.removeItem(atPath: scratch)
                report.rounds.append(round)
                if !json { Console.note(Self.progressLine(round)) }
                if !round.exactlyOnce {
                    Console.error("TASKS LOST OR DUPLICATED with \(count) workers: " + round.problems.joined(separator: "; "))
                }
            }
            return report
        }
        let trap = ShutdownTrap { work.cancel() }
        defer { withExtendedLifetime(trap) {} }
        do {
            report = try await work.value
        } catch is CancellationError {
            Console.error("interrupted")
            throw ExitCode(130)
        } catch {
            Console.error("\(error)")
            throw ExitCode(1)
        }
        report.exactlyOnce = report.rounds.allSatisfy(\.exactlyOnce)

        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            FileHandle.standardOutput.write(try encoder.encode(report) + Data("\n".utf8))
        } else {
            FileHandle.standardOutput.write(Data(Self.table(report).utf8))
        }
        if !report.exactlyOnce { throw ExitCode(1) }
    }

    /// One round on a new SQLite file (WAL, as `serve` opens it), removed afterwards.
    static func sqliteRound(_ benchmark: QueueBenchmark, workers: Int, scratch: String,
                            render: @escaping SQLiteJobStore.Renderer) async throws -> QueueBenchmarkRound {
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        let path = (scratch as NSString).appendingPathComponent("img2vid.sqlite")
        let store = try SQLiteJobStore(path: path, render: render)
        return try await benchmark.run(store: store, workers: workers, wakeSource: .inProcess)
    }

    /// One round in a new database beside `location`'s, dropped afterwards (also when the round fails).
    static func postgresRound(_ benchmark: QueueBenchmark, workers: Int, location: PostgresLocation, pool: Int, scratch: String,
                              render: @escaping PostgresJobStore.Renderer, report: inout QueueBenchReport) async throws -> QueueBenchmarkRound {
        let database = try await PostgresScratchDatabase.create(beside: location)
        var settings = PostgresJobStore.Settings(scratchDirectory: scratch)
        settings.maxConnections = pool
        let outcome: Result<QueueBenchmarkRound, Error>
        do {
            if report.serverMaxConnections == nil { report.serverMaxConnections = Int(try await database.serverSetting("max_connections")) }
            let store = try await PostgresJobStore.open(database.location, settings: settings, render: render)
            do {
                outcome = .success(try await benchmark.run(store: store, workers: workers,
                                                           wakeSource: .listener { wake in await store.listenForSubmissions(wake) }))
            } catch {
                outcome = .failure(error)
            }
            store.close()
        } catch {
            outcome = .failure(error)
        }
        // In a task of its own: an interrupted round (the work cancelled) still drops its database.
        try await Task { try await database.drop() }.value
        return try outcome.get()
    }

    /// A 1x1 PNG: every task's input (the PostgreSQL store copies it into the row and out at each claim).
    static let tinyPNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="

    static func ms(_ value: Double) -> String { String(format: value < 10 ? "%.2f" : "%.1f", value) }

    static func progressLine(_ r: QueueBenchmarkRound) -> String {
        "bench-queue: \(r.workers) worker(s): \(String(format: "%.0f", r.tasksPerSecond)) tasks/s, submit->claim p50 "
            + "\(ms(r.submitToClaimMilliseconds.p50)) ms, \(r.exactlyOnce ? "every task once" : "TASKS LOST OR DUPLICATED")"
    }

    static func table(_ report: QueueBenchReport) -> String {
        var rows = [["workers", "tasks", "tasks/s", "claim ms p50/p99", "finish ms p50/p99", "latency tasks", "rate/s",
                     "submit->claim ms p50/p95/p99", "exactly once"]]
        for r in report.rounds {
            rows.append(["\(r.workers)", "\(r.tasks)", String(format: "%.0f", r.tasksPerSecond),
                         "\(ms(r.claimMilliseconds.p50)) / \(ms(r.claimMilliseconds.p99))",
                         "\(ms(r.finishMilliseconds.p50)) / \(ms(r.finishMilliseconds.p99))",
                         "\(r.latencyTasks)", String(format: "%.0f", r.achievedRate),
                         "\(ms(r.submitToClaimMilliseconds.p50)) / \(ms(r.submitToClaimMilliseconds.p95)) / \(ms(r.submitToClaimMilliseconds.p99))",
                         r.exactlyOnce ? "yes (\(r.submitted))" : "NO"])
        }
        var text = "store: \(report.store) (\(report.location)), a fresh \(report.store == "sqlite" ? "file" : "database") per round\n"
        if let pool = report.poolMaxConnections {
            text += "pool: maxConnections \(pool) (this process's client pool), server max_connections "
                + (report.serverMaxConnections.map(String.init) ?? "?") + "\n"
        }
        text += "tasks finished as \(report.outcome); idle claimers poll every \(report.pollSeconds) s "
            + "(woken \(report.store == "sqlite" ? "in-process after each submit" : "by LISTEN/NOTIFY"))\n"
        text += "machine: \(report.machine.cpus) CPUs, \(report.machine.cpuModel)"
            + (report.machine.loadAverage.map { String(format: ", load average %.2f at the start", $0) } ?? "") + "\n"
        text += InspectCommand.grid(rows, rightAligned: [0, 1, 2, 3, 4, 5, 6, 7]) + "\n"
        for r in report.rounds where !r.exactlyOnce {
            text += "TASKS LOST OR DUPLICATED with \(r.workers) workers:\n" + r.problems.map { "  - \($0)\n" }.joined()
        }
        return text
    }
}
