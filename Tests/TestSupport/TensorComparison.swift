import Tensor
import XCTest

/// Max-norm relative error: max|actual - expected| / max(max|expected|, tiny).
/// This is the norm every "relative error" tolerance in the parity tests refers to.
public func maxRelativeError(_ actual: Tensor, _ expected: Tensor) -> Float {
    precondition(actual.count == expected.count, "sizes \(actual.shape) and \(expected.shape) differ")
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

/// Asserts equal shapes and a max-norm relative error (`maxRelativeError`) at most `tolerance`.
public func assertClose(_ actual: Tensor, _ expected: Tensor, tolerance: Float = 1e-5, _ message: String = "",
                        file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(actual.shape, expected.shape, "shape \(message)", file: file, line: line)
    guard actual.shape == expected.shape else { return }
    let err = maxRelativeError(actual, expected)
    XCTAssertLessThanOrEqual(err, tolerance, "max relative error \(err) > \(tolerance) \(message)", file: file, line: line)
}

/// Distance in units in the last place between two finite floats of the same sign (0 when bit-identical).
public func ulpDistance(_ a: Float, _ b: Float) -> Int {
    if a == b { return 0 }
    if a.sign != b.sign { return Int.max }
    return abs(Int(a.bitPattern) - Int(b.bitPattern))
}
