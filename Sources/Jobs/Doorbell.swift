/// Wakes the idle claimers of a `QueueBenchmark`: `ring` (one per submission) wakes one waiting
/// claimer, or lets the next one that would wait go at once (up to `permitLimit` rings are kept);
/// `close` wakes every claimer for good. A waiter also wakes after its timeout (the poll interval),
/// as a `WorkerPool` slot polls when no wake-up comes.
actor Doorbell {
    private var waiters: [(id: Int, continuation: CheckedContinuation<Void, Never>)] = []
    private var nextId = 0
    private var permits = 0
    private let permitLimit: Int
    /// Rings so far (a listener's first ring says it is listening).
    private(set) var rings = 0
    private(set) var isClosed = false

    init(permitLimit: Int) { self.permitLimit = max(1, permitLimit) }

    func ring() {
        rings += 1
        if waiters.isEmpty {
            permits = min(permits + 1, permitLimit)
        } else {
            waiters.removeFirst().continuation.resume()
        }
    }

    /// Forgets rings nobody waited for (the listener's first one).
    func clearPermits() { permits = 0 }

    func close() {
        isClosed = true
        let all = waiters
        waiters = []
        for waiter in all { waiter.continuation.resume() }
    }

    /// Returns at the next ring, at `close`, or after `timeout` seconds, whichever comes first.
    func wait(timeout: Double) async {
        if isClosed { return }
        if permits > 0 {
            permits -= 1
            return
        }
        let id = nextId
        nextId += 1
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            waiters.append((id, continuation))
            Task { [weak self] in
                try? await Task.sleep(nanoseconds: UInt64(max(0, timeout) * 1e9))
                await self?.expire(id)
            }
        }
    }

    private func expire(_ id: Int) {
        guard let index = waiters.firstIndex(where: { $0.id == id }) else { return }
        waiters.remove(at: index).continuation.resume()
    }
}
