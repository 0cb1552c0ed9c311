import ArgumentParser
import Img2Vid
import Tensor

/// Options that set up the runtime and the engine before any work.
struct RuntimeOptions: ParsableArguments {
    @Option(help: "Threads for OpenBLAS and the runtime (default: all cores).")
    var threads: Int?

    @Option(help: "Bytes of model weights the engine keeps loaded between requests (least recently used evicted; default: half the memory).")
    var modelCacheBytes: Int?

    func validate() throws {
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1") }
        if let modelCacheBytes, modelCacheBytes < 0 { throw ValidationError("--model-cache-bytes must be 0 or more") }
    }

    func apply() {
        if let threads { Parallel.setThreads(threads) }
    }

    /// The engine of this command, with `moderation` when a policy is in force.
    func engine(moderation: ModerationLayer? = nil) -> Engine {
        Engine(modelCacheBytes: modelCacheBytes ?? ModelCache.defaultBudgetBytes, moderation: moderation)
    }
}
