import Tensor
import TestSupport
import XCTest

/// groupNorm, temporalGroupNorm and layerNorm against torch's F.group_norm / F.layer_norm
/// evaluated in float64 on the float32 inputs (torch's own float32 kernels drift past 1e-5 on
/// inputs with mean 1000, which these cases include). Tolerance: max-norm relative error 1e-5.
final class NormalizationTests: XCTestCase {
    private func optionalTensor(_ f: Fixture, _ name: String) throws -> Tensor? {
        f.file.entries[name] == nil ? nil : try f.tensor(name)
    }

    func testGroupNormMatchesTorch() throws {
        let f = try Fixture("ops_a_norm.safetensors")
        let cases = f.string("cases").split(separator: ",").map(String.init)
        XCTAssertEqual(cases.count, 5)
        for name in cases {
            let x = try f.tensor("\(name).x")
            let w = try optionalTensor(f, "\(name).weight"), b = try optionalTensor(f, "\(name).bias")
            let groups = f.int("\(name).groups"), eps = f.float("\(name).eps")
            assertClose(groupNorm(x, groups: groups, weight: w, bias: b, eps: eps), try f.tensor("\(name).out"), name)
            assertClose(groupNorm(x, groups: groups, weight: w, bias: b, eps: eps, silu: true),
                        try f.tensor("\(name).out_silu"), "\(name) + silu")
        }
    }

    func testTemporalGroupNormMatchesPermutedTorchGroupNorm() throws {
        let f = try Fixture("ops_a_norm.safetensors")
        let cases = f.string("temporal_cases").split(separator: ",").map(String.init)
        XCTAssertEqual(cases.count, 3)
        for name in cases {
            let p = "t_\(name)"
            let x = try f.tensor("\(p).x"), w = try f.tensor("\(p).weight"), b = try f.tensor("\(p).bias")
            let frames = f.int("\(p).frames"), groups = f.int("\(p).groups"), eps = f.float("\(p).eps")
            assertClose(temporalGroupNorm(x, frames: frames, groups: groups, weight: w, bias: b, eps: eps),
                        try f.tensor("\(p).out"), name)
            assertClose(temporalGroupNorm(x, frames: frames, groups: groups, weight: w, bias: b, eps: eps, silu: true),
                        try f.tensor("\(p).out_silu"), "\(name) + silu")
        }
    }

    /// A tensor given up (`consume`) and held nowhere else is normalised in its own memory, with the
    /// same result as out of place; one still held elsewhere is left untouched.
    func testGroupNormWritesInPlaceOnlyOverAnUnsharedInput() throws {
        let f = try Fixture("ops_a_norm.safetensors")
        let x = try f.tensor("t_b2f3.x"), w = try f.tensor("t_b2f3.weight"), b = try f.tensor("t_b2f3.bias")
        let frames = f.int("t_b2f3.frames"), groups = f.int("t_b2f3.groups"), eps = f.float("t_b2f3.eps")
        let expected = try f.tensor("t_b2f3.out_silu")
        var owned = x.reshaped(x.shape)
        owned.withUnsafeMutableBufferPointer { _ in }  // gives it storage of its own
        let address = owned.storage.pointer
        let inPlace = temporalGroupNorm(consume owned, frames: frames, groups: groups, weight: w, bias: b, eps: eps, silu: true)
        XCTAssertEqual(inPlace.storage.pointer, address, "an unshared input is normalised in place")
        assertClose(inPlace, expected, "in place")
        let outOfPlace = temporalGroupNorm(x, frames: frames, groups: groups, weight: w, bias: b, eps: eps, silu: true)
        XCTAssertNotEqual(outOfPlace.storage.pointer, x.storage.pointer)
        assertClose(outOfPlace, expected, "out of place")
        XCTAssertEqual(x.scalars, try f.tensor("t_b2f3.x").scalars, "the shared input is unchanged")
    }

    /// With more than one frame the temporal statistics differ from per-image GroupNorm; guards
    /// against temporalGroupNorm silently normalising each frame alone.
    func testTemporalGroupNormDiffersFromPerFrameGroupNorm() throws {
        let f = try Fixture("ops_a_norm.safetensors")
        let x = try f.tensor("t_b2f3.x"), w = try f.tensor("t_b2f3.weight"), b = try f.tensor("t_b2f3.bias")
        let perFrame = groupNorm(x, groups: 32, weight: w, bias: b, eps: 1e-5)
        XCTAssertGreaterThan(maxRelativeError(perFrame, try f.tensor("t_b2f3.out")), 1e-3)
    }

    func testLayerNormMatchesTorch() throws {
        let f = try Fixture("ops_a_norm.safetensors")
        let cases = f.string("layer_cases").split(separator: ",").map(String.init)
        XCTAssertEqual(cases.count, 4)
        for name in cases {
            let p = "l_\(name)"
            let out = layerNorm(try f.tensor("\(p).x"), weight: try optionalTensor(f, "\(p).weight"),
                                bias: try optionalTensor(f, "\(p).bias"), eps: f.float("\(p).eps"))
            assertClose(out, try f.tensor("\(p).out"), name)
        }
    }
}
