import Foundation
import Tensor
import TestSupport
import XCTest

/// `Widening` against torch, bit for bit (fixture: Scripts/reference/safetensors_fixtures.py):
/// every f16 bit pattern and a set of bf16 patterns widened as `.float()` widens them (subnormals,
/// infinities, NaNs with payloads, max/min normal), and f32 narrowed as `.to(torch.bfloat16)` and
/// `.half()` narrow it (random values, exact ties, near-ties, subnormal range, overflow, specials;
/// torch writes every bf16 NaN as 0xFFFF, and so does `Widening`).
/// Tolerance: none; bit patterns must be equal.
final class WideningTests: XCTestCase {
    private func words(_ t: StoredTensor) -> [UInt16] { (0..<t.count).map { t.bytes.loadUnaligned(fromByteOffset: $0 * 2, as: UInt16.self) } }
    private func bits(_ t: StoredTensor) -> [UInt32] { (0..<t.count).map { t.bytes.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self) } }

    private func assertBitsEqual<T: FixedWidthInteger>(_ actual: [T], _ expected: [T], inputs: [String], _ what: String,
                                                       file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(actual.count, expected.count, file: file, line: line)
        let wrong = zip(actual, expected).enumerated().filter { $0.element.0 != $0.element.1 }
        XCTAssertEqual(wrong.count, 0, "\(what): \(wrong.count) mismatches, first: " + wrong.prefix(5).map {
            "input \(inputs[$0.offset]) -> 0x\(String($0.element.0, radix: 16)) (torch 0x\(String($0.element.1, radix: 16)))"
        }.joined(separator: ", "), file: file, line: line)
    }

    func testF16WideningMatchesTorchForEveryBitPattern() throws {
        let fixture = try Fixture("safetensors_widening.safetensors")
        let f16 = try fixture.file.tensor("f16")
        XCTAssertEqual(f16.count, 65536)
        let patterns = words(f16)
        XCTAssertEqual(Set(patterns).count, 65536, "fixture must hold every f16 pattern")
        let widened = try f16.floatTensor().scalars.map(\.bitPattern)
        let torch = bits(try fixture.file.tensor("f16_float"))
        assertBitsEqual(widened, torch, inputs: patterns.map { "0x" + String($0, radix: 16) }, "f16 -> f32")
        // Spot checks of the named cases, independent of the fixture.
        let spot: [UInt16: UInt32] = [0x0001: 0x3380_0000, 0x03FF: 0x387F_C000, 0x0400: 0x3880_0000, 0x7BFF: 0x477F_E000,
                                      0xFC00: 0xFF80_0000, 0x7E00: 0x7FC0_0000, 0x8000: 0x8000_0000]
        for (h, f) in spot { XCTAssertEqual(widened[patterns.firstIndex(of: h)!], f, "0x\(String(h, radix: 16))") }
    }

    func testBF16WideningMatchesTorch() throws {
        let fixture = try Fixture("safetensors_widening.safetensors")
        let bf16 = try fixture.file.tensor("bf16")
        let patterns = words(bf16)
        let widened = try bf16.floatTensor().scalars.map(\.bitPattern)
        assertBitsEqual(widened, bits(try fixture.file.tensor("bf16_float")), inputs: patterns.map { "0x" + String($0, radix: 16) }, "bf16 -> f32")
    }

    func testNarrowingMatchesTorchBitForBit() throws {
        let fixture = try Fixture("safetensors_widening.safetensors")
        let input = try fixture.file.tensor("f32")
        let values = try input.floatTensor().scalars
        XCTAssertGreaterThan(values.count, 4000)
        let names = values.map { "\($0) (0x\(String($0.bitPattern, radix: 16)))" }
        assertBitsEqual(values.map(Widening.f32ToBF16), words(try fixture.file.tensor("f32_bf16")), inputs: names, "f32 -> bf16")
        assertBitsEqual(values.map(Widening.f32ToF16), words(try fixture.file.tensor("f32_f16")), inputs: names, "f32 -> f16")
        // The tensor path (StoredTensor(_:as:)) uses the same rounding.
        let tensor = try input.floatTensor()
        assertBitsEqual(words(StoredTensor(tensor, as: .bf16)), words(try fixture.file.tensor("f32_bf16")), inputs: names, "StoredTensor bf16")
        assertBitsEqual(words(StoredTensor(tensor, as: .f16)), words(try fixture.file.tensor("f32_f16")), inputs: names, "StoredTensor f16")
        // The fixture covers what it claims: NaNs, exact bf16 ties, and f16 overflow to infinity.
        XCTAssertGreaterThanOrEqual(values.filter(\.isNaN).count, 1)
        XCTAssertGreaterThanOrEqual(values.filter { $0.bitPattern & 0xFFFF == 0x8000 }.count, 500)
        XCTAssertEqual(Widening.f32ToF16(65520), 0x7C00)
        XCTAssertEqual(Widening.f32ToF16(65519.996), 0x7BFF)
    }
}
