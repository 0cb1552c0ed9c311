"""Safe Latent Diffusion guidance inside diffusers' SVD loop, on the tiny random-weight pipeline.

The reference of issue 6's step: diffusers' StableVideoDiffusionPipeline.__call__ re-written step by step
(same calls in the same order: _encode_image, video_processor.preprocess, noise augmentation draw,
_encode_vae_image, _get_add_time_ids, set_timesteps, prepare_latents draw, per-frame guidance linspace,
scale_model_input, UNet, scheduler.step, decode_latents, postprocess_video) with one change: the UNet runs on
three branches in one batch, [uncond (zero embedding, zero image latents), cond (image embedding, image
latents), concept (concept embedding, image latents)], and the guided prediction is StableDiffusionPipelineSafe's
safety guidance with SVD's per-frame scale g_f:

    scale = clamp(|c - s| * sld_guidance_scale, max=1);  mu = where(c - s >= sld_threshold, 0, scale)
    gamma = (s - u) * mu + sld_momentum_scale * v;      v = sld_mom_beta * v + (1 - sld_mom_beta) * gamma
    out = u + g_f * ((c - u) - gamma)  for i >= sld_warmup_steps, else u + g_f * (c - u)

The concept is an image concept: the embedding of an exemplar image (concept.png, 48x40, a different test card)
through the pipeline's own _encode_image. Two presets, with their warmup lowered so that the safety term acts
within the 4 steps of the tiny run (the real presets wait 7-15 steps):
    medium: diffusers' SafetyConfig.MEDIUM (scale 1000, threshold 0.01, momentum 0.3, beta 0.4), warmup 10 -> 1
    strong: diffusers' SafetyConfig.STRONG (scale 2000, threshold 0.025, momentum 0.5, beta 0.7), warmup 7 -> 2

Writes Tests/ConceptGuidanceTests/Fixtures/sld/: input.png, concept.png and sld-<preset>.safetensors with
concept_embeds, image_embeds, step<i>.latents, step<i>.active_fraction / gamma_norm (scalars), final_latents,
frames_u8 [1, F, H, W, 3] and, for comparison, cfg_final_latents (the same run with plain guidance).
Settings in the metadata. The pipeline is Tests/SVDTests/Fixtures/tiny/pipeline (fp16 variant files, run in
float32), or tiny-a/pipeline where that is the layout.

Run: .venv-reference/bin/python Scripts/reference/sld_fixtures.py
"""
import os
import shutil

import numpy as np
import PIL.Image
import torch
import diffusers
from diffusers import StableVideoDiffusionPipeline
from diffusers.pipelines.stable_video_diffusion.pipeline_stable_video_diffusion import _append_dims
from diffusers.utils.torch_utils import randn_tensor
from safetensors.torch import save_file

diffusers.utils.logging.set_verbosity_error()
diffusers.utils.logging.disable_progress_bar()

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT = os.path.join(ROOT, "Tests", "ConceptGuidanceTests", "Fixtures", "sld")
PIPELINES = [("Tests/SVDTests/Fixtures/tiny/pipeline", "fp16"), ("Tests/SVDTests/Fixtures/tiny-a/pipeline", None)]

RUN = dict(seed=4321, width=32, height=32, num_frames=4, num_inference_steps=4, decode_chunk_size=4, fps=7,
           motion_bucket_id=127, noise_aug_strength=0.02, min_guidance_scale=1.0, max_guidance_scale=2.5)
PRESETS = {
    "medium": dict(sld_guidance_scale=1000.0, sld_warmup_steps=1, sld_threshold=0.01, sld_momentum_scale=0.3,
                   sld_mom_beta=0.4),
    "strong": dict(sld_guidance_scale=2000.0, sld_warmup_steps=2, sld_threshold=0.025, sld_momentum_scale=0.5,
                   sld_mom_beta=0.7),
}


def test_card(width, height, phase):
    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    u, v = x / (width - 1), y / (height - 1)
    r = 0.5 + 0.45 * np.sin(2 * np.pi * (u * 1.5 + phase))
    g = 0.3 + 0.6 * v * (1 - u)
    b = 0.5 + 0.4 * np.cos(2 * np.pi * (u - v + phase))
    disc = (u - 0.6) ** 2 + (v - 0.4) ** 2 < 0.05
    r[disc], g[disc], b[disc] = 0.95, 0.85 - phase, 0.1
    rgb = np.stack([r, g, b], axis=-1).clip(0, 1)
    return PIL.Image.fromarray((rgb * 255).round().astype(np.uint8), "RGB")


@torch.no_grad()
def run(pipe, image, exemplar, spec, sld):
    """StableVideoDiffusionPipeline.__call__ (diffusers 0.42) with a third, concept branch (sld=None: plain CFG)."""
    device = torch.device("cpu")
    h, w, f = spec["height"], spec["width"], spec["num_frames"]
    generator = torch.Generator("cpu").manual_seed(spec["seed"])
    image_embeddings = pipe._encode_image(image, device, 1, False)                     # [1, 1, D]
    concept = pipe._encode_image(exemplar, device, 1, False)
    fps = spec["fps"] - 1
    vae_image = pipe.video_processor.preprocess(image, height=h, width=w).to(device)
    noise = randn_tensor(vae_image.shape, generator=generator, device=device, dtype=vae_image.dtype)
    vae_image = vae_image + spec["noise_aug_strength"] * noise
    image_latents = pipe._encode_vae_image(vae_image, device=device, num_videos_per_prompt=1,
                                           do_classifier_free_guidance=False).to(image_embeddings.dtype)
    image_latents = image_latents.unsqueeze(1).repeat(1, f, 1, 1, 1)
    added_time_ids = pipe._get_add_time_ids(fps, spec["motion_bucket_id"], spec["noise_aug_strength"],
                                            image_embeddings.dtype, 1, 1, False)
    pipe.scheduler.set_timesteps(spec["num_inference_steps"], device=device)
    timesteps = pipe.scheduler.timesteps
    latents = pipe.prepare_latents(1, f, pipe.unet.config.in_channels, h, w, image_embeddings.dtype, device,
                                   generator, None)
    guidance_scale = torch.linspace(spec["min_guidance_scale"], spec["max_guidance_scale"], f).unsqueeze(0)
    guidance_scale = _append_dims(guidance_scale.to(device, latents.dtype), latents.ndim)

    branches = 3 if sld else 2
    embeds = [torch.zeros_like(image_embeddings), image_embeddings] + ([concept] if sld else [])
    conds = [torch.zeros_like(image_latents), image_latents] + ([image_latents] if sld else [])
    encoder_hidden_states = torch.cat(embeds)
    cond_latents = torch.cat(conds)
    added = added_time_ids.repeat(branches, 1)
    momentum = None
    trace, stats = {}, []
    for i, t in enumerate(timesteps):
        latent_model_input = pipe.scheduler.scale_model_input(torch.cat([latents] * branches), t)
        latent_model_input = torch.cat([latent_model_input, cond_latents], dim=2)
        noise_pred = pipe.unet(latent_model_input, t, encoder_hidden_states=encoder_hidden_states,
                               added_time_ids=added, return_dict=False)[0]
        if sld:
            u, c, s = noise_pred.chunk(3)
            noise_guidance = c - u
            if momentum is None:
                momentum = torch.zeros_like(noise_guidance)
            scale = torch.clamp(torch.abs(c - s) * sld["sld_guidance_scale"], max=1.0)
            mu = torch.where((c - s) >= sld["sld_threshold"], torch.zeros_like(scale), scale)
            gamma = torch.mul((s - u), mu)
            gamma = gamma + sld["sld_momentum_scale"] * momentum
            momentum = sld["sld_mom_beta"] * momentum + (1 - sld["sld_mom_beta"]) * gamma
            if i >= sld["sld_warmup_steps"]:
                noise_guidance = noise_guidance - gamma
            guided = u + guidance_scale * noise_guidance
            stats.append(((mu > 0).double().mean().item(), gamma.double().norm().item()))
        else:
            u, c = noise_pred.chunk(2)
            guided = u + guidance_scale * (c - u)
        latents = pipe.scheduler.step(guided, t, latents).prev_sample
        trace[f"step{i}.latents"] = latents.clone()
    frames = pipe.decode_latents(latents, f, spec["decode_chunk_size"])
    frames = pipe.video_processor.postprocess_video(video=frames, output_type="np")     # [1, F, H, W, 3]
    trace["final_latents"] = latents
    trace["image_embeds"] = image_embeddings
    trace["concept_embeds"] = concept
    trace["frames_u8"] = torch.from_numpy(np.ascontiguousarray((frames * 255).round().astype("uint8")))
    return trace, stats


def main():
    torch.set_num_threads(2)
    folder, variant = next((os.path.join(ROOT, p), v) for p, v in PIPELINES if os.path.isdir(os.path.join(ROOT, p)))
    pipe = StableVideoDiffusionPipeline.from_pretrained(folder, variant=variant, dtype=torch.float32)
    pipe.set_progress_bar_config(disable=True)
    shutil.rmtree(OUT, ignore_errors=True)
    os.makedirs(OUT)
    test_card(RUN["width"], RUN["height"], 0.0).save(os.path.join(OUT, "input.png"))
    test_card(48, 40, 0.35).save(os.path.join(OUT, "concept.png"))
    image = PIL.Image.open(os.path.join(OUT, "input.png")).convert("RGB")
    exemplar = PIL.Image.open(os.path.join(OUT, "concept.png")).convert("RGB")

    cfg, _ = run(pipe, image, exemplar, RUN, None)
    for name, sld in PRESETS.items():
        trace, stats = run(pipe, image, exemplar, RUN, sld)
        for i, (active, norm) in enumerate(stats):
            trace[f"step{i}.active_fraction"] = torch.tensor([active], dtype=torch.float64)
            trace[f"step{i}.gamma_norm"] = torch.tensor([norm], dtype=torch.float64)
        trace["cfg_final_latents"] = cfg["final_latents"]
        moved = (trace["final_latents"] - cfg["final_latents"]).abs().max().item()
        pixels = (trace["frames_u8"].int() - cfg["frames_u8"].int()).abs().max().item()
        print(f"{name}: stats {[(round(a, 3), round(n, 2)) for a, n in stats]}, "
              f"max |latents - cfg latents| {moved:.4f}, max pixel change {pixels}")
        assert moved > 1e-2 and pixels > 0, "the safety term must change the result"
        meta = {k: str(v) for k, v in {**RUN, **sld}.items()}
        meta.update(pipeline=os.path.relpath(folder, ROOT), variant=variant or "", preset=name,
                    note="warmup lowered from the preset so that guidance acts within the run")
        save_file({k: v.contiguous() for k, v in trace.items()}, os.path.join(OUT, f"sld-{name}.safetensors"),
                  metadata=meta)
    for fn in sorted(os.listdir(OUT)):
        print(f"  {fn:30s} {os.path.getsize(os.path.join(OUT, fn)):>8,d}")


if __name__ == "__main__":
    main()
