import ArgumentParser
import Foundation
import Img2Vid
import Jobs
import PostgresStore
import Server

/// `img2vid worker`: runs tasks from a PostgreSQL job store that `img2vid serve --store` processes
/// fill (docs/DEPLOYMENT.md). Any number of workers on any machines; each claims with a lease,
/// renews it while it runs, and a worker that dies leaves its task to be claimed again when the
/// lease expires.
struct WorkerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "worker",
        abstract: "Run queued tasks from a PostgreSQL job store (the API is served by img2vid serve --store).",
        discussion: """
            The store URL is postgres://USER[:PASSWORD]@HOST[:PORT]/DB[?sslmode=disable|prefer|require|verify-full]; \
            what it leaves out comes from PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE and PGSSLMODE. \
            Prefer PGPASSWORD (or ~/.pgpass-style secrets in the unit's environment) to a password in the URL: \
            command lines are visible to other users. Inputs and videos travel through the database.

            Examples:
              img2vid worker --store postgres://img2vid@db.internal/img2vid
              img2vid worker --store postgres://img2vid@db.internal/img2vid --slots 2 --model xt=/srv/models/svd-xt
            """
    )

    @Option(help: "The job store: postgres://USER@HOST:PORT/DB.")
    var store: String

    @Option(help: "Tasks this process runs at once.")
    var slots = 1

    @Option(name: .customLong("model"), help: ArgumentHelp("A model as NAME=PATH (repeatable); the demo model is configured as 'demo' by default.", valueName: "name=path"))
    var models: [String] = []

    @Option(help: "model_name used when a task names none.")
    var defaultModel: String?

    @Option(help: "Folder for this worker's scratch copies (inputs being run, videos being written).")
    var dataDir = "img2vid-worker-data"

    @Option(help: "Seconds a claim lasts without a heartbeat; a worker silent that long loses its task to another.")
    var leaseSeconds = 30.0

    @Option(help: "Seconds between heartbeats (lease renewal and cancel check).")
    var heartbeatSeconds = 1.0

    @Option(help: "Seconds between polls when idle (jittered; LISTEN/NOTIFY wakes a worker sooner).")
    var pollSeconds = 2.0

    @Option(help: "Base of the video URLs in webhook bodies this worker writes (the API servers' public address).")
    var publicUrl = "http://127.0.0.1:8080"

    @Option(help: "Webhook signing secret, whsec_<base64> (default: $IMG2VID_WEBHOOK_SECRET); with one, this worker also delivers webhooks.")
    var webhookSecret: String?

    @Option(help: "Delete finished tasks (with their videos) this many days after they ended (0: keep).")
    var retentionDays = 0.0

    @Option(help: ArgumentHelp("A folder of detector weights for the tasks' moderation policies.", discussion: "Default: $IMG2VID_WEIGHTS.",
                               valueName: "path"))
    var weightsDir: String?

    @Option(help: "Connections in this process's pool.")
    var poolSize = 4

    @OptionGroup var runtime: RuntimeOptions

    func validate() throws {
        if slots < 1 { throw ValidationError("--slots must be at least 1") }
        guard PostgresLocation.isPostgresURL(store) else { throw ValidationError("--store must be a postgres:// URL") }
        if leaseSeconds <= heartbeatSeconds * 2 { throw ValidationError("--lease-seconds must be more than twice --heartbeat-seconds") }
    }

    func run() async throws {
        runtime.apply()
        let dataDir = URL(fileURLWithPath: self.dataDir).standardizedFileURL.path
        try FileManager.default.createDirectory(atPath: dataDir, withIntermediateDirectories: true)
        let map = try ModelMap(specs: models, defaultModel: defaultModel)
        let modelMap = map.models, defaultName = map.defaultName
        let location: PostgresLocation
        do { location = try PostgresLocation(url: store) } catch { throw ValidationError("\(error)") }
        let secret = webhookSecret ?? ProcessInfo.processInfo.environment["IMG2VID_WEBHOOK_SECRET"]
        let signer = try secret.map { try WebhookSigner(secret: $0) }

        var config = ServerConfiguration(host: "127.0.0.1", port: 0, dataDirectory: dataDir, models: modelMap, defaultModel: defaultName,
                                         policy: "none", resolvePolicy: { $0 }, slots: slots, webhookSecret: secret ?? "")
        config.publicURL = publicUrl
        var settings = PostgresJobStore.Settings(scratchDirectory: (dataDir as NSString).appendingPathComponent("cache"))
        settings.maxConnections = poolSize
        let render = APIServer.renderer(publicURL: PublicURL(config))
        let store = try await PostgresJobStore.open(location, settings: settings, render: render)

        let runner = EngineTaskRunner(models: modelMap, defaultModel: defaultName, engine: runtime.engine(),
                                      weightFolders: ModerationOptions.weightFolders(explicit: weightsDir))
        var poolSettings = WorkerPool.Settings(slots: slots, filesDirectory: (dataDir as NSString).appendingPathComponent("files"))
        poolSettings.leaseSeconds = leaseSeconds
        poolSettings.heartbeatSeconds = heartbeatSeconds
        poolSettings.pollSeconds = pollSeconds
        let pool = WorkerPool(store: store, runner: runner, settings: poolSettings)
        let retention = retentionDays * 86_400

        let work = Task {
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await pool.run() }
                group.addTask { await store.listenForSubmissions { await pool.wake() } }
                if let signer {
                    group.addTask { await WebhookDispatcher(store: store, signer: signer).run(pollInterval: 0.5) }
                }
                if retention > 0 {
                    group.addTask { await store.runRetention(retentionSeconds: retention) }
                }
            }
        }
        let trap = ShutdownTrap { work.cancel() }
        FileHandle.standardOutput.write(Data(
            "img2vid worker: running \(slots) slot(s) on \(location) (models: \(modelMap.keys.sorted().joined(separator: ", ")))\n".utf8))
        await work.value
        withExtendedLifetime(trap) {}
        store.close()
        Console.note("worker stopped; tasks it was running are claimed again by another worker once their lease expires")
    }
}
