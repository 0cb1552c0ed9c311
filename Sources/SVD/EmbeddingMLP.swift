import Layers
import Tensor

/// The MLP that projects an embedding (time, added ids, frame positions). Mirrors diffusers'
/// TimestepEmbedding (models/embeddings.py): linear_1 -> SiLU -> linear_2.
struct EmbeddingMLP {
    let linear1: LinearLayer
    let linear2: LinearLayer

    init(_ w: WeightScope, in inChannels: Int, timeEmbedDim: Int, outDim: Int? = nil) {
        linear1 = LinearLayer(w["linear_1"], in: inChannels, out: timeEmbedDim)
        linear2 = LinearLayer(w["linear_2"], in: timeEmbedDim, out: outDim ?? timeEmbedDim)
    }

    func callAsFunction(_ x: Tensor) -> Tensor {
        linear2(silu(linear1(x)))
    }
}
