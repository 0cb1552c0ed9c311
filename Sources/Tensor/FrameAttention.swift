import Foundation

/// Self-attention across frames for tokens laid out as rows (batch, frame, position):
/// for every (batch, position, head), softmax(q k^T * scale) v over the `frames` rows
/// that share batch and position. Equals diffusers' TemporalBasicTransformerBlock attention, which
/// permutes to (batch*positions, frames, C) and runs scaled_dot_product_attention, without the
/// permutes. q, k, v: [batch*frames*positions, heads*D]. Sequences are short (frames <= 25 or so),
/// so this runs as direct loops with per-thread scratch, threaded over (batch, position).
public func frameAttention(query q: Tensor, key k: Tensor, value v: Tensor,
                           batch: Int, frames: Int, heads: Int, scale: Float? = nil) -> Tensor {
    let rows = q.shape[0], width = q.shape[q.rank - 1]
    precondition(k.shape == q.shape && v.shape == q.shape, "q, k, v shapes differ")
    precondition(rows % (batch * frames) == 0 && width % heads == 0, "bad frame attention shapes")
    let positions = rows / (batch * frames)
    let d = width / heads
    let s = scale ?? 1 / Float(d).squareRoot()
    var out = Tensor(uninitialized: q.shape)
    // QK^T and PV: 2 x (frames x frames x d) multiply-adds per (batch, position, head), doubled.
    OpProfile.addNominal(4 * Double(batch * positions * heads) * Double(frames * frames * d))
    q.withUnsafeBufferPointer { qp in
    k.withUnsafeBufferPointer { kp in
    v.withUnsafeBufferPointer { vp in
    out.withUnsafeMutableBufferPointer { op in
        OpProfile.measure(.attention) { Parallel.forRanges(batch * positions, minChunk: 8) { range in
            var scores = [Float](repeating: 0, count: frames)
            scores.withUnsafeMutableBufferPointer { sc in
                for bp in range {
                    let b = bp / positions, pos = bp % positions
                    func row(_ f: Int) -> Int { ((b * frames + f) * positions + pos) * width }
                    for h in 0..<heads {
                        let ho = h * d
                        for i in 0..<frames {
                            let qi = qp.baseAddress! + row(i) + ho
                            var maxScore = -Float.infinity
                            for j in 0..<frames {
                                let kj = kp.baseAddress! + row(j) + ho
                                var dot: Float = 0
                                for t in 0..<d { dot += qi[t] * kj[t] }
                                sc[j] = dot * s
                                maxScore = max(maxScore, sc[j])
                            }
                            var sum: Float = 0
                            for j in 0..<frames {
                                sc[j] = exp(sc[j] - maxScore)
                                sum += sc[j]
                            }
                            let inv = 1 / sum
                            let oi = op.baseAddress! + row(i) + ho
                            for t in 0..<d { oi[t] = 0 }
                            for j in 0..<frames {
                                let w = sc[j] * inv
                                let vj = vp.baseAddress! + row(j) + ho
                                for t in 0..<d { oi[t] += w * vj[t] }
                            }
                        }
                    }
                }
            }
        } }
    }}}}
    return out
}
