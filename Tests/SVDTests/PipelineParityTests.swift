import Diffusion
import Media
import SVD
import SVDTestSupport
import Tensor
import TestSupport
import XCTest

/// The whole pipeline against diffusers' StableVideoDiffusionPipeline on tiny random-weight
/// pipelines (Scripts/reference/svd_fixtures.py): same seed, same settings, every stage compared.
/// Tolerances (max-norm relative error unless said): embeddings and image latents 1e-4, every UNet
/// call 1e-4, latents after each step and final latents 1e-3 (the first Euler step from sigma 700
/// amplifies fp32 rounding, FACTS.md), frames 40 dB PSNR or better per frame on uint8.
final class PipelineParityTests: XCTestCase {
    /// Square, 3 steps, guidance 1.0 -> 2.5, all frames decoded at once.
    func testTinyRunA() throws { try checkPipeline("tiny", trace: "trace-a") }
    /// Non-square (64x40: odd latent height, so the UNet upsamples to the skip size), 4 steps,
    /// guidance 1.0 -> 3.0, decode chunk 2 for 5 frames.
    func testTinyRunB() throws { try checkPipeline("tiny", trace: "trace-b") }
    /// A second model from another config (Scripts/reference/svd_fixtures_tiny2.py): UNet with 3 levels of
    /// [32, 64, 32] channels (two down/upsamplers, mid block at 32), layers_per_block [2, 1, 1],
    /// transformer_layers_per_block [1, 1, 2], blocks [Down, Down, CrossAttnDown] / [CrossAttnUp, Up, Up],
    /// 2 heads of dim 16; a 3-level VAE (latents at 1/4, scaling 0.13025); CLIP with quick_gelu and patch 16;
    /// plain non-variant weight files in bf16 (UNet), fp16 (VAE) and fp32 (CLIP). Run: 40x24, 6 frames,
    /// 3 steps, guidance 1.0 -> 2.0, decode chunk 4, fps 12, motion bucket 200, noise aug 0.1.
    func testTiny2() throws { try checkPipeline("tiny2", trace: "trace-a") }

    func checkPipeline(_ name: String, trace traceName: String) throws {
        let trace = try Fixture("\(name)/\(traceName).safetensors")
        let pipeline = try StableVideoDiffusionPipeline.load(ModelFolder(path: fixturePath("\(name)/pipeline"), variant: trace.file.metadata["variant"]))
        let p = SVDParameters(trace: trace)

        // The input PNG, converted as diffusers' VideoProcessor does, is exactly the traced VAE image.
        let image = try ImageDecoder.decode(path: fixturePath("\(name)/\(trace.string("input"))"))
        let input = image.normalizedTensor().reshaped([1, 3, p.height, p.width])
        XCTAssertEqual(maxRelativeError(input, try trace.tensor("vae_image")), 0, "preprocessed image")

        var random = TorchGenerator(seed: p.seed)
        var denoiser = try pipeline.prepare(image: input, parameters: p, random: &random)
        assertClose(denoiser.imageEmbedding.reshaped([1, -1]), try trace.tensor("image_embeds"), tolerance: 1e-4, "image_embeds")
        let imageLatents = try trace.tensor("image_latents")
        assertClose(slice(denoiser.imageLatents, axis: 0, range: 0..<1), imageLatents, tolerance: 1e-4, "image_latents")
        assertClose(denoiser.latents, try trace.tensor("init_latents"), tolerance: 1e-6, "initial latents")
        XCTAssertEqual(denoiser.scheduler.sigmas, try trace.tensor("sigmas").scalars, "sigmas")
        XCTAssertEqual(denoiser.scheduler.timesteps, try trace.tensor("timesteps").scalars, "timesteps")
        XCTAssertEqual(denoiser.frameScales, try trace.tensor("guidance_scale").scalars, "per-frame guidance")

        for i in 0..<denoiser.stepCount {
            // Every UNet call on the traced inputs.
            let out = pipeline.unet(try trace.tensor("step\(i).latent_model_input"), timestep: try trace.tensor("step\(i).timestep").scalars[0],
                                    encoderHiddenStates: try trace.tensor("step\(i).encoder_hidden_states"),
                                    addedTimeIds: try trace.tensor("step\(i).added_time_ids"))
            assertClose(out, try trace.tensor("step\(i).noise_pred"), tolerance: 1e-4, "UNet call \(i)")
            XCTAssertEqual(try trace.tensor("step\(i).added_time_ids").scalars,
                           [Float(p.fps - 1), Float(p.motionBucketId), p.noiseAugStrength, Float(p.fps - 1), Float(p.motionBucketId), p.noiseAugStrength])
            // The loop itself, carried on from our own state.
            denoiser.step()
            assertClose(denoiser.latents, try trace.tensor("step\(i).latents"), tolerance: 1e-3, "latents after step \(i)")
        }
        assertClose(denoiser.latents, try trace.tensor("final_latents"), tolerance: 1e-3, "final latents")

        let decoded = pipeline.decode(denoiser.latents, chunkSize: p.decodeChunkSize)   // [F, 3, H, W]
        // Float frames before uint8 rounding: (x / 2 + 0.5).clamp(0, 1) in diffusers' [1, F, H, W, 3]
        // layout. Stricter than PSNR on uint8 (catches a wrong VAE scaling factor, for example).
        var unit = permute(decoded, [0, 2, 3, 1])
        unit.withUnsafeMutableBufferPointer { u in for i in u.indices { u[i] = min(max(u[i] / 2 + 0.5, 0), 1) } }
        assertClose(unit.reshaped([1] + unit.shape), try trace.tensor("frames"), tolerance: 1e-3, "float frames")
        let frames = RGBImage.frames(fromNormalizedTensor: decoded)
        XCTAssertEqual(frames.count, p.numFrames)
        // [1, F, H, W, 3] uint8, as diffusers returns them.
        assertFramesPSNR(frames.map(\.pixels), try trace.file.tensor("frames_u8"), atLeast: 40)
    }
}
