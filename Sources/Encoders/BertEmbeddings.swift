import Layers
import Tensor

/// Mirrors transformers' BertEmbeddings (models/bert/modeling_bert.py): word + absolute position
/// (0..<L) + token type embeddings, then LayerNorm (`embeddings.{word,position,token_type}_embeddings`,
/// `embeddings.LayerNorm`). Dropout is inactive at inference.
struct BertEmbeddings {
    let wordEmbeddings: Tensor
    let positionEmbeddings: Tensor
    let tokenTypeEmbeddings: Tensor
    let layerNorm: LayerNorm
    let config: BertConfig

    init(_ w: WeightScope, config: BertConfig) {
        let d = config.hiddenSize
        self.config = config
        wordEmbeddings = w["word_embeddings"].tensor("weight", [config.vocabSize, d]).widened
        positionEmbeddings = w["position_embeddings"].tensor("weight", [config.maxPositionEmbeddings, d]).widened
        tokenTypeEmbeddings = w["token_type_embeddings"].tensor("weight", [config.typeVocabSize, d]).widened
        layerNorm = LayerNorm(w["LayerNorm"], dim: d, eps: config.layerNormEps)
    }

    /// ids [B][L] (and token types [B][L], zeros when nil) -> [B, L, hidden].
    func callAsFunction(_ inputIds: [[Int]], tokenTypeIds: [[Int]]?) -> Tensor {
        let b = inputIds.count, l = inputIds[0].count, d = config.hiddenSize
        var h = Tensor(uninitialized: [b, l, d])
        wordEmbeddings.withUnsafeBufferPointer { wp in
            positionEmbeddings.withUnsafeBufferPointer { pp in
                tokenTypeEmbeddings.withUnsafeBufferPointer { tp in
                    h.withUnsafeMutableBufferPointer { hp in
                        let word = wp.baseAddress!, pos = pp.baseAddress!, type = tp.baseAddress!, out = hp.baseAddress!
                        for row in 0..<b {
                            for i in 0..<l {
                                let id = inputIds[row][i]
                                let t = tokenTypeIds?[row][i] ?? 0
                                let o = out + (row * l + i) * d, w = word + id * d, p = pos + i * d, ty = type + t * d
                                // torch adds (word + token_type) + position, in that order.
                                for c in 0..<d { o[c] = (w[c] + ty[c]) + p[c] }
                            }
                        }
                    }
                }
            }
        }
        return layerNorm(h)
    }
}
