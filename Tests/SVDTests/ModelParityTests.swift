import SVD
import Tensor
import TestSupport
import XCTest

/// Each model of the tiny random-weight pipeline against diffusers/transformers run on the same
/// inputs (fixtures from Scripts/reference/svd_fixtures.py). Tolerances: max-norm relative error,
/// about 5x the error measured (CLIP 1e-6, VAE 1.7e-6, UNet 1.5e-5: 30 layers of fp32 rounding).
final class ModelParityTests: XCTestCase {
    let folder = try! ModelFolder(path: fixturePath("tiny/pipeline"), variant: "fp16")

    func testCLIPVisionMatchesTransformers() throws {
        let model = try folder.loadImageEncoder()
        let trace = try Fixture("tiny/clip.safetensors")
        let (embeds, hidden) = model(try Fixture("tiny/trace-a.safetensors").tensor("clip_pixel_values"))
        assertClose(hidden, try trace.tensor("last_hidden_state"), tolerance: 1e-5, "last_hidden_state")
        assertClose(embeds, try trace.tensor("image_embeds"), tolerance: 1e-5, "image_embeds")
    }

    func testVAEEncodeModeMatchesDiffusers() throws {
        let vae = try folder.loadVAE()
        let trace = try Fixture("tiny/vae.safetensors")
        let input = try Fixture("tiny/trace-a.safetensors").tensor("vae_input")
        assertClose(vae.encodeMode(input), try trace.tensor("encode.latent_mode"), tolerance: 1e-5)
    }

    func testVAEDecodeMatchesDiffusers() throws {
        let vae = try folder.loadVAE()
        let trace = try Fixture("tiny/vae.safetensors")
        let frames = trace.int("decode.num_frames")
        assertClose(vae.decode(try trace.tensor("decode.latents"), frames: frames), try trace.tensor("decode.frames"), tolerance: 1e-5)
    }

    func testUNetForwardMatchesDiffusers() throws {
        let unet = try folder.loadUNet()
        let trace = try Fixture("tiny/unet.safetensors")
        let out = unet(try trace.tensor("input.sample"), timestep: try trace.tensor("input.timestep").scalars[0],
                       encoderHiddenStates: try trace.tensor("input.encoder_hidden_states"),
                       addedTimeIds: try trace.tensor("input.added_time_ids"))
        assertClose(out, try trace.tensor("output"), tolerance: 5e-6)   // 5e-5 before the up blocks' eps was fixed to 1e-6
    }

    /// A second CLIP config with hidden_act "quick_gelu" (the tiny pipeline's is "gelu", like the release).
    func testCLIPVisionQuickGELUMatchesTransformers() throws {
        let fixtures = try ModelFolder(path: fixturePath(""))
        let config = try fixtures.config(CLIPVisionConfig.self, component: "clip-quickgelu")
        XCTAssertEqual(config.hiddenAct, "quick_gelu")
        let source = CheckpointWeights(try fixtures.checkpoint(component: "clip-quickgelu", base: "model"),
                                       ignoring: CLIPVisionModelWithProjection.isIgnoredKey)
        let model = try CLIPVisionModelWithProjection(config: config, weights: WeightScope(source))
        try source.finish()
        let trace = try Fixture("clip-quickgelu/forward.safetensors")
        let (embeds, hidden) = model(try trace.tensor("pixel_values"))
        assertClose(hidden, try trace.tensor("last_hidden_state"), tolerance: 1e-5, "last_hidden_state")
        assertClose(embeds, try trace.tensor("image_embeds"), tolerance: 1e-5, "image_embeds")
    }
}
