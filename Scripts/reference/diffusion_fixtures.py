"""Reference fixtures for the Diffusion module: torch's CPU normal noise and diffusers' EulerDiscreteScheduler.

Writes into Tests/DiffusionTests/Fixtures/:
  torch_randn.safetensors      torch.randn(shape, generator=torch.Generator("cpu").manual_seed(seed)) for many sizes,
                               seeds and successive draws; plus the same draws made with ATEN_CPU_CAPABILITY=default
                               (torch's portable scalar Box-Muller kernel, used on CPUs without AVX2).
  euler_scheduler.safetensors  sigmas / timesteps / init_noise_sigma of diffusers 0.42's EulerDiscreteScheduler for
                               several configs (each config's JSON is in the metadata) and step counts, plus 3-step
                               denoising loops on random samples and model outputs.
  svd_scheduler_config.json    the scheduler_config.json of stabilityai/stable-video-diffusion-img2vid(-xt).

    .venv-reference/bin/python Scripts/reference/diffusion_fixtures.py

Fixed seeds: rerunning reproduces the files bit for bit.
"""
import json
import os
import struct
import subprocess
import sys

import numpy as np
import torch
from safetensors.torch import save_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import svd_configs  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "Tests", "DiffusionTests", "Fixtures")

SEEDS = [0, 42, 2**32 + 5]
SIZES = [1, 3, 15, 16, 17, 31, 100, 1000]
SHAPES = [[1, 5, 4, 8, 12], [1, 3, 7, 9]]
# Successive draws from one generator: (seed, [shape, shape, ...]). The first mixes the scalar path (< 16 elements,
# which caches the second Box-Muller value in the generator) with the vectorised path; the second is the SVD
# pipeline's order (noise augmentation of the conditioning image, then the initial latents).
SEQUENCES = [
    (7, [[3], [5], [17], [1], [20], [1], [2, 3]]),
    (2**32 + 5, [[1, 3, 16, 24], [1, 5, 4, 2, 3]]),
]


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


def save(name, tensors, meta):
    path = os.path.join(OUT, name)
    save_file({k: v.contiguous() for k, v in tensors.items()}, path, metadata=meta)
    canonicalize_header(path)
    print(f"wrote {path} ({os.path.getsize(path)} bytes)")


def ints(xs):
    return ",".join(str(int(x)) for x in xs)


def randn_cases(prefix):
    """All randn cases as {name: tensor} and their descriptions as metadata, drawn with the current kernel."""
    tensors, meta = {}, {}
    cases = []
    for seed in SEEDS:
        for size in SIZES:
            cases.append((f"{prefix}seed{seed}_n{size}", seed, [[size]]))
        for shape in SHAPES:
            cases.append((f"{prefix}seed{seed}_shape{'x'.join(map(str, shape))}", seed, [shape]))
    for i, (seed, shapes) in enumerate(SEQUENCES):
        cases.append((f"{prefix}sequence{i}", seed, shapes))
    for name, seed, shapes in cases:
        g = torch.Generator("cpu").manual_seed(seed)
        for j, shape in enumerate(shapes):
            key = name if len(shapes) == 1 else f"{name}_draw{j}"
            tensors[key] = torch.randn(shape, generator=g, dtype=torch.float32)
        meta[f"case:{name}"] = json.dumps({"seed": seed, "shapes": shapes})
    return tensors, meta


def write_randn():
    tensors, meta = randn_cases("")
    # The portable kernel (what torch runs where the CPU has no AVX2): same cases from a child process.
    env = dict(os.environ, ATEN_CPU_CAPABILITY="default")
    tmp = os.path.join(OUT, ".randn_default.tmp.safetensors")
    subprocess.run([sys.executable, os.path.abspath(__file__), "--default-kernel", tmp], env=env, check=True)
    from safetensors.torch import load_file
    default = load_file(tmp)
    os.remove(tmp)
    tensors.update(default)
    meta["torch"] = torch.__version__
    meta["cpu_capability"] = torch.backends.cpu.get_cpu_capability()
    save("torch_randn.safetensors", tensors, meta)


# The scheduler_config.json shipped with stabilityai/stable-video-diffusion-img2vid and -img2vid-xt.
SVD_SCHEDULER_CONFIG = svd_configs.SCHEDULER

SD_BASE = {
    "beta_end": 0.012, "beta_schedule": "scaled_linear", "beta_start": 0.00085, "num_train_timesteps": 1000,
}
CONFIGS = {
    "svd": {k: v for k, v in SVD_SCHEDULER_CONFIG.items() if not k.startswith("_")},
    # Stable Diffusion 1.x style: discrete timesteps, epsilon, leading spacing with offset.
    "sd_leading_eps": dict(SD_BASE, prediction_type="epsilon", steps_offset=1, timestep_spacing="leading"),
    "linspace_eps": dict(SD_BASE, prediction_type="epsilon", timestep_spacing="linspace"),
    "trailing_v": dict(SD_BASE, prediction_type="v_prediction", timestep_spacing="trailing"),
    # Karras sigmas with discrete timesteps (exercises _sigma_to_t) and sigma bounds from the training schedule.
    "karras_discrete": dict(SD_BASE, prediction_type="v_prediction", use_karras_sigmas=True, steps_offset=1,
                            timestep_spacing="leading"),
    "exponential_linear_betas": {"beta_schedule": "linear", "use_exponential_sigmas": True,
                                 "timestep_spacing": "linspace", "final_sigmas_type": "sigma_min"},
    "squaredcos_sample": {"beta_schedule": "squaredcos_cap_v2", "prediction_type": "sample",
                          "timestep_spacing": "trailing"},
}
STEPS = [3, 4, 10, 25]
LOOPS = {"svd": [1, 2, 4, 3, 5], "sd_leading_eps": [2, 4, 3, 3], "linspace_eps": [1, 4, 2, 3]}


def write_scheduler():
    from diffusers import EulerDiscreteScheduler

    tensors, meta = {}, {}
    for name, config in CONFIGS.items():
        meta[f"config:{name}"] = json.dumps(config, sort_keys=True)
        s = EulerDiscreteScheduler.from_config(config)
        tensors[f"{name}_alphas_cumprod"] = s.alphas_cumprod
        tensors[f"{name}_train_sigmas"] = s.sigmas
        tensors[f"{name}_train_timesteps"] = s.timesteps.to(torch.float32)
        for n in STEPS:
            s.set_timesteps(n)
            tensors[f"{name}_sigmas_{n}"] = s.sigmas
            tensors[f"{name}_timesteps_{n}"] = s.timesteps.to(torch.float32)
            tensors[f"{name}_init_noise_sigma_{n}"] = torch.as_tensor(s.init_noise_sigma, dtype=torch.float32).reshape(1)
    meta["steps"] = ints(STEPS)

    g = torch.Generator("cpu").manual_seed(1234)
    for name, shape in LOOPS.items():
        s = EulerDiscreteScheduler.from_config(CONFIGS[name])
        s.set_timesteps(3)
        sample = torch.randn(shape, generator=g) * s.init_noise_sigma
        tensors[f"loop_{name}_sample_0"] = sample
        for i, t in enumerate(s.timesteps):
            scaled = s.scale_model_input(sample, t)
            model_output = torch.randn(shape, generator=g)
            out = s.step(model_output, t, sample)
            sample = out.prev_sample
            tensors[f"loop_{name}_scaled_{i}"] = scaled
            tensors[f"loop_{name}_model_output_{i}"] = model_output
            tensors[f"loop_{name}_pred_original_{i}"] = out.pred_original_sample
            tensors[f"loop_{name}_sample_{i + 1}"] = sample
    meta["loops"] = ",".join(LOOPS)
    meta["loop_steps"] = "3"
    meta["diffusers"] = __import__("diffusers").__version__
    save("euler_scheduler.safetensors", tensors, meta)

    path = os.path.join(OUT, "svd_scheduler_config.json")
    with open(path, "w") as f:
        json.dump(SVD_SCHEDULER_CONFIG, f, indent=2)
        f.write("\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--default-kernel":
        assert torch.backends.cpu.get_cpu_capability() == "DEFAULT", torch.backends.cpu.get_cpu_capability()
        t, m = randn_cases("default_")
        save_file(t, sys.argv[2], metadata=m)
        sys.exit(0)
    os.makedirs(OUT, exist_ok=True)
    write_randn()
    write_scheduler()
