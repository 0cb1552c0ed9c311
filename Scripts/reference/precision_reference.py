"""Accuracy against float64 (issue 14): the tiny pipelines in float64, float32 and bf16 autocast.

Runs every case below three times through diffusers 0.42 on CPU, from the committed tiny pipelines (the same
random-weight models that svd_fixtures.py, svd_fixtures_tiny2.py and sld_fixtures.py build; their weights are
stored in fp16/bf16, so float32 and float64 copies hold exactly the same values):

  f64   every tensor float64: the models (`pipe.to(torch.float64)`, default dtype float64 so that the
        pipeline's linspace/tensor constants are float64 too), the input preprocessing (pixels / 255 in float64),
        the sinusoidal embeddings (diffusers' get_timestep_embedding computes them in float32 whatever the
        model's dtype: replaced by the same formula in float64), the scheduler (diffusers rounds sigmas and
        timesteps to float32 and upcasts `step` to float32: here they are float64). The random draws are the
        float32 draws of the seeded torch generator, widened (a float64 draw would be a different sample).
  f32   exactly what the fixture scripts run (the reference the parity tests pin).
  bf16  PyTorch's fastest CPU mode, as bench_torch.py times it: the UNet, VAE and image encoder hold bf16 weights
        and run under torch.autocast("cpu", dtype=torch.bfloat16); their outputs are widened to float32, so the
        pipeline's own arithmetic (latents, guidance, scheduler) stays float32 as in img2vid's bf16 mode.

Cases: the traced runs of the fixture scripts (tiny a, a without guidance, b; tiny2 a), each also with guidance
off where the fixture has it on, and the concept-guidance runs of sld_fixtures.py (plain CFG, SLD medium with
warm-up 1 and strong with warm-up 2 as in the fixtures, and SLD medium with warm-up 2, a chaotic case: the
safety mask flips on elements where c - s sits at the threshold, so rounding differences grow).

Writes
  Tests/ConceptGuidanceTests/Fixtures/precision/<case>.safetensors  (committed, small): `frames` [1, F, H, W, 3]
      float32, the f64 run's frames in [0, 1] before uint8 (diffusers returns them as float32), with the case's
      settings and PyTorch's PSNRs (f32 and bf16, float and uint8) in the metadata. The Swift test
      PrecisionTests runs img2vid f32 and bf16 on the same cases in the normal suite (IMG2VID_PRECISION_TABLE=1 prints the table).
  .build/precision/<case>-<mode>.safetensors  (git-ignored): per mode, the frames and every UNet call's inputs
      and output and the latents after every step, for bisecting where precision is lost.
And prints PSNR vs f64 of PyTorch f32 and bf16 for every case (float frames: 10 log10(1 / MSE) on [0, 1];
uint8 frames: 10 log10(255^2 / MSE)).

Run: .venv-reference/bin/python Scripts/reference/precision_reference.py [case ...]   (about 1 min)
"""
import contextlib
import math
import os
import sys

import numpy as np
import PIL.Image
import torch
import diffusers
import diffusers.models.embeddings as embeddings_module
from diffusers import EulerDiscreteScheduler, StableVideoDiffusionPipeline
from diffusers.pipelines.stable_video_diffusion import pipeline_stable_video_diffusion as svd_module

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import svd_fixtures  # noqa: E402
import svd_fixtures_tiny2  # noqa: E402
import sld_fixtures  # noqa: E402

ROOT = svd_fixtures.ROOT
OUT = os.path.join(ROOT, "Tests", "ConceptGuidanceTests", "Fixtures", "precision")
SCRATCH = os.path.join(ROOT, ".build", "precision")
SIZE_LIMIT = 1_500_000
SVD_FIX = "Tests/SVDTests/Fixtures"
SLD_FIX = "Tests/ConceptGuidanceTests/Fixtures/sld"


def no_guidance(spec):
    return {**spec, "max_guidance_scale": 1.0}


MEDIUM_W2 = {**sld_fixtures.PRESETS["medium"], "sld_warmup_steps": 2}

# name -> (pipeline folder, variant, input image, run settings, SLD settings or None)
CASES = {
    "tiny-a": (f"{SVD_FIX}/tiny/pipeline", "fp16", f"{SVD_FIX}/tiny/input-a.png", svd_fixtures.RUNS["a"], None),
    "tiny-a-noguidance": (f"{SVD_FIX}/tiny/pipeline", "fp16", f"{SVD_FIX}/tiny/input-a.png",
                          svd_fixtures.RUNS["a-noguidance"], None),
    "tiny-b": (f"{SVD_FIX}/tiny/pipeline", "fp16", f"{SVD_FIX}/tiny/input-b.png", svd_fixtures.RUNS["b"], None),
    "tiny-b-noguidance": (f"{SVD_FIX}/tiny/pipeline", "fp16", f"{SVD_FIX}/tiny/input-b.png",
                          no_guidance(svd_fixtures.RUNS["b"]), None),
    "tiny2-a": (f"{SVD_FIX}/tiny2/pipeline", None, f"{SVD_FIX}/tiny2/input-a.png", svd_fixtures_tiny2.RUN, None),
    "tiny2-a-noguidance": (f"{SVD_FIX}/tiny2/pipeline", None, f"{SVD_FIX}/tiny2/input-a.png",
                           no_guidance(svd_fixtures_tiny2.RUN), None),
    "sld-cfg": (f"{SVD_FIX}/tiny/pipeline", "fp16", f"{SLD_FIX}/input.png", sld_fixtures.RUN, None),
    "sld-medium": (f"{SVD_FIX}/tiny/pipeline", "fp16", f"{SLD_FIX}/input.png", sld_fixtures.RUN,
                   sld_fixtures.PRESETS["medium"]),
    "sld-strong": (f"{SVD_FIX}/tiny/pipeline", "fp16", f"{SLD_FIX}/input.png", sld_fixtures.RUN,
                   sld_fixtures.PRESETS["strong"]),
    "sld-medium-warmup2": (f"{SVD_FIX}/tiny/pipeline", "fp16", f"{SLD_FIX}/input.png", sld_fixtures.RUN, MEDIUM_W2),
}
CONCEPT = f"{SLD_FIX}/concept.png"
MODES = ("f64", "f32", "bf16")


# ----------------------------------------------------------------------------------------------------------
# float64: what diffusers rounds to float32 on the way, computed in float64


def timestep_embedding_f64(timesteps, embedding_dim, flip_sin_to_cos=False, downscale_freq_shift=1, scale=1,
                           max_period=10000):
    """diffusers' get_timestep_embedding (models/embeddings.py) in float64 (the original forces float32)."""
    half = embedding_dim // 2
    exponent = -math.log(max_period) * torch.arange(0, half, dtype=torch.float64) / (half - downscale_freq_shift)
    emb = timesteps[:, None].to(torch.float64) * torch.exp(exponent)[None, :]
    emb = scale * emb
    emb = torch.cat([torch.sin(emb), torch.cos(emb)], dim=-1)
    if flip_sin_to_cos:
        emb = torch.cat([emb[:, half:], emb[:, :half]], dim=-1)
    if embedding_dim % 2 == 1:
        emb = torch.nn.functional.pad(emb, (0, 1, 0, 0))
    return emb


class EulerF64(EulerDiscreteScheduler):
    """EulerDiscreteScheduler with float64 sigmas and timesteps (Karras sigmas from the config bounds, as
    diffusers computes them in numpy float64 before rounding to float32) and a float64 `step` (diffusers'
    v-prediction update without the float32 upcast). Only the path SVD uses (Karras, v_prediction, continuous
    timesteps, no churn)."""

    def set_timesteps(self, num_inference_steps=None, device=None, timesteps=None, sigmas=None):
        super().set_timesteps(num_inference_steps, device=device)
        assert self.config.use_karras_sigmas and self.config.prediction_type == "v_prediction"
        karras = self._convert_to_karras(in_sigmas=np.array([self.config.sigma_max, self.config.sigma_min]),
                                         num_inference_steps=num_inference_steps)
        s = torch.from_numpy(np.concatenate([karras, [0.0]]).astype(np.float64))
        assert torch.allclose(s.float(), self.sigmas.float()), "float64 sigmas disagree with diffusers'"
        self.sigmas = s
        self.timesteps = 0.25 * s[:-1].log()

    def step(self, model_output, timestep, sample, return_dict=True, **kwargs):
        if self.step_index is None:
            self._init_step_index(timestep)
        sigma = self.sigmas[self.step_index]
        x0 = model_output * (-sigma / (sigma ** 2 + 1) ** 0.5) + (sample / (sigma ** 2 + 1))
        derivative = (sample - x0) / sigma
        prev = sample + derivative * (self.sigmas[self.step_index + 1] - sigma)
        self._step_index += 1
        return diffusers.schedulers.scheduling_euler_discrete.EulerDiscreteSchedulerOutput(
            prev_sample=prev, pred_original_sample=x0)


def randn_widened(original):
    """randn_tensor that draws float32 (the seeded stream the other modes see) and widens it."""
    def draw(shape, generator=None, device=None, dtype=None, layout=None):
        return original(shape, generator=generator, device=device, dtype=torch.float32).to(dtype or torch.float32)
    return draw


@contextlib.contextmanager
def float64_mode(pipe):
    saved = (svd_module.randn_tensor, sld_fixtures.randn_tensor, embeddings_module.get_timestep_embedding,
             torch.get_default_dtype())
    pipe.to(torch.float64)
    pipe.scheduler = EulerF64.from_config(pipe.scheduler.config)
    # pixels / 255 in float64 (VaeImageProcessor.pil_to_numpy rounds to float32): CLIP and VAE inputs
    pipe.video_processor.pil_to_numpy = lambda images: np.stack(
        [np.array(im).astype(np.float64) / 255.0 for im in (images if isinstance(images, list) else [images])])
    svd_module.randn_tensor = randn_widened(saved[0])
    sld_fixtures.randn_tensor = randn_widened(saved[1])
    embeddings_module.get_timestep_embedding = timestep_embedding_f64
    torch.set_default_dtype(torch.float64)
    try:
        yield
    finally:
        svd_module.randn_tensor, sld_fixtures.randn_tensor, embeddings_module.get_timestep_embedding = saved[:3]
        torch.set_default_dtype(saved[3])


# ----------------------------------------------------------------------------------------------------------
# bf16 autocast


def widen(out):
    if torch.is_tensor(out):
        return out.float() if out.is_floating_point() else out
    if isinstance(out, tuple):
        return tuple(widen(o) for o in out)
    if isinstance(out, dict):  # diffusers BaseOutput / transformers ModelOutput
        for k in list(out.keys()):
            if torch.is_tensor(out[k]):
                out[k] = widen(out[k])
        return out
    return out


def autocast_bf16(fn):
    def call(*args, **kwargs):
        with torch.autocast("cpu", dtype=torch.bfloat16):
            out = fn(*args, **kwargs)
        return widen(out)
    return call


@contextlib.contextmanager
def bf16_mode(pipe):
    for m in (pipe.unet, pipe.vae, pipe.image_encoder):
        m.to(torch.bfloat16)
    pipe.unet.forward = autocast_bf16(pipe.unet.forward)
    pipe.image_encoder.forward = autocast_bf16(pipe.image_encoder.forward)
    pipe.vae.encode = autocast_bf16(pipe.vae.encode)
    pipe.vae.decode = autocast_bf16(pipe.vae.decode)
    yield


# ----------------------------------------------------------------------------------------------------------


def run_case(name, mode):
    folder, variant, input_path, spec, sld = CASES[name]
    pipe = StableVideoDiffusionPipeline.from_pretrained(os.path.join(ROOT, folder), variant=variant,
                                                        dtype=torch.float32)
    pipe.set_progress_bar_config(disable=True)
    record = {}
    calls = []

    def unet_hook(module, args, kwargs, output):
        i = len(calls)
        calls.append(i)
        sample = args[0] if args else kwargs["sample"]
        timestep = args[1] if len(args) > 1 else kwargs["timestep"]
        record[f"step{i}.latent_model_input"] = sample.detach().double()
        record[f"step{i}.timestep"] = torch.as_tensor(timestep).reshape(1).double()
        record[f"step{i}.encoder_hidden_states"] = kwargs["encoder_hidden_states"].detach().double()
        record[f"step{i}.added_time_ids"] = kwargs["added_time_ids"].detach().double()
        out = output[0] if isinstance(output, tuple) else output.sample
        record[f"step{i}.noise_pred"] = out.detach().double()

    frames_seen = []
    original_postprocess = pipe.video_processor.postprocess_video

    def postprocess(video, output_type="np"):
        out = original_postprocess(video=video, output_type=output_type)
        frames_seen.append(np.asarray(out, dtype=np.float32))
        return out

    pipe.video_processor.postprocess_video = postprocess
    image = PIL.Image.open(os.path.join(ROOT, input_path)).convert("RGB")
    context = {"f64": float64_mode, "bf16": bf16_mode}.get(mode, lambda p: contextlib.nullcontext())(pipe)
    with context, torch.no_grad():
        pipe.unet.register_forward_hook(unet_hook, with_kwargs=True)
        original_step = pipe.scheduler.step

        def step(model_output, timestep, sample, *a, **k):
            out = original_step(model_output, timestep, sample, *a, **k)
            record[f"step{len(calls) - 1}.latents"] = out.prev_sample.detach().double()
            return out

        pipe.scheduler.step = step
        if sld is None:
            svd_fixtures.generate_frames(pipe, image, spec)
        else:
            exemplar = PIL.Image.open(os.path.join(ROOT, CONCEPT)).convert("RGB")
            sld_fixtures.run(pipe, image, exemplar, spec, sld)
    assert len(frames_seen) == 1
    frames = frames_seen[0]
    record["frames"] = torch.from_numpy(frames).double()
    return frames, record


def psnr(a, b, peak):
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return math.inf if mse == 0 else 10 * math.log10(peak * peak / mse)


def to_u8(frames):
    return (frames * 255).round().astype(np.uint8)   # diffusers' numpy_to_pil


def main():
    torch.set_num_threads(2)
    names = [a for a in sys.argv[1:] if not a.startswith("-")] or list(CASES)
    os.makedirs(OUT, exist_ok=True)
    os.makedirs(SCRATCH, exist_ok=True)
    from safetensors.torch import save_file
    rows = []
    for name in names:
        folder, variant, input_path, spec, sld = CASES[name]
        frames = {}
        for mode in MODES:
            frames[mode], record = run_case(name, mode)
            save_file({k: v.clone().contiguous() for k, v in record.items()},
                      os.path.join(SCRATCH, f"{name}-{mode}.safetensors"))
        ref = frames["f64"]
        meta = {k: str(v) for k, v in spec.items()}
        meta.update(pipeline=folder, variant=variant or "", input=input_path, sld="1" if sld else "0")
        if sld:
            meta.update({k: str(v) for k, v in sld.items()})
            meta["concept"] = CONCEPT
        row = [name]
        for mode in ("f32", "bf16"):
            pf, pu = psnr(frames[mode], ref, 1.0), psnr(to_u8(frames[mode]), to_u8(ref), 255.0)
            meta[f"torch_{mode}_psnr_float"] = f"{pf:.2f}"
            meta[f"torch_{mode}_psnr_u8"] = f"{pu:.2f}"
            row += [pf, pu]
        rows.append(row)
        svd_fixtures.save({"frames": torch.from_numpy(ref)}, os.path.join(OUT, f"{name}.safetensors"), meta)
        print(f"{name:20s} torch f32 {row[1]:6.2f} / {row[2]:6.2f} dB   torch bf16 {row[3]:6.2f} / {row[4]:6.2f} dB"
              "   (float / uint8 vs f64)", flush=True)
    total = svd_fixtures.dir_size(OUT)
    print(f"Tests/ConceptGuidanceTests/Fixtures/precision: {total:,} bytes")
    if total > SIZE_LIMIT:
        raise SystemExit(f"precision fixtures exceed {SIZE_LIMIT:,} bytes")


if __name__ == "__main__":
    main()
