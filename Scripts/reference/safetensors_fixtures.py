"""Fixtures for the safetensors reader/writer and dtype widening tests (Tests/TensorTests).

Rerunnable: .venv-reference/bin/python Scripts/reference/safetensors_fixtures.py

Writes into Tests/TensorTests/Fixtures/:
- safetensors_python.safetensors: a tiny file written by Python's safetensors (f32, f16, bf16,
  i64, i32, u8 and an empty f32 tensor, with one metadata key). Values are simple formulas that the
  Swift test restates, so the test checks the reader, not this script.
- safetensors_sharded/: model.safetensors.index.json plus two shards in the huggingface layout
  (model-0000k-of-00002.safetensors), and broken.safetensors.index.json, which places
  "layer.1.weight" in the first shard although the second holds it.
- safetensors_widening.safetensors: every f16 bit pattern and a set of bf16 bit patterns with
  torch's `.float()` of them; f32 inputs (random, ties, subnormal, overflow, specials) with
  torch's `.to(torch.bfloat16)` and `.half()` of them. Bit patterns are compared in Swift.
"""
import json
import os

import torch
from safetensors.torch import save_file

ROOT = os.path.join(os.path.dirname(__file__), "..", "..", "Tests", "TensorTests", "Fixtures")
torch.manual_seed(0)


def python_file():
    tensors = {
        # f32: 2x3, value i*0.25 - 0.5
        "f32": (torch.arange(6, dtype=torch.float32) * 0.25 - 0.5).reshape(2, 3),
        # f16: specials and a subnormal
        "f16": torch.tensor([0.5, -2.0, 65504.0, 2.0 ** -24, float("inf"), -0.0], dtype=torch.float16),
        # bf16: 2x2
        "bf16": torch.tensor([[1.0, -1.5], [3.0e38, 2.0 ** -133]], dtype=torch.bfloat16),
        # i64: values beyond 32 bits
        "i64": torch.tensor([-3, 0, 2 ** 40 + 1], dtype=torch.int64),
        "i32": torch.tensor([-7, 2 ** 31 - 1], dtype=torch.int32),
        "u8": torch.tensor([0, 255, 7], dtype=torch.uint8),
        "empty": torch.zeros(0, 3, dtype=torch.float32),
    }
    save_file(tensors, os.path.join(ROOT, "safetensors_python.safetensors"),
              # One key only: the Rust writer emits metadata in HashMap order, so two keys would
              # make reruns differ byte-wise.
              metadata={"note": "written by safetensors.torch.save_file"})


def sharded():
    folder = os.path.join(ROOT, "safetensors_sharded")
    os.makedirs(folder, exist_ok=True)
    shard1 = {
        "layer.0.weight": torch.arange(6, dtype=torch.float32).reshape(2, 3),
        "layer.0.bias": torch.tensor([1.0, 2.0], dtype=torch.float16),
    }
    shard2 = {
        "layer.1.weight": -torch.arange(4, dtype=torch.float32).reshape(2, 2),
        "layer.1.bias": torch.tensor([0.5, -0.5], dtype=torch.bfloat16),
    }
    names = ["model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"]
    total = 0
    weight_map = {}
    for name, shard in zip(names, [shard1, shard2]):
        save_file(shard, os.path.join(folder, name), metadata={"format": "pt"})
        for key, t in shard.items():
            weight_map[key] = name
            total += t.numel() * t.element_size()
    index = {"metadata": {"total_size": total}, "weight_map": dict(sorted(weight_map.items()))}
    with open(os.path.join(folder, "model.safetensors.index.json"), "w") as f:
        json.dump(index, f, indent=2)
        f.write("\n")
    broken = {"metadata": {"total_size": total}, "weight_map": dict(weight_map, **{"layer.1.weight": names[0]})}
    with open(os.path.join(folder, "broken.safetensors.index.json"), "w") as f:
        json.dump(broken, f, indent=2)
        f.write("\n")


def widening():
    f16_bits = torch.arange(-32768, 32768, dtype=torch.int32).to(torch.int16)  # all 65536 patterns
    f16 = f16_bits.view(torch.float16)

    bf16_special = [0x0000, 0x8000, 0x0001, 0x8001, 0x007F, 0x0080, 0x807F, 0x0080, 0x7F7F, 0xFF7F,
                    0x7F80, 0xFF80, 0x7FC0, 0xFFC0, 0x7F81, 0x7FFF, 0x3F80, 0xBF80]
    bf16_random = torch.randint(0, 65536, (2000,), dtype=torch.int32).tolist()
    bf16_bits = torch.tensor(bf16_special + bf16_random, dtype=torch.int32).to(torch.int16)
    bf16 = bf16_bits.view(torch.bfloat16)

    # f32 inputs for narrowing.
    parts = []
    parts.append(torch.randn(1024) * 10.0 ** torch.randint(-8, 9, (1024,)).float())
    # bf16 ties: low 16 bits exactly 0x8000 (halfway), both even and odd kept bits, and near-ties.
    hi = torch.randint(0, 1 << 15, (512,), dtype=torch.int64) << 16
    for low in (0x8000, 0x7FFF, 0x8001):
        parts.append((hi | low).to(torch.int32).view(torch.float32))
    # f16 ties: exactly halfway between adjacent f16 values (normal and subnormal range).
    a = torch.randint(0, 0x7BFF, (1024,), dtype=torch.int32).to(torch.int16).view(torch.float16).double()
    b = (a.half().view(torch.int16) + 1).view(torch.float16).double()
    mid = ((a + b) / 2).float()
    parts.append(mid)
    parts.append(-mid)
    parts.append(torch.tensor([0.0, -0.0, float("inf"), float("-inf"), float("nan"),
                               65504.0, 65519.99, 65520.0, 65536.0, -65520.0, 1e-8, 2.0 ** -25, 2.0 ** -25 * 1.0001,
                               2.0 ** -24, 3.0 * 2.0 ** -26, 6.0e-5, 3.4e38, -3.4e38, 3.3961776e38, 1.17549435e-38,
                               1.0e-45, -1.0e-45], dtype=torch.float32))
    f32 = torch.cat([p.float().reshape(-1) for p in parts])

    save_file({
        "f16": f16, "f16_float": f16.float(),
        "bf16": bf16, "bf16_float": bf16.float(),
        "f32": f32, "f32_bf16": f32.to(torch.bfloat16), "f32_f16": f32.half(),
    }, os.path.join(ROOT, "safetensors_widening.safetensors"), metadata={"torch": torch.__version__})


if __name__ == "__main__":
    python_file()
    sharded()
    widening()
