/// A tensor as a weight file stores it: a dtype, a shape and raw little-endian bytes.
///
/// Weights stay in this form (an f16 checkpoint costs its f16 size in memory) and are widened to
/// `Float` when an op uses them. The bytes are borrowed from `owner` (a mapped file) or owned.
public struct StoredTensor: @unchecked Sendable {
    public let dtype: DType
    public let shape: [Int]
    public let bytes: UnsafeRawBufferPointer
    private let owner: AnyObject

    public var count: Int { shape.reduce(1, *) }

    /// Wraps bytes that `owner` keeps alive. The caller has checked that the sizes agree.
    public init(dtype: DType, shape: [Int], bytes: UnsafeRawBufferPointer, owner: AnyObject) {
        precondition(bytes.count == shape.reduce(1, *) * dtype.size, "byte count does not match shape and dtype")
        self.dtype = dtype
        self.shape = shape
        self.bytes = bytes
        self.owner = owner
    }

    /// Stores `tensor` in `dtype` (f32, f16 or bf16), rounding to nearest even when narrowing.
    public init(_ tensor: Tensor, as dtype: DType = .f32) {
        precondition([.f32, .f16, .bf16].contains(dtype), "cannot store a Float tensor as \(dtype)")
        let buffer = OwnedBytes(count: tensor.count * dtype.size)
        tensor.withUnsafeBufferPointer { src in
            switch dtype {
            case .f32:
                buffer.pointer.copyMemory(from: src.baseAddress!, byteCount: src.count * 4)
            case .f16:
                let dst = buffer.pointer.bindMemory(to: UInt16.self, capacity: src.count)
                Parallel.forRanges(src.count, minChunk: 1 << 16) { r in for i in r { dst[i] = Widening.f32ToF16(src[i]) } }
            default:
                let dst = buffer.pointer.bindMemory(to: UInt16.self, capacity: src.count)
                Parallel.forRanges(src.count, minChunk: 1 << 16) { r in for i in r { dst[i] = Widening.f32ToBF16(src[i]) } }
            }
        }
        self.init(dtype: dtype, shape: tensor.shape,
                  bytes: UnsafeRawBufferPointer(start: buffer.pointer, count: buffer.count), owner: buffer)
    }

    /// Raw bytes of any dtype, copied (for integer tensors and tests).
    public init(dtype: DType, shape: [Int], copying data: [UInt8]) {
        let buffer = OwnedBytes(count: data.count)
        data.withUnsafeBytes { UnsafeMutableRawBufferPointer(start: buffer.pointer, count: data.count).copyMemory(from: $0) }
        self.init(dtype: dtype, shape: shape,
                  bytes: UnsafeRawBufferPointer(start: buffer.pointer, count: buffer.count), owner: buffer)
    }

    /// The values as an f32 `Tensor`. f32 data that is 4-byte aligned is shared without a copy
    /// (the tensor's storage points into the mapped file; `SafeTensorsWriter` and the Rust writer
    /// align every tensor to its element size); misaligned f32 data is copied; f16 and bf16 are
    /// widened exactly (as torch's `.float()`); f64 is rounded to nearest. Integer dtypes are refused.
    /// A zero-copy tensor borrows the read-only mapping; writing to it copies first (`Tensor`'s
    /// copy on write treats borrowed storage as shared).
    public func floatTensor() throws -> Tensor {
        switch dtype {
        case .f32:
            if let base = bytes.baseAddress, Int(bitPattern: base) % 4 == 0 {
                let p = UnsafeMutablePointer(mutating: base.assumingMemoryBound(to: Float.self))
                return Tensor(shape: shape, storage: TensorStorage(borrowing: p, count: count, owner: owner))
            }
            var t = Tensor(uninitialized: shape)
            t.withUnsafeMutableBufferPointer { dst in
                UnsafeMutableRawBufferPointer(dst).copyMemory(from: bytes)
            }
            return t
        case .f16, .bf16:
            var t = Tensor(uninitialized: shape)
            let n = count
            withHalfWords { src in
                t.withUnsafeMutableBufferPointer { dst in
                    if dtype == .f16 { Widening.f16ToF32(src, dst.baseAddress!, count: n) }
                    else { Widening.bf16ToF32(src, dst.baseAddress!, count: n) }
                }
            }
            return t
        case .f64:
            var t = Tensor(uninitialized: shape)
            t.withUnsafeMutableBufferPointer { dst in
                for i in 0..<count { dst[i] = Float(bytes.loadUnaligned(fromByteOffset: i * 8, as: Double.self)) }
            }
            return t
        default:
            throw TensorError.notFloatingPoint(dtype)
        }
    }

    /// Calls `body` with the 16-bit words of an f16/bf16 tensor, copying only if they are misaligned.
    private func withHalfWords(_ body: (UnsafePointer<UInt16>) -> Void) {
        if count == 0 { return }
        if let base = bytes.baseAddress, Int(bitPattern: base) % 2 == 0 {
            body(base.assumingMemoryBound(to: UInt16.self))
        } else {
            var words = [UInt16](repeating: 0, count: count)
            words.withUnsafeMutableBytes { $0.copyMemory(from: bytes) }
            words.withUnsafeBufferPointer { body($0.baseAddress!) }
        }
    }
}

/// Heap bytes owned by a `StoredTensor`.
final class OwnedBytes {
    let pointer: UnsafeMutableRawPointer
    let count: Int
    init(count: Int) {
        self.count = count
        pointer = UnsafeMutableRawPointer.allocate(byteCount: max(count, 1), alignment: 64)
    }
    deinit { pointer.deallocate() }
}

/// Errors of the tensor runtime that are not about files.
public enum TensorError: Error, CustomStringConvertible, Equatable {
    case notFloatingPoint(DType)
    case shapeMismatch(String)

    public var description: String {
        switch self {
        case .notFloatingPoint(let d): return "tensor of dtype \(d.rawValue) cannot be used as floating point"
        case .shapeMismatch(let s): return s
        }
    }
}
