import Diffusion
import Foundation
import TestSupport
import XCTest

final class SchedulerConfigTests: XCTestCase {
    /// The real SVD scheduler_config.json (with keys for other schedulers and `trained_betas: null`) decodes to the preset.
    func testDecodesSVDSchedulerConfigFile() throws {
        let config = try SchedulerConfig.load(contentsOf: URL(fileURLWithPath: fixturePath("svd_scheduler_config.json")))
        XCTAssertEqual(config.className, "EulerDiscreteScheduler")
        XCTAssertEqual(config.diffusersVersion, "0.24.0.dev0")
        XCTAssertEqual(config.numTrainTimesteps, 1000)
        XCTAssertEqual(config.betaStart, 0.00085)
        XCTAssertEqual(config.betaEnd, 0.012)
        XCTAssertEqual(config.betaSchedule, "scaled_linear")
        XCTAssertNil(config.trainedBetas)
        XCTAssertEqual(config.predictionType, "v_prediction")
        XCTAssertEqual(config.sigmaMin, 0.002)
        XCTAssertEqual(config.sigmaMax, 700)
        XCTAssertEqual(config.stepsOffset, 1)
        XCTAssertEqual(config.timestepSpacing, "leading")
        XCTAssertEqual(config.timestepType, "continuous")
        XCTAssertTrue(config.useKarrasSigmas)
        // Fields the file does not have take diffusers' defaults.
        XCTAssertEqual(config.finalSigmasType, "zero")
        XCTAssertFalse(config.rescaleBetasZeroSnr)
        XCTAssertFalse(config.useExponentialSigmas)
        var preset = SchedulerConfig.stableVideoDiffusion
        preset.diffusersVersion = "0.24.0.dev0"
        XCTAssertEqual(config, preset)
    }

    func testMissingAndNullFieldsTakeDiffusersDefaults() throws {
        let config = try JSONDecoder().decode(SchedulerConfig.self, from: Data(#"{"use_karras_sigmas": null, "sigma_min": null, "unknown": [1, 2]}"#.utf8))
        XCTAssertEqual(config, SchedulerConfig())
        XCTAssertEqual(config.numTrainTimesteps, 1000)
        XCTAssertEqual(config.betaStart, 0.0001)
        XCTAssertEqual(config.betaEnd, 0.02)
        XCTAssertEqual(config.betaSchedule, "linear")
        XCTAssertEqual(config.predictionType, "epsilon")
        XCTAssertEqual(config.timestepSpacing, "linspace")
        XCTAssertEqual(config.timestepType, "discrete")
        XCTAssertEqual(config.stepsOffset, 0)
        XCTAssertNil(config.sigmaMin)
    }

    func testRoundTripsThroughJSONWithDiffusersNames() throws {
        let data = try JSONEncoder().encode(SchedulerConfig.stableVideoDiffusion)
        let object = try JSONSerialization.jsonObject(with: data) as! [String: Any]
        XCTAssertEqual(object["timestep_spacing"] as? String, "leading")
        XCTAssertEqual(object["use_karras_sigmas"] as? Bool, true)
        XCTAssertEqual(try JSONDecoder().decode(SchedulerConfig.self, from: data), .stableVideoDiffusion)
    }

    func testWrongTypeIsADecodingError() {
        XCTAssertThrowsError(try JSONDecoder().decode(SchedulerConfig.self, from: Data(#"{"num_train_timesteps": "many"}"#.utf8))) { error in
            XCTAssertTrue(error is DecodingError)
        }
    }
}
