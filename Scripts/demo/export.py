"""Exports the demo model from Weights/demo-work/checkpoint.pt to Weights/demo as a diffusers
StableVideoDiffusionPipeline folder (model_index.json, unet/, vae/, image_encoder/, scheduler/,
feature_extractor/) plus img2vid.json (the quick start's defaults, read by img2vid only).
UNet and image encoder weights are the EMA of training; the VAE is the fixed one of analytic_vae.py.
The scheduler and feature extractor configs are SVD-XT's (Models/svd-xt), unchanged.
"""
import argparse
import json
import os
import shutil
import sys

import torch

sys.path.insert(0, os.path.dirname(__file__))
import analytic_vae  # noqa: E402
import data  # noqa: E402
import train  # noqa: E402

OUT = os.path.join(data.ROOT, "Weights", "demo")

# Quick-start defaults: the size and frame count of the demo, 12 Euler steps, no classifier-free guidance
# (measured: same first-frame PSNR, more motion and half the time of guidance 1 -> 2 or 1 -> 3).
DEFAULTS = {"width": 128, "height": 128, "num_inference_steps": 12, "fps": 7, "motion_bucket_id": 127,
            "noise_aug_strength": 0.02, "min_guidance_scale": 1.0, "max_guidance_scale": 1.0,
            "decode_chunk_size": 8}


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--checkpoint", default=train.CKPT)
    ap.add_argument("--out", default=OUT)
    ap.add_argument("--fp32", action="store_true", help="store weights as float32 (twice the size: about 49 MB)")
    ap.add_argument("--no-ema", action="store_true", help="export the raw UNet/CLIP weights instead of the EMA")
    args = ap.parse_args()
    from diffusers import EulerDiscreteScheduler, StableVideoDiffusionPipeline
    from transformers import CLIPImageProcessor

    ck = torch.load(args.checkpoint, weights_only=False)
    vae, unet, clip = train.build(0)
    if args.no_ema:
        unet.load_state_dict(ck["unet"]); clip.load_state_dict(ck["clip"])
    else:
        ema = ck["ema"]
        unet.load_state_dict({k: v for k, v in ema.items() if not k.startswith("clip.")})
        clip.load_state_dict({k[5:]: v for k, v in ema.items() if k.startswith("clip.")})
    vae.register_to_config(scaling_factor=float(ck["state"]["scaling_factor"]))
    sched = EulerDiscreteScheduler.from_pretrained(os.path.join(data.ROOT, "Models", "svd-xt", "scheduler"))
    fe = CLIPImageProcessor.from_pretrained(os.path.join(data.ROOT, "Models", "svd-xt", "feature_extractor"))
    pipe = StableVideoDiffusionPipeline(vae=vae, image_encoder=clip, unet=unet, scheduler=sched, feature_extractor=fe)
    if not args.fp32:
        # float16 files (about 25 MB); img2vid widens them to float32, diffusers loads them with
        # torch_dtype=torch.float32 (the analytic VAE's constants survive: 70.71 -> 70.69, a 3e-4 gain)
        pipe.to(torch.float16)
    keep = {"README.md", "loss.png", "contact-sheet.png", "metrics.json"}
    if os.path.isdir(args.out):
        for name in os.listdir(args.out):
            if name not in keep:
                p = os.path.join(args.out, name)
                shutil.rmtree(p) if os.path.isdir(p) else os.remove(p)
    pipe.save_pretrained(args.out, safe_serialization=True)
    # the feature extractor as released (save_pretrained rewrites it with transformers' own keys)
    shutil.copy(os.path.join(data.ROOT, "Models", "svd-xt", "feature_extractor", "preprocessor_config.json"),
                os.path.join(args.out, "feature_extractor", "preprocessor_config.json"))
    # without torchvision, transformers names its PIL fallback class; the released name loads everywhere
    index_path = os.path.join(args.out, "model_index.json")
    with open(index_path) as f:
        index = json.load(f)
    index["feature_extractor"] = ["transformers", "CLIPImageProcessor"]
    with open(index_path, "w") as f:
        json.dump(index, f, indent=2)
        f.write("\n")
    for d, _, names in os.walk(args.out):
        for n in names:
            os.chmod(os.path.join(d, n), 0o644)
    with open(os.path.join(args.out, "img2vid.json"), "w") as f:
        json.dump(DEFAULTS, f, indent=2)
        f.write("\n")
    total = sum(os.path.getsize(os.path.join(d, n)) for d, _, ns in os.walk(args.out) for n in ns)
    st = ck["state"]
    print(f"exported {args.out}: {total / 1e6:.1f} MB; step {st['step']}, "
          f"{st['seconds'] / 60:.1f} min trained, scaling_factor {st['scaling_factor']:.4f}")


if __name__ == "__main__":
    main()
