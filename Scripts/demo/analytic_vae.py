"""A fixed, hand-set AutoencoderKLTemporalDecoder: 2x2 average pooling in, bilinear 2x upsampling out.

Why: on this project's shared 2-core CPU the learned VAE trained far too slowly (about 15 dB PSNR
after 400 steps, below a plain bilinear baseline), and the first frame must reproduce the input.
So the demo model's VAE is not learned; its weights are set so that, in diffusers'
architecture and in img2vid's port of it unchanged:
  encode: latent[c] = mean of each 2x2 pixel block of colour c (c = R, G, B in [-1, 1]); latent[3] = 0
  decode: bilinear 2x upsampling of latent[0:3] (half-pixel centres; zero padding at the border)
Every residual branch (ResnetBlock2D, TemporalResnetBlock, attention) has a zero output projection,
so it is the identity. The GroupNorm + SiLU before each `conv_out` is made linear: each group of 4
channels holds (s, -s, M, -M) with M = 100, so its mean is 0 and its deviation is M/sqrt(2) up to
s^2/M^2 (about 5e-5 relative); the norm's affine maps s to s + 20, where SiLU is the identity to 1e-8,
and `conv_out` subtracts the 20 again.
"""
import math

import torch

M = 100.0
OFFSET = 20.0
CONFIG = dict(in_channels=3, out_channels=3, down_block_types=["DownEncoderBlock2D"] * 2,
              block_out_channels=[128, 128], layers_per_block=1, latent_channels=4,
              sample_size=128, scaling_factor=1.0, force_upcast=False)


@torch.no_grad()
def build():
    from diffusers import AutoencoderKLTemporalDecoder
    vae = AutoencoderKLTemporalDecoder(**CONFIG)
    for p in vae.parameters():
        p.zero_()
    sd = dict(vae.named_parameters())
    sigma = M / math.sqrt(2.0)

    def plus_minus(conv_w, conv_b, src_channels, tap):
        """Output channels 4k, 4k+1 = +src_k, -src_k at the kernel's centre tap; 4k+2, 4k+3 = +M, -M."""
        for k, c in enumerate(src_channels):
            conv_w[4 * k, c][tap] = 1.0
            conv_w[4 * k + 1, c][tap] = -1.0
            conv_b[4 * k + 2] = M
            conv_b[4 * k + 3] = -M

    used = 12  # 3 colour groups of 4 channels
    # ---- encoder: conv_in makes (s, -s, M, -M) per colour; the downsampler averages 2x2 blocks
    plus_minus(sd["encoder.conv_in.weight"], sd["encoder.conv_in.bias"], [0, 1, 2], (1, 1))
    w = sd["encoder.down_blocks.0.downsamplers.0.conv.weight"]
    for c in range(used):
        for dy in (0, 1):
            for dx in (0, 1):
                w[c, c, dy, dx] = 0.25   # Downsample2D pads (0, 1, 0, 1) and convolves with stride 2
    # norm groups (s, -s, M, -M): weight sigma on s, bias OFFSET -> SiLU is the identity there
    for k in range(3):
        sd["encoder.conv_norm_out.weight"][4 * k] = sigma
        sd["encoder.conv_norm_out.bias"][4 * k] = OFFSET
    for k in range(3):
        sd["encoder.conv_out.weight"][k, 4 * k, 1, 1] = 1.0
        sd["encoder.conv_out.bias"][k] = -OFFSET
    for k in range(4, 8):
        sd["encoder.conv_out.bias"][k] = -20.0   # log-variance: a near-deterministic posterior
    for k in range(8):
        sd["quant_conv.weight"][k, k, 0, 0] = 1.0
    # ---- decoder: conv_in makes (s, -s, M, -M) from the latent; the upsampler's conv after nearest
    # 2x upsampling with the separable kernel [1/4, 1/2, 1/4] is exactly bilinear 2x upsampling
    plus_minus(sd["decoder.conv_in.weight"], sd["decoder.conv_in.bias"], [0, 1, 2], (1, 1))
    w = sd["decoder.up_blocks.0.upsamplers.0.conv.weight"]
    k1 = torch.tensor([0.25, 0.5, 0.25])
    for c in range(used):
        w[c, c] = torch.outer(k1, k1)
    for k in range(3):
        sd["decoder.conv_norm_out.weight"][4 * k] = sigma
        sd["decoder.conv_norm_out.bias"][4 * k] = OFFSET
        sd["decoder.conv_out.weight"][k, 4 * k, 1, 1] = 1.0
        sd["decoder.conv_out.bias"][k] = -OFFSET
        sd["decoder.time_conv_out.weight"][k, k, 1, 0, 0] = 1.0
    # AlphaBlender mix factors: any value mixes two equal tensors; keep diffusers' initial 0.5 mix
    for name, p in sd.items():
        if name.endswith("time_mixer.mix_factor"):
            p.fill_(0.5)
    return vae


def encode_reference(x):
    """What the encoder computes, for training-time latents: [N, 4, H/2, W/2]."""
    import torch.nn.functional as F
    z = F.avg_pool2d(x, 2)
    return torch.cat([z, torch.zeros_like(z[:, :1])], 1)
