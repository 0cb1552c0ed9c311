import Layers
import Tensor

/// Mirrors transformers' BertLayer (models/bert/modeling_bert.py), post-LayerNorm as BERT is:
/// `h = LayerNorm(x + attention.output.dense(SelfAttention(x)))` (`attention.self.{query,key,value}`,
/// `attention.output.{dense,LayerNorm}`), then
/// `LayerNorm(h + output.dense(act(intermediate.dense(h))))` (`intermediate.dense`, `output.{dense,LayerNorm}`).
/// Self-attention is scaled by head_dim^-0.5; padded keys (attention mask 0) get no weight, as the
/// reference's additive `finfo.min` mask gives after the softmax.
struct BertLayer {
    let query: LinearLayer
    let key: LinearLayer
    let value: LinearLayer
    let attentionOutput: LinearLayer
    let attentionLayerNorm: LayerNorm
    let intermediate: LinearLayer
    let output: LinearLayer
    let outputLayerNorm: LayerNorm
    let heads: Int
    let activation: String

    init(_ w: WeightScope, config: BertConfig) {
        let d = config.hiddenSize, eps = config.layerNormEps
        let attention = w["attention"]
        query = LinearLayer(attention["self"]["query"], in: d, out: d)
        key = LinearLayer(attention["self"]["key"], in: d, out: d)
        value = LinearLayer(attention["self"]["value"], in: d, out: d)
        attentionOutput = LinearLayer(attention["output"]["dense"], in: d, out: d)
        attentionLayerNorm = LayerNorm(attention["output"]["LayerNorm"], dim: d, eps: eps)
        intermediate = LinearLayer(w["intermediate"]["dense"], in: d, out: config.intermediateSize)
        output = LinearLayer(w["output"]["dense"], in: config.intermediateSize, out: d)
        outputLayerNorm = LayerNorm(w["output"]["LayerNorm"], dim: d, eps: eps)
        heads = config.numAttentionHeads
        activation = config.hiddenAct
    }

    /// x [B, L, D] -> [B, L, D]. `validKeys[b]` lists the positions row b may attend to (nil: all).
    func callAsFunction(_ x: Tensor, validKeys: [[Int]?]) -> Tensor {
        let a = Self.maskedAttention(query: query(x), key: key(x), value: value(x), heads: heads, validKeys: validKeys)
        var h = attentionOutput(a)
        addInPlace(&h, x)
        h = attentionLayerNorm(h)
        var m = intermediate(h)
        switch activation {
        case "gelu_new", "gelu_pytorch_tanh": geluTanhInPlace(&m)
        default: geluInPlace(&m)
        }
        var o = output(m)
        addInPlace(&o, h)
        return outputLayerNorm(o)
    }

    /// Multi-head attention where row b's queries (all of them, padding included, as the reference
    /// computes them) see only the keys and values at `validKeys[b]`. Rows without padding go through
    /// `attention` together; a padded row runs on its gathered keys alone, which equals the reference's
    /// masked softmax (a masked key's weight underflows to exactly 0 there).
    static func maskedAttention(query: Tensor, key: Tensor, value: Tensor, heads: Int, validKeys: [[Int]?]) -> Tensor {
        if validKeys.allSatisfy({ $0 == nil }) {
            return attention(query: query, key: key, value: value, heads: heads)
        }
        let b = query.shape[0], l = query.shape[1], d = query.shape[2]
        var out = Tensor(uninitialized: query.shape)
        for row in 0..<b {
            let q = slice(query, axis: 0, range: row..<(row + 1))
            var k = slice(key, axis: 0, range: row..<(row + 1))
            var v = slice(value, axis: 0, range: row..<(row + 1))
            if let keep = validKeys[row] {
                k = gatherRows(k, keep, width: d)
                v = gatherRows(v, keep, width: d)
            }
            let o = attention(query: q, key: k, value: v, heads: heads)
            o.withUnsafeBufferPointer { src in
                out.withUnsafeMutableBufferPointer { dst in
                    (dst.baseAddress! + row * l * d).update(from: src.baseAddress!, count: l * d)
                }
            }
        }
        return out
    }

    /// Rows `rows` of a [1, L, width] tensor as [1, rows.count, width].
    static func gatherRows(_ x: Tensor, _ rows: [Int], width: Int) -> Tensor {
        var out = Tensor(uninitialized: [1, rows.count, width])
        x.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for (i, r) in rows.enumerated() {
                    (dst.baseAddress! + i * width).update(from: src.baseAddress! + r * width, count: width)
                }
            }
        }
        return out
    }
}
