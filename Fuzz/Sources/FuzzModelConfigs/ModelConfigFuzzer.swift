import Diffusion
import Foundation
import FuzzSupport
import SVD

/// libFuzzer entry for the configs of a diffusers model folder. The scratch folder starts as a copy
/// of the demo model's configs (no weights); the input's first byte picks one file, the rest replaces
/// it, and the folder is then read the way `generate` and `inspect` read it:
/// `StableVideoDiffusionPipeline.load` (model_index.json, the scheduler config, the UNet config up to
/// the missing weights), each component's config decoded and validated, an Euler scheduler built from
/// the scheduler config and set to 25 steps, and `img2vid.json`'s defaults applied and validated.
/// Bad files throw (`ModelLoadingError`, `ModelConfigError`, `SchedulerError`...), never trap, and
/// no config value makes the reader allocate beyond what the file itself describes.
private let files = ["model_index.json", "unet/config.json", "vae/config.json", "image_encoder/config.json",
                     "scheduler/scheduler_config.json", "img2vid.json"]
private let scratch: ScratchFolder = {
    let folder = ScratchFolder("model")
    for name in files {
        let bytes = FileManager.default.contents(atPath: ScratchFolder.repositoryRoot + "/Weights/demo/" + name) ?? Data()
        bytes.withUnsafeBytes { _ = folder.write(name, $0) }
    }
    return folder
}()
/// Byte arrays, not `Data`: `Data` packs its storage pointer into an enum, which LeakSanitizer cannot
/// see through, so a global `[Data]` is reported as leaked.
private let originals: [[UInt8]] = files.map { Array(FileManager.default.contents(atPath: scratch.path + "/" + $0) ?? Data()) }

@main
enum ModelConfigFuzzer {
    static func main() {
        // Globals first: LeakSanitizer would take what they allocate during the first input for a leak.
        keep(originals)
        FuzzDriver.run { modelConfigFuzzer($0, $1) }
    }
}

private func modelConfigFuzzer(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data, size > 0 else { return 0 }
    let which = Int(data[0]) % files.count
    scratch.write(files[which], UnsafeRawBufferPointer(start: data + 1, count: size - 1))
    defer { originals[which].withUnsafeBytes { _ = scratch.write(files[which], $0) } }
    guard let folder = attempt({ try ModelFolder(path: scratch.path) }) else { fatalError("the scratch folder vanished") }

    _ = attempt({ try StableVideoDiffusionPipeline.load(folder) })    // always fails at the (absent) UNet weights
    if let unet = attempt({ try folder.config(UNetConfig.self, component: "unet") }) { keep(attempt({ try unet.validate() })) }
    if let vae = attempt({ try folder.config(VAEConfig.self, component: "vae") }) { keep(attempt({ try vae.validate() })) }
    if let clip = attempt({ try folder.config(CLIPVisionConfig.self, component: "image_encoder") }) { keep(attempt({ try clip.validate() })) }
    if let config = attempt({ try folder.loadSchedulerConfig() }), var scheduler = attempt({ try EulerDiscreteScheduler(config: config) }) {
        if (attempt({ try scheduler.setTimesteps(25) })) != nil {
            precondition(scheduler.timesteps.count == 25, "25 steps gave \(scheduler.timesteps.count) timesteps")
        }
    }
    if let defaults = attempt({ try ModelDefaults.load(folder) }) {
        keep(attempt({ try defaults.applied(to: SVDParameters(numFrames: 14)).validate(sizeMultiple: 8) }))
    }
    return 0
}
