"""Reference fixture for the Tensor op maxPool2d (torch.nn.functional.max_pool2d, float32, CPU).

Writes Tests/TensorTests/Fixtures/ops_pooling.safetensors. Fixed seed: rerunning reproduces the
file bit for bit.

    .venv-reference/bin/python Scripts/reference/pooling_fixtures.py

Each case `pN` holds `pN.x` and `pN.out`; its kernel, stride and padding are in the metadata as
`pN.params` = "kernel,stride,padding".
"""
import json
import os
import struct

import torch
import torch.nn.functional as F
from safetensors.torch import save_file

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "Tests", "TensorTests", "Fixtures", "ops_pooling.safetensors")


def canonicalize_header(path):
    """Rewrites the JSON header with sorted keys (safetensors writes metadata in hash order)."""
    with open(path, "rb") as f:
        blob = f.read()
    (n,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8:8 + n])
    text = json.dumps(header, sort_keys=True, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + blob[8 + n:])


def main():
    g = torch.Generator().manual_seed(2024)
    cases = [
        # name, shape, kernel, stride, padding
        ("p0", [1, 8, 10, 10], 5, 1, 2),   # YOLOv8 SPPF at 320 input
        ("p1", [2, 3, 9, 13], 3, 2, 1),    # strided, odd sizes, padding
        ("p2", [1, 4, 8, 6], 2, 2, 0),     # classic 2x2 downsampling
        ("p3", [1, 2, 7, 5], 5, 1, 2),     # kernel wider than the input's width minus padding
        ("p4", [1, 1, 6, 6], 4, 3, 2),     # windows that are mostly padding
    ]
    t, m = {}, {}
    for name, shape, k, s, p in cases:
        x = torch.randn(shape, generator=g)
        t[f"{name}.x"] = x
        t[f"{name}.out"] = F.max_pool2d(x, kernel_size=k, stride=s, padding=p)
        m[f"{name}.params"] = f"{k},{s},{p}"
    # Negative everywhere: padding must not contribute zeros.
    x = -torch.rand([1, 2, 5, 5], generator=g) - 1
    t["p5.x"], t["p5.out"] = x, F.max_pool2d(x, 5, 1, 2)
    m["p5.params"] = "5,1,2"
    m["cases"] = "p0,p1,p2,p3,p4,p5"
    save_file({k: v.contiguous() for k, v in t.items()}, OUT, metadata=m)
    canonicalize_header(OUT)
    print(f"{OUT}: {os.path.getsize(OUT)} bytes")


if __name__ == "__main__":
    main()
