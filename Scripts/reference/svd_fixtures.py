"""A tiny random-weight Stable Video Diffusion pipeline with full reference traces.

Writes under Tests/SVDTests/Fixtures/ (6 MB in all; Scripts/reference/README.md lists every tensor name):
  tiny/pipeline/                 a real diffusers pipeline folder (model_index.json, unet/, vae/, image_encoder/,
                                 scheduler/, feature_extractor/); weights as fp16 variant files only
                                 (*.fp16.safetensors: load with variant "fp16")
  tiny/input-<run>.png           synthetic RGB inputs, exactly width x height
  tiny/trace-<run>.safetensors   every intermediate of one `pipe(...)` call on CPU in float32 for each of RUNS
  tiny/clip.safetensors          one CLIP vision forward with intermediate outputs
  tiny/vae.safetensors           one VAE encode (image -> latent mode) and one decode (latents, num_frames -> frames)
  tiny/unet.safetensors          one UNet forward with intermediate outputs named after diffusers modules
  resize.safetensors             diffusers' _resize_with_antialiasing (downscaling cases: the Gaussian blur)
  clip-quickgelu/                a CLIP vision folder with hidden_act quick_gelu and one forward

Every parameter is re-randomised after construction (seeded normal, scaled per tensor by fan-in;
AlphaBlender mix factors uniform in [-1, 1]) so that no layer is zero or constant and a port that skips
a layer fails parity (`--check-parameters` verifies it by perturbing every parameter tensor; slow).
Rerunning rewrites the same bytes.

Run: .venv-reference/bin/python Scripts/reference/svd_fixtures.py [--check-parameters]
"""
import json
import math
import os
import shutil
import sys

import numpy as np
import PIL.Image
import torch
import diffusers
import transformers
from diffusers import (AutoencoderKLTemporalDecoder, EulerDiscreteScheduler, StableVideoDiffusionPipeline,
                       UNetSpatioTemporalConditionModel)
from diffusers.pipelines.stable_video_diffusion import pipeline_stable_video_diffusion as svd_module
from transformers import CLIPImageProcessor, CLIPVisionConfig, CLIPVisionModelWithProjection

diffusers.utils.logging.set_verbosity_error()
diffusers.utils.logging.disable_progress_bar()
transformers.utils.logging.set_verbosity_error()
transformers.utils.logging.disable_progress_bar()
import warnings  # noqa: E402
warnings.filterwarnings("ignore", category=FutureWarning)

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
FIXTURES = os.path.join(ROOT, "Tests", "SVDTests", "Fixtures")
SIZE_LIMIT = 8_000_000

CROSS = "CrossAttnDownBlockSpatioTemporal"
DOWN = "DownBlockSpatioTemporal"
CROSS_UP = "CrossAttnUpBlockSpatioTemporal"
UP = "UpBlockSpatioTemporal"

# Scheduler of both releases (Models/svd-xt/scheduler/scheduler_config.json).
SCHEDULER = dict(beta_end=0.012, beta_schedule="scaled_linear", beta_start=0.00085, interpolation_type="linear",
                 num_train_timesteps=1000, prediction_type="v_prediction", sigma_max=700.0, sigma_min=0.002,
                 steps_offset=1, timestep_spacing="leading", timestep_type="continuous", use_karras_sigmas=True)

# The tiny model. Every block type of the real UNet (CrossAttnDown, Down with and without downsampler, mid,
# Up with upsampler, CrossAttnUp) and of the real VAE (4 levels, latents at 1/8, layers_per_block 2 so that
# the decoder's mid-block attention runs; with 1 it is skipped). Channel counts: GroupNorm has 32 groups,
# so at 32 channels every group is one channel and any per-channel constant added before a GroupNorm
# (conv1 biases, the time-embedding projection of a resnet) cancels exactly. The second UNet level and
# the mid block therefore have 64 channels: there the timestep and added_time_ids change the output.
MODEL = dict(
    seed=1234,
    unet=dict(block_out_channels=[32, 64], layers_per_block=1, num_attention_heads=[1, 2],
              down_block_types=[CROSS, DOWN], up_block_types=[UP, CROSS_UP], cross_attention_dim=32,
              addition_time_embed_dim=8, projection_class_embeddings_input_dim=24,
              transformer_layers_per_block=1, num_frames=4, sample_size=4, in_channels=8, out_channels=4),
    vae=dict(block_out_channels=[32, 32, 32, 32], layers_per_block=2, latent_channels=4,
             down_block_types=["DownEncoderBlock2D"] * 4, sample_size=32),
    clip=dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2, patch_size=14,
              image_size=224, projection_dim=32, hidden_act="gelu", layer_norm_eps=1e-5),
)

# Pipeline calls traced with the tiny model (trace-<name>.safetensors, input-<name>.png).
RUNS = {
    # square, 4 frames, 3 steps, guidance 1.0 -> 2.5
    "a": dict(seed=1234, width=32, height=32, num_frames=4, num_inference_steps=3, decode_chunk_size=4,
              fps=7, motion_bucket_id=127, noise_aug_strength=0.02, min_guidance_scale=1.0, max_guidance_scale=2.5),
    # the same with max_guidance_scale 1.0: no classifier-free guidance batch
    "a-noguidance": dict(seed=1234, width=32, height=32, num_frames=4, num_inference_steps=3, decode_chunk_size=4,
                         fps=7, motion_bucket_id=127, noise_aug_strength=0.02, min_guidance_scale=1.0,
                         max_guidance_scale=1.0),
    # non-square with an odd latent width (8x5 -> 4x3 -> the upsampler is given size 8x5), 5 frames, 4 steps,
    # decode chunk 2 (does not divide 5), non-default fps, motion bucket and noise augmentation
    "b": dict(seed=98765, width=64, height=40, num_frames=5, num_inference_steps=4, decode_chunk_size=2,
              fps=10, motion_bucket_id=60, noise_aug_strength=0.05, min_guidance_scale=1.0, max_guidance_scale=3.0),
}

# A second CLIP vision encoder with hidden_act "quick_gelu" (the tiny model's is "gelu", like the release),
# image_size 28 so that its fixture input is small: written as a transformers folder plus one forward.
CLIP_QUICK_GELU = dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2,
                       patch_size=14, image_size=28, projection_dim=32, hidden_act="quick_gelu", layer_norm_eps=1e-5)

# _resize_with_antialiasing cases (the CLIP branch of both pipelines only upsamples, where the Gaussian
# blur is a no-op, so the blur gets its own fixture): (input height, width) -> output size.
RESIZE_CASES = [
    ((36, 64), (14, 14)),    # the 576x1024 -> 224x224 ratio of the real model, scaled by 1/16
    ((48, 80), (12, 16)),    # factors 4 and 5: kernel 7x9
    ((12, 10), (30, 28)),    # upsampling (sigma 0.001, kernel 3)
]


# ----------------------------------------------------------------------------------------------------------
# Construction and re-randomisation


def rerandomise(module, generator, output_gain=None):
    """Overwrites every parameter with seeded random values.

    Weights of Linear/Conv layers: normal with std gain/sqrt(fan_in) (variance preserving); biases: std 0.05;
    normalisation weights 1 + N(0, 0.1), their biases N(0, 0.1); embeddings std 0.5 (CLIP class and position
    embeddings); AlphaBlender mix_factor uniform in [-1, 1]. `output_gain` maps a parameter name to a gain
    used instead of 1 (to keep outputs in a useful range).
    """
    output_gain = output_gain or {}
    norm_types = (torch.nn.GroupNorm, torch.nn.LayerNorm)
    owners = {}
    for mname, m in module.named_modules():
        for pname, _ in m.named_parameters(recurse=False):
            owners[f"{mname}.{pname}" if mname else pname] = m
    with torch.no_grad():
        for name, p in module.named_parameters():
            owner = owners[name]
            leaf = name.rsplit(".", 1)[-1]
            if leaf == "mix_factor":
                v = torch.rand(p.shape, generator=generator) * 2 - 1
            elif isinstance(owner, norm_types):
                v = (1.0 if leaf == "weight" else 0.0) + 0.1 * torch.randn(p.shape, generator=generator)
            elif isinstance(owner, torch.nn.Embedding) or leaf == "class_embedding":
                v = 0.5 * torch.randn(p.shape, generator=generator)
            elif leaf == "bias":
                v = 0.05 * torch.randn(p.shape, generator=generator)
            elif p.dim() >= 2:
                fan_in = p[0].numel()
                gain = output_gain.get(name, 1.0)
                v = gain / math.sqrt(fan_in) * torch.randn(p.shape, generator=generator)
            else:
                v = 0.1 * torch.randn(p.shape, generator=generator)
            p.copy_(v.to(p.dtype))


def build_pipeline(spec):
    torch.manual_seed(spec["seed"])
    unet = UNetSpatioTemporalConditionModel(**spec["unet"])
    vae = AutoencoderKLTemporalDecoder(**spec["vae"])
    image_encoder = CLIPVisionModelWithProjection(CLIPVisionConfig(**spec["clip"]))
    scheduler = EulerDiscreteScheduler(**SCHEDULER)
    feature_extractor = CLIPImageProcessor(crop_size={"height": 224, "width": 224}, size={"shortest_edge": 224})

    g = torch.Generator("cpu").manual_seed(spec["seed"] + 1)
    rerandomise(unet, g, {"conv_out.weight": 1.0})
    rerandomise(vae, g, {"decoder.conv_out.weight": 0.8, "decoder.time_conv_out.weight": 0.8})
    rerandomise(image_encoder, g)
    for m in (unet, vae, image_encoder):
        m.eval()
    pipe = StableVideoDiffusionPipeline(vae=vae, image_encoder=image_encoder, unet=unet, scheduler=scheduler,
                                        feature_extractor=feature_extractor)
    pipe.set_progress_bar_config(disable=True)
    return pipe


def check_all_parameters_random(pipe):
    for comp in ("unet", "vae", "image_encoder"):
        for name, p in getattr(pipe, comp).named_parameters():
            if p.numel() > 1 and float(p.detach().float().std()) == 0.0:
                raise SystemExit(f"{comp}.{name} is constant after re-randomisation")
            if p.numel() == 1 and float(p.detach().abs()) == 0.0:
                raise SystemExit(f"{comp}.{name} is zero after re-randomisation")


# ----------------------------------------------------------------------------------------------------------
# Input image


def synthetic_image(width, height):
    """Deterministic RGB test card: gradients, a disc, a rectangle, a diagonal stripe pattern."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    u, v = x / max(width - 1, 1), y / max(height - 1, 1)
    r = 0.15 + 0.7 * u
    g = 0.2 + 0.6 * v
    b = 0.5 + 0.35 * np.sin(2 * np.pi * (u + v))
    img = np.stack([r, g, b], axis=-1)
    cx, cy, rad = 0.35 * width, 0.55 * height, 0.22 * min(width, height)
    disc = (x - cx) ** 2 + (y - cy) ** 2 <= rad ** 2
    img[disc] = [0.95, 0.85, 0.1]
    rect = (x >= 0.6 * width) & (x < 0.85 * width) & (y >= 0.15 * height) & (y < 0.45 * height)
    img[rect] = [0.1, 0.2, 0.8]
    stripes = ((x + y) // 4 % 2 == 0) & (y > 0.75 * height)
    img[stripes] *= 0.4
    return PIL.Image.fromarray(np.clip(np.round(img * 255), 0, 255).astype(np.uint8), mode="RGB")


# ----------------------------------------------------------------------------------------------------------
# Tracing


def t32(x):
    return x.detach().to(torch.float32).contiguous().clone()


def generate_frames(pipe, image, spec):
    """One `pipe(...)` call with the run's settings and its seeded CPU generator; frames as numpy."""
    return pipe(
        image,
        height=spec["height"], width=spec["width"], num_frames=spec["num_frames"],
        num_inference_steps=spec["num_inference_steps"], min_guidance_scale=spec["min_guidance_scale"],
        max_guidance_scale=spec["max_guidance_scale"], fps=spec["fps"], motion_bucket_id=spec["motion_bucket_id"],
        noise_aug_strength=spec["noise_aug_strength"], decode_chunk_size=spec["decode_chunk_size"],
        generator=torch.Generator("cpu").manual_seed(spec["seed"]), output_type="np",
    ).frames


def run_traced(pipe, image, spec):
    """Runs the pipeline once and returns (tensors, metadata) of everything it computed."""
    trace = {}
    meta = {}
    draws = []
    unet_calls = []
    decode_calls = []
    encoder_io = {}
    vae_encode_io = {}
    sched_steps = []

    original_randn = svd_module.randn_tensor

    def randn_recorder(*args, **kwargs):
        out = original_randn(*args, **kwargs)
        draws.append(t32(out))
        return out

    def encoder_hook(module, args, kwargs, output):
        pv = args[0] if args else kwargs["pixel_values"]
        encoder_io["pixel_values"] = t32(pv)
        encoder_io["image_embeds"] = t32(output.image_embeds)
        encoder_io["last_hidden_state"] = t32(output.last_hidden_state)

    def unet_hook(module, args, kwargs, output):
        sample = args[0] if args else kwargs["sample"]
        timestep = args[1] if len(args) > 1 else kwargs["timestep"]
        unet_calls.append(dict(
            latent_model_input=t32(sample),
            timestep=t32(torch.as_tensor(timestep).reshape(1)),
            encoder_hidden_states=t32(kwargs["encoder_hidden_states"]),
            added_time_ids=t32(kwargs["added_time_ids"]),
            noise_pred=t32(output[0] if isinstance(output, tuple) else output.sample),
        ))

    vae = pipe.vae
    original_encode = vae.encode
    original_decode = vae.decode

    def encode_recorder(x, *args, **kwargs):
        out = original_encode(x, *args, **kwargs)
        vae_encode_io["input"] = t32(x)
        vae_encode_io["mean"] = t32(out.latent_dist.mean)
        vae_encode_io["logvar"] = t32(out.latent_dist.logvar)
        return out

    def decode_recorder(z, *args, **kwargs):
        out = original_decode(z, *args, **kwargs)
        decode_calls.append(dict(latents=t32(z), frames=t32(out.sample), num_frames=kwargs.get("num_frames")))
        return out

    sched = pipe.scheduler
    original_step = sched.step

    def step_recorder(model_output, timestep, sample, *args, **kwargs):
        out = original_step(model_output, timestep, sample, *args, **kwargs)
        sched_steps.append(dict(model_output=t32(model_output), sample=t32(sample), prev_sample=t32(out.prev_sample)))
        return out

    h1 = pipe.image_encoder.register_forward_hook(encoder_hook, with_kwargs=True)
    h2 = pipe.unet.register_forward_hook(unet_hook, with_kwargs=True)
    svd_module.randn_tensor = randn_recorder
    vae.encode = encode_recorder
    vae.decode = decode_recorder
    sched.step = step_recorder
    max_g = spec["max_guidance_scale"]
    try:
        with torch.no_grad():
            frames = generate_frames(pipe, image, spec)
    finally:
        h1.remove()
        h2.remove()
        svd_module.randn_tensor = original_randn
        del vae.encode, vae.decode, sched.step

    steps = spec["num_inference_steps"]
    cfg = max_g > 1.0
    assert len(draws) == 2, f"expected two generator draws, got {len(draws)}"
    assert len(unet_calls) == steps and len(sched_steps) == steps
    f, h, w = spec["num_frames"], spec["height"], spec["width"]

    # 1. CLIP branch
    trace["clip_pixel_values"] = encoder_io["pixel_values"]   # after CLIP mean/std normalisation
    trace["image_embeds"] = encoder_io["image_embeds"]        # [1, projection_dim]
    # 2. VAE conditioning branch
    noise = draws[0]
    vae_input = vae_encode_io["input"]
    trace["noise_aug"] = noise
    trace["vae_input"] = vae_input
    trace["image_latents"] = vae_encode_io["mean"][-1:]       # the mode (cond half when CFG batch)
    # 3. latents and schedule
    trace["init_noise"] = draws[1]
    trace["init_latents"] = t32(draws[1] * pipe.scheduler.init_noise_sigma)
    trace["sigmas"] = t32(pipe.scheduler.sigmas)
    trace["timesteps"] = t32(pipe.scheduler.timesteps)
    trace["guidance_scale"] = t32(torch.linspace(spec["min_guidance_scale"], max_g, f))
    trace["added_time_ids"] = unet_calls[0]["added_time_ids"]
    # 4. per step
    for i, (call, st) in enumerate(zip(unet_calls, sched_steps)):
        for k in ("latent_model_input", "timestep", "encoder_hidden_states", "added_time_ids", "noise_pred"):
            trace[f"step{i}.{k}"] = call[k]
        trace[f"step{i}.guided_noise_pred"] = st["model_output"]
        trace[f"step{i}.latents"] = st["prev_sample"]
    trace["final_latents"] = sched_steps[-1]["prev_sample"]
    # 5. decode
    for j, d in enumerate(decode_calls):
        trace[f"decode{j}.latents"] = d["latents"]
        meta[f"decode{j}.num_frames"] = str(d["num_frames"])
    trace["frames"] = torch.from_numpy(np.ascontiguousarray(frames)).to(torch.float32)  # [1, F, H, W, 3] in [0,1]
    u8 = (frames * 255).round().astype("uint8")               # VaeImageProcessor.numpy_to_pil
    trace["frames_u8"] = torch.from_numpy(np.ascontiguousarray(u8))

    # The VAE image before noise: what video_processor.preprocess returned (recomputed, then checked).
    pre = pipe.video_processor.preprocess(image, height=h, width=w).to(torch.float32)
    trace["vae_image"] = t32(pre)
    if not torch.equal(pre + spec["noise_aug_strength"] * noise, vae_input):
        raise SystemExit("vae_input != vae_image + noise_aug_strength * noise_aug")

    meta.update({
        "seed": str(spec["seed"]), "num_inference_steps": str(steps), "num_frames": str(f), "width": str(w),
        "height": str(h), "fps": str(spec["fps"]), "motion_bucket_id": str(spec["motion_bucket_id"]),
        "noise_aug_strength": repr(spec["noise_aug_strength"]), "min_guidance_scale": repr(spec["min_guidance_scale"]),
        "max_guidance_scale": repr(float(max_g)), "decode_chunk_size": str(spec["decode_chunk_size"]),
        "do_classifier_free_guidance": "1" if cfg else "0", "num_decode_chunks": str(len(decode_calls)),
        "init_noise_sigma": repr(float(pipe.scheduler.init_noise_sigma)),
        "vae_scale_factor": str(pipe.vae_scale_factor), "scaling_factor": repr(pipe.vae.config.scaling_factor),
        "clip_hidden_act": pipe.image_encoder.config.hidden_act,
        "generator": "torch.Generator('cpu').manual_seed(seed): draw 1 noise_aug, draw 2 init_noise",
        "diffusers_version": diffusers.__version__, "torch_version": torch.__version__,
        "transformers_version": transformers.__version__, "pipeline": "pipeline",
    })
    return trace, meta, frames


def check_not_degenerate(trace, name):
    frames = trace["frames"]
    lat = trace["final_latents"]
    if not torch.isfinite(lat).all() or not torch.isfinite(frames).all():
        raise SystemExit(f"{name}: non-finite values")
    sat = float(((frames <= 0.0) | (frames >= 1.0)).float().mean())
    per_frame_std = frames[0].reshape(frames.shape[1], -1, 3).std(1)
    print(f"  {name}: final latents |max| {float(lat.abs().max()):.3f} std {float(lat.std()):.3f}; "
          f"frames mean {float(frames.mean()):.3f} std {float(frames.std()):.3f}, saturated {sat:.1%}, "
          f"min per-frame channel std {float(per_frame_std.min()):.3f}; "
          f"noise_pred std {float(trace['step0.noise_pred'].std()):.3f}; image_embeds std {float(trace['image_embeds'].std()):.3f}")
    if float(per_frame_std.min()) < 0.02:
        raise SystemExit(f"{name}: a frame is (nearly) one colour")
    if sat > 0.05:
        raise SystemExit(f"{name}: {sat:.0%} of frame values are clipped")
    if float(lat.abs().max()) > 50:
        raise SystemExit(f"{name}: latents blew up")
    # frames must differ from each other (temporal layers and per-frame guidance act)
    fr = frames[0]
    if float((fr[1:] - fr[:-1]).abs().max()) < 1e-3:
        raise SystemExit(f"{name}: all frames identical")


def check_every_parameter_matters(pipe, spec):
    """Perturbs each parameter tensor in turn and checks the output of its component moves: no weight is
    dead, so a port that skips or misplaces a layer cannot pass the parity tests."""
    g = torch.Generator("cpu").manual_seed(5)
    h8, w8 = spec["height"] // pipe.vae_scale_factor, spec["width"] // pipe.vae_scale_factor
    f = spec["num_frames"]
    unet_in = (torch.randn(2, f, 8, h8, w8, generator=g), torch.tensor(1.3),
               torch.randn(2, 1, pipe.unet.config.cross_attention_dim, generator=g),
               torch.tensor([[6.0, 127.0, 0.02], [9.0, 30.0, 0.3]]))
    img = torch.rand(1, 3, spec["height"], spec["width"], generator=g) * 2 - 1
    z = torch.randn(f, 4, h8, w8, generator=g)
    pv = torch.randn(1, 3, 224, 224, generator=g)
    runs = {
        "unet": lambda: pipe.unet(*unet_in[:2], encoder_hidden_states=unet_in[2], added_time_ids=unet_in[3],
                                  return_dict=False)[0],
        "vae": lambda: torch.cat([pipe.vae.encode(img).latent_dist.mode().flatten(),
                                  pipe.vae.decode(z, num_frames=f).sample.flatten()]),
        "image_encoder": lambda: torch.cat([pipe.image_encoder(pv).image_embeds.flatten()]),
    }
    dead = []
    with torch.no_grad():
        for comp, run in runs.items():
            base = run()
            for name, p in getattr(pipe, comp).named_parameters():
                saved = p.detach().clone()
                p.add_(0.2 * (saved.abs().mean() + 1e-2) * torch.randn(p.shape, generator=g))
                moved = float((run() - base).abs().max()) / float(base.abs().max())
                p.copy_(saved)
                if not moved > 1e-6:
                    dead.append(f"{comp}.{name} ({moved:.1e})")
    single_token = [d for d in dead if any(k in d for k in (".attn2.to_q.", ".attn2.to_k.", ".norm2."))
                    and "attentions" in d and "resnets" not in d]
    other = [d for d in dead if d not in single_token]
    print(f"  {len(single_token)} parameter tensors are inert because cross-attention has a single key "
          f"(softmax over one token is 1, as in the real model): attn2.to_q, attn2.to_k and the norm2 feeding them")
    if other:
        print(f"  {len(other)} other parameter tensors barely move the output (relative change <= 1e-6):")
        for d in other:
            print(f"    {d}")


# ----------------------------------------------------------------------------------------------------------
# Module-level fixtures (tiny-a)


def clip_tensors(model, pv, out):
    """Outputs of one CLIPVisionModelWithProjection forward (`out` from output_hidden_states=True)."""
    vm = model.vision_model
    tensors = {"vision_model.embeddings": t32(vm.embeddings(pv)),
               "vision_model.pre_layrnorm": t32(out.hidden_states[0]),  # transformers' hidden_states[0]
               "last_hidden_state": t32(out.last_hidden_state),
               "pooled_output": t32(vm.post_layernorm(out.last_hidden_state[:, 0, :])),
               "image_embeds": t32(out.image_embeds)}
    for i, hs in enumerate(out.hidden_states[1:-1]):  # the last one is last_hidden_state
        tensors[f"vision_model.encoder.layers.{i}"] = t32(hs)
    assert torch.equal(out.hidden_states[0], vm.pre_layrnorm(vm.embeddings(pv)))
    return tensors


def module_fixtures(pipe, trace, spec, out_dir):
    g = torch.Generator("cpu").manual_seed(spec["seed"] + 7)
    written = []
    with torch.no_grad():
        # CLIP vision forward
        pv = trace["clip_pixel_values"]
        out = pipe.image_encoder(pv, output_hidden_states=True)
        clip = clip_tensors(pipe.image_encoder, pv, out)
        save(clip, os.path.join(out_dir, "clip.safetensors"), {
            "hidden_act": pipe.image_encoder.config.hidden_act, "layer_norm_eps": repr(pipe.image_encoder.config.layer_norm_eps),
            "input": "trace-a.safetensors clip_pixel_values",
            "note": "names are transformers module names (outputs); last_hidden_state = output of the last encoder "
                    "layer; pooled_output = post_layernorm(last_hidden_state[:, 0]); "
                    "image_embeds = visual_projection(pooled_output)"})
        written.append("clip.safetensors")

        # VAE encode and decode on their own
        img = trace["vae_input"]
        enc = pipe.vae.encode(img).latent_dist
        dec_frames = 2
        h8, w8 = spec["height"] // pipe.vae_scale_factor, spec["width"] // pipe.vae_scale_factor
        z = torch.randn(dec_frames, 4, h8, w8, generator=g)
        dec = pipe.vae.decode(z, num_frames=dec_frames).sample
        save({"encode.latent_mode": t32(enc.mode()), "encode.logvar": t32(enc.logvar),
                   "decode.latents": t32(z), "decode.frames": t32(dec)},
                  os.path.join(out_dir, "vae.safetensors"),
                  {"decode.num_frames": str(dec_frames), "encode.input": "trace-a.safetensors vae_input",
                            "note": "decode takes the latents as given (no 1/scaling_factor); frames are the raw decoder output"})
        written.append("vae.safetensors")

        # UNet forward with intermediate outputs
        unet = pipe.unet
        b, f = 1, 3
        sample = torch.randn(b, f, 8, h8, w8, generator=g)
        timestep = torch.tensor(0.25 * math.log(7.5))
        ehs = torch.randn(b, 1, unet.config.cross_attention_dim, generator=g)
        ids = torch.tensor([[3.0, 200.0, 0.1]], dtype=torch.float32)
        record = {}
        names = ["conv_in", "time_embedding", "add_embedding", "mid_block", "conv_norm_out", "conv_out"]
        names += [f"down_blocks.{i}" for i in range(len(unet.down_blocks))]
        names += [f"up_blocks.{i}" for i in range(len(unet.up_blocks))]
        names += ["down_blocks.0.resnets.0", "down_blocks.0.resnets.0.spatial_res_block",
                  "down_blocks.0.resnets.0.temporal_res_block", "down_blocks.0.attentions.0",
                  "down_blocks.0.attentions.0.time_pos_embed", "down_blocks.0.downsamplers.0",
                  "up_blocks.0.upsamplers.0"]
        hooks = []
        mods = dict(unet.named_modules())

        def make_hook(n):
            def hook(module, args, output):
                if isinstance(output, tuple):
                    output = output[0]
                if hasattr(output, "sample"):
                    output = output.sample
                record[n] = t32(output)
            return hook

        for n in names:
            hooks.append(mods[n].register_forward_hook(make_hook(n)))
        try:
            outp = unet(sample, timestep, encoder_hidden_states=ehs, added_time_ids=ids, return_dict=False)[0]
        finally:
            for hk in hooks:
                hk.remove()
        tensors = {"input.sample": t32(sample), "input.timestep": t32(timestep.reshape(1)),
                   "input.encoder_hidden_states": t32(ehs), "input.added_time_ids": ids, "output": t32(outp)}
        for n, v in record.items():
            tensors[n] = v
        save(tensors, os.path.join(out_dir, "unet.safetensors"), {
            "batch": str(b), "num_frames": str(f),
            "note": "tensor names are diffusers module names; a block returning a tuple records its first element "
                    "(down blocks: hidden states after the block incl. downsampler); frames flattened into the batch "
                    "(B*F first) except for the inputs and output; time_embedding/add_embedding are per batch item "
                    "(before repeat_interleave over frames)"})
        written.append("unet.safetensors")
    return written


# ----------------------------------------------------------------------------------------------------------


def save(tensors, path, metadata):
    """save_file with a reproducible header: safetensors writes the metadata map in hash order, so the
    header is re-serialised with sorted keys (same format, same offsets relative to the data)."""
    import struct
    from safetensors.torch import save as save_bytes
    raw = save_bytes({k: v.contiguous().clone() for k, v in tensors.items()}, metadata=metadata)
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    meta = header.pop("__metadata__", None)
    ordered = {"__metadata__": dict(sorted(meta.items()))} if meta else {}
    ordered.update(sorted(header.items(), key=lambda kv: kv[1]["data_offsets"][0]))
    text = json.dumps(ordered, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + raw[8 + n:])


def dir_size(path):
    total = 0
    for dp, _, fns in os.walk(path):
        for fn in fns:
            total += os.path.getsize(os.path.join(dp, fn))
    return total


def fix_feature_extractor_names(folder):
    """Without torchvision, transformers 5 builds CLIPImageProcessorPil and would write that class name;
    the released folders name CLIPImageProcessor (loadable either way). Keep the release's names."""
    mi_path = os.path.join(folder, "model_index.json")
    with open(mi_path) as f:
        mi = json.load(f)
    mi["feature_extractor"] = ["transformers", "CLIPImageProcessor"]
    with open(mi_path, "w") as f:
        json.dump(mi, f, indent=2)
        f.write("\n")
    pc_path = os.path.join(folder, "feature_extractor", "preprocessor_config.json")
    with open(pc_path) as f:
        pc = json.load(f)
    pc["image_processor_type"] = "CLIPImageProcessor"
    with open(pc_path, "w") as f:
        json.dump(pc, f, indent=2, sort_keys=True)
        f.write("\n")


def resize_fixture(out_dir):
    g = torch.Generator("cpu").manual_seed(4242)
    tensors, meta = {}, {}
    for i, ((h, w), size) in enumerate(RESIZE_CASES):
        yy, xx = torch.meshgrid(torch.linspace(-1, 1, h), torch.linspace(-1, 1, w), indexing="ij")
        base = torch.stack([xx, yy, torch.sin(3 * xx * yy)])[None]
        x = (0.6 * base + 0.4 * (torch.rand(1, 3, h, w, generator=g) * 2 - 1)).clamp(-1, 1)
        y = svd_module._resize_with_antialiasing(x, size)
        tensors[f"case{i}.input"] = t32(x)
        tensors[f"case{i}.output"] = t32(y)
        meta[f"case{i}.size"] = f"{size[0]},{size[1]}"
        meta[f"case{i}.input_shape"] = f"1,3,{h},{w}"
    meta["note"] = ("diffusers' _resize_with_antialiasing(input, size): Gaussian blur (sigma max((factor-1)/2, 0.001), "
                    "kernel int(max(4 sigma, 3)) made odd, reflect padding) then bicubic align_corners=True")
    path = os.path.join(out_dir, "resize.safetensors")
    save(tensors, path, meta)
    return path


def clip_quick_gelu_fixture(out_dir):
    """A transformers CLIPVisionModelWithProjection folder (fp32) with hidden_act quick_gelu, plus one forward."""
    folder = os.path.join(out_dir, "clip-quickgelu")
    os.makedirs(folder, exist_ok=True)
    torch.manual_seed(77)
    model = CLIPVisionModelWithProjection(CLIPVisionConfig(**CLIP_QUICK_GELU)).eval()
    rerandomise(model, torch.Generator("cpu").manual_seed(78))
    model.save_pretrained(folder, safe_serialization=True)
    model = CLIPVisionModelWithProjection.from_pretrained(folder).eval()
    g = torch.Generator("cpu").manual_seed(79)
    pv = torch.randn(2, 3, CLIP_QUICK_GELU["image_size"], CLIP_QUICK_GELU["image_size"], generator=g)
    with torch.no_grad():
        out = model(pv, output_hidden_states=True)
    tensors = {"pixel_values": pv}
    tensors.update(clip_tensors(model, pv, out))
    save(tensors, os.path.join(folder, "forward.safetensors"),
         {"hidden_act": "quick_gelu", "batch": "2", "note": "same names as tiny/clip.safetensors"})


def main():
    torch.set_num_threads(2)
    check = "--check-parameters" in sys.argv
    out_dir = os.path.join(FIXTURES, "tiny")
    for stale in ("tiny", "tiny-a", "tiny-b", "clip-quickgelu"):
        if os.path.isdir(os.path.join(FIXTURES, stale)):
            shutil.rmtree(os.path.join(FIXTURES, stale))
    os.makedirs(out_dir)

    pipe = build_pipeline(MODEL)
    check_all_parameters_random(pipe)
    for comp in ("unet", "vae", "image_encoder"):
        ps = list(getattr(pipe, comp).parameters())
        print(f"  {comp}: {sum(p.numel() for p in ps):,} parameters in {len(ps)} tensors")

    # Weights are stored as fp16 variant files only (the fixture budget has no room for fp32 copies); the
    # traces are computed from exactly those fp16 values widened to fp32.
    folder = os.path.join(out_dir, "pipeline")
    pipe.to(torch.float16).save_pretrained(folder, safe_serialization=True, variant="fp16")
    fix_feature_extractor_names(folder)
    pipe = StableVideoDiffusionPipeline.from_pretrained(folder, variant="fp16", dtype=torch.float32)
    pipe.set_progress_bar_config(disable=True)
    assert pipe.unet.dtype == torch.float32 and pipe.image_encoder.dtype == torch.float32
    if check:
        check_every_parameter_matters(pipe, RUNS["a"])

    traces = {}
    for name, spec in RUNS.items():
        print(f"== run {name}")
        image_name = f"input-{name.split('-')[0]}.png"
        image_path = os.path.join(out_dir, image_name)
        if not os.path.exists(image_path):
            synthetic_image(spec["width"], spec["height"]).save(image_path)
        image = PIL.Image.open(image_path).convert("RGB")
        trace, meta, frames = run_traced(pipe, image, spec)
        check_not_degenerate(trace, name)
        meta["input"] = image_name
        meta["pipeline"] = "pipeline"
        meta["variant"] = "fp16"
        if name == "a-noguidance":
            # what does not depend on guidance is identical to trace-a: keep only what differs
            for k in ("clip_pixel_values", "image_embeds", "vae_image", "noise_aug", "vae_input", "image_latents"):
                assert torch.equal(trace[k], traces["a"][k]), k
                del trace[k]
            meta["omitted"] = "clip_pixel_values image_embeds vae_image noise_aug vae_input image_latents: as in trace-a"
        save(trace, os.path.join(out_dir, f"trace-{name}.safetensors"), meta)
        traces[name] = trace
        # determinism: a second run reproduces the frames bit for bit
        again = generate_frames(pipe, image, spec)
        assert np.array_equal(again, frames), "pipeline is not deterministic"

    module_fixtures(pipe, traces["a"], RUNS["a"], out_dir)
    resize_fixture(FIXTURES)
    clip_quick_gelu_fixture(FIXTURES)
    for dp, _, fns in sorted(os.walk(FIXTURES)):
        for fn in sorted(fns):
            p = os.path.join(dp, fn)
            print(f"  {os.path.relpath(p, FIXTURES):70s} {os.path.getsize(p):>10,d}")
    # tiny2/ is written by svd_fixtures_tiny2.py, with its own budget
    total = dir_size(FIXTURES) - dir_size(os.path.join(FIXTURES, "tiny2"))
    print(f"total size of Tests/SVDTests/Fixtures without tiny2/: {total:,} bytes ({total / 2**20:.2f} MiB)")
    if total > SIZE_LIMIT:
        raise SystemExit(f"fixtures exceed {SIZE_LIMIT:,} bytes")


if __name__ == "__main__":
    main()
