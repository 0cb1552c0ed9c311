import Foundation
import Layers
import Tensor

/// Mirrors transformers' CLIPEncoderLayer (models/clip/modeling_clip.py), shared by the vision
/// tower (SVD's image encoder) and the text tower (concept guidance): pre-norm self-attention
/// (`self_attn.{q,k,v,out}_proj`, all with bias, scale head_dim^-0.5; the text tower applies a
/// causal mask, position i sees keys 0...i), then pre-norm MLP (`mlp.fc1`, activation from the
/// config's `hidden_act`, `mlp.fc2`), both residual.
public struct CLIPEncoderLayer {
    let layerNorm1: LayerNorm
    let qProj: LinearLayer
    let kProj: LinearLayer
    let vProj: LinearLayer
    let outProj: LinearLayer
    let layerNorm2: LayerNorm
    let fc1: LinearLayer
    let fc2: LinearLayer
    let heads: Int
    let activation: String
    let causal: Bool

    public init(_ w: WeightScope, hiddenSize d: Int, intermediateSize: Int, heads: Int, hiddenAct: String,
                layerNormEps: Float, causal: Bool) {
        layerNorm1 = LayerNorm(w["layer_norm1"], dim: d, eps: layerNormEps)
        qProj = LinearLayer(w["self_attn"]["q_proj"], in: d, out: d)
        kProj = LinearLayer(w["self_attn"]["k_proj"], in: d, out: d)
        vProj = LinearLayer(w["self_attn"]["v_proj"], in: d, out: d)
        outProj = LinearLayer(w["self_attn"]["out_proj"], in: d, out: d)
        layerNorm2 = LayerNorm(w["layer_norm2"], dim: d, eps: layerNormEps)
        fc1 = LinearLayer(w["mlp"]["fc1"], in: d, out: intermediateSize)
        fc2 = LinearLayer(w["mlp"]["fc2"], in: intermediateSize, out: d)
        self.heads = heads
        activation = hiddenAct
        self.causal = causal
    }

    /// The `hidden_act` names CLIP configs use (transformers' ACT2FN).
    public static let supportedActivations = ["gelu", "quick_gelu", "gelu_new", "gelu_pytorch_tanh"]

    /// x [B, L, D] -> [B, L, D].
    public func callAsFunction(_ x: Tensor) -> Tensor {
        var h = x
        let n = layerNorm1(h)
        let (q, k, v) = (qProj(n), kProj(n), vProj(n))
        addInPlace(&h, outProj(causal ? Self.causalAttention(query: q, key: k, value: v, heads: heads)
                                      : attention(query: q, key: k, value: v, heads: heads)))
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
