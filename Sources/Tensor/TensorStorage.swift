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
    nonisolated(unsafe) public static var limitBytes: Int = {
        if let v = ProcessInfo.processInfo.environment["IMG2VID_BUFFER_POOL_MB"], let mb = Int(v), mb >= 0 { return mb << 20 }
        return 256 << 20
    }()

    private static let lock = NSLock()
    nonisolated(unsafe) private static var free: [Int: [UnsafeMutableRawPointer]] = [:]
    nonisolated(unsafe) private static var order: [(bytes: Int, pointer: UnsafeMutableRawPointer)] = []
    nonisolated(unsafe) private static var heldBytes = 0

    /// Bytes currently held unused.
    public static var held: Int {
        lock.lock()
        defer { lock.unlock() }
        return heldBytes
    }

    /// A 64-byte aligned buffer of `byteCount` bytes (uninitialised), from the pool when one of
    /// exactly that size is held. Give it back with `release`.
    public static func allocate(byteCount: Int) -> UnsafeMutableRawPointer {
        if byteCount >= minimumBytes {
            lock.lock()
            if var list = free[byteCount], let p = list.popLast() {
                free[byteCount] = list.isEmpty ? nil : list
                heldBytes -= byteCount
                if let i = order.lastIndex(where: { $0.pointer == p }) { order.remove(at: i) }
                lock.unlock()
                return p
            }
            lock.unlock()
        }
        return UnsafeMutableRawPointer.allocate(byteCount: byteCount, alignment: 64)
    }

    /// Returns a buffer from `allocate` (or any 64-byte aligned allocation of `byteCount` bytes).
    public static func release(_ p: UnsafeMutableRawPointer, byteCount: Int) {
        guard byteCount >= minimumBytes, byteCount <= limitBytes else {
            p.deallocate()
            return
        }
        lock.lock()
        var evicted: [UnsafeMutableRawPointer] = []
        while heldBytes + byteCount > limitBytes, !order.isEmpty {
            let old = order.removeFirst()
            if var list = free[old.bytes], let i = list.firstIndex(of: old.pointer) {
                list.remove(at: i)
                free[old.bytes] = list.isEmpty ? nil : list
            }
            heldBytes -= old.bytes
            evicted.append(old.pointer)
        }
        free[byteCount, default: []].append(p)
        order.append((byteCount, p))
        heldBytes += byteCount
        lock.unlock()
        for e in evicted { e.deallocate() }
    }

    /// Returns every held buffer to the system.
    public static func drain() {
        lock.lock()
        let all = order
        free = [:]
        order = []
        heldBytes = 0
        lock.unlock()
        for e in all { e.pointer.deallocate() }
    }
}
