"""Driver of Scripts/bench-reference: alternates PyTorch (Scripts/reference/bench_torch.py) and
img2vid (`img2vid bench ... --json`) runs of the same component, shapes and thread count, one
process per side per round (so only one model is in memory at a time), and prints per-round
times, medians, GFLOP/s and peak RSS of every side, ratios (PyTorch time / img2vid time: above 1
means img2vid is faster), the OpenBLAS core and oneDNN's instruction set img2vid ran with.

Sides (--sides, comma-separated; default all four):
  pytorch-fp32   float32 weights and compute
  pytorch-bf16   bf16 weights + torch.autocast("cpu", dtype=torch.bfloat16): PyTorch's fastest
                 CPU mode on CPUs with native bf16 (emulated, and slow, elsewhere)
  img2vid-f32    img2vid bench --precision f32
  img2vid-bf16   img2vid bench --precision bf16 (oneDNN bf16 where native, an emulation elsewhere)
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SIDES = ["pytorch-fp32", "pytorch-bf16", "img2vid-f32", "img2vid-bf16"]


def run_json(cmd, env):
    print("$ " + " ".join(cmd), file=sys.stderr, flush=True)
    p = subprocess.run(cmd, stdout=subprocess.PIPE, env=env, text=True)
    if p.returncode != 0:
        raise SystemExit(f"bench-reference: command failed ({p.returncode}): {' '.join(cmd)}")
    return json.loads(p.stdout.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", default=os.path.join(ROOT, "Models/svd-xt"))
    ap.add_argument("--component", default="unet", choices=["unet", "step", "vae-decode", "vae-encode", "image-encoder"])
    ap.add_argument("--num-frames", type=int, default=14)
    ap.add_argument("--width", type=int, default=256)
    ap.add_argument("--height", type=int, default=256)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--rounds", type=int, default=3, help="alternating rounds (one timed run per side each)")
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--sides", default=",".join(SIDES), help="comma-separated subset of " + ", ".join(SIDES))
    ap.add_argument("--weights-dtype", default="f32", help="img2vid's stored weight dtype")
    ap.add_argument("--img2vid", default=os.path.join(ROOT, ".build/release/img2vid"))
    ap.add_argument("--json", action="store_true", help="print one JSON object at the end")
    a = ap.parse_args()
    sides = [s for s in a.sides.split(",") if s]
    unknown = [s for s in sides if s not in SIDES]
    if unknown:
        raise SystemExit(f"bench-reference: unknown side(s) {unknown}; choose from {SIDES}")

    env = dict(os.environ)
    shape = ["--num-frames", str(a.num_frames), "--width", str(a.width), "--height", str(a.height)]

    def command(side, first_round):
        if side.startswith("pytorch"):
            return [sys.executable, os.path.join(ROOT, "Scripts/reference/bench_torch.py"), "--config", a.config,
                    "--component", a.component, "--threads", str(a.threads), "--warmup", str(a.warmup), "--runs", "1",
                    "--precision", side.split("-")[1]] + shape + (["--count-flops"] if first_round else [])
        return [a.img2vid, "bench", "--config", a.config, "--random-weights", "--weights-dtype", a.weights_dtype,
                "--component", a.component, "--threads", str(a.threads), "--warmup", str(a.warmup), "--runs", "1",
                "--precision", side.split("-")[1], "--json"] + shape

    runs = {s: [] for s in sides}
    for r in range(a.rounds):
        for side in sides:
            runs[side].append(run_json(command(side, r == 0), env))
        print(f"round {r + 1}: " + "  ".join(f"{s} {runs[s][-1]['median_s']:.3f} s" for s in sides), flush=True)

    gib = 1 << 30
    summary = {"component": a.component, "num_frames": a.num_frames, "width": a.width, "height": a.height,
               "threads": a.threads, "rounds": a.rounds, "load_average": os.getloadavg(), "sides": {}}
    for side in sides:
        times = [x["median_s"] for x in runs[side]]
        med = statistics.median(times)
        gflop = runs[side][0].get("gflop")
        summary["sides"][side] = {
            "s": times, "median_s": med, "gflop": gflop, "gflops_per_s": gflop / med if gflop else None,
            "peak_rss_bytes": max(x.get("peak_rss_bytes", 0) for x in runs[side]),
            "blas_core": runs[side][0].get("blas_core"), "cpu_isa": runs[side][0].get("cpu_isa"),
            "cpu_capability": runs[side][0].get("cpu_capability"),
        }
    ours = [s for s in sides if s.startswith("img2vid")]
    theirs = [s for s in sides if s.startswith("pytorch")]
    summary["ratios"] = {f"{t} / {o}": summary["sides"][t]["median_s"] / summary["sides"][o]["median_s"]
                         for t in theirs for o in ours}
    if ours and theirs:
        best_o = min(ours, key=lambda s: summary["sides"][s]["median_s"])
        best_t = min(theirs, key=lambda s: summary["sides"][s]["median_s"])
        summary["fastest"] = {"img2vid": best_o, "pytorch": best_t,
                              "speedup": summary["sides"][best_t]["median_s"] / summary["sides"][best_o]["median_s"]}

    first = next((summary["sides"][s] for s in ours), {})
    print(f"{a.component} {a.num_frames} frames {a.width}x{a.height}, {a.threads} threads, OpenBLAS core "
          f"{first.get('blas_core')}, oneDNN ISA {first.get('cpu_isa')}, img2vid weights {a.weights_dtype}, "
          f"load average " + " ".join(f"{x:.1f}" for x in summary["load_average"]))
    for side in sides:
        v = summary["sides"][side]
        print(f"  {side:13s}: median {v['median_s']:.3f} s over {len(v['s'])}"
              + (f", {v['gflops_per_s']:.0f} GFLOP/s" if v["gflops_per_s"] else "")
              + f", peak RSS {v['peak_rss_bytes'] / gib:.2f} GiB")
    for k, v in summary["ratios"].items():
        print(f"  {k}: {v:.2f}x")
    if "fastest" in summary:
        f = summary["fastest"]
        print(f"  fastest img2vid ({f['img2vid']}) vs fastest PyTorch ({f['pytorch']}): {f['speedup']:.2f}x")
    if a.json:
        print(json.dumps(summary))


if __name__ == "__main__":
    main()
