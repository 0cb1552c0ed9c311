import ConceptGuidance
import Diffusion
import Foundation
import Media
import SVD
import SVDTestSupport
import Tensor
import TestSupport
import XCTest

/// Accuracy against float64 (issue 14): img2vid at f32 and at bf16 on the cases of
/// Scripts/reference/precision_reference.py, whose fixtures hold diffusers' frames computed
/// entirely in float64 (models, embeddings, scheduler) and, in their metadata, the PSNR that
/// PyTorch f32 and PyTorch bf16 autocast reach against them.
///
/// PSNR is measured as the script measures it: on the float frames diffusers returns,
/// `(x / 2 + 0.5).clamp(0, 1)`, as `10 log10(1 / MSE)`. At bf16 every product goes through bf16
/// here (`GEMM.bf16MinimumMultiplyAdds` set to 0), as torch.autocast does; in normal runs products
/// of these tiny models would all stay in f32.
///
/// Pass criteria (the target, with the measured margin): on every case img2vid f32 is
/// within 1 dB of PyTorch f32 (3 dB on `chaoticCase`) or at 115 dB or more (both are then at float32's rounding floor,
/// 118-126 dB, where the order of summation alone moves the figure by 3 dB), and img2vid bf16
/// within 1 dB of PyTorch bf16 autocast or better. This test found the up blocks' GroupNorm eps
/// (1e-5 where diffusers has 1e-6): img2vid f32 was then at 84-111 dB. `IMG2VID_PRECISION_TABLE=1`
/// prints the table for docs/PERFORMANCE.md.
final class PrecisionTests: XCTestCase {
    /// SLD medium with the default warm-up: elements sit at the safety threshold, so which side of
    /// it they land on depends on the last bits of the UNet's outputs; any change in the order of
    /// summation moves this case by 10-30 dB (img2vid f32 on OpenBLAS 118.8 dB, on oneDNN 90.3 dB,
    /// PyTorch f32 92.2 dB; docs/PERFORMANCE.md, session 6). Held to 3 dB instead of 1.
    static let chaoticCase = "sld-medium"
    static let cases = ["tiny-a", "tiny-a-noguidance", "tiny-b", "tiny-b-noguidance", "tiny2-a", "tiny2-a-noguidance",
                        "sld-cfg", "sld-medium", "sld-strong", "sld-medium-warmup2"]

    func testAgainstFloat64() throws {
        var table = ["| case | PyTorch f32 | img2vid f32 | PyTorch bf16 autocast | img2vid bf16 |", "|---|---|---|---|---|"]
        for name in Self.cases {
            let trace = try Fixture("precision/\(name).safetensors")
            let reference = try trace.tensor("frames")
            let f32 = psnr(try frames(trace, precision: .f32), reference)
            let threshold = GEMM.bf16MinimumMultiplyAdds.value
            GEMM.bf16MinimumMultiplyAdds.value = 0
            defer { GEMM.bf16MinimumMultiplyAdds.value = threshold }
            let bf16 = psnr(try frames(trace, precision: .bf16), reference)
            let torchF32 = Double(trace.string("torch_f32_psnr_float"))!
            let torchBF16 = Double(trace.string("torch_bf16_psnr_float"))!
            table.append(String(format: "| %@ | %.2f dB | %.2f dB | %.2f dB | %.2f dB |", name, torchF32, f32, torchBF16, bf16))
            let f32Margin = name == Self.chaoticCase ? 3.0 : 1.0
            XCTAssertTrue(f32 >= torchF32 - f32Margin || f32 >= 115, "\(name): img2vid f32 \(f32) dB against PyTorch f32 \(torchF32) dB")
            XCTAssertGreaterThanOrEqual(bf16, torchBF16 - 1, "\(name): img2vid bf16 against PyTorch bf16 autocast")
        }
        if ProcessInfo.processInfo.environment["IMG2VID_PRECISION_TABLE"] == "1" {
            print(table.joined(separator: "\n"))
        }
    }

    /// The case's run (its pipeline, input, settings and, for the SLD cases, the concept-guidance
    /// preset with the fixture's warm-up) at `precision`: frames [F, H, W, 3] in [0, 1].
    private func frames(_ trace: Fixture, precision: ComputePrecision) throws -> [Float] {
        try ComputePrecision.$current.withValue(precision) {
            let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            let variant = trace.string("variant").isEmpty ? nil : trace.string("variant")
            let pipeline = try StableVideoDiffusionPipeline.load(ModelFolder(path: root.appendingPathComponent(trace.string("pipeline")).path,
                                                                             variant: variant))
            let p = SVDParameters(trace: trace)
            let image = try ImageDecoder.decode(path: root.appendingPathComponent(trace.string("input")).path)
            let input = image.normalizedTensor().reshaped([1, 3, p.height, p.width])
            var guidance: any Guidance = ClassifierFreeGuidance()
            if trace.string("sld") == "1" {
                let configuration = SLDConfiguration(guidanceScale: Double(trace.string("sld_guidance_scale"))!,
                                                     warmupSteps: Int(trace.string("sld_warmup_steps"))!,
                                                     threshold: Double(trace.string("sld_threshold"))!,
                                                     momentumScale: Double(trace.string("sld_momentum_scale"))!,
                                                     momentumBeta: Double(trace.string("sld_mom_beta"))!)
                let exemplar = try ImageDecoder.decode(path: root.appendingPathComponent(trace.string("concept")).path)
                let concept = pipeline.encodeImage(exemplar.normalizedTensor().reshaped([1, 3, exemplar.height, exemplar.width]))
                guidance = SafeLatentGuidance(configuration: configuration, concepts: [concept])
            }
            var random = TorchGenerator(seed: p.seed)
            var denoiser = try pipeline.prepare(image: input, parameters: p, random: &random, guidance: guidance)
            while denoiser.step() {}
            let decoded = pipeline.decode(denoiser.latents, chunkSize: p.decodeChunkSize)   // [F, 3, H, W]
            return interleavedUnitFrames(decoded)
        }
    }

    /// diffusers' `postprocess_video` for output_type "np": [F, 3, H, W] in about [-1, 1] to
    /// [F, H, W, 3] in [0, 1].
    private func interleavedUnitFrames(_ tensor: Tensor) -> [Float] {
        let f = tensor.shape[0], h = tensor.shape[2], w = tensor.shape[3], plane = h * w
        let x = tensor.scalars
        var out = [Float](repeating: 0, count: f * plane * 3)
        for i in 0..<f {
            for c in 0..<3 {
                for j in 0..<plane {
                    out[(i * plane + j) * 3 + c] = min(max(x[(i * 3 + c) * plane + j] / 2 + 0.5, 0), 1)
                }
            }
        }
        return out
    }

    /// `10 log10(1 / MSE)` on [0, 1] values, in float64.
    private func psnr(_ frames: [Float], _ reference: Tensor) -> Double {
        let r = reference.scalars
        precondition(frames.count == r.count, "frame count or size differs from the fixture")
        var squared = 0.0
        for (a, b) in zip(frames, r) { squared += (Double(a) - Double(b)) * (Double(a) - Double(b)) }
        let mse = squared / Double(r.count)
        return mse == 0 ? .infinity : 10 * log10(1 / mse)
    }
}
