/// Thrown by `JobStore.submit` when the key already has `NewTask.unfinishedLimit` unfinished
/// tasks: nothing was stored. The API answers it as Kling answers a concurrency limit (HTTP 429,
/// code 1303, `Retry-After`).
public struct UnfinishedLimitReached: Error, Sendable {
    public var processing: Int
    public var waiting: Int
    public var limit: Int

    public init(processing: Int, waiting: Int, limit: Int) {
        self.processing = processing
        self.waiting = waiting
        self.limit = limit
    }
}
