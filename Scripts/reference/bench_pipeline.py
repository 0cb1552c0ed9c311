"""End-to-end request benchmark, PyTorch against img2vid, in one run (issue 18).

PyTorch side: diffusers' StableVideoDiffusionPipeline built from a config folder (Models/svd-xt) with random
weights (from_config), the sampler `euler` (the folder's EulerDiscreteScheduler) or `animatelcm` (the
transcription of the authors' scheduler in animatelcm_fixtures.py, with their demo settings), on a deterministic
random image; the whole request: image encoder, VAE encode, every denoising step, chunked VAE decode, and an H.264
encode of the frames through the ffmpeg command line (libx264, yuv420p, crf 18, as img2vid's default MP4), each
stage timed. `--precision fp32` (float32) or `bf16` (weights in bfloat16 under torch.autocast("cpu", bfloat16)).

img2vid side (unless --skip-img2vid): `img2vid bench --component pipeline` with the same architecture, frames, size,
steps, sampler, guidance and decode chunk, random weights in --weights-dtype. The two alternate, one process each per
round (only one model in memory at a time); the JSON summary has both sides' times per stage, peak RSS and the ratio.

  Scripts/bench-reference-pipeline [--config Models/svd-xt] [--scheduler animatelcm] [--steps N] [--num-frames 14]
      [--width 512] [--height 320] [--max-guidance-scale G] [--decode-chunk-size N] [--precision fp32|bf16]
      [--weights-dtype f16] [--threads 2] [--rounds 1] [--img2vid PATH] [--skip-torch] [--skip-img2vid]

The PyTorch side alone: python bench_pipeline.py --torch-only ... (prints one JSON object).
"""
import argparse
import contextlib
import json
import os
import resource
import statistics
import subprocess
import sys
import time

import bench_reference  # run_json, shared with Scripts/bench-reference (this folder is sys.path[0] when run)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# Sampler defaults, as img2vid applies them (SchedulerKind.parameterDefaults): None keeps diffusers' default.
SAMPLER_DEFAULTS = {
    "euler": dict(steps=25, min_guidance_scale=1.0, max_guidance_scale=3.0, motion_bucket_id=127, fps=7),
    "animatelcm": dict(steps=4, min_guidance_scale=1.0, max_guidance_scale=1.2, motion_bucket_id=80, fps=8),
}


def settings(a):
    d = dict(SAMPLER_DEFAULTS[a.scheduler])
    for k in ("steps", "min_guidance_scale", "max_guidance_scale", "motion_bucket_id", "fps"):
        if getattr(a, k) is not None:
            d[k] = getattr(a, k)
    d["decode_chunk_size"] = a.decode_chunk_size or a.num_frames
    return d


def torch_side(a):
    import numpy as np
    import torch
    import diffusers
    from diffusers import AutoencoderKLTemporalDecoder, EulerDiscreteScheduler, StableVideoDiffusionPipeline, \
        UNetSpatioTemporalConditionModel
    from transformers import CLIPImageProcessor, CLIPVisionConfig, CLIPVisionModelWithProjection
    diffusers.utils.logging.set_verbosity_error()
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    s = settings(a)
    t0 = time.time()
    unet = UNetSpatioTemporalConditionModel.from_config(UNetSpatioTemporalConditionModel.load_config(os.path.join(a.config, "unet")))
    vae = AutoencoderKLTemporalDecoder.from_config(AutoencoderKLTemporalDecoder.load_config(os.path.join(a.config, "vae")))
    encoder = CLIPVisionModelWithProjection(CLIPVisionConfig.from_pretrained(os.path.join(a.config, "image_encoder")))
    if a.scheduler == "animatelcm":
        from animatelcm_fixtures import make_scheduler
        scheduler = make_scheduler()
    else:
        scheduler = EulerDiscreteScheduler.from_pretrained(os.path.join(a.config, "scheduler"))
    pipe = StableVideoDiffusionPipeline(vae=vae, image_encoder=encoder, unet=unet, scheduler=scheduler,
                                        feature_extractor=CLIPImageProcessor(crop_size={"height": 224, "width": 224},
                                                                             size={"shortest_edge": 224}))
    pipe.set_progress_bar_config(disable=True)
    for m in (unet, vae, encoder):
        m.eval().float()
    if a.precision == "bf16":
        pipe.to(torch.bfloat16)
    load_s = time.time() - t0

    g = torch.Generator().manual_seed(0)
    # img2vid bench's stand-in image (normal noise * 0.5 clamped to [-1, 1]) as an RGB image, so that the pipeline
    # runs its CLIP resize as for a real input.
    import PIL.Image
    pixels = torch.randn(1, 3, a.height, a.width, generator=g).mul(0.5).clamp(-1, 1)
    pixels = ((pixels[0].permute(1, 2, 0) + 1) * 127.5).round().to(torch.uint8).numpy()
    image = PIL.Image.fromarray(pixels, mode="RGB")

    stages = {}

    def timed(name, fn):
        def wrapper(*args, **kwargs):
            start = time.perf_counter()
            out = fn(*args, **kwargs)
            stages[name] = stages.get(name, 0.0) + time.perf_counter() - start
            return out
        return wrapper

    if a.precision == "bf16":
        # CLIP preprocessing hands its tensor to numpy, which has no bfloat16: keep autocast off there (the encoder
        # still runs in bfloat16, its weights' dtype, to which _encode_image casts the pixels).
        encode = pipe._encode_image

        def encode_without_autocast(*args, **kwargs):
            with torch.autocast("cpu", enabled=False):
                return encode(*args, **kwargs)
        pipe._encode_image = encode_without_autocast
    pipe._encode_image = timed("encode_image", pipe._encode_image)
    pipe._encode_vae_image = timed("vae_encode", pipe._encode_vae_image)
    pipe.decode_latents = timed("decode", pipe.decode_latents)

    def one_run():
        stages.clear()
        start = time.perf_counter()
        ctx = torch.autocast("cpu", dtype=torch.bfloat16) if a.precision == "bf16" else contextlib.nullcontext()
        with torch.inference_mode(), ctx:
            frames = pipe(image, height=a.height, width=a.width, num_frames=a.num_frames, num_inference_steps=s["steps"],
                          min_guidance_scale=s["min_guidance_scale"], max_guidance_scale=s["max_guidance_scale"],
                          fps=s["fps"], motion_bucket_id=s["motion_bucket_id"], noise_aug_strength=0.02,
                          decode_chunk_size=s["decode_chunk_size"], generator=torch.manual_seed(0),
                          output_type="pt").frames[0]                        # [F, C, H, W] in [0, 1]
            frames = frames.permute(0, 2, 3, 1).float().numpy()
        middle = time.perf_counter() - start
        stages["denoise"] = middle - sum(stages.values())   # the loop: everything but the timed stages
        enc = time.perf_counter()
        u8 = (np.clip(frames, 0, 1) * 255).round().astype("uint8")
        path = f"/tmp/bench-pipeline-{os.getpid()}.mp4"
        cmd = ["ffmpeg", "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{a.width}x{a.height}",
               "-r", str(s["fps"]), "-i", "-", "-c:v", "libx264", "-preset", "medium", "-crf", "18", "-pix_fmt", "yuv420p",
               path]
        subprocess.run(cmd, input=u8.tobytes(), check=True)
        os.remove(path)
        stages["encode_video"] = time.perf_counter() - enc
        return time.perf_counter() - start, dict(stages)

    runs, stage_runs = [], []
    for i in range(a.warmup + a.runs):
        t, st = one_run()
        print(f"torch {'warmup' if i < a.warmup else 'run'} {i + 1}: {t:.3f} s {json.dumps({k: round(v, 2) for k, v in st.items()})}",
              file=sys.stderr, flush=True)
        if i >= a.warmup:
            runs.append(t)
            stage_runs.append(st)
    med = statistics.median(runs)
    return {
        "component": "pipeline", "scheduler": a.scheduler, "steps": s["steps"], "num_frames": a.num_frames,
        "width": a.width, "height": a.height, "runs": len(runs), "run_s": runs, "median_s": med, "load_s": load_s,
        "stage_s": {k: statistics.median(r[k] for r in stage_runs) for k in stage_runs[0]},
        "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024, "threads": torch.get_num_threads(),
        "precision": a.precision, "settings": s, "torch": torch.__version__, "diffusers": diffusers.__version__,
    }


def run_json(cmd):
    return bench_reference.run_json(cmd, tool="bench-reference-pipeline")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", default=os.path.join(ROOT, "Models/svd-xt"))
    ap.add_argument("--scheduler", default="euler", choices=["euler", "animatelcm"])
    ap.add_argument("--steps", type=int)
    ap.add_argument("--num-frames", type=int, default=14)
    ap.add_argument("--width", type=int, default=512)
    ap.add_argument("--height", type=int, default=320)
    ap.add_argument("--min-guidance-scale", type=float)
    ap.add_argument("--max-guidance-scale", type=float)
    ap.add_argument("--motion-bucket-id", type=int)
    ap.add_argument("--fps", type=int)
    ap.add_argument("--decode-chunk-size", type=int)
    ap.add_argument("--precision", default="fp32", choices=["fp32", "bf16"], help="PyTorch's mode")
    ap.add_argument("--weights-dtype", default="f16", help="img2vid's stored weight dtype")
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--runs", type=int, default=1, help=argparse.SUPPRESS)
    ap.add_argument("--warmup", type=int, default=0)
    ap.add_argument("--img2vid", default=os.path.join(ROOT, ".build/release/img2vid"))
    ap.add_argument("--skip-torch", action="store_true")
    ap.add_argument("--skip-img2vid", action="store_true")
    ap.add_argument("--torch-only", action="store_true", help="run the PyTorch side in this process and print its JSON")
    a = ap.parse_args()
    if a.torch_only:
        print(json.dumps(torch_side(a)))
        return

    s = settings(a)
    shared = ["--num-frames", str(a.num_frames), "--width", str(a.width), "--height", str(a.height),
              "--decode-chunk-size", str(s["decode_chunk_size"])]
    passthrough = []
    for k in ("steps", "min_guidance_scale", "max_guidance_scale", "motion_bucket_id", "fps"):
        if getattr(a, k) is not None:
            passthrough += ["--" + k.replace("_", "-"), str(getattr(a, k))]
    torch_cmd = [sys.executable, os.path.abspath(__file__), "--torch-only", "--config", a.config, "--scheduler", a.scheduler,
                 "--precision", a.precision, "--threads", str(a.threads), "--warmup", str(a.warmup)] + shared + passthrough
    ours_cmd = [a.img2vid, "bench", "--config", a.config, "--random-weights", "--weights-dtype", a.weights_dtype,
                "--component", "pipeline", "--scheduler", a.scheduler, "--threads", str(a.threads), "--warmup", str(a.warmup),
                "--runs", "1", "--json"] + shared + passthrough
    torch_runs, ours_runs = [], []
    for r in range(a.rounds):
        if not a.skip_torch:
            torch_runs.append(run_json(torch_cmd))
        if not a.skip_img2vid:
            ours_runs.append(run_json(ours_cmd))
        t = torch_runs[-1]["median_s"] if torch_runs else float("nan")
        o = ours_runs[-1]["median_s"] if ours_runs else float("nan")
        print(f"round {r + 1}: pytorch {t:.1f} s  img2vid {o:.1f} s  ratio {t / o:.2f}", flush=True)
    summary = {"scheduler": a.scheduler, "settings": s, "num_frames": a.num_frames, "width": a.width, "height": a.height,
               "threads": a.threads, "pytorch_precision": a.precision, "img2vid_weights_dtype": a.weights_dtype,
               "load_average": os.getloadavg()}
    if torch_runs:
        summary.update(pytorch_s=[x["median_s"] for x in torch_runs], pytorch_stage_s=torch_runs[-1]["stage_s"],
                       pytorch_peak_rss_bytes=max(x["peak_rss_bytes"] for x in torch_runs))
    if ours_runs:
        summary.update(img2vid_s=[x["median_s"] for x in ours_runs], img2vid_stage_s=ours_runs[-1]["stage_s"],
                       img2vid_peak_rss_bytes=max(x["peak_rss_bytes"] for x in ours_runs),
                       img2vid_blas_core=ours_runs[-1]["blas_core"])
    if torch_runs and ours_runs:
        summary["speedup"] = statistics.median(summary["pytorch_s"]) / statistics.median(summary["img2vid_s"])
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
