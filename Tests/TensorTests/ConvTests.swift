import Tensor
import TestSupport
import XCTest

/// conv2d and temporalConv3d against torch (F.conv2d / F.conv3d evaluated in float64 by
/// Scripts/reference/op_fixtures_a.py). Tolerance: max-norm relative error 1e-5.
final class ConvTests: XCTestCase {
    private func optionalTensor(_ f: Fixture, _ name: String) throws -> Tensor? {
        f.file.entries[name] == nil ? nil : try f.tensor(name)
    }

    func testConv2dMatchesTorch() throws {
        let f = try Fixture("ops_a_conv.safetensors")
        let cases = f.string("cases").split(separator: ",").map(String.init)
        XCTAssertEqual(cases.count, 9)
        for name in cases {
            let out = conv2d(try f.tensor("\(name).x"), weight: try f.tensor("\(name).weight"),
                             bias: try optionalTensor(f, "\(name).bias"),
                             stride: f.int("\(name).stride"), padding: f.int("\(name).padding"))
            assertClose(out, try f.tensor("\(name).out"), name)
        }
    }

    /// A tiny im2col budget forces one output row per band (and a partial last band), so the
    /// banded GEMM path with ldc = H*W is checked against torch too.
    func testConv2dBandedIm2colMatchesTorch() throws {
        let f = try Fixture("ops_a_conv.safetensors")
        for name in ["k3s1p1", "k3s2p1", "k5s2p2", "wide"] {
            let x = try f.tensor("\(name).x"), w = try f.tensor("\(name).weight")
            let k = w.shape[1] * w.shape[2] * w.shape[3]
            let expected = try f.tensor("\(name).out")
            for rowsPerBand in [1, 2] {
                let out = conv2d(x, weight: w, bias: try optionalTensor(f, "\(name).bias"),
                                 stride: f.int("\(name).stride"), padding: f.int("\(name).padding"),
                                 im2colBudget: rowsPerBand * k * expected.shape[3], algorithm: .im2col)
                assertClose(out, expected, "\(name) bands of \(rowsPerBand) rows")
            }
        }
    }

    func testTemporalConv3dMatchesTorchConv3d() throws {
        let f = try Fixture("ops_a_conv.safetensors")
        let cases = f.string("temporal_cases").split(separator: ",").map(String.init)
        XCTAssertEqual(cases.count, 4)
        for name in cases {
            let p = "t_\(name)"
            let out = temporalConv3d(try f.tensor("\(p).x"), frames: f.int("\(p).frames"),
                                     weight: try f.tensor("\(p).weight"), bias: try optionalTensor(f, "\(p).bias"))
            assertClose(out, try f.tensor("\(p).out"), name)
        }
    }
}
