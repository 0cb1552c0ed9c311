#!/usr/bin/env python3
"""Reference fixtures for the Tensor ops of family A (conv, normalisation, activations,
elementwise, resampling, timestep embeddings).

Writes Tests/TensorTests/Fixtures/ops_a_<area>.safetensors. Every case stores its inputs and
torch's output (float32); string parameters go in the metadata. Rerunnable: fixed seeds.

    .venv-reference/bin/python Scripts/reference/op_fixtures_a.py

Normalisation references are computed by torch in float64 from the float32 inputs and rounded to
float32: for inputs with a large mean (1000) torch's own float32 kernels are off by more than the
1e-5 tolerance, and the float64 result is the exact answer the Swift op is held to.
"""
import math
import os

import torch
import torch.nn.functional as F
from diffusers.models.embeddings import get_timestep_embedding
from safetensors.torch import save_file

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "Tests", "TensorTests", "Fixtures")


def save(area, tensors, meta):
    path = os.path.join(OUT, f"ops_a_{area}.safetensors")
    tensors = {k: v.detach().to(torch.float32).contiguous() for k, v in tensors.items()}
    save_file(tensors, path, metadata={k: str(v) for k, v in meta.items()})
    print(f"{path}: {os.path.getsize(path)} bytes, {len(tensors)} tensors")


def conv_fixtures():
    g = torch.Generator().manual_seed(1)
    t, m = {}, {}
    # name: (N, C, H, W, O, kernel, stride, padding, bias)
    cases = {
        "k3s1p1": (2, 5, 9, 11, 7, 3, 1, 1, True),
        "k3s2p1": (2, 6, 9, 12, 8, 3, 2, 1, True),
        "k3s2p1odd": (1, 4, 7, 7, 5, 3, 2, 1, False),
        "k3s1p0": (1, 3, 6, 8, 4, 3, 1, 0, True),
        "k1s1": (3, 16, 7, 5, 12, 1, 1, 0, True),
        "k1s1nobias": (2, 9, 4, 3, 6, 1, 1, 0, False),
        "k1s2": (1, 6, 7, 9, 5, 1, 2, 0, True),
        "k5s2p2": (2, 3, 10, 9, 4, 5, 2, 2, True),
        "wide": (1, 64, 12, 16, 32, 3, 1, 1, True),
    }
    for name, (n, c, h, w, o, k, s, p, bias) in cases.items():
        x = torch.randn(n, c, h, w, generator=g)
        wt = torch.randn(o, c, k, k, generator=g) / math.sqrt(c * k * k)
        b = torch.randn(o, generator=g) if bias else None
        t[f"{name}.x"] = x
        t[f"{name}.weight"] = wt
        if b is not None:
            t[f"{name}.bias"] = b
        t[f"{name}.out"] = F.conv2d(x.double(), wt.double(), None if b is None else b.double(), stride=s, padding=p)
        m[f"{name}.stride"] = s
        m[f"{name}.padding"] = p
    m["cases"] = ",".join(cases)

    # Temporal conv: Conv3d kernel (3,1,1), padding (1,0,0) on (B, C, F, H, W); inputs stored flat [B*F, C, H, W].
    tcases = {"b2f5": (2, 5, 6, 3, 4, 7, True), "b3f2": (3, 2, 4, 2, 3, 5, True), "b1f1": (1, 1, 3, 2, 2, 4, False),
              "b1f4nobias": (1, 4, 8, 5, 3, 6, False)}
    for name, (b, f, c, h, w, o, bias) in tcases.items():
        x = torch.randn(b * f, c, h, w, generator=g)
        wt = torch.randn(o, c, 3, 1, 1, generator=g) / math.sqrt(3 * c)
        bb = torch.randn(o, generator=g) if bias else None
        x5 = x.double().reshape(b, f, c, h, w).permute(0, 2, 1, 3, 4)
        y5 = F.conv3d(x5, wt.double(), None if bb is None else bb.double(), padding=(1, 0, 0))
        t[f"t_{name}.x"] = x
        t[f"t_{name}.weight"] = wt
        if bb is not None:
            t[f"t_{name}.bias"] = bb
        t[f"t_{name}.out"] = y5.permute(0, 2, 1, 3, 4).reshape(b * f, o, h, w)
        m[f"t_{name}.frames"] = f
    m["temporal_cases"] = ",".join(tcases)
    save("conv", t, m)


def norm_fixtures():
    g = torch.Generator().manual_seed(2)
    t, m = {}, {}
    # name: (shape, groups, eps, mean, affine)
    cases = {
        "g32c64": ((2, 64, 5, 7), 32, 1e-5, 0.0, True),
        "g32c64mean1000": ((2, 64, 6, 6), 32, 1e-6, 1000.0, True),
        "g8c32rank3": ((3, 32, 10), 8, 1e-5, 0.5, True),
        "g4c8noaffine": ((2, 8, 3, 5), 4, 1e-5, -2.0, False),
        "g1c3": ((1, 3, 4, 4), 1, 1e-6, 0.0, True),
    }
    for name, (shape, groups, eps, mean, affine) in cases.items():
        x = torch.randn(*shape, generator=g) * 1.5 + mean
        c = shape[1]
        w = torch.randn(c, generator=g) if affine else None
        b = torch.randn(c, generator=g) if affine else None
        t[f"{name}.x"] = x
        if affine:
            t[f"{name}.weight"] = w
            t[f"{name}.bias"] = b
        y = F.group_norm(x.double(), groups, None if w is None else w.double(), None if b is None else b.double(), eps)
        t[f"{name}.out"] = y
        t[f"{name}.out_silu"] = F.silu(y)
        m[f"{name}.groups"] = groups
        m[f"{name}.eps"] = repr(eps)
    m["cases"] = ",".join(cases)

    tcases = {"b2f3": (2, 3, 64, 4, 5, 32, 1e-5, 0.0), "b1f4mean1000": (1, 4, 64, 3, 3, 32, 1e-6, 1000.0),
              "b3f1": (3, 1, 32, 2, 3, 16, 1e-5, 1.0)}
    for name, (b, f, c, h, w, groups, eps, mean) in tcases.items():
        x = torch.randn(b * f, c, h, w, generator=g) * 2 + mean
        wt = torch.randn(c, generator=g)
        bb = torch.randn(c, generator=g)
        x5 = x.double().reshape(b, f, c, h, w).permute(0, 2, 1, 3, 4)
        y5 = F.group_norm(x5, groups, wt.double(), bb.double(), eps)
        y = y5.permute(0, 2, 1, 3, 4).reshape(b * f, c, h, w)
        t[f"t_{name}.x"] = x
        t[f"t_{name}.weight"] = wt
        t[f"t_{name}.bias"] = bb
        t[f"t_{name}.out"] = y
        t[f"t_{name}.out_silu"] = F.silu(y)
        m[f"t_{name}.frames"] = f
        m[f"t_{name}.groups"] = groups
        m[f"t_{name}.eps"] = repr(eps)
    m["temporal_cases"] = ",".join(tcases)

    lcases = {"d48": ((5, 7, 48), 1e-5, 0.0, True), "d33mean1000": ((4, 33), 1e-6, 1000.0, True),
              "d1280": ((3, 1280), 1e-5, 0.3, True), "d20noaffine": ((6, 20), 1e-5, 5.0, False)}
    for name, (shape, eps, mean, affine) in lcases.items():
        x = torch.randn(*shape, generator=g) + mean
        d = shape[-1]
        w = torch.randn(d, generator=g) if affine else None
        b = torch.randn(d, generator=g) if affine else None
        t[f"l_{name}.x"] = x
        if affine:
            t[f"l_{name}.weight"] = w
            t[f"l_{name}.bias"] = b
        t[f"l_{name}.out"] = F.layer_norm(x.double(), (d,), None if w is None else w.double(),
                                          None if b is None else b.double(), eps)
        m[f"l_{name}.eps"] = repr(eps)
    m["layer_cases"] = ",".join(lcases)
    save("norm", t, m)


def activation_fixtures():
    g = torch.Generator().manual_seed(3)
    x = torch.randn(3, 1001, generator=g) * 3
    extremes = torch.tensor([0.0, -0.0, 1e-8, -1e-8, 4.0, -4.0, 6.0, -6.0, 10.0, -10.0, 20.0, -20.0,
                             50.0, -50.0, 87.0, -87.0, 89.0, -89.0, 100.0, -100.0, 1000.0, -1000.0])
    x = torch.cat([x.reshape(-1), extremes]).reshape(-1)
    t = {"x": x}
    xd = x.double()
    t["silu"] = F.silu(xd)
    t["gelu"] = F.gelu(xd)
    t["gelu_tanh"] = F.gelu(xd, approximate="tanh")
    t["quick_gelu"] = xd * torch.sigmoid(1.702 * xd)
    t["sigmoid"] = torch.sigmoid(xd)
    # Moderate range (|x| < ~10) for a second look where the functions are not saturated.
    small = torch.randn(2, 3, 37, generator=g)
    t["small"] = small
    for k, fn in [("silu", F.silu), ("gelu", F.gelu), ("gelu_tanh", lambda v: F.gelu(v, approximate="tanh")),
                  ("quick_gelu", lambda v: v * torch.sigmoid(1.702 * v)), ("sigmoid", torch.sigmoid)]:
        t[f"small_{k}"] = fn(small.double())
    gx = torch.randn(4, 5, 2 * 37, generator=g) * 2
    a, gate = gx.double().chunk(2, dim=-1)
    t["geglu_x"] = gx
    t["geglu"] = a * F.gelu(gate)
    save("activation", t, {})


def elementwise_fixtures():
    g = torch.Generator().manual_seed(4)
    a = torch.randn(2, 3, 5, 7, generator=g)
    b = torch.randn(2, 3, 5, 7, generator=g)
    cb = torch.randn(3, generator=g)
    rows = torch.randn(6, 35, generator=g)
    row = torch.randn(35, generator=g)
    alpha = 0.3
    t = {"a": a, "b": b, "channel_bias": cb, "rows": rows, "row": row,
         "add": a + b, "mul": a * b, "scale": a * 0.37,
         "add_bias": a + cb[None, :, None, None],
         "add_bias_rank2": rows[:, :3] + cb[None, :],
         "add_row": rows + row[None, :],
         "blend": torch.tensor(alpha) * a + (1.0 - torch.tensor(alpha)) * b}
    save("elementwise", t, {"scale": "0.37", "alpha": repr(alpha)})


def resampling_fixtures():
    g = torch.Generator().manual_seed(5)
    x = torch.randn(2, 3, 5, 7, generator=g)
    x1 = torch.randn(1, 2, 1, 1, generator=g)
    t = {"x": x, "out": F.interpolate(x, scale_factor=2.0, mode="nearest"),
         "x1": x1, "out1": F.interpolate(x1, scale_factor=2.0, mode="nearest")}
    save("resampling", t, {})


def timestep_fixtures():
    t, m = {}, {}
    cases = {
        # SVD UNet time_proj: 320, flip, shift 0; timesteps = 0.25 ln sigma.
        "unet": ([0.25 * math.log(700.0), 0.25 * math.log(0.002), 0.0, 1.0], 320, True, 0.0, 1.0, 10000),
        # add_time_proj: 256 for [fps-1, motion_bucket_id, noise_aug_strength].
        "added": ([6.0, 127.0, 0.02, 255.0], 256, True, 0.0, 1.0, 10000),
        # time_pos_embed positions arange(F).
        "frames": ([float(i) for i in range(25)], 64, True, 0.0, 1.0, 10000),
        # Odd dim, default shift 1, no flip, scale and max_period.
        "odd": ([0.0, 3.5, 999.0, -2.0], 7, False, 1.0, 2.0, 100),
        "large": ([999.0, 500.0, 1.0], 32, False, 1.0, 1.0, 10000),
    }
    for name, (ts, dim, flip, shift, scale, maxp) in cases.items():
        tt = torch.tensor(ts, dtype=torch.float32)
        t[f"{name}.timesteps"] = tt
        t[f"{name}.out"] = get_timestep_embedding(tt, dim, flip_sin_to_cos=flip, downscale_freq_shift=shift,
                                                  scale=scale, max_period=maxp)
        m[f"{name}.dim"] = dim
        m[f"{name}.flip"] = int(flip)
        m[f"{name}.shift"] = repr(shift)
        m[f"{name}.scale"] = repr(scale)
        m[f"{name}.max_period"] = maxp
    m["cases"] = ",".join(cases)
    save("timestep", t, m)


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    conv_fixtures()
    norm_fixtures()
    activation_fixtures()
    elementwise_fixtures()
    resampling_fixtures()
    timestep_fixtures()
