import Diffusion
import Foundation
import Tensor
import TestSupport
import XCTest

/// TorchGenerator against numbers torch 2.15 printed (Scripts/reference/diffusion_fixtures.py ->
/// Fixtures/torch_randn.safetensors). Tolerance: none, every value must be bit-identical.
final class TorchGeneratorTests: XCTestCase {
    struct Case: Decodable {
        let seed: UInt64
        let shapes: [[Int]]
    }

    /// The fixture's cases: name -> (seed, shapes drawn in order from one generator).
    func cases(_ fixture: Fixture) throws -> [(name: String, seed: UInt64, shapes: [[Int]])] {
        try fixture.file.metadata.keys.filter { $0.hasPrefix("case:") }.sorted().map { key in
            let c = try JSONDecoder().decode(Case.self, from: Data(fixture.string(key).utf8))
            return (String(key.dropFirst("case:".count)), c.seed, c.shapes)
        }
    }

    func assertBitExact(kernel: TorchGenerator.Kernel, prefix: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let fixture = try Fixture("torch_randn.safetensors")
        let all = try cases(fixture)
        XCTAssertGreaterThanOrEqual(all.count, 30, "fixture lost its cases", file: file, line: line)
        var checked = 0
        for c in all {
            var generator = TorchGenerator(seed: c.seed, kernel: kernel)
            for (j, shape) in c.shapes.enumerated() {
                let key = prefix + c.name + (c.shapes.count == 1 ? "" : "_draw\(j)")
                let expected = try fixture.tensor(key)
                let actual = generator.normal(shape: shape)
                XCTAssertEqual(actual.shape, shape, key, file: file, line: line)
                XCTAssertEqual(expected.shape, shape, key, file: file, line: line)
                let a = actual.scalars, e = expected.scalars
                let mismatches = zip(a, e).filter { $0.bitPattern != $1.bitPattern }
                let maxDiff = zip(a, e).map { abs($0 - $1) }.max() ?? 0
                XCTAssertEqual(mismatches.count, 0, "\(key): \(mismatches.count) of \(a.count) values differ, max |diff| \(maxDiff)", file: file, line: line)
                checked += a.count
            }
        }
        XCTAssertGreaterThan(checked, 10_000, file: file, line: line)
    }

    /// torch's AVX2 kernel (what torch runs on x86-64 with AVX2 or AVX-512; the fixture machine had AVX-512).
    func testAVX2KernelMatchesTorchBitForBit() throws {
        let fixture = try Fixture("torch_randn.safetensors")
        XCTAssertTrue(["AVX2", "AVX512"].contains(fixture.string("cpu_capability")), "fixture written by a torch without the AVX2 kernel")
        try assertBitExact(kernel: .avx2, prefix: "")
    }

    /// torch's DEFAULT-capability kernel (libm logf/cosf/sinf), captured with ATEN_CPU_CAPABILITY=default.
    func testPortableKernelMatchesTorchDefaultCapabilityBitForBit() throws {
        #if os(Linux)
        try assertBitExact(kernel: .portable, prefix: "default_")
        #else
        throw XCTSkip("the portable kernel matches torch only with glibc's libm")
        #endif
    }

    /// The two float kernels are different functions: they must disagree somewhere (else one test proves nothing).
    func testKernelsDifferInLastBits() {
        var a = TorchGenerator(seed: 0, kernel: .avx2), b = TorchGenerator(seed: 0, kernel: .portable)
        let x = a.normal(shape: [4096]).scalars, y = b.normal(shape: [4096]).scalars
        let differing = zip(x, y).filter { $0 != $1 }.count
        XCTAssertGreaterThan(differing, 0)
        XCTAssertLessThanOrEqual(zip(x, y).map { abs($0 - $1) }.max()!, 1e-5)
    }

    /// at::mt19937 is the standard mt19937: its 10000th output from the default seed 5489 is 4123659995 (C++11 [rand.predef]).
    func testMersenneTwisterKnownAnswer() {
        var mt = MersenneTwister(seed: 5489)
        var value: UInt32 = 0
        for _ in 0..<10_000 { value = mt.nextUInt32() }
        XCTAssertEqual(value, 4_123_659_995)
    }

    /// manual_seed keeps only the low 32 bits for the engine state (torch's init_with_uint32).
    func testSeedHighBitsDoNotChangeTheStream() {
        var a = TorchGenerator(seed: 5), b = TorchGenerator(seed: (1 << 32) + 5)
        XCTAssertEqual(a.normal(shape: [40]).scalars, b.normal(shape: [40]).scalars)
        XCTAssertEqual(b.seed, (1 << 32) + 5)
    }

    /// The scalar path caches the second Box-Muller value: one draw of 2 equals two draws of 1.
    func testScalarPathCacheCarriesAcrossCalls() {
        var a = TorchGenerator(seed: 3), b = TorchGenerator(seed: 3)
        let pair = a.normal(shape: [2]).scalars
        let first = b.normal(shape: [1]).scalars, second = b.normal(shape: [1]).scalars
        XCTAssertEqual(pair, first + second)
        // A copy forks the stream.
        var c = a
        XCTAssertEqual(a.normal(shape: [17]).scalars, c.normal(shape: [17]).scalars)
    }

    func testEmptyShapeDrawsNothing() {
        var a = TorchGenerator(seed: 9), b = TorchGenerator(seed: 9)
        XCTAssertEqual(a.normal(shape: [0, 4]).count, 0)
        XCTAssertEqual(a.normal(shape: [20]).scalars, b.normal(shape: [20]).scalars)
    }
}
