import Foundation

/// A contiguous buffer of `Float`s that either owns its memory or borrows it from an owner
/// (for example a memory-mapped safetensors file), which it keeps alive.
///
/// Owned buffers of at least `BufferPool.minimumBytes` come from and return to `BufferPool`, so
/// the same activation sizes, allocated again at every layer and every step, reuse memory that
/// is already mapped instead of page-faulting fresh pages in (a fresh 64 MB buffer costs about
/// 16k page faults, several times the cost of the elementwise pass that first writes it).
public final class TensorStorage: @unchecked Sendable {
    public let pointer: UnsafeMutablePointer<Float>
    public let count: Int
    private let owner: AnyObject?

    /// Allocates `count` floats, 64-byte aligned, filled with zeros.
    public init(count: Int) {
        self.count = count
        let raw = BufferPool.allocate(byteCount: max(count, 1) * 4)
        raw.initializeMemory(as: UInt8.self, repeating: 0, count: max(count, 1) * 4)
        pointer = raw.bindMemory(to: Float.self, capacity: max(count, 1))
        owner = nil
    }

    /// Allocates `count` floats without clearing them; the caller writes every element.
    public init(uninitializedCount count: Int) {
        self.count = count
        let raw = BufferPool.allocate(byteCount: max(count, 1) * 4)
        pointer = raw.bindMemory(to: Float.self, capacity: max(count, 1))
        owner = nil
    }

    /// Borrows memory that `owner` keeps alive (zero-copy views into mapped files).
    public init(borrowing pointer: UnsafeMutablePointer<Float>, count: Int, owner: AnyObject) {
        self.pointer = pointer
        self.count = count
        self.owner = owner
    }

    /// True for memory borrowed from an owner (a mapped file): never written in place.
    public var isBorrowed: Bool { owner != nil }

    deinit {
        if owner == nil { BufferPool.release(UnsafeMutableRawPointer(pointer), byteCount: max(count, 1) * 4) }
    }
}

/// A process-wide cache of large freed buffers, keyed by their exact byte size, bounded by
/// `limitBytes` (the least recently released go first). Thread-safe.
public enum BufferPool {
    /// Buffers smaller than this go straight to malloc (which reuses small blocks already).
    public static let minimumBytes = 1 << 20
    /// Bytes the pool may hold while unused; 0 disables pooling. Counts toward the process's
    /// RSS, so it is kept well below the working set: 256 MiB by default (the f16 SVD-XT UNet
    /// forward at 14x256x256 peaked at 4.25 GiB with 1 GiB, over half of PyTorch fp32's 7.58 GiB),
    /// or `IMG2VID_BUFFER_POOL_MB` from the environment.
    public static var limitBytes: Int {
        get { state.withLock { $0.limitBytes } }
        set { state.withLock { $0.limitBytes = newValue } }
    }

    /// The pool's bookkeeping, behind one lock. Pointers are stored as addresses (the pool owns
    /// the memory while it holds it).
    private struct State: Sendable {
        var limitBytes: Int
        var free: [Int: [UInt]] = [:]
        var order: [(bytes: Int, address: UInt)] = []
        var heldBytes = 0
    }

    private static let state = Locked(State(limitBytes: {
        if let v = ProcessInfo.processInfo.environment["IMG2VID_BUFFER_POOL_MB"], let mb = Int(v), mb >= 0 { return mb << 20 }
        return 256 << 20
    }()))

    /// Bytes currently held unused.
    public static var held: Int {
        state.withLock { $0.heldBytes }
    }

    /// A 64-byte aligned buffer of `byteCount` bytes (uninitialised), from the pool when one of
    /// exactly that size is held. Give it back with `release`.
    public static func allocate(byteCount: Int) -> UnsafeMutableRawPointer {
        if byteCount >= minimumBytes {
            let reused: UInt? = state.withLock { s in
                guard var list = s.free[byteCount], let address = list.popLast() else { return nil }
                s.free[byteCount] = list.isEmpty ? nil : list
                s.heldBytes -= byteCount
                if let i = s.order.lastIndex(where: { $0.address == address }) { s.order.remove(at: i) }
                return address
            }
            if let reused, let p = UnsafeMutableRawPointer(bitPattern: reused) { return p }
        }
        return UnsafeMutableRawPointer.allocate(byteCount: byteCount, alignment: 64)
    }

    /// Returns a buffer from `allocate` (or any 64-byte aligned allocation of `byteCount` bytes).
    public static func release(_ p: UnsafeMutableRawPointer, byteCount: Int) {
        let address = UInt(bitPattern: p)
        let evicted: [UInt]? = state.withLock { s in
            guard byteCount >= minimumBytes, byteCount <= s.limitBytes else { return nil }
            var evicted: [UInt] = []
            while s.heldBytes + byteCount > s.limitBytes, !s.order.isEmpty {
                let old = s.order.removeFirst()
                if var list = s.free[old.bytes], let i = list.firstIndex(of: old.address) {
                    list.remove(at: i)
                    s.free[old.bytes] = list.isEmpty ? nil : list
                }
                s.heldBytes -= old.bytes
                evicted.append(old.address)
            }
            s.free[byteCount, default: []].append(address)
            s.order.append((byteCount, address))
            s.heldBytes += byteCount
            return evicted
        }
        guard let evicted else {
            p.deallocate()
            return
        }
        for e in evicted { UnsafeMutableRawPointer(bitPattern: e)?.deallocate() }
    }

    /// Returns every held buffer to the system.
    public static func drain() {
        let all = state.withLock { s -> [UInt] in
            let all = s.order.map(\.address)
            s.free = [:]
            s.order = []
            s.heldBytes = 0
            return all
        }
        for e in all { UnsafeMutableRawPointer(bitPattern: e)?.deallocate() }
    }
}
