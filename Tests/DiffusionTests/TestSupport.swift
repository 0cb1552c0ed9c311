import Foundation
import Tensor
import XCTest

// The shared test helpers of Tests/TensorTests/TestSupport.swift, for this test target (targets cannot share
// test sources).

/// Where the committed fixtures of this test target live (found from the source path).
func fixturePath(_ name: String, file: StaticString = #filePath) -> String {
    URL(fileURLWithPath: "\(file)").deletingLastPathComponent().appendingPathComponent("Fixtures").appendingPathComponent(name).path
}

/// Max-norm relative error: max|actual - expected| / max(max|expected|, tiny).
func maxRelativeError(_ actual: Tensor, _ expected: Tensor) -> Float {
    precondition(actual.count == expected.count)
    var diff: Float = 0
    var scale: Float = 0
    actual.withUnsafeBufferPointer { a in
        expected.withUnsafeBufferPointer { e in
            for i in 0..<a.count {
                diff = max(diff, abs(a[i] - e[i]))
                scale = max(scale, abs(e[i]))
            }
        }
    }
    return diff / max(scale, 1e-30)
}

/// Asserts equal shapes and a max-norm relative error at most `tolerance`.
func assertClose(_ actual: Tensor, _ expected: Tensor, tolerance: Float = 1e-5, _ message: String = "",
                 file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(actual.shape, expected.shape, "shape \(message)", file: file, line: line)
    guard actual.shape == expected.shape else { return }
    let err = maxRelativeError(actual, expected)
    XCTAssertLessThanOrEqual(err, tolerance, "max relative error \(err) > \(tolerance) \(message)", file: file, line: line)
}

/// Distance in units in the last place between two finite floats of the same sign (0 when bit-identical).
func ulpDistance(_ a: Float, _ b: Float) -> Int {
    if a == b { return 0 }
    if a.sign != b.sign { return Int.max }
    return abs(Int(a.bitPattern) - Int(b.bitPattern))
}

/// A fixture file written by Scripts/reference: tensors plus string parameters in its metadata.
struct Fixture {
    let file: SafeTensorsFile
    init(_ name: String, file: StaticString = #filePath) throws {
        self.file = try SafeTensorsFile(path: fixturePath(name, file: file))
    }
    func tensor(_ name: String) throws -> Tensor { try file.tensor(name).floatTensor() }
    func floats(_ name: String) throws -> [Float] { try tensor(name).scalars }
    func int(_ key: String) -> Int { Int(file.metadata[key]!)! }
    func float(_ key: String) -> Float { Float(file.metadata[key]!)! }
    func string(_ key: String) -> String { file.metadata[key]! }
}
