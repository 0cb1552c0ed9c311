import Foundation
import Jobs
import Tensor

/// What `img2vid bench-queue --json` prints: the store, its pool, the machine and every round
/// (`QueueBenchmarkRound`), keys in snake_case.
struct QueueBenchReport: Encodable {
    /// The machine the figures belong to.
    struct Machine: Encodable {
        var cpus: Int
        var cpuModel: String
        /// The 1-minute load average when the run started (/proc/loadavg): other work on the
        /// machine takes CPU from the claimers and the database.
        var loadAverage: Double?

        enum CodingKeys: String, CodingKey { case cpus, cpuModel = "cpu_model", loadAverage = "load_average" }

        /// This machine: active processors, /proc/cpuinfo's first `model name`, the load average.
        static var current: Machine {
            let load = (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8))?.split(separator: " ").first.flatMap { Double($0) }
            let model = CPUInfo.current.fields["model name"] ?? "unknown"
            return Machine(cpus: ProcessInfo.processInfo.activeProcessorCount, cpuModel: model, loadAverage: load)
        }
    }

    /// sqlite or postgres.
    var store: String
    /// The SQLite folder, or the PostgreSQL URL without its password (the rounds' databases are created beside it).
    var location: String
    /// The outcome every task is finished with.
    var outcome: String
    var pollSeconds: Double
    var machine: Machine
    /// PostgreSQL: this process's client pool (maxConnections) and the server's max_connections.
    var poolMaxConnections: Int?
    var serverMaxConnections: Int?
    var rounds: [QueueBenchmarkRound] = []
    /// Every round counted every task exactly once.
    var exactlyOnce = false

    enum CodingKeys: String, CodingKey {
        case store, location, outcome, pollSeconds = "poll_s", machine, poolMaxConnections = "pool_max_connections"
        case serverMaxConnections = "server_max_connections", rounds, exactlyOnce = "exactly_once"
    }
}
