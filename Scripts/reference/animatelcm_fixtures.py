"""AnimateLCM-SVD few-step sampling on the tiny random-weight SVD pipeline: the reference of issue 18.

AnimateLCM-SVD-xt (Wang et al. 2024, G-U-N/AnimateLCM, animatelcm_svd/) is a consistency-distilled SVD-XT UNet
sampled with the authors' `AnimateLCMSVDStochasticIterativeScheduler` (animatelcm_svd/animatelcm_scheduler.py).
That file is not part of diffusers; `AnimateLCMScheduler` below is a transcription of its algorithm (the parts the
SVD pipeline calls: set_timesteps, scale_model_input, step, init_noise_sigma), written for this reference:

  set_timesteps(n):  ratio = N // n (N = num_train_timesteps = 40), ramp = [0, ratio, 2 ratio, ...] / (N - 1)
                     sigmas = (sigma_max^(1/rho) + ramp (sigma_min^(1/rho) - sigma_max^(1/rho)))^rho  (numpy float64)
                     timesteps = 0.25 log(sigmas + 1e-44) (float64; the UNet casts them to float32)
                     sigmas = [sigmas..., 0] as float32
  init_noise_sigma:  sqrt(sigma_max^2 + 1) (Python float)
  scale_model_input: sample / sqrt(sigma^2 + sigma_data^2)                                (float32 tensors)
  step:              c_skip = sigma_data^2 / (sigma^2 + sigma_data^2), c_out = -sigma sigma_data / sqrt(...)
                     denoised = c_out * model_output + c_skip * sample (clamped to [-1, 1] if clip_denoised)
                     noise = randn(model_output.shape) from torch's *global* generator (the pipeline passes no
                     generator to step) when there is more than one timestep, else zeros
                     prev = denoised + (noise * s_noise) * clamp(sigma_next, 0, sigma_max)

The settings are those of the authors' demo (animatelcm_svd/app.py): num_train_timesteps 40, sigma_min 0.002,
sigma_max 700, sigma_data 1, s_noise 1, rho 7, clip_denoised False, and the pipeline is called with
`generator=torch.manual_seed(seed)`: torch's global generator, so the noise augmentation draw, the initial latents
and every step's noise come from one stream, in that order.

The pipeline is diffusers' own StableVideoDiffusionPipeline (0.42) loaded from Tests/SVDTests/Fixtures/tiny/pipeline
(fp16 variant files, run in float32) with its scheduler replaced. Writes:

  Tests/SVDTests/Fixtures/animatelcm/scheduler_config.json   the scheduler's config as save_config writes it
  Tests/SVDTests/Fixtures/animatelcm/trace-<run>.safetensors  one pipeline call per run of RUNS: sigmas,
      timesteps (float32 as the UNet sees them), init_latents, per step: timestep, noise_pred (the UNet's raw
      output, [uncond, cond] when guided), guided (the scheduler's model_output), noise (the step's draw),
      denoised, latents (prev_sample); final_latents, frames [1, F, H, W, 3] in [0, 1], frames_u8
  Tests/DiffusionTests/Fixtures/animatelcm_scheduler.safetensors   the scheduler alone: schedules for many step
      counts, and scale_model_input / step on seeded inputs with the step noise from the global generator

Rerunning rewrites the same bytes.

Run: .venv-reference/bin/python Scripts/reference/animatelcm_fixtures.py
"""
import json
import os
from dataclasses import dataclass
import sys

import numpy as np
import PIL.Image
import torch
import diffusers
from diffusers import StableVideoDiffusionPipeline
from diffusers.configuration_utils import ConfigMixin, register_to_config
from diffusers.schedulers.scheduling_utils import SchedulerMixin
from diffusers.utils import BaseOutput
from diffusers.utils.torch_utils import randn_tensor

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import svd_fixtures as base  # noqa: E402  (save, t32, check_not_degenerate)

diffusers.utils.logging.set_verbosity_error()
diffusers.utils.logging.disable_progress_bar()

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SVD_FIXTURES = os.path.join(ROOT, "Tests", "SVDTests", "Fixtures")
OUT = os.path.join(SVD_FIXTURES, "animatelcm")
DIFFUSION_OUT = os.path.join(ROOT, "Tests", "DiffusionTests", "Fixtures", "animatelcm_scheduler.safetensors")
PIPELINE = (os.path.join(SVD_FIXTURES, "tiny", "pipeline"), "fp16")

# The authors' demo settings (animatelcm_svd/app.py).
SCHEDULER = dict(num_train_timesteps=40, sigma_min=0.002, sigma_max=700.0, sigma_data=1.0, s_noise=1.0, rho=7,
                 clip_denoised=False)

# Pipeline calls. Inputs are the tiny pipeline's test cards (tiny/input-a.png 32x32, tiny/input-b.png 64x40).
RUNS = {
    # one step: no step noise is drawn at all (the scheduler adds zeros), no guidance batch
    "s1": dict(seed=101, input="tiny/input-a.png", width=32, height=32, num_frames=4, num_inference_steps=1,
               decode_chunk_size=4, fps=8, motion_bucket_id=80, noise_aug_strength=0.02,
               min_guidance_scale=1.0, max_guidance_scale=1.0),
    # two steps with the demo's guidance 1.0 -> 1.2 (guidance batch of 2)
    "s2": dict(seed=202, input="tiny/input-a.png", width=32, height=32, num_frames=4, num_inference_steps=2,
               decode_chunk_size=4, fps=8, motion_bucket_id=80, noise_aug_strength=0.02,
               min_guidance_scale=1.0, max_guidance_scale=1.2),
    # the demo's settings: 4 steps, guidance 1.0 -> 1.2, motion bucket 80, fps 8
    "s4": dict(seed=42, input="tiny/input-a.png", width=32, height=32, num_frames=4, num_inference_steps=4,
               decode_chunk_size=4, fps=8, motion_bucket_id=80, noise_aug_strength=0.02,
               min_guidance_scale=1.0, max_guidance_scale=1.2),
    # 4 steps at guidance 1 (one UNet branch), non-square, 5 frames decoded in chunks of 2
    "s4-single": dict(seed=4242, input="tiny/input-b.png", width=64, height=40, num_frames=5, num_inference_steps=4,
                      decode_chunk_size=2, fps=8, motion_bucket_id=80, noise_aug_strength=0.02,
                      min_guidance_scale=1.0, max_guidance_scale=1.0),
    # 8 steps, other conditioning
    "s8": dict(seed=808, input="tiny/input-a.png", width=32, height=32, num_frames=4, num_inference_steps=8,
               decode_chunk_size=4, fps=6, motion_bucket_id=127, noise_aug_strength=0.05,
               min_guidance_scale=1.0, max_guidance_scale=1.5),
}

# Scheduler-only fixture: schedules for these step counts, and one denoising pass for each of STEP_CASES.
SCHEDULE_STEPS = [1, 2, 3, 4, 5, 6, 7, 8, 10, 13, 20, 25, 39, 40]
STEP_CASES = [(1, 11), (2, 22), (4, 44), (8, 88)]   # (steps, seed)
STEP_SHAPE = (1, 3, 4, 4, 4)


@dataclass
class AnimateLCMSchedulerOutput(BaseOutput):
    prev_sample: torch.Tensor


class AnimateLCMScheduler(SchedulerMixin, ConfigMixin):
    """A transcription of the algorithm of AnimateLCMSVDStochasticIterativeScheduler (see the module docstring)."""

    _compatibles = []
    order = 1
    config_name = "scheduler_config.json"

    @register_to_config
    def __init__(self, num_train_timesteps=40, sigma_min=0.002, sigma_max=80.0, sigma_data=0.5, s_noise=1.0,
                 rho=7.0, clip_denoised=True):
        self.init_noise_sigma = (sigma_max ** 2 + 1) ** 0.5
        self.sigmas = None
        self.timesteps = None
        self.num_inference_steps = None
        self._step_index = None
        self.trace = []   # per step: dict(noise, denoised, prev_sample)

    def karras(self, ramp):
        c = self.config
        max_inv_rho = c.sigma_max ** (1 / c.rho)
        min_inv_rho = c.sigma_min ** (1 / c.rho)
        return (max_inv_rho + ramp * (min_inv_rho - max_inv_rho)) ** c.rho

    def set_timesteps(self, num_inference_steps, device=None):
        n, total = num_inference_steps, self.config.num_train_timesteps
        if n > total:
            raise ValueError(f"num_inference_steps {n} > num_train_timesteps {total}")
        ratio = total // n
        ramp = (np.arange(0, n) * ratio).round().astype(np.int64) / (total - 1)   # ascending
        sigmas = self.karras(ramp)                                                  # float64, descending
        self.timesteps = torch.from_numpy(0.25 * np.log(sigmas + 1e-44))           # float64
        self.sigmas = torch.from_numpy(np.concatenate([sigmas, [0]]).astype(np.float32))
        self.num_inference_steps = n
        self._step_index = None
        self.trace = []

    def _ensure_index(self, timestep):
        if self._step_index is None:
            self._step_index = int((self.timesteps == timestep).nonzero()[0].item())

    def scale_model_input(self, sample, timestep):
        self._ensure_index(timestep)
        sigma = self.sigmas[self._step_index]
        return sample / ((sigma ** 2 + self.config.sigma_data ** 2) ** 0.5)

    def step(self, model_output, timestep, sample, generator=None, return_dict=True):
        self._ensure_index(timestep)
        c = self.config
        i = self._step_index
        sigma = self.sigmas[i]
        sigma_next = self.sigmas[i + 1] if i + 1 < c.num_train_timesteps else self.sigmas[-1]
        c_skip = c.sigma_data ** 2 / (sigma ** 2 + c.sigma_data ** 2)
        c_out = -sigma * c.sigma_data / (sigma ** 2 + c.sigma_data ** 2) ** 0.5
        denoised = c_out * model_output + c_skip * sample
        if c.clip_denoised:
            denoised = denoised.clamp(-1, 1)
        if len(self.timesteps) > 1:
            noise = randn_tensor(model_output.shape, dtype=model_output.dtype, device=model_output.device,
                                 generator=generator)
        else:
            noise = torch.zeros_like(model_output)
        z = noise * c.s_noise
        prev_sample = denoised + z * sigma_next.clamp(min=0, max=c.sigma_max)
        self.trace.append(dict(noise=base.t32(noise), denoised=base.t32(denoised), prev_sample=base.t32(prev_sample)))
        self._step_index += 1
        if not return_dict:
            return (prev_sample,)
        return AnimateLCMSchedulerOutput(prev_sample=prev_sample)

    def __len__(self):
        return self.config.num_train_timesteps


def make_scheduler():
    return AnimateLCMScheduler(**SCHEDULER)


def write_scheduler_config(folder):
    """save_config writes `_class_name` as this class's name; the authors' class name is what a model folder holds."""
    os.makedirs(folder, exist_ok=True)
    config = dict(make_scheduler().config)
    config = {k: v for k, v in config.items() if not k.startswith("_")}
    config = {"_class_name": "AnimateLCMSVDStochasticIterativeScheduler", "_diffusers_version": diffusers.__version__,
              **dict(sorted(config.items()))}
    with open(os.path.join(folder, "scheduler_config.json"), "w") as f:
        json.dump(config, f, indent=2)
        f.write("\n")


def run_traced(pipe, spec):
    image = PIL.Image.open(os.path.join(SVD_FIXTURES, spec["input"])).convert("RGB")
    assert image.size == (spec["width"], spec["height"])
    unet_calls = []

    def unet_hook(module, args, kwargs, output):
        timestep = args[1] if len(args) > 1 else kwargs["timestep"]
        unet_calls.append(dict(timestep=torch.as_tensor(timestep).reshape(1).to(torch.float32),
                               noise_pred=base.t32(output[0] if isinstance(output, tuple) else output.sample),
                               sample=base.t32(args[0] if args else kwargs["sample"])))

    sched = pipe.scheduler
    original_step = sched.step
    guided = []

    def step_recorder(model_output, timestep, sample, *args, **kwargs):
        guided.append(base.t32(model_output))
        return original_step(model_output, timestep, sample, *args, **kwargs)

    init = {}
    original_prepare = pipe.prepare_latents

    def prepare_recorder(*args, **kwargs):
        out = original_prepare(*args, **kwargs)
        init["latents"] = base.t32(out)
        return out

    hook = pipe.unet.register_forward_hook(unet_hook, with_kwargs=True)
    sched.step = step_recorder
    pipe.prepare_latents = prepare_recorder
    try:
        with torch.no_grad():
            frames = pipe(
                image, height=spec["height"], width=spec["width"], num_frames=spec["num_frames"],
                num_inference_steps=spec["num_inference_steps"], min_guidance_scale=spec["min_guidance_scale"],
                max_guidance_scale=spec["max_guidance_scale"], fps=spec["fps"], motion_bucket_id=spec["motion_bucket_id"],
                noise_aug_strength=spec["noise_aug_strength"], decode_chunk_size=spec["decode_chunk_size"],
                generator=torch.manual_seed(spec["seed"]), output_type="np",
            ).frames
    finally:
        hook.remove()
        del sched.step
        del pipe.prepare_latents

    n = spec["num_inference_steps"]
    assert len(unet_calls) == n and len(sched.trace) == n and len(guided) == n
    trace = {
        "sigmas": base.t32(sched.sigmas),
        "timesteps": sched.timesteps.to(torch.float32),
        "init_latents": init["latents"],
    }
    for i in range(n):
        trace[f"step{i}.timestep"] = unet_calls[i]["timestep"]
        trace[f"step{i}.noise_pred"] = unet_calls[i]["noise_pred"]
        trace[f"step{i}.guided"] = guided[i]
        for k in ("noise", "denoised"):
            trace[f"step{i}.{k}"] = sched.trace[i][k]
        trace[f"step{i}.latents"] = sched.trace[i]["prev_sample"]
    trace["final_latents"] = sched.trace[-1]["prev_sample"]
    trace["frames"] = torch.from_numpy(np.ascontiguousarray(frames)).to(torch.float32)
    trace["frames_u8"] = torch.from_numpy(np.ascontiguousarray((frames * 255).round().astype("uint8")))
    meta = {k: (repr(float(v)) if isinstance(v, float) else str(v)) for k, v in spec.items()}
    meta.update({
        "scheduler": json.dumps(SCHEDULER, sort_keys=True), "init_noise_sigma": repr(float(sched.init_noise_sigma)),
        "do_classifier_free_guidance": "1" if spec["max_guidance_scale"] > 1 else "0",
        "generator": "torch.manual_seed(seed) (the global generator): noise_aug, init latents, then one draw per step "
                     "when num_inference_steps > 1",
        "pipeline": os.path.relpath(PIPELINE[0], SVD_FIXTURES), "variant": PIPELINE[1],
        "diffusers_version": diffusers.__version__, "torch_version": torch.__version__,
    })
    return trace, meta


def scheduler_fixture():
    tensors, meta = {}, {}
    for n in SCHEDULE_STEPS:
        s = make_scheduler()
        s.set_timesteps(n)
        tensors[f"sigmas_{n}"] = s.sigmas.clone()
        tensors[f"timesteps_{n}"] = s.timesteps.to(torch.float32)
        tensors[f"timesteps64_{n}"] = s.timesteps.clone()
    for n, seed in STEP_CASES:
        s = make_scheduler()
        s.set_timesteps(n)
        torch.manual_seed(seed)
        x = torch.randn(STEP_SHAPE) * s.init_noise_sigma
        tensors[f"case{n}.init"] = x.clone()
        for i, t in enumerate(s.timesteps):
            scaled = s.scale_model_input(x, t)
            model_output = torch.randn(STEP_SHAPE)   # stands in for the UNet: also from the global generator
            x = s.step(model_output, t, x).prev_sample
            tensors[f"case{n}.step{i}.scaled"] = scaled.clone()
            tensors[f"case{n}.step{i}.model_output"] = model_output.clone()
            tensors[f"case{n}.step{i}.denoised"] = s.trace[i]["denoised"]
            tensors[f"case{n}.step{i}.prev_sample"] = x.clone()
        meta[f"case{n}.seed"] = str(seed)
    meta.update({
        "config": json.dumps(SCHEDULER, sort_keys=True), "steps": ",".join(map(str, SCHEDULE_STEPS)),
        "cases": ",".join(str(n) for n, _ in STEP_CASES), "shape": ",".join(map(str, STEP_SHAPE)),
        "init_noise_sigma": repr(float(make_scheduler().init_noise_sigma)),
        "note": "case<n>: torch.manual_seed(seed); init = randn(shape) * init_noise_sigma; per step i: "
                "model_output = randn(shape), then step(...) draws its noise (n > 1) from the same global generator",
        "diffusers_version": diffusers.__version__, "torch_version": torch.__version__,
    })
    base.save(tensors, DIFFUSION_OUT, meta)
    print(f"wrote {os.path.relpath(DIFFUSION_OUT, ROOT)}")


def check_not_degenerate(trace, name):
    frames, lat = trace["frames"], trace["final_latents"]
    if not torch.isfinite(lat).all() or not torch.isfinite(frames).all():
        raise SystemExit(f"{name}: non-finite values")
    sat = float(((frames <= 0.0) | (frames >= 1.0)).float().mean())
    per_frame_std = frames[0].reshape(frames.shape[1], -1, 3).std(1)
    print(f"  {name}: final latents |max| {float(lat.abs().max()):.3f} std {float(lat.std()):.3f}; frames mean "
          f"{float(frames.mean()):.3f} std {float(frames.std()):.3f}, saturated {sat:.1%}, min per-frame channel std "
          f"{float(per_frame_std.min()):.3f}")
    if float(per_frame_std.min()) < 0.02 or sat > 0.05:
        raise SystemExit(f"{name}: degenerate frames")
    if float((frames[0, 1:] - frames[0, :-1]).abs().max()) < 1e-3:
        raise SystemExit(f"{name}: all frames identical")


def main():
    torch.set_num_threads(2)
    scheduler_fixture()
    os.makedirs(OUT, exist_ok=True)
    write_scheduler_config(OUT)
    pipe = StableVideoDiffusionPipeline.from_pretrained(PIPELINE[0], variant=PIPELINE[1], dtype=torch.float32)
    pipe.scheduler = make_scheduler()
    pipe.set_progress_bar_config(disable=True)
    for name, spec in RUNS.items():
        trace, meta = run_traced(pipe, spec)
        check_not_degenerate(trace, name)
        path = os.path.join(OUT, f"trace-{name}.safetensors")
        base.save(trace, path, meta)
        # The same call again must give the same frames (the global generator is reseeded per call).
        trace2, _ = run_traced(pipe, spec)
        if not torch.equal(trace2["frames_u8"], trace["frames_u8"]):
            raise SystemExit(f"{name}: not deterministic")
        print(f"wrote {os.path.relpath(path, ROOT)} ({os.path.getsize(path)} bytes)")


if __name__ == "__main__":
    main()
