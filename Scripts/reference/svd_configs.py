"""Writes the public configs of the two Stable Video Diffusion releases into Models/ and checks them.

Models/svd-xt/  mirrors stabilityai/stable-video-diffusion-img2vid-xt (25 frames)
Models/svd/     mirrors stabilityai/stable-video-diffusion-img2vid    (14 frames)

Only configs are written (the diffusers pipeline folder layout: model_index.json and one config per
component); no weights and no hub access. The values are those of the released files (see
Scripts/reference/README.md for where each was read). The two releases differ only in the UNet's
`num_frames` (25 vs 14), which is also the pipeline's default frame count.

Validation: every component is instantiated from the written JSON on the meta device (no memory);
the SVD-XT UNet must have exactly 1,524,623,082 parameters in 1,428 tensors (FACTS.md). Parameter
counts of all components are printed (and quoted in the README).

Run: .venv-reference/bin/python Scripts/reference/svd_configs.py
"""
import json
import os
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DIFFUSERS_VERSION = "0.24.0.dev0"  # the version that wrote the released configs

MODEL_INDEX = {
    "_class_name": "StableVideoDiffusionPipeline",
    "_diffusers_version": DIFFUSERS_VERSION,
    "feature_extractor": ["transformers", "CLIPImageProcessor"],
    "image_encoder": ["transformers", "CLIPVisionModelWithProjection"],
    "scheduler": ["diffusers", "EulerDiscreteScheduler"],
    "unet": ["diffusers", "UNetSpatioTemporalConditionModel"],
    "vae": ["diffusers", "AutoencoderKLTemporalDecoder"],
}


def unet_config(num_frames):
    return {
        "_class_name": "UNetSpatioTemporalConditionModel",
        "_diffusers_version": DIFFUSERS_VERSION,
        "addition_time_embed_dim": 256,
        "block_out_channels": [320, 640, 1280, 1280],
        "cross_attention_dim": 1024,
        "down_block_types": [
            "CrossAttnDownBlockSpatioTemporal",
            "CrossAttnDownBlockSpatioTemporal",
            "CrossAttnDownBlockSpatioTemporal",
            "DownBlockSpatioTemporal",
        ],
        "in_channels": 8,
        "layers_per_block": 2,
        "num_attention_heads": [5, 10, 20, 20],
        "num_frames": num_frames,
        "out_channels": 4,
        "projection_class_embeddings_input_dim": 768,
        "sample_size": 96,
        "transformer_layers_per_block": 1,
        "up_block_types": [
            "UpBlockSpatioTemporal",
            "CrossAttnUpBlockSpatioTemporal",
            "CrossAttnUpBlockSpatioTemporal",
            "CrossAttnUpBlockSpatioTemporal",
        ],
    }


VAE = {
    "_class_name": "AutoencoderKLTemporalDecoder",
    "_diffusers_version": DIFFUSERS_VERSION,
    "block_out_channels": [128, 256, 512, 512],
    "down_block_types": ["DownEncoderBlock2D", "DownEncoderBlock2D", "DownEncoderBlock2D", "DownEncoderBlock2D"],
    "force_upcast": True,
    "in_channels": 3,
    "latent_channels": 4,
    "layers_per_block": 2,
    "out_channels": 3,
    "sample_size": 768,
    "scaling_factor": 0.18215,
}

IMAGE_ENCODER = {
    "architectures": ["CLIPVisionModelWithProjection"],
    "attention_dropout": 0.0,
    "dropout": 0.0,
    "hidden_act": "gelu",
    "hidden_size": 1280,
    "image_size": 224,
    "initializer_factor": 1.0,
    "initializer_range": 0.02,
    "intermediate_size": 5120,
    "layer_norm_eps": 1e-05,
    "model_type": "clip_vision_model",
    "num_attention_heads": 16,
    "num_channels": 3,
    "num_hidden_layers": 32,
    "patch_size": 14,
    "projection_dim": 1024,
    "torch_dtype": "float16",
}

SCHEDULER = {
    "_class_name": "EulerDiscreteScheduler",
    "_diffusers_version": DIFFUSERS_VERSION,
    "beta_end": 0.012,
    "beta_schedule": "scaled_linear",
    "beta_start": 0.00085,
    "clip_sample": False,
    "interpolation_type": "linear",
    "num_train_timesteps": 1000,
    "prediction_type": "v_prediction",
    "set_alpha_to_one": False,
    "sigma_max": 700.0,
    "sigma_min": 0.002,
    "skip_prk_steps": True,
    "steps_offset": 1,
    "timestep_spacing": "leading",
    "timestep_type": "continuous",
    "trained_betas": None,
    "use_karras_sigmas": True,
}

FEATURE_EXTRACTOR = {
    "crop_size": {"height": 224, "width": 224},
    "do_center_crop": True,
    "do_convert_rgb": True,
    "do_normalize": True,
    "do_rescale": True,
    "do_resize": True,
    "feature_extractor_type": "CLIPFeatureExtractor",
    "image_mean": [0.48145466, 0.4578275, 0.40821073],
    "image_processor_type": "CLIPImageProcessor",
    "image_std": [0.26862954, 0.26130258, 0.27577711],
    "resample": 3,
    "rescale_factor": 0.00392156862745098,
    "size": {"shortest_edge": 224},
}

RELEASES = {"svd-xt": 25, "svd": 14}


def write_json(path, obj):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        json.dump(obj, f, indent=2, sort_keys=False)
        f.write("\n")


def write_release(name, num_frames):
    base = os.path.join(ROOT, "Models", name)
    write_json(os.path.join(base, "model_index.json"), MODEL_INDEX)
    write_json(os.path.join(base, "unet", "config.json"), unet_config(num_frames))
    write_json(os.path.join(base, "vae", "config.json"), VAE)
    write_json(os.path.join(base, "image_encoder", "config.json"), IMAGE_ENCODER)
    write_json(os.path.join(base, "scheduler", "scheduler_config.json"), SCHEDULER)
    write_json(os.path.join(base, "feature_extractor", "preprocessor_config.json"), FEATURE_EXTRACTOR)
    return base


def count(module):
    params = list(module.parameters())
    return sum(p.numel() for p in params), len(params)


def validate(base):
    """Instantiates every component from the written files on the meta device; returns the counts."""
    import torch
    from diffusers import AutoencoderKLTemporalDecoder, EulerDiscreteScheduler, UNetSpatioTemporalConditionModel
    from transformers import CLIPVisionConfig, CLIPVisionModelWithProjection

    counts = {}
    with torch.device("meta"):
        unet = UNetSpatioTemporalConditionModel.from_config(
            UNetSpatioTemporalConditionModel.load_config(os.path.join(base, "unet")))
        counts["unet"] = count(unet)
        vae = AutoencoderKLTemporalDecoder.from_config(
            AutoencoderKLTemporalDecoder.load_config(os.path.join(base, "vae")))
        counts["vae"] = count(vae)
        counts["vae.encoder+quant_conv"] = (
            count(vae.encoder)[0] + count(vae.quant_conv)[0], count(vae.encoder)[1] + count(vae.quant_conv)[1])
        counts["vae.decoder"] = count(vae.decoder)
        enc_config = CLIPVisionConfig.from_pretrained(os.path.join(base, "image_encoder"))
        enc = CLIPVisionModelWithProjection(enc_config)
        counts["image_encoder"] = count(enc)
    sched = EulerDiscreteScheduler.from_pretrained(os.path.join(base, "scheduler"))
    assert sched.config.prediction_type == "v_prediction" and sched.config.use_karras_sigmas
    assert enc_config.hidden_act == "gelu" and enc_config.projection_dim == unet.config.cross_attention_dim
    with open(os.path.join(base, "feature_extractor", "preprocessor_config.json")) as f:
        fe = json.load(f)
    assert fe["image_mean"] == [0.48145466, 0.4578275, 0.40821073]
    return counts


def main():
    results = {}
    for name, frames in RELEASES.items():
        base = write_release(name, frames)
        results[name] = validate(base)
        for comp, (n, t) in results[name].items():
            print(f"{name:7s} {comp:24s} {n:>15,d} parameters in {t:5d} tensors")
    n, t = results["svd-xt"]["unet"]
    if (n, t) != (1_524_623_082, 1_428):
        print(f"FAIL: SVD-XT UNet has {n:,} parameters in {t} tensors, expected 1,524,623,082 in 1,428")
        sys.exit(1)
    if results["svd"] != results["svd-xt"]:
        print("FAIL: the two releases should have identical parameter counts")
        sys.exit(1)
    print("OK: SVD-XT UNet has 1,524,623,082 parameters in 1,428 tensors")


if __name__ == "__main__":
    main()
