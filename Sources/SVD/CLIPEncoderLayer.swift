import Layers
import Tensor

/// Mirrors transformers' CLIPEncoderLayer (models/clip/modeling_clip.py): pre-norm self-attention
/// (`self_attn.{q,k,v,out}_proj`, all with bias, scale head_dim^-0.5) and pre-norm MLP (`mlp.fc1`,
/// activation, `mlp.fc2`), both residual.
struct CLIPEncoderLayer {
    let layerNorm1: LayerNorm
    let qProj: Linear
    let kProj: Linear
    let vProj: Linear
    let outProj: Linear
    let layerNorm2: LayerNorm
    let fc1: Linear
    let fc2: Linear
    let heads: Int
    let activation: String

    init(_ w: WeightScope, config: CLIPVisionConfig) {
        let d = config.hiddenSize
        layerNorm1 = LayerNorm(w["layer_norm1"], dim: d, eps: config.layerNormEps)
        qProj = Linear(w["self_attn"]["q_proj"], in: d, out: d)
        kProj = Linear(w["self_attn"]["k_proj"], in: d, out: d)
        vProj = Linear(w["self_attn"]["v_proj"], in: d, out: d)
        outProj = Linear(w["self_attn"]["out_proj"], in: d, out: d)
        layerNorm2 = LayerNorm(w["layer_norm2"], dim: d, eps: config.layerNormEps)
        fc1 = Linear(w["mlp"]["fc1"], in: d, out: config.intermediateSize)
        fc2 = Linear(w["mlp"]["fc2"], in: config.intermediateSize, out: d)
        heads = config.numAttentionHeads
        activation = config.hiddenAct
    }

    func callAsFunction(_ x: Tensor) -> Tensor {
        var h = x
        let n = layerNorm1(h)
        addInPlace(&h, outProj(attention(query: qProj(n), key: kProj(n), value: vProj(n), heads: heads)))
        addInPlace(&h, fc2(activate(fc1(layerNorm2(h)))))
        return h
    }

    /// transformers' ACT2FN for the names CLIP configs use.
    private func activate(_ x: Tensor) -> Tensor {
        switch activation {
        case "quick_gelu": return quickGelu(x)
        case "gelu_new", "gelu_pytorch_tanh": return geluTanh(x)
        default: return gelu(x)
        }
    }
}
