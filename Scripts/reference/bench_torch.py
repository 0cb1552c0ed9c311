"""PyTorch side of Scripts/bench-reference: times one SVD component built by diffusers/transformers
from a config folder (Models/svd-xt) with random weights under torch.inference_mode, with the same
shapes as `img2vid bench`, and prints one JSON object (the keys img2vid's --json uses).
--precision fp32 (default) runs in float32; --precision bf16 is PyTorch's fastest CPU mode where
the CPU has bf16: weights `.to(torch.bfloat16)` and `torch.autocast("cpu", dtype=torch.bfloat16)`.

Components (as img2vid's BenchmarkComponent):
  unet           one UNet forward, latents [1, F, 8, H/8, W/8]
  step           one UNet forward on the guidance batch [2, F, 8, H/8, W/8] plus the guidance
                 combination and the Euler update (the UNet dominates)
  vae-decode     one AutoencoderKLTemporalDecoder.decode of [F, 4, H/8, W/8] as one chunk
  vae-encode     one encode of [1, 3, H, W] (latent mode)
  image-encoder  one CLIPVisionModelWithProjection forward on [1, 3, 224, 224]
FLOPs are counted with torch.utils.flop_counter on a separate untimed call when --count-flops.
"""
import argparse
import json
import math
import os
import resource
import statistics
import sys
import time

import torch


def build(component, config):
    if component in ("unet", "step"):
        from diffusers import UNetSpatioTemporalConditionModel
        return UNetSpatioTemporalConditionModel.from_config(UNetSpatioTemporalConditionModel.load_config(os.path.join(config, "unet")))
    if component in ("vae-decode", "vae-encode"):
        from diffusers import AutoencoderKLTemporalDecoder
        return AutoencoderKLTemporalDecoder.from_config(AutoencoderKLTemporalDecoder.load_config(os.path.join(config, "vae")))
    if component == "image-encoder":
        from transformers import CLIPVisionConfig, CLIPVisionModelWithProjection
        return CLIPVisionModelWithProjection(CLIPVisionConfig.from_pretrained(os.path.join(config, "image_encoder")))
    raise SystemExit(f"bench_torch: unsupported component {component}")


def workload(component, model, frames, height, width):
    g = torch.Generator().manual_seed(0)
    h, w = height // 8, width // 8
    if component in ("unet", "step"):
        batch = 2 if component == "step" else 1
        sample = torch.randn(batch, frames, 8, h, w, generator=g)
        emb = torch.randn(batch, 1, model.config.cross_attention_dim, generator=g)
        ids = torch.tensor([[6.0, 127.0, 0.02]] * batch)
        t = torch.tensor(0.25 * math.log(700.0))
        latents = torch.randn(1, frames, 4, h, w, generator=g)
        guidance = torch.linspace(1.0, 3.0, frames)[None, :, None, None, None]

        def run():
            out = model(sample, t, encoder_hidden_states=emb, added_time_ids=ids, return_dict=False)[0]
            if component == "step":
                uncond, cond = out.chunk(2)
                v = uncond + guidance * (cond - uncond)
                sigma, nxt = 700.0, 500.0
                x0 = v * (-sigma / (sigma ** 2 + 1) ** 0.5) + latents / (sigma ** 2 + 1)
                return latents + (latents - x0) / sigma * (nxt - sigma)
            return out
        return run, [batch, frames, 8, h, w]
    if component == "vae-decode":
        z = torch.randn(frames, 4, h, w, generator=g)
        return (lambda: model.decode(z, num_frames=frames).sample), [frames, 4, h, w]
    if component == "vae-encode":
        x = torch.randn(1, 3, height, width, generator=g).mul(0.5).clamp(-1, 1)
        return (lambda: model.encode(x).latent_dist.mode()), [1, 3, height, width]
    size = model.config.image_size
    x = torch.randn(1, 3, size, size, generator=g)
    return (lambda: model(pixel_values=x).image_embeds), [1, 3, size, size]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--config", default="Models/svd-xt")
    ap.add_argument("--component", default="unet")
    ap.add_argument("--num-frames", type=int, default=14)
    ap.add_argument("--width", type=int, default=256)
    ap.add_argument("--height", type=int, default=256)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--count-flops", action="store_true")
    ap.add_argument("--precision", choices=["fp32", "bf16"], default="fp32")
    a = ap.parse_args()

    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    t0 = time.time()
    model = build(a.component, a.config).eval().float()
    if a.precision == "bf16":
        model = model.to(torch.bfloat16)
    load_s = time.time() - t0
    run, shape = workload(a.component, model, a.num_frames, a.height, a.width)
    times = []
    import contextlib
    autocast = torch.autocast("cpu", dtype=torch.bfloat16) if a.precision == "bf16" else contextlib.nullcontext()
    with torch.inference_mode(), autocast:
        for i in range(a.warmup + a.runs):
            s = time.perf_counter()
            run()
            e = time.perf_counter() - s
            if i >= a.warmup:
                times.append(e)
            print(f"torch {'warmup' if i < a.warmup else 'run'} {i + 1}: {e:.3f} s", file=sys.stderr, flush=True)
        gflop = None
        if a.count_flops:
            from torch.utils.flop_counter import FlopCounterMode
            with FlopCounterMode(display=False) as fc:
                run()
            gflop = fc.get_total_flops() / 1e9
    med = statistics.median(times)
    print(json.dumps({
        "component": a.component, "shape": str(shape), "runs": len(times), "run_s": times,
        "median_s": med, "min_s": min(times), "max_s": max(times), "load_s": load_s,
        "gflop": gflop, "gflops_per_s": gflop / med if gflop else None,
        "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        "threads": torch.get_num_threads(), "weights_dtype": "bf16" if a.precision == "bf16" else "f32",
        "precision": a.precision,
        "torch": torch.__version__, "mkldnn": torch.backends.mkldnn.is_available(),
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
    }))


if __name__ == "__main__":
    main()
