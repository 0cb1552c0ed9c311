"""Evaluates the bundled demo model through the img2vid binary (what users get), on held-out photos.

For 5 motion buckets x 4 seeds (seed k animates held-out photo k, so every photo is used) it runs
`img2vid generate --save-frames` with the model's defaults otherwise, then measures:
- first-frame PSNR against the input (the input is pre-cropped to the output size, so the binary's
  resize is the identity and the comparison is pixel for pixel);
- motion: mean optical-flow magnitude between consecutive frames, by block matching (16x16 blocks,
  +-7 px full search, sum of squared differences, parabolic sub-pixel refinement), and its Spearman
  rank correlation with motion_bucket_id over the 20 runs;
- smoothness: mean |flow(k+1 -> k+2) - flow(k -> k+1)| per block (pixels), and that over the mean flow;
- collapse: each frame's pixel standard deviation over the input's (minimum reported; >= 0.5 wanted).
Writes Weights/demo/metrics.json, Weights/demo/contact-sheet.png (4 held-out photos, bucket 127)
and Weights/demo/loss.png (training curves from the checkpoint's log).
"""
import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np
from PIL import Image

sys.path.insert(0, os.path.dirname(__file__))
import data  # noqa: E402

OUT = os.path.join(data.ROOT, "Weights", "demo")
TEST = ["EveningGlow", "Path", "Dune", "Storm"]
BUCKETS = [0, 64, 127, 191, 255]


def center_crop(path, size):
    im = Image.open(path).convert("RGB")
    w, h = im.size
    s = min(w, h)
    im = im.crop(((w - s) // 2, (h - s) // 2, (w - s) // 2 + s, (h - s) // 2 + s))
    return im.resize((size, size), Image.LANCZOS)


def psnr(a, b):
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float(10 * np.log10(255.0 ** 2 / max(mse, 1e-12)))


def block_flow(f0, f1, block=16, radius=7):
    """Displacement (dx, dy) of each block of f0 found in f1 (grey float images)."""
    H, W = f0.shape
    out = []
    pad = np.pad(f1, radius, mode="edge")
    for y in range(0, H - block + 1, block):
        for x in range(0, W - block + 1, block):
            ref = f0[y:y + block, x:x + block]
            if ref.std() < 2.0:   # flat blocks carry no motion information
                continue
            cost = np.empty((2 * radius + 1, 2 * radius + 1))
            for dy in range(-radius, radius + 1):
                for dx in range(-radius, radius + 1):
                    cand = pad[y + radius + dy:y + radius + dy + block, x + radius + dx:x + radius + dx + block]
                    cost[dy + radius, dx + radius] = np.mean((cand - ref) ** 2)
            iy, ix = np.unravel_index(np.argmin(cost), cost.shape)

            def sub(c, i, axis):
                if 0 < i < c.shape[axis] - 1:
                    a, b, d = (c[i - 1, ix], c[i, ix], c[i + 1, ix]) if axis == 0 else (c[iy, i - 1], c[iy, i], c[iy, i + 1])
                    den = a - 2 * b + d
                    return 0.5 * (a - d) / den if den > 1e-9 else 0.0
                return 0.0
            out.append((x, y, ix - radius + sub(cost, ix, 1), iy - radius + sub(cost, iy, 0)))
    return out


def motion_stats(frames):
    grey = [np.asarray(Image.fromarray(f).convert("L"), dtype=np.float64) for f in frames]
    flows = [block_flow(grey[k], grey[k + 1]) for k in range(len(grey) - 1)]
    mags = [np.hypot(fx, fy) for fl in flows for (_, _, fx, fy) in fl]
    changes = []
    for k in range(len(flows) - 1):
        a = {(x, y): (fx, fy) for x, y, fx, fy in flows[k]}
        for x, y, fx, fy in flows[k + 1]:
            if (x, y) in a:
                changes.append(np.hypot(fx - a[(x, y)][0], fy - a[(x, y)][1]))
    return float(np.mean(mags)) if mags else 0.0, float(np.mean(changes)) if changes else 0.0


def spearman(x, y):
    from scipy.stats import spearmanr
    return float(spearmanr(x, y).statistic)


def run(binary, model, image, outdir, seed, bucket, extra):
    os.makedirs(outdir, exist_ok=True)
    cmd = [binary, "generate", "--model", model, "--image", image, "--output", os.path.join(outdir, "video.mp4"),
           "--save-frames", outdir, "--seed", str(seed), "--motion-bucket-id", str(bucket), "--overwrite",
           "--json"] + extra
    t = time.time()
    res = subprocess.run(["/usr/bin/time", "-f", "%U %S"] + cmd, capture_output=True, text=True)
    if res.returncode != 0:
        raise SystemExit(f"img2vid failed ({res.returncode}): {' '.join(cmd)}\n{res.stderr}")
    frames = sorted(f for f in os.listdir(outdir) if f.startswith("frame_") and f.endswith(".png"))
    imgs = [np.asarray(Image.open(os.path.join(outdir, f)).convert("RGB")) for f in frames]
    u, sy = res.stderr.strip().splitlines()[-1].split()
    cpu = float(u) + float(sy)
    return imgs, time.time() - t, cpu


def loss_plot(path):
    import torch
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    ck = torch.load(os.path.join(data.WORK, "checkpoint.pt"), weights_only=False)
    u = np.array(ck["state"]["logs"]["unet"])
    fig, ax = plt.subplots(1, 2, figsize=(10, 3.6))
    k = 50
    ax[0].plot(u[:, 0], u[:, 1], color="#bbb", lw=0.5, label="per step")
    ax[0].plot(u[k - 1:, 0], np.convolve(u[:, 1], np.ones(k) / k, "valid"), color="C1", label=f"mean of {k}")
    ax[0].set_yscale("log"); ax[0].set_title("UNet: weighted denoising loss"); ax[0].set_xlabel("step"); ax[0].legend()
    ax[1].plot(u[:, 0], u[:, 3], color="#bbb", lw=0.5, label="per step")
    ax[1].plot(u[k - 1:, 0], np.convolve(u[:, 3], np.ones(k) / k, "valid"), color="C0", label=f"mean of {k}")
    ax[1].set_yscale("log"); ax[1].set_title("first frame: x0 MSE (scaled latents)"); ax[1].set_xlabel("step"); ax[1].legend()
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    return ck["state"]


def diffusers_checks(model, inputs, swift_dir, size, steps):
    """Loads the folder with diffusers: the VAE's round trip PSNR on the held-out inputs, and the
    diffusers pipeline's frames for the first test image against the binary's (same seed)."""
    import torch
    from diffusers import StableVideoDiffusionPipeline
    torch.set_num_threads(1)
    pipe = StableVideoDiffusionPipeline.from_pretrained(model, torch_dtype=torch.float32)
    out = {}
    rt = []
    for name, p in inputs.items():
        x = torch.from_numpy(np.asarray(Image.open(p).convert("RGB")).copy()).permute(2, 0, 1)[None].float() / 127.5 - 1
        with torch.no_grad():
            z = pipe.vae.encode(x).latent_dist.mode()
            y = pipe.vae.decode(z, num_frames=1).sample
        y8 = ((y[0].clamp(-1, 1) + 1) * 127.5).round().byte().permute(1, 2, 0).numpy()
        rt.append(psnr(y8, np.asarray(Image.open(p).convert("RGB"))))
    out["vae_roundtrip_psnr"] = {n: v for n, v in zip(inputs, rt)}
    name = list(inputs)[0]
    with open(os.path.join(model, "img2vid.json")) as f:
        d = json.load(f)
    g = torch.Generator().manual_seed(0)
    frames = pipe(Image.open(inputs[name]), height=size, width=size, num_inference_steps=steps,
                  fps=d["fps"], motion_bucket_id=127, noise_aug_strength=d["noise_aug_strength"],
                  min_guidance_scale=d["min_guidance_scale"], max_guidance_scale=d["max_guidance_scale"],
                  decode_chunk_size=d["decode_chunk_size"], generator=g, output_type="np").frames[0]
    ours = sorted(f for f in os.listdir(swift_dir) if f.startswith("frame_"))
    ps = [psnr((np.clip(fr, 0, 1) * 255).round().astype(np.uint8), np.asarray(Image.open(os.path.join(swift_dir, o))))
          for fr, o in zip(frames, ours)]
    out["diffusers_vs_img2vid_psnr_min"] = float(min(ps))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--binary", default=os.path.join(data.ROOT, ".build-demo", "release", "img2vid"))
    ap.add_argument("--model", default=OUT)
    ap.add_argument("--size", type=int, default=128)
    ap.add_argument("--threads", type=int, default=1, help="img2vid --threads for each run")
    ap.add_argument("--jobs", type=int, default=2, help="generations run at the same time")
    ap.add_argument("--work", default="/tmp/img2vid-eval-demo")
    args = ap.parse_args()
    hold = os.path.join(data.DATA, "holdout")
    if not all(os.path.exists(os.path.join(hold, n + ".png")) for n in TEST):
        raise SystemExit("held-out photos missing: run Scripts/make-demo-data first")
    os.makedirs(args.work, exist_ok=True)
    inputs = {}
    for n in TEST:
        p = os.path.join(args.work, n + ".png")
        center_crop(os.path.join(hold, n + ".png"), args.size).save(p)
        inputs[n] = p
    extra = ["--threads", str(args.threads)]
    runs = []
    sheet_rows = {}
    jobs = [(b, seed, name) for b in BUCKETS for seed, name in enumerate(TEST)]
    from concurrent.futures import ThreadPoolExecutor
    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        results = list(pool.map(lambda j: run(args.binary, args.model, inputs[j[2]],
                                              os.path.join(args.work, f"{j[2]}-b{j[0]}-s{j[1]}"), j[1], j[0], extra), jobs))
    for (b, seed, name), (frames, wall, cpu) in zip(jobs, results):
        if True:
            ref = np.asarray(Image.open(inputs[name]).convert("RGB"))
            mag, change = motion_stats(frames)
            stdr = min(float(f.std()) for f in frames) / float(ref.std())
            runs.append({"image": name, "seed": seed, "bucket": b, "psnr_first": psnr(frames[0], ref),
                         "flow": mag, "flow_change": change, "min_std_ratio": stdr, "wall_s": wall, "cpu_s": cpu,
                         "last_first_mad": float(np.mean(np.abs(frames[-1].astype(float) - frames[0].astype(float))))})
            print(json.dumps(runs[-1]), flush=True)
            if b == 127:
                sheet_rows[name] = [ref] + frames
    flows = [r["flow"] for r in runs]
    summary = {
        "runs": len(runs),
        "size": args.size,
        "psnr_first_mean": float(np.mean([r["psnr_first"] for r in runs])),
        "psnr_first_min": float(np.min([r["psnr_first"] for r in runs])),
        "spearman_flow_vs_bucket": spearman([r["bucket"] for r in runs], flows),
        "flow_by_bucket": {str(b): float(np.mean([r["flow"] for r in runs if r["bucket"] == b])) for b in BUCKETS},
        "flow_change_mean": float(np.mean([r["flow_change"] for r in runs])),
        "flow_change_over_flow": float(np.mean([r["flow_change"] for r in runs]) / max(1e-9, np.mean(flows))),
        "min_std_ratio": float(np.min([r["min_std_ratio"] for r in runs])),
        "last_first_mad_by_bucket": {str(b): float(np.mean([r["last_first_mad"] for r in runs if r["bucket"] == b])) for b in BUCKETS},
        "wall_s_mean": float(np.mean([r["wall_s"] for r in runs])),
        "cpu_s_mean": float(np.mean([r["cpu_s"] for r in runs])),
    }
    # the quick start as a user runs it: defaults, all threads, the bundled example, load and encoding included
    example = os.path.join(data.ROOT, "Examples", "boats-at-dusk.png")
    load_before = os.getloadavg()[0]
    t = time.time()
    res = subprocess.run(["/usr/bin/time", "-f", "%U %S", args.binary, "generate", "--model", args.model, "--image", example,
                          "--output", os.path.join(args.work, "quickstart.mp4"), "--overwrite", "--json"],
                         capture_output=True, text=True)
    wall = time.time() - t
    u, sy = res.stderr.strip().splitlines()[-1].split()
    summary["quickstart"] = {"wall_s": wall, "cpu_s": float(u) + float(sy), "exit_code": res.returncode,
                             "load_average_before": load_before, "cores": os.cpu_count(),
                             "stages": json.loads(res.stdout)["timings"]["stages"] if res.returncode == 0 else None}
    with open(os.path.join(args.model, "img2vid.json")) as f:
        steps = json.load(f)["num_inference_steps"]
    summary.update(diffusers_checks(args.model, inputs, os.path.join(args.work, f"{TEST[0]}-b127-s0"), args.size, steps))
    with open(os.path.join(args.model, "metrics.json"), "w") as f:
        json.dump({"summary": summary, "runs": runs}, f, indent=1)
    # contact sheet: input then every frame, one held-out photo per row
    rows = [np.concatenate(sheet_rows[n], axis=1) for n in TEST]
    gap = np.full((4, rows[0].shape[1], 3), 255, np.uint8)
    sheet = np.concatenate([x for r in rows for x in (r, gap)][:-1], axis=0)
    Image.fromarray(sheet).save(os.path.join(args.model, "contact-sheet.png"), optimize=True)
    loss_plot(os.path.join(args.model, "loss.png"))
    print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
