"""Driver of Scripts/bench-reference: alternates PyTorch (Scripts/reference/bench_torch.py) and
img2vid (`img2vid bench ... --json`) runs of the same component, shapes and thread count, one
process each per round (so only one model is in memory at a time), and prints per-round times,
medians, the ratio (PyTorch time / img2vid time: above 1 means img2vid is faster), GFLOP/s and
peak RSS of both, and the OpenBLAS core img2vid ran with."""
import argparse
import json
import os
import statistics
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def run_json(cmd, env):
    print("$ " + " ".join(cmd), file=sys.stderr, flush=True)
    p = subprocess.run(cmd, stdout=subprocess.PIPE, env=env, text=True)
    if p.returncode != 0:
        raise SystemExit(f"bench-reference: command failed ({p.returncode}): {' '.join(cmd)}")
    return json.loads(p.stdout.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--config", default=os.path.join(ROOT, "Models/svd-xt"))
    ap.add_argument("--component", default="unet", choices=["unet", "step", "vae-decode", "vae-encode", "image-encoder"])
    ap.add_argument("--num-frames", type=int, default=14)
    ap.add_argument("--width", type=int, default=256)
    ap.add_argument("--height", type=int, default=256)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--rounds", type=int, default=3, help="alternating rounds (one timed run per side each)")
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--weights-dtype", default="f32", help="img2vid's stored weight dtype (PyTorch is always fp32)")
    ap.add_argument("--img2vid", default=os.path.join(ROOT, ".build/release/img2vid"))
    ap.add_argument("--skip-torch", action="store_true", help="time img2vid only")
    ap.add_argument("--json", action="store_true", help="print one JSON object at the end")
    a = ap.parse_args()

    env = dict(os.environ)
    shape = ["--num-frames", str(a.num_frames), "--width", str(a.width), "--height", str(a.height)]
    torch_cmd = [sys.executable, os.path.join(ROOT, "Scripts/reference/bench_torch.py"), "--config", a.config,
                 "--component", a.component, "--threads", str(a.threads), "--warmup", str(a.warmup), "--runs", "1"] + shape
    ours_cmd = [a.img2vid, "bench", "--config", a.config, "--random-weights", "--weights-dtype", a.weights_dtype,
                "--component", a.component, "--threads", str(a.threads), "--warmup", str(a.warmup), "--runs", "1",
                "--json"] + shape
    torch_runs, ours_runs = [], []
    for r in range(a.rounds):
        if not a.skip_torch:
            torch_runs.append(run_json(torch_cmd + (["--count-flops"] if r == 0 else []), env))
        ours_runs.append(run_json(ours_cmd, env))
        t = torch_runs[-1]["median_s"] if torch_runs else float("nan")
        o = ours_runs[-1]["median_s"]
        print(f"round {r + 1}: pytorch {t:.3f} s  img2vid {o:.3f} s  ratio {t / o:.2f}", flush=True)

    ours = [x["median_s"] for x in ours_runs]
    o_med = statistics.median(ours)
    first = ours_runs[0]
    gflop = first.get("gflop")
    summary = {
        "component": a.component, "num_frames": a.num_frames, "width": a.width, "height": a.height,
        "threads": a.threads, "rounds": a.rounds, "blas_core": first.get("blas_core"),
        "weights_dtype": a.weights_dtype, "gflop": gflop,
        "img2vid_s": ours, "img2vid_median_s": o_med,
        "img2vid_gflops_per_s": gflop / o_med if gflop else None,
        "img2vid_peak_rss_bytes": max(x.get("peak_rss_bytes", 0) for x in ours_runs),
        "load_average": os.getloadavg(),
    }
    if torch_runs:
        tt = [x["median_s"] for x in torch_runs]
        t_med = statistics.median(tt)
        tg = torch_runs[0].get("gflop")
        summary.update({
            "pytorch_s": tt, "pytorch_median_s": t_med, "pytorch_gflop": tg,
            "pytorch_gflops_per_s": tg / t_med if tg else None,
            "pytorch_peak_rss_bytes": max(x["peak_rss_bytes"] for x in torch_runs),
            "speedup": t_med / o_med,
            "speedup_per_round": [t / o for t, o in zip(tt, ours)],
            "speedup_median_of_rounds": statistics.median(t / o for t, o in zip(tt, ours)),
        })
    print(f"{a.component} {a.num_frames} frames {a.width}x{a.height}, {a.threads} threads, OpenBLAS core "
          f"{summary['blas_core']}, img2vid weights {a.weights_dtype}, load average "
          + " ".join(f"{x:.1f}" for x in summary["load_average"]))
    gib = 1 << 30
    if torch_runs:
        print(f"  pytorch fp32: median {summary['pytorch_median_s']:.3f} s over {len(torch_runs)}"
              + (f", {summary['pytorch_gflops_per_s']:.0f} GFLOP/s" if summary["pytorch_gflops_per_s"] else "")
              + f", peak RSS {summary['pytorch_peak_rss_bytes'] / gib:.2f} GiB")
    print(f"  img2vid     : median {o_med:.3f} s over {len(ours)}"
          + (f", {summary['img2vid_gflops_per_s']:.0f} GFLOP/s" if summary["img2vid_gflops_per_s"] else "")
          + f", peak RSS {summary['img2vid_peak_rss_bytes'] / gib:.2f} GiB")
    if torch_runs:
        print(f"  speed-up (pytorch time / img2vid time): {summary['speedup']:.2f}x of the medians, "
              f"{summary['speedup_median_of_rounds']:.2f}x median of the per-round ratios")
    if a.json:
        print(json.dumps(summary))


if __name__ == "__main__":
    main()
