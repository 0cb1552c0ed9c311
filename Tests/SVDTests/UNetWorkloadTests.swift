import Foundation
import SVD
import Tensor
import TestSupport
import XCTest

/// FLOP counts of the real SVD-XT UNet (Models/svd-xt/unet/config.json) against the counts
/// torch.utils.flop_counter gives for diffusers' model (FACTS.md), in count-only mode (GEMMs
/// counted, not computed) with all-zero weights, so it runs in seconds at any size.
/// An opt-in per-op profile of a real forward (random weights) runs with IMG2VID_PROFILE=1.
final class UNetWorkloadTests: XCTestCase {
    static let svdXT = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../Models/svd-xt").standardized.path

    func unet(_ source: WeightSource) throws -> UNetSpatioTemporalConditionModel {
        let folder = try ModelFolder(path: Self.svdXT)
        return try UNetSpatioTemporalConditionModel(config: try folder.config(UNetConfig.self, component: "unet"),
                                                    weights: WeightScope(source))
    }

    func forward(_ model: UNetSpatioTemporalConditionModel, batch: Int, frames: Int, height: Int, width: Int) -> Tensor {
        model(Tensor(zeros: [batch, frames, 8, height / 8, width / 8]), timestep: 0.5,
              encoderHiddenStates: Tensor(zeros: [batch, 1, 1024]),
              addedTimeIds: Tensor(shape: [batch, 3], scalars: Array(repeating: [6, 127, 0.02], count: batch).flatMap { $0 }))
    }

    func countedGFLOP(_ model: UNetSpatioTemporalConditionModel, batch: Int = 1, frames: Int, height: Int, width: Int) -> Double {
        OpProfile.start(countOnly: true)
        defer { OpProfile.stop() }
        _ = forward(model, batch: batch, frames: frames, height: height, width: width)
        return OpProfile.flops / 1e9
    }

    func testSVDXTForwardFLOPsMatchTorchFlopCounter() throws {
        let model = try unet(ZeroWeights())
        // torch.utils.flop_counter on diffusers' UNetSpatioTemporalConditionModel (FACTS.md), to 0.1%.
        for (frames, h, w, torchGFLOP) in [(14, 256, 256, 4125.0), (8, 256, 256, 2362.0), (14, 192, 192, 2296.0)] {
            let g = countedGFLOP(model, frames: frames, height: h, width: w)
            XCTAssertEqual(g, torchGFLOP, accuracy: torchGFLOP * 1e-3, "\(frames) frames \(w)x\(h)")
        }
        XCTAssertFalse(OpProfile.isCountingFLOPs)
    }

    /// Splitting the batch (what full-size guidance batches do) gives the batched result.
    func testSplitBatchMatchesBatched() throws {
        let model = try ModelFolder(path: fixturePath("tiny/pipeline"), variant: "fp16").loadUNet()
        var random = SplitMix(seed: 3)
        let c = model.config
        let sample = random.tensor([2, 3, c.inChannels, 8, 8])
        let context = random.tensor([2, 1, c.crossAttentionDim.values(count: c.blockOutChannels.count)[0]])
        let ids = Tensor(shape: [2, 3], scalars: [6, 127, 0.02, 6, 127, 0.02])
        let batched = model(sample, timestep: 0.7, encoderHiddenStates: context, addedTimeIds: ids)
        let saved = UNetSpatioTemporalConditionModel.splitBatchAbove
        defer { UNetSpatioTemporalConditionModel.splitBatchAbove = saved }
        UNetSpatioTemporalConditionModel.splitBatchAbove = 0
        let split = model(sample, timestep: 0.7, encoderHiddenStates: context, addedTimeIds: ids)
        // Different GEMM shapes take different OpenBLAS blockings: 1.6e-6 with the Zen (AVX2) kernel.
        assertClose(split, batched, tolerance: 4e-6)
    }

    func testFullSizeFLOPs() throws {
        guard ProcessInfo.processInfo.environment["IMG2VID_SLOW_TESTS"] != nil else { throw XCTSkip("set IMG2VID_SLOW_TESTS=1") }
        let model = try unet(ZeroWeights())
        XCTAssertEqual(countedGFLOP(model, frames: 14, height: 576, width: 1024), 44802, accuracy: 45)
        XCTAssertEqual(countedGFLOP(model, batch: 2, frames: 25, height: 576, width: 1024), 159_897, accuracy: 160)
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        print(String(format: "peak RSS of count-only forwards (activations, no weights): %.2f GiB",
                     Double(usage.ru_maxrss) * 1024 / Double(1 << 30)))
    }

    /// IMG2VID_PROFILE=1 [IMG2VID_PROFILE_SHAPE=frames,height,width]: one warm-up and one timed
    /// SVD-XT forward with random weights; prints the time per op category.
    func testProfileForward() throws {
        let env = ProcessInfo.processInfo.environment
        guard env["IMG2VID_PROFILE"] != nil else { throw XCTSkip("set IMG2VID_PROFILE=1") }
        let shape = (env["IMG2VID_PROFILE_SHAPE"] ?? "14,256,256").split(separator: ",").map { Int($0)! }
        let dtype: DType = env["IMG2VID_PROFILE_DTYPE"] == "f16" ? .f16 : .f32
        let model = try unet(RandomWeights(seed: 1, dtype: dtype))
        _ = forward(model, batch: 1, frames: shape[0], height: shape[1], width: shape[2])
        OpProfile.start(timing: true)
        let t0 = Date()
        _ = forward(model, batch: 1, frames: shape[0], height: shape[1], width: shape[2])
        let wall = Date().timeIntervalSince(t0)
        OpProfile.stop()
        let seconds = OpProfile.seconds
        var lines = ["profile \(shape) \(dtype) threads \(Parallel.threads) core \(BLAS.coreName): wall \(String(format: "%.2f", wall)) s, "
                     + String(format: "%.0f GFLOP, %.1f GFLOP/s", OpProfile.flops / 1e9, OpProfile.flops / 1e9 / wall)]
        let measured = seconds.values.reduce(0, +)
        for c in OpProfile.Category.allCases {
            lines.append(String(format: "  %-12@ %7.2f s %5.1f%%", c.name as NSString, seconds[c]!, 100 * seconds[c]! / wall))
        }
        lines.append(String(format: "  %-12@ %7.2f s %5.1f%%", "other" as NSString, wall - measured, 100 * (wall - measured) / wall))
        lines.append("  GEMM shapes by time (m x n x k, T = transposed operand): calls, seconds, GFLOP/s")
        for (key, e) in OpProfile.gemmShapes.sorted(by: { $0.value.seconds > $1.value.seconds }).prefix(40) {
            lines.append(String(format: "    %-28@ %6d %8.3f s %7.1f", key as NSString, e.calls, e.seconds, e.flops / 1e9 / max(e.seconds, 1e-9)))
        }
        print(lines.joined(separator: "\n"))
        XCTAssertLessThanOrEqual(measured, wall * 1.01)
    }
}

extension UNetWorkloadTests {
    /// IMG2VID_PROFILE_CONFIGS=rounds: one SVD-XT UNet forward at 14 frames 256x256 (random f32
    /// weights, built once, one warm-up) per runtime configuration (f32 GEMM library forced or
    /// chosen by shape x parallel loops on GCD or the OpenMP team), interleaved for the given number of rounds; prints
    /// every time and each configuration's median. A measurement: asserts nothing about time.
    func testCompareRuntimeConfigurations() throws {
        guard let roundsText = ProcessInfo.processInfo.environment["IMG2VID_PROFILE_CONFIGS"], let rounds = Int(roundsText)
        else { throw XCTSkip("set IMG2VID_PROFILE_CONFIGS=rounds") }
        let model = try unet(RandomWeights(seed: 1))
        let configurations: [(name: String, library: GEMM.F32Library?, openMP: Bool)] = [
            ("openblas+gcd", .openBLAS, false), ("onednn+openmp", .oneDNN, true), ("by-shape+openmp (default)", nil, true)]
        let savedLibrary = GEMM.f32LibraryOverride.value, savedOpenMP = OpenMPTeam.isUsed.value
        defer { GEMM.f32LibraryOverride.value = savedLibrary; OpenMPTeam.isUsed.value = savedOpenMP }
        _ = forward(model, batch: 1, frames: 14, height: 256, width: 256)
        var times = [String: [Double]]()
        for round in 0..<rounds {
            for c in configurations {
                GEMM.f32LibraryOverride.value = c.library
                OpenMPTeam.isUsed.value = c.openMP && OpenMPTeam.isAvailable
                let t0 = Date()
                _ = forward(model, batch: 1, frames: 14, height: 256, width: 256)
                let t = Date().timeIntervalSince(t0)
                times[c.name, default: []].append(t)
                print(String(format: "round %d %@: %.2f s", round, c.name as NSString, t))
            }
        }
        for c in configurations {
            let sorted = times[c.name]!.sorted()
            print(String(format: "%@: median %.2f s, min %.2f s over %d runs", c.name as NSString, sorted[sorted.count / 2], sorted[0], sorted.count))
        }
    }

    /// IMG2VID_SWEEP=1 [IMG2VID_SWEEP_OUT=file.csv]: one SVD-XT UNet forward (random f32 weights,
    /// built once) per shape, frames and resolution growing; prints CSV rows
    /// frames,width,height,seconds,gflop for docs/PERFORMANCE.md's scaling plot.
    func testSweepShapes() throws {
        let env = ProcessInfo.processInfo.environment
        guard env["IMG2VID_SWEEP"] != nil else { throw XCTSkip("set IMG2VID_SWEEP=1") }
        let model = try unet(RandomWeights(seed: 1))
        let shapes = [(14, 256, 256), (2, 256, 256), (4, 256, 256), (8, 256, 256), (14, 256, 256), (25, 256, 256),
                      (14, 128, 128), (14, 192, 192), (14, 320, 320), (14, 384, 384)]
        var rows = ["frames,width,height,seconds,gflop,threads,blas_core"]
        for (i, (f, w, h)) in shapes.enumerated() {
            OpProfile.start()
            let t0 = Date()
            _ = forward(model, batch: 1, frames: f, height: h, width: w)
            let seconds = Date().timeIntervalSince(t0)
            OpProfile.stop()
            if i == 0 { continue }    // warm-up
            rows.append("\(f),\(w),\(h),\(String(format: "%.3f", seconds)),\(String(format: "%.1f", OpProfile.flops / 1e9)),\(Parallel.threads),\(BLAS.coreName)")
            print(rows.last!)
            if let out = env["IMG2VID_SWEEP_OUT"] { try rows.joined(separator: "\n").write(toFile: out, atomically: true, encoding: .utf8) }
        }
        XCTAssertEqual(rows.count, shapes.count)
    }
}

/// Every weight all zeros, borrowed from one read-only anonymous mapping (untouched pages read
/// as zero and cost no memory), in f32 so nothing is widened.
final class ZeroWeights: WeightSource {
    static let capacity = 1 << 28
    let base: UnsafeMutableRawPointer = {
        let p = mmap(nil, ZeroWeights.capacity, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0)
        precondition(p != MAP_FAILED, "mmap failed")
        return p!
    }()

    func load(_ key: String, shape: [Int]) -> StoredTensor {
        let bytes = shape.reduce(1, *) * 4
        precondition(bytes <= Self.capacity, "\(key) \(shape) larger than the zero mapping")
        return StoredTensor(dtype: .f32, shape: shape, bytes: UnsafeRawBufferPointer(start: base, count: bytes), owner: self)
    }

    deinit { munmap(base, Self.capacity) }
}
