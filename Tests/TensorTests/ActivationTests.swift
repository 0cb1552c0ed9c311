import Tensor
import TestSupport
import XCTest

/// Activations against torch (float64 evaluation of F.silu, F.gelu, F.gelu(approximate="tanh"),
/// x * sigmoid(1.702 x), torch.sigmoid, diffusers' GEGLU). Tolerance: max-norm relative 1e-5.
/// Two input sets: a wide one (|x| up to 1000, saturation and exp clamping) and a small one
/// (|x| < ~4), so the wide set's large max does not hide errors near zero.
final class ActivationTests: XCTestCase {
    private let ops: [(String, (Tensor) -> Tensor, (inout Tensor) -> Void)] = [
        ("silu", silu, siluInPlace),
        ("gelu", gelu, geluInPlace),
        ("gelu_tanh", geluTanh, geluTanhInPlace),
        ("quick_gelu", quickGelu, quickGeluInPlace),
        ("sigmoid", sigmoid, sigmoidInPlace),
    ]

    func testActivationsMatchTorch() throws {
        let f = try Fixture("ops_a_activation.safetensors")
        for (inputName, prefix) in [("x", ""), ("small", "small_")] {
            let x = try f.tensor(inputName)
            for (name, op, opInPlace) in ops {
                let expected = try f.tensor(prefix + name)
                assertClose(op(x), expected, "\(prefix)\(name)")
                var y = x
                opInPlace(&y)
                assertClose(y, expected, "\(prefix)\(name) in place")
            }
            // The in-place variants must not write through to a copy that shares storage.
            XCTAssertEqual(x.scalars, try f.tensor(inputName).scalars)
        }
    }

    func testActivationsStayFiniteAtExtremes() throws {
        let x = Tensor(shape: [6], scalars: [-1e30, -1e4, -88.7, 88.7, 1e4, 1e30])
        for (name, op, _) in ops {
            XCTAssertTrue(op(x).scalars.allSatisfy(\.isFinite), name)
        }
        XCTAssertEqual(sigmoid(x).scalars[0], 0, accuracy: 1e-30)
        XCTAssertEqual(sigmoid(x).scalars[5], 1)
    }

    func testGEGLUMatchesDiffusers() throws {
        let f = try Fixture("ops_a_activation.safetensors")
        assertClose(geglu(try f.tensor("geglu_x")), try f.tensor("geglu"))
    }
}
