import Foundation
import SVD

/// The engine's loaded models, kept between requests: keyed by `ModelKey`, bounded by
/// `budgetBytes` of weights (least recently used evicted first), so the second request for a model
/// costs no load. Requests that ask for a model while it loads wait for that one load.
///
/// Thread-safe; `pipeline(for:load:)` blocks its calling thread (a request's worker thread) while
/// another thread loads the same model. An evicted pipeline stays alive for the requests still
/// using it and is freed when the last one ends.
public final class ModelCache: @unchecked Sendable {
    /// The budget when none is given: half the machine's memory.
    public static var defaultBudgetBytes: Int { Int(clamping: ProcessInfo.processInfo.physicalMemory / 2) }

    /// Bytes of weights the cache may hold. The model a request needs is kept even when it alone is
    /// larger (a request always gets its model); everything else is evicted to make room.
    public let budgetBytes: Int

    private struct Entry {
        let pipeline: StableVideoDiffusionPipeline
        let bytes: Int
        var lastUse: UInt64
    }

    private enum Slot {
        case loading
        case ready(Entry)
    }

    private let condition = NSCondition()
    private var slots: [ModelKey: Slot] = [:]
    private var clock: UInt64 = 0
    private var loads = 0
    private var evictions = 0

    public init(budgetBytes: Int = ModelCache.defaultBudgetBytes) {
        self.budgetBytes = max(0, budgetBytes)
    }

    /// Models loaded so far (each load of a key counts, a reload after eviction too).
    public var loadCount: Int { locked { loads } }

    /// Models evicted so far to stay within the budget.
    public var evictionCount: Int { locked { evictions } }

    /// Bytes of weights held by the loaded models.
    public var residentBytes: Int {
        locked { slots.values.reduce(0) { if case .ready(let e) = $1 { return $0 + e.bytes } else { return $0 } } }
    }

    /// The keys of the loaded models, least recently used first.
    public var loadedKeys: [ModelKey] {
        locked {
            slots.compactMap { key, slot -> (ModelKey, UInt64)? in
                if case .ready(let e) = slot { return (key, e.lastUse) } else { return nil }
            }.sorted { $0.1 < $1.1 }.map(\.0)
        }
    }

    /// The pipeline for `key`: the cached one, the one another request is loading (after waiting
    /// for it), or a new one from `load` (which returns the pipeline and the bytes its weights hold).
    /// `loaded` says whether this call loaded it. A failed load is not cached.
    public func pipeline(for key: ModelKey, load: () throws -> (StableVideoDiffusionPipeline, bytes: Int))
        throws -> (pipeline: StableVideoDiffusionPipeline, loaded: Bool) {
        condition.lock()
        while true {
            switch slots[key] {
            case .ready(var entry)?:
                clock += 1
                entry.lastUse = clock
                slots[key] = .ready(entry)
                condition.unlock()
                return (entry.pipeline, false)
            case .loading?:
                condition.wait()
                continue
            case nil:
                slots[key] = .loading
                loads += 1
            }
            break
        }
        condition.unlock()

        let pipeline: StableVideoDiffusionPipeline
        let bytes: Int
        do {
            (pipeline, bytes) = try load()
        } catch {
            condition.lock()
            slots[key] = nil
            condition.broadcast()
            condition.unlock()
            throw error
        }

        condition.lock()
        clock += 1
        slots[key] = .ready(Entry(pipeline: pipeline, bytes: bytes, lastUse: clock))
        evict(keeping: key)
        condition.broadcast()
        condition.unlock()
        return (pipeline, true)
    }

    /// Drops every loaded model (requests still running keep theirs until they end).
    public func removeAll() {
        locked {
            slots = slots.filter { if case .loading = $0.value { return true } else { return false } }
        }
    }

    /// Evicts least recently used models, never `kept`, until the rest fit the budget. Lock held.
    private func evict(keeping kept: ModelKey) {
        while true {
            var total = 0
            var oldest: (key: ModelKey, lastUse: UInt64)?
            for (key, slot) in slots {
                guard case .ready(let e) = slot else { continue }
                total += e.bytes
                if key != kept, e.lastUse < (oldest?.lastUse ?? .max) { oldest = (key, e.lastUse) }
            }
            guard total > budgetBytes, let victim = oldest else { return }
            slots[victim.key] = nil
            evictions += 1
        }
    }

    private func locked<T>(_ body: () throws -> T) rethrows -> T {
        condition.lock()
        defer { condition.unlock() }
        return try body()
    }
}
