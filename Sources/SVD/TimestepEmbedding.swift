import Layers
import Tensor

/// Mirrors diffusers' TimestepEmbedding (models/embeddings.py): linear_1 -> SiLU -> linear_2.
struct TimestepEmbedding {
    let linear1: Linear
    let linear2: Linear

    init(_ w: WeightScope, in inChannels: Int, timeEmbedDim: Int, outDim: Int? = nil) {
        linear1 = Linear(w["linear_1"], in: inChannels, out: timeEmbedDim)
        linear2 = Linear(w["linear_2"], in: timeEmbedDim, out: outDim ?? timeEmbedDim)
    }

    func callAsFunction(_ x: Tensor) -> Tensor {
        linear2(silu(linear1(x)))
    }
}
