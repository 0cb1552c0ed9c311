import ConceptGuidance
import Diffusion
import Foundation
import Media
import SVD
import Tensor
import XCTest

/// SafeLatentGuidance inside SVDDenoiser against diffusers' SVD loop with the same safety step
/// (Scripts/reference/sld_fixtures.py), on the tiny random-weight pipeline with an image concept, for two
/// presets (medium and strong with their warmup lowered to 1 and 2 so that guidance acts in 4 steps).
/// Tolerances: embeddings 1e-4 and latents after every step 1e-3 max-norm relative error (as the plain
/// pipeline's parity test: the first Euler step from sigma 700 amplifies fp32 rounding), frames 40 dB PSNR
/// or better on uint8; per-step statistics: share of mu > 0 within 0.005 absolute (elements where c - s
/// sits on the threshold may flip), norm of gamma within 1e-3 relative.
final class SLDParityTests: XCTestCase {
    func testMedium() throws { try check("medium") }
    func testStrong() throws { try check("strong") }

    func check(_ preset: String) throws {
        let trace = try SafeTensorsFile(path: sldFixturePath("sld/sld-\(preset).safetensors"))
        func meta(_ k: String) -> String { trace.metadata[k]! }
        func tensor(_ k: String) throws -> Tensor { try trace.tensor(k).floatTensor() }
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let variant = meta("variant").isEmpty ? nil : meta("variant")
        let pipeline = try StableVideoDiffusionPipeline.load(ModelFolder(path: root.appendingPathComponent(meta("pipeline")).path, variant: variant))

        var p = SVDParameters(numFrames: Int(meta("num_frames"))!, decodeChunkSize: Int(meta("decode_chunk_size"))!)
        p.numInferenceSteps = Int(meta("num_inference_steps"))!
        p.width = Int(meta("width"))!
        p.height = Int(meta("height"))!
        p.fps = Int(meta("fps"))!
        p.motionBucketId = Int(meta("motion_bucket_id"))!
        p.noiseAugStrength = Float(meta("noise_aug_strength"))!
        p.minGuidanceScale = Float(meta("min_guidance_scale"))!
        p.maxGuidanceScale = Float(meta("max_guidance_scale"))!
        p.seed = UInt64(meta("seed"))!

        // The preset's values (as the script lowered its warmup), through the public preset + overrides.
        var configuration = SLDConfiguration.Preset(rawValue: preset)!.configuration!
        XCTAssertEqual(configuration.guidanceScale, Double(meta("sld_guidance_scale"))!)
        XCTAssertEqual(configuration.threshold, Double(meta("sld_threshold"))!)
        XCTAssertEqual(configuration.momentumScale, Double(meta("sld_momentum_scale"))!)
        XCTAssertEqual(configuration.momentumBeta, Double(meta("sld_mom_beta"))!)
        configuration.warmupSteps = Int(meta("sld_warmup_steps"))!

        let image = try ImageDecoder.decode(path: sldFixturePath("sld/input.png"))
        let input = image.normalizedTensor().reshaped([1, 3, p.height, p.width])
        let exemplar = try ImageDecoder.decode(path: sldFixturePath("sld/concept.png"))
        let concept = pipeline.encodeImage(exemplar.normalizedTensor().reshaped([1, 3, exemplar.height, exemplar.width]))
        sldAssertClose(concept, try tensor("concept_embeds"), tolerance: 1e-4, "concept embedding")

        var random = TorchGenerator(seed: p.seed)
        var denoiser = try pipeline.prepare(image: input, parameters: p, random: &random,
                                            guidance: SafeLatentGuidance(configuration: configuration, concepts: [concept]))
        sldAssertClose(denoiser.imageEmbedding, try tensor("image_embeds"), tolerance: 1e-4, "image embedding")
        for i in 0..<denoiser.stepCount {
            denoiser.step()
            sldAssertClose(denoiser.latents, try tensor("step\(i).latents"), tolerance: 1e-3, "latents after step \(i)")
        }
        let guidance = try XCTUnwrap(denoiser.guidance as? SafeLatentGuidance)
        XCTAssertEqual(guidance.statistics.count, denoiser.stepCount)
        for s in guidance.statistics {
            let active = Double(try tensor("step\(s.step).active_fraction").scalars[0])
            let norm = Double(try tensor("step\(s.step).gamma_norm").scalars[0])
            XCTAssertEqual(s.activeFraction, active, accuracy: 0.005, "share of mu > 0 at step \(s.step)")
            XCTAssertEqual(s.gammaNorm, norm, accuracy: 1e-3 * norm, "norm of gamma at step \(s.step)")
            XCTAssertEqual(s.applied, s.step >= configuration.warmupSteps)
        }
        // Guidance moved the result: far from the plain classifier-free run, close to the reference.
        let final = try tensor("final_latents")
        sldAssertClose(denoiser.latents, final, tolerance: 1e-3, "final latents")
        XCTAssertGreaterThan(sldMaxRelativeError(try tensor("cfg_final_latents"), final), 0.05, "the safety term changes the latents")

        let frames = RGBImage.frames(fromNormalizedTensor: pipeline.decode(denoiser.latents, chunkSize: p.decodeChunkSize))
        let expected = try trace.tensor("frames_u8")
        XCTAssertEqual(frames.count, p.numFrames)
        let frameSize = p.width * p.height * 3
        for (f, frame) in frames.enumerated() {
            let reference = Array(expected.bytes[(f * frameSize)..<((f + 1) * frameSize)])
            XCTAssertGreaterThanOrEqual(sldPSNR(frame.pixels, reference), 40, "frame \(f) PSNR")
        }
    }
}

func sldFixturePath(_ name: String, file: StaticString = #filePath) -> String {
    URL(fileURLWithPath: "\(file)").deletingLastPathComponent().appendingPathComponent("Fixtures").appendingPathComponent(name).path
}

func sldMaxRelativeError(_ actual: Tensor, _ expected: Tensor) -> Float {
    precondition(actual.count == expected.count)
    var diff: Float = 0, scale: Float = 0
    let a = actual.scalars, e = expected.scalars
    for i in 0..<a.count {
        diff = max(diff, abs(a[i] - e[i]))
        scale = max(scale, abs(e[i]))
    }
    return diff / max(scale, 1e-30)
}

func sldAssertClose(_ actual: Tensor, _ expected: Tensor, tolerance: Float, _ message: String,
                    file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(actual.count, expected.count, "size \(message)", file: file, line: line)
    guard actual.count == expected.count else { return }
    let err = sldMaxRelativeError(actual, expected)
    XCTAssertLessThanOrEqual(err, tolerance, "max relative error \(err) > \(tolerance) \(message)", file: file, line: line)
}

/// PSNR in dB between two uint8 images (infinity when equal).
func sldPSNR(_ a: [UInt8], _ b: [UInt8]) -> Double {
    var squared = 0.0
    for (x, y) in zip(a, b) { squared += (Double(x) - Double(y)) * (Double(x) - Double(y)) }
    let mse = squared / Double(a.count)
    return mse == 0 ? .infinity : 10 * log10(255 * 255 / mse)
}
