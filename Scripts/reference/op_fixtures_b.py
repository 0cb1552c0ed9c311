"""Reference fixtures for the Tensor ops of family B (linear algebra, softmax, attention, shape ops).

Writes Tests/TensorTests/Fixtures/ops_b_{linear,softmax,attention,shape}.safetensors with PyTorch
(float32, CPU) as the reference. Fixed seeds: rerunning reproduces the files bit for bit.

    .venv-reference/bin/python Scripts/reference/op_fixtures_b.py

Case parameters (orders, axes, sizes, heads, scales) are stored as strings in each file's metadata,
so the Swift tests read them from the fixture instead of repeating them.
"""
import json
import os
import struct

import torch
import torch.nn.functional as F
from safetensors.torch import save_file

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "Tests", "TensorTests", "Fixtures")


def ints(xs):
    return ",".join(str(int(x)) for x in xs)


def canonicalize_header(path):
    """Rewrites the JSON header with sorted keys: safetensors writes metadata in hash order,
    which would make every rerun produce a different file for the same tensors."""
    with open(path, "rb") as f:
        blob = f.read()
    (n,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8:8 + n])
    text = json.dumps(header, sort_keys=True, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + blob[8 + n:])


def save(name, tensors, meta):
    path = os.path.join(OUT, f"ops_b_{name}.safetensors")
    tensors = {k: v.detach().to(torch.float32).contiguous().clone() for k, v in tensors.items()}
    save_file(tensors, path, metadata={k: str(v) for k, v in meta.items()})
    canonicalize_header(path)
    print(f"{path}: {os.path.getsize(path)} bytes")


def linear_fixtures():
    g = torch.Generator().manual_seed(1001)
    t, m = {}, {}
    # torch.nn.functional.linear: y = x W^T + b, W [out, in].
    cases = [("l0", [3, 5, 37], 19, True), ("l1", [7, 64], 33, False), ("l2", [37], 3, True)]
    for name, xshape, out, has_bias in cases:
        x = torch.randn(xshape, generator=g)
        w = torch.randn(out, xshape[-1], generator=g) / xshape[-1] ** 0.5
        b = torch.randn(out, generator=g) if has_bias else None
        t[f"{name}.x"], t[f"{name}.w"] = x, w
        if b is not None:
            t[f"{name}.b"] = b
        t[f"{name}.y"] = F.linear(x, w, b)
    m["linear_cases"] = "l0,l1,l2"
    # torch.matmul on 2-D operands, with the operands stored transposed where flagged.
    for name, (M, K, N), ta, tb in [("m0", (13, 29, 17), 0, 0), ("m1", (13, 29, 17), 1, 0),
                                    ("m2", (13, 29, 17), 0, 1), ("m3", (1, 40, 9), 1, 1)]:
        a = torch.randn(M, K, generator=g)
        b = torch.randn(K, N, generator=g)
        t[f"{name}.a"] = a.t().contiguous() if ta else a
        t[f"{name}.b"] = b.t().contiguous() if tb else b
        t[f"{name}.y"] = a @ b
        m[f"{name}.transpose"] = f"{ta},{tb}"
    m["matmul_cases"] = "m0,m1,m2,m3"
    # torch.bmm on [B, M, K] x [B, K, N].
    for name, (B, M, K, N), ta, tb in [("b0", (3, 11, 7, 5), 0, 0), ("b1", (2, 6, 33, 10), 0, 1),
                                       ("b2", (4, 9, 3, 12), 1, 0)]:
        a = torch.randn(B, M, K, generator=g)
        b = torch.randn(B, K, N, generator=g)
        t[f"{name}.a"] = a.transpose(1, 2).contiguous() if ta else a
        t[f"{name}.b"] = b.transpose(1, 2).contiguous() if tb else b
        t[f"{name}.y"] = torch.bmm(a, b)
        m[f"{name}.transpose"] = f"{ta},{tb}"
    m["batched_cases"] = "b0,b1,b2"
    save("linear", t, m)


def softmax_fixtures():
    g = torch.Generator().manual_seed(1002)
    t = {}
    cases = {
        "s0": torch.randn(4, 7, 33, generator=g) * 10,
        "s1": torch.randn(5, 1000, generator=g) * 30 + 100,  # large values: needs the max subtraction
        "s2": torch.randn(3, 1, generator=g),  # one element per row: all ones
        "s3": torch.randn(2, 19, generator=g),
    }
    cases["s3"][0, 3] = float("-inf")  # masked entries become exactly 0 in torch
    cases["s3"][1, ::2] = float("-inf")
    for name, x in cases.items():
        t[f"{name}.x"] = x
        t[f"{name}.y"] = torch.softmax(x, dim=-1)
    save("softmax", t, {"cases": ",".join(cases)})


def attention_fixtures():
    g = torch.Generator().manual_seed(1003)
    t, m = {}, {}
    # (name, B, Lq, Lk, heads, D, scale or None, input std)
    cases = [
        ("a0", 2, 37, 21, 3, 16, None, 1.0),     # cross-attention, Lq != Lk
        ("a1", 1, 300, 300, 2, 8, None, 3.0),    # Lq not a multiple of any block size, peaked softmax
        ("a2", 6, 14, 14, 5, 8, 0.3, 1.0),       # temporal attention: many short sequences, custom scale
        ("a3", 1, 5, 1, 2, 4, None, 1.0),        # a single key: output equals the value row
        ("a4", 1, 257, 64, 2, 64, None, 0.5),    # head dim 64 as in SVD, Lq one past 256
    ]
    for name, B, Lq, Lk, H, D, scale, std in cases:
        q = torch.randn(B, Lq, H * D, generator=g) * std
        k = torch.randn(B, Lk, H * D, generator=g) * std
        v = torch.randn(B, Lk, H * D, generator=g)
        # diffusers' Attention with AttnProcessor2_0: split heads, SDPA, merge heads.
        def heads(x):
            return x.view(B, -1, H, D).transpose(1, 2)
        o = F.scaled_dot_product_attention(heads(q), heads(k), heads(v), scale=scale)
        o = o.transpose(1, 2).reshape(B, -1, H * D)
        t[f"{name}.q"], t[f"{name}.k"], t[f"{name}.v"], t[f"{name}.o"] = q, k, v, o
        m[f"{name}.heads"] = H
        m[f"{name}.scale"] = "" if scale is None else repr(scale)
    m["cases"] = ",".join(c[0] for c in cases)
    save("attention", t, m)


def shape_fixtures():
    g = torch.Generator().manual_seed(1004)
    t, m = {}, {}
    # permute (torch.Tensor.permute(...).contiguous())
    perms = [([2, 3, 4, 5], [0, 2, 1, 3]), ([2, 3, 4, 5], [3, 2, 1, 0]), ([2, 3, 4, 5], [0, 1, 3, 2]),
             ([2, 3, 4, 5], [1, 0, 2, 3]), ([2, 3, 4, 5], [2, 0, 3, 1]), ([67, 45], [1, 0]),
             ([2, 40, 33, 3], [0, 3, 1, 2]), ([2, 3, 40, 33], [0, 2, 3, 1]), ([3, 7, 2, 9, 4], [4, 1, 3, 0, 2]),
             ([5, 6, 7], [0, 1, 2])]
    for i, (shape, order) in enumerate(perms):
        x = torch.randn(shape, generator=g)
        t[f"p{i}.x"], t[f"p{i}.y"] = x, x.permute(order).contiguous()
        m[f"p{i}.order"] = ints(order)
    m["permute_cases"] = len(perms)
    # transpose(a, b)
    for i, (shape, a, b) in enumerate([([4, 6, 5], 0, 2), ([3, 8, 9], -1, -2), ([2, 3, 4, 5], 1, 2)]):
        x = torch.randn(shape, generator=g)
        t[f"t{i}.x"], t[f"t{i}.y"] = x, x.transpose(a, b).contiguous()
        m[f"t{i}.axes"] = ints([a, b])
    m["transpose_cases"] = 3
    # concat
    for i, (shapes, axis) in enumerate([([[2, 3, 4], [2, 5, 4], [2, 1, 4]], 1), ([[1, 3], [4, 3]], 0),
                                        ([[2, 3, 4], [2, 3, 7]], -1)]):
        xs = [torch.randn(s, generator=g) for s in shapes]
        for j, x in enumerate(xs):
            t[f"c{i}.x{j}"] = x
        t[f"c{i}.y"] = torch.cat(xs, dim=axis)
        m[f"c{i}.n"], m[f"c{i}.axis"] = len(xs), axis
    m["concat_cases"] = 3
    # split with sizes
    for i, (shape, sizes, axis) in enumerate([([2, 10, 3], [3, 5, 2], 1), ([9, 4], [1, 8], 0), ([2, 3, 6], [6], 2)]):
        x = torch.randn(shape, generator=g)
        parts = torch.split(x, sizes, dim=axis)
        t[f"s{i}.x"] = x
        for j, p in enumerate(parts):
            t[f"s{i}.y{j}"] = p
        m[f"s{i}.sizes"], m[f"s{i}.axis"] = ints(sizes), axis
    m["split_cases"] = 3
    # chunk (torch semantics: chunk size ceil(n / chunks), possibly fewer chunks than asked)
    for i, (shape, n, axis) in enumerate([([2, 10, 3], 3, 1), ([5, 6], 4, 0), ([4, 8], 2, 1)]):
        x = torch.randn(shape, generator=g)
        parts = torch.chunk(x, n, dim=axis)
        t[f"k{i}.x"] = x
        for j, p in enumerate(parts):
            t[f"k{i}.y{j}"] = p
        m[f"k{i}.chunks"], m[f"k{i}.axis"], m[f"k{i}.count"] = n, axis, len(parts)
    m["chunk_cases"] = 3
    # slice (x.narrow / x[..., lo:hi, ...])
    for i, (shape, axis, lo, hi) in enumerate([([3, 10, 4], 1, 2, 7), ([6, 5], 0, 5, 6), ([2, 3, 9], 2, 0, 9)]):
        x = torch.randn(shape, generator=g)
        t[f"l{i}.x"], t[f"l{i}.y"] = x, x.narrow(axis, lo, hi - lo).contiguous()
        m[f"l{i}.axis"], m[f"l{i}.range"] = axis, ints([lo, hi])
    m["slice_cases"] = 3
    # repeat_interleave with an integer repeat count
    for i, (shape, r, axis) in enumerate([([2, 3, 4], 3, 0), ([2, 3, 4], 2, 1), ([2, 3, 4], 4, 2), ([1, 5], 14, 0)]):
        x = torch.randn(shape, generator=g)
        t[f"r{i}.x"], t[f"r{i}.y"] = x, torch.repeat_interleave(x, r, dim=axis)
        m[f"r{i}.repeats"], m[f"r{i}.axis"] = r, axis
    m["repeat_cases"] = 4
    # stack
    for i, axis in enumerate([0, 1, 2, -1]):
        xs = [torch.randn(3, 4, generator=g) for _ in range(3)]
        for j, x in enumerate(xs):
            t[f"k{i}.stack.x{j}"] = x
        t[f"k{i}.stack.y"] = torch.stack(xs, dim=axis)
        m[f"k{i}.stack.axis"] = axis
    m["stack_cases"] = 4
    save("shape", t, m)


if __name__ == "__main__":
    torch.manual_seed(0)
    linear_fixtures()
    softmax_fixtures()
    attention_fixtures()
    shape_fixtures()
