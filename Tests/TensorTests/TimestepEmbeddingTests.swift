import Tensor
import TestSupport
import XCTest

/// timestepEmbedding against diffusers' get_timestep_embedding (float32, as the UNet runs it),
/// for the SVD UNet's time_proj (320), add_time_proj (256), frame positions, an odd dim with
/// shift 1 / scale / max_period, and timesteps near 1000. Tolerance: max-norm relative 1e-5.
/// (The "added" case, t up to 255, measures about 6e-6: torch's f32 exp is an ulp off for some
/// frequencies and t amplifies it; see timestepEmbedding's doc comment.)
final class TimestepEmbeddingTests: XCTestCase {
    func testMatchesDiffusers() throws {
        let f = try Fixture("ops_a_timestep.safetensors")
        let cases = f.string("cases").split(separator: ",").map(String.init)
        XCTAssertEqual(cases.count, 5)
        for name in cases {
            let out = timestepEmbedding(try f.tensor("\(name).timesteps").scalars, dim: f.int("\(name).dim"),
                                        flipSinToCos: f.int("\(name).flip") == 1,
                                        downscaleFreqShift: f.float("\(name).shift"),
                                        scale: f.float("\(name).scale"), maxPeriod: f.float("\(name).max_period"))
            assertClose(out, try f.tensor("\(name).out"), name)
        }
    }

    func testOddDimPadsAZeroColumn() throws {
        let out = timestepEmbedding([1, 2], dim: 7, flipSinToCos: true, downscaleFreqShift: 0)
        XCTAssertEqual(out.shape, [2, 7])
        XCTAssertEqual(out[0, 6], 0)
        XCTAssertEqual(out[1, 6], 0)
        XCTAssertEqual(out[0, 0], cosf(1), accuracy: 1e-7)  // flipped: cos first, freq[0] = 1
    }
}
