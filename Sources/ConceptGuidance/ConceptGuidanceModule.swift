// Safe-Latent-Diffusion-style concept guidance (being written).
