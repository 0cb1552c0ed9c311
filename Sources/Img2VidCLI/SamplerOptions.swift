import ArgumentParser
import Diffusion

extension SchedulerKind: ExpressibleByArgument {}

/// Which sampler runs and which UNet weights it runs with (AnimateLCM-SVD: `--unet AnimateLCM-SVD-xt.safetensors
/// --scheduler animatelcm`).
struct SamplerOptions: ParsableArguments {
    @Option(help: """
        Sampler: euler (the SVD releases': 25 steps, guidance 1-3) or animatelcm (AnimateLCM-SVD's consistency \
        sampler: 4 steps, guidance 1-1.2, motion bucket 80, fps 8 unless set; needs the AnimateLCM UNet, --unet). \
        Default: what the model folder's scheduler/scheduler_config.json names.
        """)
    var scheduler: SchedulerKind?

    @Option(help: """
        A single .safetensors file holding a UNet state dict in diffusers key names (for example \
        AnimateLCM-SVD-xt.safetensors), used instead of the model folder's UNet weights with its unet/config.json.
        """)
    var unet: String?
}
