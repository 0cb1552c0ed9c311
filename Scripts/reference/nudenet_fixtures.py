"""Reference fixtures for the NudeNet detector (Tests/ModerationTests/NudeNetDetectorTests.swift).

The reference is the `nudenet` 3.4.2 package itself (its `NudeDetector.detect` on an image file:
OpenCV pre-processing, onnxruntime on `320n.onnx`, its `_postprocess` with cv2.dnn.NMSBoxes).
Benign images only (no people but the astronaut's portrait):

- `astronaut-96x128.png`: scikit-image's `astronaut()` (NASA, public domain), cropped to its
  central 384x512 columns and downscaled with Lanczos to 96x128 (portrait: padded on the right).
- `rocket-150x100.png`: scikit-image's `rocket()` (SpaceX, public domain), downscaled to 150x100
  (landscape: padded at the bottom). No people.

For each image, `nudenet_<name>.safetensors` holds:
  input       U8  [1, 3, 320, 320]  the blob the package fed to onnxruntime, times 255 (exact
                                    integers: OpenCV resizes 8-bit pixels, then scales by 1/255)
  output      F32 [1, 22, 2100]     onnxruntime's raw output (cx, cy, w, h, 18 class scores)
  candidates  F32 [C, 6]            the rows with a best score >= 0.2: class, score, x, y, w, h
                                    (float boxes in image pixels, before NMS and int())
  detections  F32 [K, 6]            the package's final result: class, score, x, y, w, h (ints)
`nudenet_ops.safetensors` holds OpenCV resize cases (`rN.src` U8 [h, w, 3], zero-padded
to the canvas `rN.canvas` = "width,height", resized with cv2.INTER_LINEAR to `rN.out` U8 [64, 64, 3])
and an NMS case (`nms.boxes` [40, 4] x/y/w/h, `nms.scores` [40], `nms.keep` = the indices
cv2.dnn.NMSBoxes(boxes, scores, 0.25, 0.45) returns).

    .venv-reference/bin/python Scripts/reference/nudenet_fixtures.py

Needs `pip install nudenet==3.4.2 scikit-image` in the reference venv (onnxruntime and
opencv-python-headless come with nudenet). Fixed seeds; rerunning reproduces the files.
"""
import json
import os
import struct

import cv2
import numpy as np
import nudenet
from nudenet import NudeDetector
from PIL import Image
from safetensors.numpy import save_file
from skimage import data

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "Tests", "ModerationTests", "Fixtures")
LABELS = nudenet.nudenet.__dict__["__labels"]


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
    save_file({k: np.ascontiguousarray(v) for k, v in tensors.items()}, path,
              metadata={k: str(v) for k, v in meta.items()})
    canonicalize_header(path)
    print(f"{path}: {os.path.getsize(path)} bytes")


def images():
    astronaut = Image.fromarray(data.astronaut()).crop((64, 0, 448, 512)).resize((96, 128), Image.LANCZOS)
    rocket = Image.fromarray(data.rocket()).resize((150, 100), Image.LANCZOS)
    return [("astronaut", "astronaut-96x128.png", astronaut), ("rocket", "rocket-150x100.png", rocket)]


def candidates(output, width, height, size=320):
    """The package's `_postprocess` up to (not including) NMS, keeping float boxes: the same
    float32 arithmetic (NumPy 2 keeps float32 when a Python int joins in)."""
    rows = np.transpose(np.squeeze(output[0]))
    m = max(width, height)
    out = []
    for row in rows:
        scores = row[4:]
        best = np.amax(scores)
        if best >= 0.2:
            cls = int(np.argmax(scores))
            x, y, w, h = row[0:4]
            x = x - w / 2
            y = y - h / 2
            x = x * m / size
            y = y * m / size
            w = w * m / size
            h = h * m / size
            x = max(0, min(x, width))
            y = max(0, min(y, height))
            w = min(w, width - x)
            h = min(h, height - y)
            out.append([cls, best, x, y, w, h])
    return np.array(out, np.float32).reshape(-1, 6)


def detector_fixtures():
    detector = NudeDetector()
    captured = {}
    run = detector.onnx_session.run

    def capturing_run(names, feeds):
        outputs = run(names, feeds)
        captured["input"], captured["output"] = next(iter(feeds.values())), outputs[0]
        return outputs

    detector.onnx_session.run = capturing_run
    for name, file, image in images():
        path = os.path.join(OUT, file)
        image.save(path, optimize=False)
        detections = detector.detect(path)
        blob, output = captured["input"], captured["output"]
        scaled = np.rint(blob * 255)
        assert np.abs(scaled - blob * 255).max() < 1e-3, "the blob is not 8-bit values / 255"
        cands = candidates(output, image.width, image.height)
        # The float boxes must truncate to the package's integer boxes.
        for d in detections:
            assert any(LABELS[int(c[0])] == d["class"] and np.float32(d["score"]) == c[1]
                       and [int(v) for v in c[2:]] == d["box"] for c in cands), d
        dets = np.array([[LABELS.index(d["class"]), d["score"], *d["box"]] for d in detections],
                        np.float32).reshape(-1, 6)
        save(f"nudenet_{name}.safetensors",
             {"input": scaled.astype(np.uint8), "output": output.astype(np.float32),
              "candidates": cands, "detections": dets},
             {"image": file, "width": image.width, "height": image.height,
              "labels": ",".join(LABELS),
              "detections": json.dumps(detections, sort_keys=True)})
        print(name, detections)


def ops_fixtures():
    rng = np.random.default_rng(5)
    t, m = {}, {}
    # (source width, height), (canvas width, height): zero-padded right/bottom, then resized to 64x64.
    cases = [((23, 17), (23, 17)),     # upscaling, non-square
             ((100, 70), (100, 70)),   # downscaling by non-integer factors
             ((128, 128), (128, 128)), # exact 2x (OpenCV switches to INTER_AREA; same result)
             ((64, 64), (64, 64)),     # identity
             ((30, 45), (45, 45)),     # letterbox: padded on the right, upscaled
             ((120, 80), (120, 120))]  # letterbox: padded at the bottom, downscaled
    for i, ((w, h), (cw, ch)) in enumerate(cases):
        src = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        padded = cv2.copyMakeBorder(src, 0, ch - h, 0, cw - w, cv2.BORDER_CONSTANT)
        out = cv2.resize(padded, (64, 64), interpolation=cv2.INTER_LINEAR)
        t[f"r{i}.src"], t[f"r{i}.out"] = src, out
        m[f"r{i}.canvas"] = f"{cw},{ch}"
    m["resize_cases"] = ",".join(f"r{i}" for i in range(len(cases)))
    # NMS: 40 boxes in clusters (so that some overlap above 0.45 and some do not), scores around
    # the 0.25 threshold, two exact ties.
    centres = rng.uniform(20, 280, (6, 2))
    boxes, scores = [], []
    for k in range(40):
        cx, cy = centres[k % 6] + rng.normal(0, 6, 2)
        w, h = rng.uniform(20, 60, 2)
        boxes.append([cx - w / 2, cy - h / 2, w, h])
        scores.append(rng.uniform(0.15, 0.95))
    scores[7] = scores[13] = 0.6
    boxes = np.array(boxes, np.float32)
    scores = np.array(scores, np.float32)
    keep = cv2.dnn.NMSBoxes([list(b) for b in boxes], list(scores), 0.25, 0.45)
    t["nms.boxes"], t["nms.scores"] = boxes, scores
    t["nms.keep"] = np.array(keep, np.float32).reshape(-1)
    save("nudenet_ops.safetensors", t, m)


if __name__ == "__main__":
    ops_fixtures()
    detector_fixtures()
