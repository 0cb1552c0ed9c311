import Foundation
import Tensor
import XCTest

func fixturePath(_ name: String, file: StaticString = #filePath) -> String {
    URL(fileURLWithPath: "\(file)").deletingLastPathComponent().appendingPathComponent("Fixtures").appendingPathComponent(name).path
}

/// Max-norm relative error: max|actual - expected| / max|expected|.
func maxRelativeError(_ actual: Tensor, _ expected: Tensor) -> Float {
    var diff: Float = 0, scale: Float = 0
    actual.withUnsafeBufferPointer { a in
        expected.withUnsafeBufferPointer { e in
            for i in 0..<min(a.count, e.count) {
                diff = max(diff, abs(a[i] - e[i]))
                scale = max(scale, abs(e[i]))
            }
        }
    }
    return diff / max(scale, 1e-30)
}

func assertClose(_ actual: Tensor, _ expected: Tensor, tolerance: Float, _ message: String = "",
                 file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(actual.shape, expected.shape, "shape \(message)", file: file, line: line)
    guard actual.shape == expected.shape else { return }
    let err = maxRelativeError(actual, expected)
    XCTAssertLessThanOrEqual(err, tolerance, "max relative error \(err) > \(tolerance) \(message)", file: file, line: line)
}

/// A trace written by Scripts/reference/svd_fixtures.py.
struct Trace {
    let file: SafeTensorsFile
    init(_ name: String, file: StaticString = #filePath) throws {
        self.file = try SafeTensorsFile(path: fixturePath(name, file: file))
    }
    func tensor(_ name: String) throws -> Tensor { try file.tensor(name).floatTensor() }
    func has(_ name: String) -> Bool { file.entries[name] != nil }
    func meta(_ key: String) -> String? { file.metadata[key] }
}
