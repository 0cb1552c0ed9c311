"""Trains the bundled demo model (Weights/demo) from nothing: see Scripts/train-demo.

The VAE is not learned: it is the fixed AutoencoderKLTemporalDecoder of analytic_vae.py (2x2 average
pooling in, bilinear 2x upsampling out; a learned one trained far too slowly on the CPU). Its
encoder is exactly 2x2 average pooling (to 3e-5), so training computes latents that way.

Trained: UNetSpatioTemporalConditionModel and CLIPVisionModelWithProjection jointly, from random
initialisation, on 8-frame clips at 48x48 (latents 24x24; the CPU budget; the model runs at 128x128
by default, fully convolutional, spatial attention without position embedding), with SVD's
conditioning (image latents of the noise-augmented first frame concatenated on channels, CLIP image
embedding for cross-attention, added time ids [fps-1, motion_bucket_id, noise_aug_strength]) and the
EDM/v-prediction objective of the EulerDiscreteScheduler the pipeline samples with
(c_skip = 1/(s^2+1), c_out = -s/sqrt(s^2+1), c_in = 1/sqrt(s^2+1), timestep 0.25 ln s, loss weight
(s^2+1)/s^2 on x0, the first frame weighted twice). Conditioning is dropped (zero embedding and zero
image latents, the pipeline's unconditional branch) 10% of the time.

Every step's randomness derives from (seed, step), so a resumed run draws what an uninterrupted one
would. Checkpoints: Weights/demo-work/checkpoint.pt (atomic, every few minutes); log: train.log.
"""
import argparse
import json
import math
import os
import signal
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(__file__))
import analytic_vae  # noqa: E402
import data  # noqa: E402

WORK = data.WORK
CKPT = os.path.join(WORK, "checkpoint.pt")
LOG = os.path.join(WORK, "train.log")
FRAMES = 8
SIZE = 48          # training clips are 48x48 (latents 24x24); the model runs at 128x128 by default
DEFAULT_SIZE = 128
DOWN = 2           # the VAE's downscale factor

UNET_CONFIG = dict(sample_size=DEFAULT_SIZE // DOWN, in_channels=8, out_channels=4,
                   down_block_types=["DownBlockSpatioTemporal", "CrossAttnDownBlockSpatioTemporal",
                                     "CrossAttnDownBlockSpatioTemporal"],
                   up_block_types=["CrossAttnUpBlockSpatioTemporal", "CrossAttnUpBlockSpatioTemporal",
                                   "UpBlockSpatioTemporal"],
                   block_out_channels=[64, 64, 128], addition_time_embed_dim=32,
                   projection_class_embeddings_input_dim=96, layers_per_block=1, cross_attention_dim=64,
                   transformer_layers_per_block=1, num_attention_heads=[2, 2, 4], num_frames=FRAMES)
CLIP_CONFIG = dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=2,
                   image_size=224, patch_size=32, projection_dim=64, hidden_act="gelu",
                   layer_norm_eps=1e-5, num_channels=3)
CLIP_MEAN = torch.tensor([0.48145466, 0.4578275, 0.40821073])[:, None, None]
CLIP_STD = torch.tensor([0.26862954, 0.26130258, 0.27577711])[:, None, None]


def log(msg):
    line = time.strftime("%H:%M:%S ") + msg
    print(line, flush=True)
    with open(LOG, "a") as f:
        f.write(line + "\n")


def build(seed):
    from diffusers import UNetSpatioTemporalConditionModel
    from transformers import CLIPVisionConfig, CLIPVisionModelWithProjection
    torch.manual_seed(seed)
    vae = analytic_vae.build()
    unet = UNetSpatioTemporalConditionModel(**UNET_CONFIG)
    clip = CLIPVisionModelWithProjection(CLIPVisionConfig(**CLIP_CONFIG))
    return vae, unet, clip


def clip_pixels(frames0):
    """The pipeline's `_encode_image` preprocessing of images [N, 3, H, W] in [-1, 1]."""
    from diffusers.pipelines.stable_video_diffusion.pipeline_stable_video_diffusion import _resize_with_antialiasing
    x = _resize_with_antialiasing(frames0, (224, 224))
    x = (x + 1) / 2
    return (x - CLIP_MEAN) / CLIP_STD


def step_rng(seed, phase, step):
    rng = np.random.default_rng([seed, phase, step])
    gen = torch.Generator().manual_seed(int(rng.integers(2 ** 62)))
    return rng, gen


def batch(rng, bank, n, size):
    clips, buckets, fpss, motions = [], [], [], []
    for _ in range(n):
        c, b, f, m = data.make_clip(rng, bank, FRAMES, size)
        clips.append(c); buckets.append(b); fpss.append(f); motions.append(m)
    return torch.stack(clips), torch.tensor(buckets, dtype=torch.float32), torch.tensor(fpss, dtype=torch.float32), motions


def lr_at(step, total, base, warmup=100):
    """Linear warm-up, then constant: a run stopped early (or extended with --resume and more
    steps) is the same run up to that step; the exported weights are the EMA."""
    return base * min(1.0, (step + 1) / warmup)


def save(state):
    tmp = CKPT + ".tmp"
    torch.save(state, tmp)
    os.replace(tmp, CKPT)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--resume", action="store_true", help="continue from Weights/demo-work/checkpoint.pt")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--steps", type=int, default=1400)
    ap.add_argument("--batch", type=int, default=2, help="clips per step (8 frames of 48x48 each)")
    ap.add_argument("--lr", type=float, default=3e-4)
    ap.add_argument("--threads", type=int, default=1,
                    help="torch threads: 1 is far faster than 2 on a busy 2-core machine (spinning OpenMP barriers)")
    ap.add_argument("--checkpoint-minutes", type=float, default=4.0)
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    os.makedirs(WORK, exist_ok=True)
    bank = data.Bank()
    vae, unet, clip = build(args.seed)
    unet.to(device); clip.to(device)
    ema = {k: v.detach().clone() for k, v in list(unet.state_dict().items()) + [("clip." + k, v) for k, v in clip.state_dict().items()]}
    state = {"step": 0, "logs": {"unet": []}, "seconds": 0.0, "device": device, "args": vars(args)}
    params = list(unet.parameters()) + list(clip.parameters())
    opt = torch.optim.AdamW(params, lr=args.lr, weight_decay=0.01)
    if args.resume and os.path.exists(CKPT):
        ck = torch.load(CKPT, weights_only=False, map_location=device)
        unet.load_state_dict(ck["unet"]); clip.load_state_dict(ck["clip"])
        opt.load_state_dict(ck["opt"])
        ema = ck["ema"]
        state = ck["state"]
        state["args"] = vars(args)
        log(f"resumed at step {state['step']} ({state['seconds'] / 60:.1f} min trained), now to {args.steps} steps")
    else:
        open(LOG, "w").close()
        # latent scale: 1 / std of the colour latents of 16 clips (channel 3 is always 0)
        rng, _ = step_rng(args.seed, 9, 0)
        clips, _, _, _ = batch(rng, bank, 16, SIZE)
        z = analytic_vae.encode_reference(clips.flatten(0, 1))[:, :3]
        state["scaling_factor"] = float(1.0 / z.std())
        log(f"fresh run, device {device}, threads {args.threads}, args {vars(args)}; "
            f"latent std {z.std():.4f} -> scaling_factor {state['scaling_factor']:.4f}")

    def checkpoint():
        save({"unet": unet.state_dict(), "clip": clip.state_dict(), "opt": opt.state_dict(), "ema": ema, "state": state})

    last_ck = time.time()
    t_start = time.time() - state["seconds"]
    sf = state["scaling_factor"]
    unet.train(); clip.train()
    cached = None
    stop = []  # SIGTERM / Ctrl-C: finish the step, write the checkpoint, exit (resume with --resume)
    signal.signal(signal.SIGTERM, lambda *_: stop.append(True))
    signal.signal(signal.SIGINT, lambda *_: stop.append(True))
    while state["step"] < args.steps and not stop:
        s = state["step"]
        rng, gen = step_rng(args.seed, 2, s)
        for g in opt.param_groups:
            g["lr"] = lr_at(s, args.steps, args.lr)
        # each batch of clips is used for two steps (different noise levels and draws)
        if s % 2 == 0 or cached is None:
            crng, cgen = step_rng(args.seed, 3, s // 2)
            clips, buckets, fpss, motions = batch(crng, bank, args.batch, SIZE)
            B = clips.shape[0]
            u = crng.random(B)
            aug = torch.tensor(np.where(u < 0.2, 0.0, np.exp(crng.uniform(math.log(0.005), math.log(0.3), B))), dtype=torch.float32)
            with torch.no_grad():
                x0 = analytic_vae.encode_reference(clips.flatten(0, 1)).view(B, FRAMES, 4, SIZE // DOWN, SIZE // DOWN) * sf
                cond_img = clips[:, 0] + aug[:, None, None, None] * torch.randn(clips[:, 0].shape, generator=cgen)
                cond_lat = analytic_vae.encode_reference(cond_img)  # unscaled, as the pipeline
                pix = clip_pixels(clips[:, 0])
            cached = [t.to(device) for t in (buckets, fpss, aug, x0, cond_lat, pix)]
        buckets, fpss, aug, x0, cond_lat, pix = cached
        B = x0.shape[0]
        # noise level: SVD's log-normal (P_mean 0.7, P_std 1.6) mixed with log-uniform over the sampler's range
        ln_s = torch.randn(B, generator=gen) * 1.6 + 0.7
        uni = torch.rand(B, generator=gen) * (math.log(700) - math.log(0.002)) + math.log(0.002)
        pick = torch.rand(B, generator=gen) < 0.25
        sigma = torch.where(pick, uni, ln_s).clamp(math.log(0.002), math.log(700)).exp()
        noise = torch.randn(x0.shape, generator=gen)
        drop = (torch.rand(B, generator=gen) < 0.1).float()
        sigma, noise, drop = sigma.to(device), noise.to(device), drop.to(device)
        sg = sigma[:, None, None, None, None]
        noisy = x0 + sg * noise
        c_in = 1 / torch.sqrt(sg ** 2 + 1)
        c_skip = 1 / (sg ** 2 + 1)
        c_out = -sg / torch.sqrt(sg ** 2 + 1)
        emb = clip(pixel_values=pix).image_embeds[:, None, :] * (1 - drop)[:, None, None]
        cl = (cond_lat * (1 - drop)[:, None, None, None])[:, None].expand(-1, FRAMES, -1, -1, -1)
        inp = torch.cat([noisy * c_in, cl], dim=2)
        added = torch.stack([fpss - 1, buckets, aug], dim=1)
        v = unet(inp, 0.25 * sigma.log(), encoder_hidden_states=emb, added_time_ids=added).sample
        x0_hat = c_skip * noisy + c_out * v
        w = (sg ** 2 + 1) / sg ** 2
        fw = torch.ones(1, FRAMES, 1, 1, 1, device=device); fw[:, 0] = 2.0   # the first frame must reproduce the input
        loss = (w * fw * (x0_hat - x0) ** 2).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        gn = torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        with torch.no_grad():
            d = min(0.998, (1 + s) / (10 + s))
            for k, p in unet.state_dict().items():
                ema[k].mul_(d).add_(p.detach(), alpha=1 - d)
            for k, p in clip.state_dict().items():
                ema["clip." + k].mul_(d).add_(p.detach(), alpha=1 - d)
            f0 = ((x0_hat[:, 0] - x0[:, 0]) ** 2).mean().item()
        state["logs"]["unet"].append([s, loss.item(), float(sigma.mean()), f0, float(gn)])
        state["step"] += 1
        state["seconds"] = time.time() - t_start
        if s % 10 == 0:
            recent = [r[1] for r in state["logs"]["unet"][-50:]]
            log(f"step {s}/{args.steps} loss {loss.item():.4f} (mean of 50: {sum(recent) / len(recent):.4f}) "
                f"frame0 mse {f0:.4f} sigma {[round(x, 3) for x in sigma.tolist()]} ({state['seconds'] / 60:.1f} min)")
        if time.time() - last_ck > args.checkpoint_minutes * 60:
            checkpoint(); last_ck = time.time()
    checkpoint()
    log(f"training {'stopped by a signal' if stop else 'done'}: {state['step']} steps in {state['seconds'] / 60:.1f} min on {device}")


if __name__ == "__main__":
    main()
