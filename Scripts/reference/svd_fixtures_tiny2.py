"""A second tiny random-weight Stable Video Diffusion pipeline, from a config unlike svd_fixtures.py's `tiny`.

Writes under Tests/SVDTests/Fixtures/tiny2/ (under 5 MB; Scripts/reference/README.md describes it):
  pipeline/                 a real diffusers pipeline folder (model_index.json, unet/, vae/, image_encoder/,
                            scheduler/, feature_extractor/) with plain (non-variant) weight files in three dtypes:
                            unet/diffusion_pytorch_model.safetensors (bf16), vae/diffusion_pytorch_model.safetensors
                            (fp16), image_encoder/model.safetensors (fp32); load without a variant
  input-a.png               synthetic RGB input, exactly width x height
  trace-a.safetensors       every intermediate of one `pipe(...)` call on CPU in float32 (same tensor names as
                            tiny/trace-*.safetensors, except clip_pixel_values, left out for size)

What differs from `tiny` (Scripts/reference/svd_fixtures.py), to exercise other code paths:
  UNet   3 levels with non-monotonic channels [32, 64, 32]: two downsamplers and two upsamplers, the mid block at
         the (32-channel) deepest level, channel changes 32 -> 64 -> 32 through resnet shortcuts and skip
         concatenations of unequal widths; per-level lists for layers_per_block [2, 1, 1] (down_blocks.0 has 2
         resnets, up_blocks.2 has 3) and transformer_layers_per_block [1, 1, 2] (2 transformer layers in
         down_blocks.2, the mid block and up_blocks.0); block types [Down, Down, CrossAttnDown] /
         [CrossAttnUp, Up, Up]: a plain down block with downsampler, a cross-attention down block without one,
         a cross-attention up block with upsampler (as in the release) and a plain up block without one, each
         the opposite of `tiny`; num_attention_heads [1, 4, 2] (only level 2 and the mid block have attention:
         2 heads of dim 16); cross_attention_dim 24, addition_time_embed_dim 16. Level 1 has 64 channels, so
         there the timestep and the added time ids are live (at 32 channels GroupNorm cancels them).
  VAE    3 levels [32, 32, 32]: latents at 1/4 (diffusers' vae_scale_factor is 2 ** (levels - 1)),
         layers_per_block 2, scaling_factor 0.13025.
  CLIP   hidden_act "quick_gelu", hidden 48, 2 heads (head dim 24), intermediate 96, 2 layers, patch 16
         (196 patches + the class token), projection 24.
  Files  plain names, no variant, three storage dtypes (UNet bf16, VAE fp16, image encoder fp32): all-fp32 files
         would take 7.9 MB.
  Trace  40x24 (non-square; latents 10x6 -> 5x3 -> 3x2, so both upsamplers are given odd target sizes), 6 frames,
         3 steps, guidance 1.0 -> 2.0, decode chunk 4 (chunks of 4 and 2 frames), fps 12, motion bucket 200,
         noise aug 0.1, seed 4321.
Every parameter is re-randomised as for `tiny` (svd_fixtures.rerandomise). The traces are computed from exactly
the stored bf16/fp16/fp32 values widened to float32. Rerunning rewrites the same bytes; `tiny` is not touched.

Run: .venv-reference/bin/python Scripts/reference/svd_fixtures_tiny2.py [--check-parameters]
(`--check-parameters`: svd_fixtures.check_every_parameter_matters on this model; slow.)
"""
import os
import shutil
import sys

import numpy as np
import PIL.Image
import torch
from diffusers import StableVideoDiffusionPipeline

import svd_fixtures as base
from svd_fixtures import CROSS, CROSS_UP, DOWN, UP

SIZE_LIMIT = 5_000_000

MODEL = dict(
    seed=2468,
    unet=dict(block_out_channels=[32, 64, 32], layers_per_block=[2, 1, 1], num_attention_heads=[1, 4, 2],
              down_block_types=[DOWN, DOWN, CROSS], up_block_types=[CROSS_UP, UP, UP], cross_attention_dim=24,
              addition_time_embed_dim=16, projection_class_embeddings_input_dim=48,
              transformer_layers_per_block=[1, 1, 2], num_frames=6, sample_size=4, in_channels=8, out_channels=4),
    vae=dict(block_out_channels=[32, 32, 32], layers_per_block=2, latent_channels=4,
             down_block_types=["DownEncoderBlock2D"] * 3, sample_size=32, scaling_factor=0.13025),
    clip=dict(hidden_size=48, intermediate_size=96, num_hidden_layers=2, num_attention_heads=2, patch_size=16,
              image_size=224, projection_dim=24, hidden_act="quick_gelu", layer_norm_eps=1e-5),
)

# Storage dtype of each component's (non-variant) weight file.
DTYPES = {"unet": torch.bfloat16, "vae": torch.float16, "image_encoder": torch.float32}

RUN = dict(seed=4321, width=40, height=24, num_frames=6, num_inference_steps=3, decode_chunk_size=4,
           fps=12, motion_bucket_id=200, noise_aug_strength=0.1, min_guidance_scale=1.0, max_guidance_scale=2.0)


def main():
    torch.set_num_threads(2)
    out_dir = os.path.join(base.FIXTURES, "tiny2")
    if os.path.isdir(out_dir):
        shutil.rmtree(out_dir)
    os.makedirs(out_dir)

    pipe = base.build_pipeline(MODEL)
    base.check_all_parameters_random(pipe)
    for comp in ("unet", "vae", "image_encoder"):
        ps = list(getattr(pipe, comp).parameters())
        print(f"  {comp}: {sum(p.numel() for p in ps):,} parameters in {len(ps)} tensors, stored as {DTYPES[comp]}")

    folder = os.path.join(out_dir, "pipeline")
    for comp, dtype in DTYPES.items():
        getattr(pipe, comp).to(dtype)
    pipe.save_pretrained(folder, safe_serialization=True)
    base.fix_feature_extractor_names(folder)
    pipe = StableVideoDiffusionPipeline.from_pretrained(folder, dtype=torch.float32)
    pipe.set_progress_bar_config(disable=True)
    for comp in DTYPES:
        assert getattr(pipe, comp).dtype == torch.float32, comp
    assert pipe.vae_scale_factor == 4, pipe.vae_scale_factor
    if "--check-parameters" in sys.argv:
        base.check_every_parameter_matters(pipe, RUN)

    spec = RUN
    image_path = os.path.join(out_dir, "input-a.png")
    base.synthetic_image(spec["width"], spec["height"]).save(image_path)
    image = PIL.Image.open(image_path).convert("RGB")
    trace, meta, frames = base.run_traced(pipe, image, spec)
    base.check_not_degenerate(trace, "tiny2 a")
    del trace["clip_pixel_values"]
    meta["omitted"] = "clip_pixel_values (size; the CLIP preprocessing is the same code as in tiny's traces)"
    meta["input"] = "input-a.png"
    meta["pipeline"] = "pipeline"
    meta["weight_dtypes"] = ", ".join(f"{k} {str(v).replace('torch.', '')}" for k, v in DTYPES.items())
    base.save(trace, os.path.join(out_dir, "trace-a.safetensors"), meta)
    again = base.generate_frames(pipe, image, spec)
    assert np.array_equal(again, frames), "pipeline is not deterministic"

    for dp, _, fns in sorted(os.walk(out_dir)):
        for fn in sorted(fns):
            p = os.path.join(dp, fn)
            print(f"  {os.path.relpath(p, base.FIXTURES):70s} {os.path.getsize(p):>10,d}")
    total = base.dir_size(out_dir)
    print(f"total size of Tests/SVDTests/Fixtures/tiny2: {total:,} bytes ({total / 2**20:.2f} MiB)")
    if total > SIZE_LIMIT:
        raise SystemExit(f"tiny2 exceeds {SIZE_LIMIT:,} bytes")


if __name__ == "__main__":
    main()
