import Foundation
import Layers
import Tensor

/// Mirrors transformers' CLIPEncoderLayer as the text tower runs it (models/clip/modeling_clip.py):
/// pre-norm self-attention with a causal mask (`self_attn.{q,k,v,out}_proj`, all with bias, scale
/// head_dim^-0.5, softmax over keys 0...i), then pre-norm MLP (`mlp.fc1`, activation, `mlp.fc2`), both residual.
struct CLIPTextModelLayer {
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

    init(_ w: WeightScope, config: CLIPTextModelConfig) {
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

    /// x [B, L, D] -> [B, L, D].
    func callAsFunction(_ x: Tensor) -> Tensor {
        var h = x
        let n = layerNorm1(h)
        addInPlace(&h, outProj(Self.causalAttention(query: qProj(n), key: kProj(n), value: vProj(n), heads: heads)))
        var m = fc1(layerNorm2(h))
        switch activation {
        case "quick_gelu": quickGeluInPlace(&m)
        case "gelu_new", "gelu_pytorch_tanh": geluTanhInPlace(&m)
        default: geluInPlace(&m)
        }
        addInPlace(&h, fc2(m))
        return h
    }

    /// Scaled dot-product attention where position i sees keys 0...i (the text tower's causal mask;
    /// sequences are at most 77 long, so one (batch, head) at a time with a row buffer is enough).
    static func causalAttention(query: Tensor, key: Tensor, value: Tensor, heads: Int) -> Tensor {
        let b = query.shape[0], l = query.shape[1], d = query.shape[2]
        let hd = d / heads
        let scale = Float(1 / Double(hd).squareRoot())
        var out = Tensor(zeros: query.shape)
        query.withUnsafeBufferPointer { q in
            key.withUnsafeBufferPointer { k in
                value.withUnsafeBufferPointer { v in
                    out.withUnsafeMutableBufferPointer { o in
                        Parallel.forEach(b * heads) { item in
                            let batch = item / heads, head = item % heads
                            let base = batch * l * d + head * hd
                            var scores = [Float](repeating: 0, count: l)
                            for i in 0..<l {
                                var maxScore = -Float.infinity
                                for j in 0...i {
                                    var s: Float = 0
                                    for c in 0..<hd { s += q[base + i * d + c] * k[base + j * d + c] }
                                    scores[j] = s * scale
                                    maxScore = max(maxScore, scores[j])
                                }
                                var sum: Float = 0
                                for j in 0...i {
                                    scores[j] = exp(scores[j] - maxScore)
                                    sum += scores[j]
                                }
                                for j in 0...i {
                                    let p = scores[j] / sum
                                    for c in 0..<hd { o[base + i * d + c] += p * v[base + j * d + c] }
                                }
                            }
                        }
                    }
                }
            }
        }
        return out
    }
}
