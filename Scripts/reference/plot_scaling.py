"""Plots the cost per frame and per pixel of one SVD-XT UNet forward as frames and resolution grow,
from the CSV the sweep writes (IMG2VID_SWEEP=1 swift test ... --filter UNetWorkloadTests/testSweepShapes,
see docs/PERFORMANCE.md). Usage: plot_scaling.py sweep.csv docs/scaling.png"""
import csv
import sys

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt

rows = list(csv.DictReader(open(sys.argv[1])))
for r in rows:
    for k in ("frames", "width", "height"):
        r[k] = int(r[k])
    for k in ("seconds", "gflop"):
        r[k] = float(r[k])

by_frames = sorted((r for r in rows if (r["width"], r["height"]) == (256, 256)), key=lambda r: r["frames"])
by_size = sorted((r for r in rows if r["frames"] == 14), key=lambda r: r["width"] * r["height"])
fig, ax = plt.subplots(1, 2, figsize=(11, 4.2))
f = [r["frames"] for r in by_frames]
ax[0].plot(f, [r["seconds"] / r["frames"] for r in by_frames], "o-", label="s per frame")
ax[0].set_xlabel("frames (256x256)")
ax[0].set_ylabel("seconds per frame")
a2 = ax[0].twinx()
a2.plot(f, [r["gflop"] / r["seconds"] for r in by_frames], "s--", color="tab:orange", label="GFLOP/s")
a2.set_ylabel("GFLOP/s", color="tab:orange")
ax[0].set_title("UNet forward vs frames")
mp = [r["width"] * r["height"] / 1e6 for r in by_size]
ax[1].plot(mp, [r["seconds"] / (r["frames"] * r["width"] * r["height"]) * 1e9 for r in by_size], "o-")
ax[1].set_xlabel("megapixels per frame (14 frames)")
ax[1].set_ylabel("ns per pixel per frame")
b2 = ax[1].twinx()
b2.plot(mp, [r["gflop"] / r["seconds"] for r in by_size], "s--", color="tab:orange")
b2.set_ylabel("GFLOP/s", color="tab:orange")
ax[1].set_title("UNet forward vs resolution")
for axis in (ax[0], a2, ax[1], b2):
    axis.set_ylim(bottom=0)  # from zero: the variation between shapes is small and must look small
threads = rows[0].get("threads", "?")
core = rows[0].get("blas_core", "?")
fig.suptitle(f"img2vid, SVD-XT UNet, random f32 weights, {threads} threads, OpenBLAS {core}")
fig.tight_layout()
fig.savefig(sys.argv[2], dpi=110)
print("wrote", sys.argv[2])
