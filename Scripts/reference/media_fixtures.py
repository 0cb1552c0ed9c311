"""Fixtures for Tests/MediaTests: small image files of every PNG flavour, a JPEG with EXIF
orientation 6, WebP files, and reference outputs of Pillow's Lanczos resize, diffusers'
VaeImageProcessor resize modes and its pre/post-processing.

Run: .venv-reference/bin/python Scripts/reference/media_fixtures.py
Writes into Tests/MediaTests/Fixtures/ (about 10 KB in all). Deterministic (fixed seeds, no
timestamps in the files).
"""

import io
import os
import struct
import zlib

import numpy as np
import PIL
import torch
from PIL import Image
from safetensors.numpy import save_file

from diffusers.image_processor import VaeImageProcessor

OUT = os.path.join(os.path.dirname(__file__), "..", "..", "Tests", "MediaTests", "Fixtures")
rng = np.random.default_rng(20240611)
tensors = {}


def png_bytes(width, height, color_type, bit_depth, rows, plte=None, trns=None):
    """A PNG file written by hand (Pillow cannot write 16-bit RGB or 4-bit palette files)."""

    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)

    raw = b"".join(b"\x00" + row for row in rows)  # filter type 0 on every row
    out = b"\x89PNG\r\n\x1a\n"
    out += chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, bit_depth, color_type, 0, 0, 0))
    if plte is not None:
        out += chunk(b"PLTE", bytes(plte))
    if trns is not None:
        out += chunk(b"tRNS", bytes(trns))
    out += chunk(b"IDAT", zlib.compress(raw, 9))
    out += chunk(b"IEND", b"")
    return out


def write(name, data):
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(data)


def over_white(rgb, alpha):
    """Straight alpha over white, rounded: round((c * a + 255 * (255 - a)) / 255)."""
    c = rgb.astype(np.float64)
    a = alpha.astype(np.float64)[..., None]
    return np.round((c * a + 255.0 * (255.0 - a)) / 255.0).astype(np.uint8)


W, H = 7, 5

# 8-bit RGB
rgb = rng.integers(0, 256, (H, W, 3), dtype=np.uint8)
write("png_rgb8.png", png_bytes(W, H, 2, 8, [rgb[y].tobytes() for y in range(H)]))
tensors["png_rgb8"] = rgb

# 16-bit RGB: v * 257, so an sRGB-encoded reading gives back v exactly (a linear reading would not)
rgb16 = rng.integers(0, 256, (H, W, 3), dtype=np.uint8)
write("png_rgb16.png", png_bytes(W, H, 2, 16, [(rgb16[y].astype(">u2") * 257).tobytes() for y in range(H)]))
tensors["png_rgb16"] = rgb16

# 8-bit grey
grey = rng.integers(0, 256, (H, W), dtype=np.uint8)
write("png_grey8.png", png_bytes(W, H, 0, 8, [grey[y].tobytes() for y in range(H)]))
tensors["png_grey8"] = np.repeat(grey[..., None], 3, axis=2)

# 16-bit grey
grey16 = rng.integers(0, 256, (H, W), dtype=np.uint8)
write("png_grey16.png", png_bytes(W, H, 0, 16, [(grey16[y].astype(">u2") * 257).tobytes() for y in range(H)]))
tensors["png_grey16"] = np.repeat(grey16[..., None], 3, axis=2)

# 4-bit palette of 16 colours, 5 of them partly or fully transparent (tRNS)
palette = rng.integers(0, 256, (16, 3), dtype=np.uint8)
palette_alpha = np.array([255, 0, 128, 64, 200] + [255] * 11, dtype=np.uint8)
indices = rng.integers(0, 16, (H, W), dtype=np.uint8)
indices[0, :5] = [0, 1, 2, 3, 4]
packed_rows = []
for y in range(H):
    row = list(indices[y]) + [0] * (W % 2)
    packed_rows.append(bytes((row[i] << 4) | row[i + 1] for i in range(0, len(row), 2)))
write("png_palette4.png", png_bytes(W, H, 3, 4, packed_rows, plte=palette.tobytes(), trns=palette_alpha[:5].tobytes()))
tensors["png_palette4"] = over_white(palette[indices], palette_alpha[indices])

# 8-bit RGBA
rgba = rng.integers(0, 256, (H, W, 4), dtype=np.uint8)
rgba[0, 0, 3], rgba[0, 1, 3], rgba[0, 2, 3] = 0, 255, 128
write("png_rgba8.png", png_bytes(W, H, 6, 8, [rgba[y].tobytes() for y in range(H)]))
tensors["png_rgba8"] = over_white(rgba[..., :3], rgba[..., 3])

# 8-bit grey + alpha
ga = rng.integers(0, 256, (H, W, 2), dtype=np.uint8)
write("png_greyalpha8.png", png_bytes(W, H, 4, 8, [ga[y].tobytes() for y in range(H)]))
tensors["png_greyalpha8"] = over_white(np.repeat(ga[..., :1], 3, axis=2), ga[..., 1])

# JPEG 32x16 stored sideways: left half red, right half blue, EXIF orientation 6 (rotate 90
# clockwise to display). Expected: Pillow's decode after ImageOps.exif_transpose (16x32, red on top).
stored = np.zeros((16, 32, 3), dtype=np.uint8)
stored[:, :16] = (220, 30, 30)
stored[:, 16:] = (30, 30, 220)
exif = Image.Exif()
exif[0x0112] = 6
buf = io.BytesIO()
Image.fromarray(stored).save(buf, format="JPEG", quality=95, exif=exif.tobytes())
write("jpeg_orientation6.jpg", buf.getvalue())
decoded = PIL.ImageOps.exif_transpose(Image.open(io.BytesIO(buf.getvalue()))).convert("RGB")
tensors["jpeg_orientation6"] = np.array(decoded)

# Lossless WebP with alpha; expected from Pillow's (libwebp's) decode, composited over white.
webp_rgba = rng.integers(0, 256, (H, W, 4), dtype=np.uint8)
webp_rgba[1, :3, 3] = [0, 255, 77]
buf = io.BytesIO()
Image.fromarray(webp_rgba, "RGBA").save(buf, format="WEBP", lossless=True, exact=True)
write("webp_lossless_alpha.webp", buf.getvalue())
back = np.array(Image.open(io.BytesIO(buf.getvalue())).convert("RGBA"))
tensors["webp_lossless_alpha"] = over_white(back[..., :3], back[..., 3])

# Lossy WebP of one colour; expected: libwebp's decode (a different YUV->RGB path than swscale).
buf = io.BytesIO()
Image.new("RGB", (16, 16), (200, 100, 50)).save(buf, format="WEBP", quality=90)
write("webp_lossy.webp", buf.getvalue())
tensors["webp_lossy"] = np.array(Image.open(io.BytesIO(buf.getvalue())).convert("RGB"))

# Pillow's Lanczos resize and diffusers' resize modes on a noise image (harsh on any filter).
source = rng.integers(0, 256, (23, 37, 3), dtype=np.uint8)
tensors["resize_source"] = source
src_img = Image.fromarray(source)
processor = VaeImageProcessor(do_resize=False)  # resample "lanczos", as the SVD pipeline's
for w, h in [(16, 10), (64, 48), (50, 12), (37, 9), (5, 23)]:
    tensors[f"stretch_{w}x{h}"] = np.array(processor.resize(src_img, height=h, width=w, resize_mode="default"))
for w, h in [(24, 24), (40, 16), (20, 30)]:
    tensors[f"crop_{w}x{h}"] = np.array(processor.resize(src_img, height=h, width=w, resize_mode="crop"))
# fill: 24x24 and 40x40 have margins on top and bottom, 64x20 left and right; 24x25 leaves a black
# row in diffusers (odd leftover) that ImageResizer fills.
for w, h in [(24, 24), (40, 40), (64, 20), (24, 25)]:
    tensors[f"fill_{w}x{h}"] = np.array(processor.resize(src_img, height=h, width=w, resize_mode="fill"))
# Pillow with a zero-height box (how diffusers builds fill margins).
tensors["box_top_37x4"] = np.array(src_img.resize((37, 4), resample=Image.LANCZOS, box=(0, 0, 37, 0)))

# VaeImageProcessor.preprocess (pixel / 255 * 2 - 1) and postprocess (denormalize, round).
tensors["preprocess_input"] = rgb
tensors["preprocess_expected"] = processor.preprocess(Image.fromarray(rgb)).numpy()[0].astype(np.float32)
values = rng.uniform(-1.3, 1.3, (3, 5, 7)).astype(np.float32)
values[0, 0, :6] = [-1.0, 1.0, 0.0, -2.0, 2.0, 1.0 / 255.0]
tensors["postprocess_input"] = values
post = processor.postprocess(torch.from_numpy(values)[None], output_type="pil")[0]
tensors["postprocess_expected"] = np.array(post)

save_file({k: np.ascontiguousarray(v) for k, v in tensors.items()}, os.path.join(OUT, "media_reference.safetensors"),
          metadata={"pillow": PIL.__version__, "script": "Scripts/reference/media_fixtures.py"})
print("wrote", sorted(os.listdir(OUT)))
