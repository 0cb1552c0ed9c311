import ArgumentParser
import Tensor

/// Options that set up the runtime before any work.
struct RuntimeOptions: ParsableArguments {
    @Option(help: "Threads for OpenBLAS and the runtime (default: all cores).")
    var threads: Int?

    func validate() throws {
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1") }
    }

    func apply() {
        if let threads { Parallel.setThreads(threads) }
    }
}
