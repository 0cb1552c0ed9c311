import ArgumentParser
import Tensor

extension PrecisionSetting: ExpressibleByArgument {}

/// `--precision`, shared by generate, compare and bench: resolved once per request by the engine.
struct PrecisionOptions: ParsableArguments {
    @Option(name: .customLong("precision"),
            help: ArgumentHelp("Arithmetic of matrix products, convolutions and attention: auto, f32 or bf16.",
                               discussion: "bf16 rounds the operands of products to bfloat16 and accumulates in f32 (as torch.autocast does); norms, softmax statistics, residual sums and the scheduler stay f32. auto picks bf16 where oneDNN has native bf16 dot products (AVX512-BF16 or AMX) and f32 elsewhere. f32 is the path that matches diffusers."))
    var setting: PrecisionSetting = .auto
}
