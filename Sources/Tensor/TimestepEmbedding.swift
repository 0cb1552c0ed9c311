import Foundation

/// Mirrors diffusers' `get_timestep_embedding` (models/embeddings.py): sinusoidal embeddings
/// [timesteps.count, dim] with
///   freq[i] = exp(-ln(maxPeriod) * i / (half - downscaleFreqShift)), i < half = dim / 2,
///   arg = scale * t * freq, emb = [sin(arg), cos(arg)] ([cos, sin] when `flipSinToCos`),
/// and a zero column appended when `dim` is odd. Each step is rounded to f32 as torch does
/// (float32 arange, f32 exp, f32 products); sin and cos are evaluated on the f32 argument in
/// double and rounded, i.e. correctly rounded like torch's f32 sin/cos to within an ulp.
/// The frequencies use glibc's correctly rounded `expf`; torch's vectorised f32 exp is one ulp
/// off for about 2% of them, which moves torch's embedding by about 3e-8 * t (8e-6 at t = 255,
/// 3e-5 at t = 1000): this function is the more accurate of the two.
public func timestepEmbedding(_ timesteps: [Float], dim: Int, flipSinToCos: Bool, downscaleFreqShift: Float,
                              scale: Float = 1, maxPeriod: Float = 10000) -> Tensor {
    precondition(dim >= 0, "timestepEmbedding: negative dim \(dim)")
    let half = dim / 2
    // torch: -math.log(max_period) (a Python double) times a float32 arange -> float32.
    let negLogPeriod = Float(-Foundation.log(Double(maxPeriod)))
    let denominator = Float(half) - downscaleFreqShift
    var freqs = [Float](repeating: 0, count: half)
    for i in 0..<half {
        let exponent = (negLogPeriod * Float(i)) / denominator
        freqs[i] = Foundation.expf(exponent)
    }
    var out = Tensor(zeros: [timesteps.count, dim])
    out.withUnsafeMutableBufferPointer { po in
        let d = po.baseAddress!
        for (row, t) in timesteps.enumerated() {
            let line = d + row * dim
            let sinBase = flipSinToCos ? half : 0
            let cosBase = flipSinToCos ? 0 : half
            for i in 0..<half {
                let arg = scale * (t * freqs[i])
                line[sinBase + i] = Float(Foundation.sin(Double(arg)))
                line[cosBase + i] = Float(Foundation.cos(Double(arg)))
            }
        }
    }
    return out
}
