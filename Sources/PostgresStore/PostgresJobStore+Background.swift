import Foundation
import PostgresNIO

extension PostgresJobStore {
    /// LISTENs on `img2vid_task` and calls `wake` for each notification (a submission), until the
    /// surrounding task is cancelled. A hint only: a lost connection (PostgreSQL restarted, or
    /// PgBouncer in transaction mode, where LISTEN does not work) is retried after a jittered
    /// pause, and workers poll with jitter anyway, as River's and Oban's notifiers fall back to
    /// polling.
    public func listenForSubmissions(_ wake: @escaping @Sendable () async -> Void) async {
        while !Task.isCancelled {
            do {
                try await client.withConnection { connection in
                    try await connection.listen(on: Self.wakeChannel) { notifications in
                        await wake()   // anything submitted while not listening
                        for try await _ in notifications { await wake() }
                    }
                }
            } catch {
                if Task.isCancelled { return }
            }
            try? await Task.sleep(nanoseconds: UInt64(Double.random(in: 0.5...1.5) * 1e9))
        }
    }

    /// Retention: every `interval` seconds, deletes tasks finished more than `retentionSeconds`
    /// ago (inputs, videos, events, attempts, deliveries with them). Any number of processes may
    /// run it; the DELETE is idempotent.
    public func runRetention(retentionSeconds: Double, interval: Double = 600) async {
        while !Task.isCancelled {
            let cutoff = Self.now() - Int64(retentionSeconds * 1000)
            do {
                let n = try await deleteFinished(olderThan: cutoff)
                if n > 0 { FileHandle.standardError.write(Data("img2vid: retention: deleted \(n) finished task(s)\n".utf8)) }
            } catch {
                FileHandle.standardError.write(Data("img2vid: retention: \(Self.describe(error))\n".utf8))
            }
            try? await Task.sleep(nanoseconds: UInt64(interval * Double.random(in: 0.9...1.1) * 1e9))
        }
    }
}
