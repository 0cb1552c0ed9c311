import Foundation
import Tensor
import XCTest

/// `StoredTensor`: narrowing on store, widening on use, aligned and misaligned bytes, empty tensors.
final class StoredTensorTests: XCTestCase {
    /// Bytes at an odd address inside a buffer that `owner` keeps alive.
    private final class Buffer {
        let raw = UnsafeMutableRawPointer.allocate(byteCount: 256, alignment: 64)
        deinit { raw.deallocate() }
    }

    private func misaligned(_ bytes: [UInt8], dtype: DType, shape: [Int]) -> StoredTensor {
        let buffer = Buffer()
        let start = buffer.raw + 1
        bytes.withUnsafeBytes { UnsafeMutableRawBufferPointer(start: start, count: bytes.count).copyMemory(from: $0) }
        return StoredTensor(dtype: dtype, shape: shape, bytes: UnsafeRawBufferPointer(start: start, count: bytes.count), owner: buffer)
    }

    func testF32IsSharedWhenAlignedAndCopiedWhenNot() throws {
        let values: [Float] = [1, -2.5, 3e-40, .infinity]
        let aligned = StoredTensor(Tensor(shape: [2, 2], scalars: values))
        let shared = try aligned.floatTensor()
        XCTAssertEqual(UnsafeRawPointer(shared.storage.pointer), aligned.bytes.baseAddress)
        XCTAssertEqual(shared.shape, [2, 2])

        let odd = misaligned(values.withUnsafeBytes { Array($0) }, dtype: .f32, shape: [4])
        let copied = try odd.floatTensor()
        XCTAssertNotEqual(UnsafeRawPointer(copied.storage.pointer), odd.bytes.baseAddress)
        XCTAssertEqual(copied.scalars.map(\.bitPattern), values.map(\.bitPattern))
    }

    func testHalfWidthDTypesAtMisalignedAddresses() throws {
        let f16: [UInt16] = [0x3C00, 0xC000, 0x0001, 0x7C00]   // 1, -2, 2^-24, inf
        let odd16 = misaligned(f16.withUnsafeBytes { Array($0) }, dtype: .f16, shape: [4])
        XCTAssertEqual(try odd16.floatTensor().scalars, [1, -2, 0x1p-24, .infinity])
        let bf16: [UInt16] = [0x3F80, 0xC040, 0x0001, 0xFF80]  // 1, -3, 2^-133, -inf
        let oddB = misaligned(bf16.withUnsafeBytes { Array($0) }, dtype: .bf16, shape: [2, 2])
        XCTAssertEqual(try oddB.floatTensor().scalars, [1, -3, 0x1p-133, -.infinity])
    }

    func testNarrowingOnStore() {
        let t = Tensor(shape: [3], scalars: [1, 1 + 0x1p-11, 65520])  // a tie (rounds to even: 1) and f16 overflow
        let f16 = StoredTensor(t, as: .f16)
        XCTAssertEqual(f16.bytes.count, 6)
        XCTAssertEqual((0..<3).map { f16.bytes.loadUnaligned(fromByteOffset: $0 * 2, as: UInt16.self) }, [0x3C00, 0x3C00, 0x7C00])
        let bf16 = StoredTensor(Tensor(shape: [2], scalars: [1 + 0x1p-8, 1 + 0x1p-8 + 0x1p-7]), as: .bf16)  // ties to even
        XCTAssertEqual((0..<2).map { bf16.bytes.loadUnaligned(fromByteOffset: $0 * 2, as: UInt16.self) }, [0x3F80, 0x3F82])
    }

    func testF64IsRoundedAndIntegersAreRefused() throws {
        let doubles: [Double] = [1.5, -1e300, 0.1]
        let f64 = StoredTensor(dtype: .f64, shape: [3], copying: doubles.withUnsafeBytes { Array($0) })
        XCTAssertEqual(try f64.floatTensor().scalars, [1.5, -.infinity, Float(0.1)])
        for dtype in [DType.i8, .u8, .i16, .i32, .i64, .bool] {
            let t = StoredTensor(dtype: dtype, shape: [2], copying: Array(repeating: 0, count: 2 * dtype.size))
            XCTAssertThrowsError(try t.floatTensor()) { XCTAssertEqual($0 as? TensorError, .notFloatingPoint(dtype)) }
        }
    }

    func testEmptyTensors() throws {
        let empty = StoredTensor(dtype: .f16, shape: [0, 4], copying: [])
        XCTAssertEqual(empty.count, 0)
        XCTAssertEqual(try empty.floatTensor().shape, [0, 4])
        let oddEmpty = misaligned([], dtype: .bf16, shape: [0])
        XCTAssertEqual(try oddEmpty.floatTensor().count, 0)
        XCTAssertEqual(StoredTensor(Tensor(zeros: [3, 0]), as: .bf16).bytes.count, 0)
    }
}
