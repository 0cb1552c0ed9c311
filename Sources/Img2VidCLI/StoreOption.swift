import ArgumentParser
import Foundation
import Jobs
import PostgresStore

/// `serve --store`: the job store of one machine (SQLite under --data-dir, the default) or of
/// many (a PostgreSQL URL shared with other servers and `img2vid worker` processes).
struct StoreOption: ParsableArguments {
    @Option(name: .customLong("store"),
            help: ArgumentHelp("The job store: sqlite (under --data-dir) or postgres://USER@HOST:PORT/DB shared by many servers and workers.",
                               discussion: "The password comes from the URL or PGPASSWORD and is never printed.", valueName: "sqlite|url"))
    var url = "sqlite"

    @Option(help: "PostgreSQL store: claims of one task before it fails (a worker that dies mid-task costs one).")
    var maxAttempts = 3

    @Option(help: "PostgreSQL store: delete finished tasks (with their videos) this many days after they ended (0: keep).")
    var retentionDays = 0.0

    var isPostgres: Bool { PostgresLocation.isPostgresURL(url) }

    func validate() throws {
        guard url == "sqlite" || isPostgres else { throw ValidationError("--store must be sqlite or a postgres:// URL") }
        if maxAttempts < 1 { throw ValidationError("--max-attempts must be at least 1") }
    }

    /// Opens the store; for PostgreSQL also starts the retention sweep (process lifetime).
    func open(dataDirectory: String, render: @escaping @Sendable (TaskRecord) -> String) async throws -> any JobStore {
        guard isPostgres else {
            return try SQLiteJobStore(path: (dataDirectory as NSString).appendingPathComponent("img2vid.sqlite"), render: render)
        }
        let location: PostgresLocation
        do { location = try PostgresLocation(url: url) } catch { throw ValidationError("\(error)") }
        var settings = PostgresJobStore.Settings(scratchDirectory: (dataDirectory as NSString).appendingPathComponent("cache"))
        settings.maxAttempts = maxAttempts
        let store = try await PostgresJobStore.open(location, settings: settings, render: render)
        Console.note("job store: \(location)")
        if retentionDays > 0 {
            let seconds = retentionDays * 86_400
            Task.detached { await store.runRetention(retentionSeconds: seconds) }
        }
        return store
    }
}
