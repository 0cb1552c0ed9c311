import Layers
import Tensor

/// Mirrors diffusers' FeedForward with activation "geglu" and mult 4 (models/attention.py):
/// `net.0.proj` Linear(dim, 2*inner) -> GEGLU (first half * GELU(second half)) -> `net.2` Linear(inner, dimOut).
struct TransformerFeedForward {
    let proj: LinearLayer
    let out: LinearLayer

    init(_ w: WeightScope, dim: Int, dimOut: Int? = nil, mult: Int = 4) {
        let inner = dim * mult
        proj = LinearLayer(w["net"][0]["proj"], in: dim, out: inner * 2)
        out = LinearLayer(w["net"][2], in: inner, out: dimOut ?? dim)
    }

    func callAsFunction(_ x: Tensor) -> Tensor {
        out(geglu(proj(x)))
    }

    /// residual += self(x), in row chunks with no full-size intermediate (`feedForwardGEGLU`).
    func add(_ x: Tensor, to residual: inout Tensor) {
        feedForwardGEGLU(x, residual: &residual, projWeight: proj.weight.widened, projBias: proj.bias!.widened,
                         outWeight: out.weight.widened, outBias: out.bias!.widened)
    }
}
