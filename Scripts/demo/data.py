"""Training data for the bundled demo model (Weights/demo): source stills and synthetic clips.

Sources (see SOURCES below and `Scripts/make-demo-data`): photographs and artwork from Debian's
wallpaper packages (plasma-workspace-wallpapers, mate-backgrounds, gnome-backgrounds), scikit-image's
bundled sample images that are not of people, and procedural textures made here. A few photographs
are held out for evaluation and never trained on (HOLDOUT).

Clips are made on the fly from random crops: camera pans, zooms and rotations along smooth paths,
parallax of a layered cut-out over a background, and a cut-out object moving over a still scene.
Every layer is sampled with `grid_sample` from a known affine transform, so the optical flow of the
clip is known exactly: `motion` is the mean flow magnitude between consecutive frames in output
pixels of a 128-wide frame (REF_SIZE), and `motion_bucket_id = round(255 * min(motion / MAX_MOTION, 1))`,
so 0 is a still clip and 255 is MAX_MOTION such pixels per frame or more.
`fps` is the frame spacing: a path is defined in seconds and sampled every 1/fps seconds.
"""
import glob
import json
import math
import os

import numpy as np
import torch
import torch.nn.functional as F

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
WORK = os.path.join(ROOT, "Weights", "demo-work")
DATA = os.path.join(WORK, "data")
MAX_MOTION = 8.0  # pixels per frame of a 128-wide frame for motion bucket 255 (3 px at the 48 px training size)
REF_SIZE = 128    # motion is measured in pixels of a REF_SIZE-wide frame
BANK_SHORT_SIDE = 256

PACKAGES = ["plasma-workspace-wallpapers", "mate-backgrounds", "gnome-backgrounds"]

# Held-out photographs: never trained on; used by Scripts/eval-demo and as the example image.
HOLDOUT = {
    "EveningGlow": "/usr/share/wallpapers/EveningGlow/contents/images/1920x1080.jpg",
    "Path": "/usr/share/wallpapers/Path/contents/images/1920x1080.jpg",
    "Dune": "/usr/share/backgrounds/mate/nature/Dune.jpg",
    "Storm": "/usr/share/backgrounds/mate/nature/Storm.jpg",
    "ColdRipple": "/usr/share/wallpapers/ColdRipple/contents/images/1920x1080.jpg",
}

# Near-blank or duplicate wallpapers that teach nothing about motion.
SKIP = {"Silk.png", "Spring.png", "Waves.png", "MATE-Stripes-Dark.png", "MATE-Stripes-Light.png",
        "Arc-Colors-Transparent-Wallpaper.png", "GreenTraditional.jpg", "Ubuntu-Mate-Dark-no-logo.png",
        "Elephants_3840x2160.jpg", "Elephants_5640x3172.jpg", "symbolic-d.webp", "symbolic-l.webp",
        "vnc-d.webp", "vnc-l.webp"}

# scikit-image sample images used (none of people: astronaut, camera and lfw_subset are left out).
SKIMAGE = ["chelsea", "coffee", "rocket", "hubble_deep_field", "brick", "grass", "gravel", "coins",
           "moon", "retina", "immunohistochemistry", "colorwheel", "cell"]


def training_sources():
    """(name, path-or-skimage-name, package) of every training still, in a fixed order."""
    out = []
    for d in sorted(glob.glob("/usr/share/wallpapers/*/contents/images")):
        name = d.split("/")[4]
        if name in HOLDOUT:
            continue
        imgs = sorted(glob.glob(d + "/*"))
        def pixels(f):
            try:
                w, h = os.path.splitext(os.path.basename(f))[0].split("x")
                return int(w) * int(h)
            except ValueError:
                return 0
        best = max(imgs, key=lambda f: (pixels(f), f))
        out.append((name, best, "plasma-workspace-wallpapers"))
    for f in sorted(glob.glob("/usr/share/backgrounds/mate/*/*")):
        base = os.path.basename(f)
        if base in SKIP or f in HOLDOUT.values():
            continue
        out.append((os.path.splitext(base)[0], f, "mate-backgrounds"))
    for f in sorted(glob.glob("/usr/share/backgrounds/gnome/*")):
        base = os.path.basename(f)
        if base in SKIP or not base.endswith((".webp", ".jpg", ".png")):
            continue
        out.append(("gnome-" + os.path.splitext(base)[0], f, "gnome-backgrounds"))
    for n in SKIMAGE:
        out.append(("skimage-" + n, n, "scikit-image"))
    return out


def load_rgb(path_or_name):
    from PIL import Image
    if os.path.exists(path_or_name):
        im = Image.open(path_or_name).convert("RGB")
        return np.asarray(im)
    import skimage.data
    a = getattr(skimage.data, path_or_name)()
    if a.ndim == 2:
        a = np.stack([a] * 3, -1)
    if a.dtype != np.uint8:
        a = a.astype(np.float64)
        a = (255 * (a - a.min()) / max(1e-8, float(a.max() - a.min()))).astype(np.uint8)
    return a[..., :3]


def resize_short(a, short):
    from PIL import Image
    im = Image.fromarray(a)
    w, h = im.size
    s = short / min(w, h)
    if s < 1:
        im = im.resize((max(1, round(w * s)), max(1, round(h * s))), Image.LANCZOS)
    return np.asarray(im)


class Bank:
    """The training stills as float tensors [3, H, W] in [-1, 1] (short side 256)."""

    def __init__(self, folder=None):
        folder = folder or os.path.join(DATA, "train")
        files = sorted(glob.glob(os.path.join(folder, "*.png")))
        if not files:
            raise SystemExit(f"no training images in {folder}: run Scripts/make-demo-data first")
        from PIL import Image
        self.images = []
        for f in files:
            a = np.asarray(Image.open(f).convert("RGB"))
            self.images.append(torch.from_numpy(a.copy()).permute(2, 0, 1).float() / 127.5 - 1)
        self.names = [os.path.basename(f) for f in files]


# ---------------------------------------------------------------------------------------------
# Procedural textures


def procedural(rng, size=256):
    """A random texture [3, size, size] in [-1, 1]: smooth noise, stripes, blobs or checkers."""
    kind = rng.integers(4)
    yy, xx = torch.meshgrid(torch.linspace(0, 1, size), torch.linspace(0, 1, size), indexing="ij")
    cols = torch.from_numpy(rng.uniform(-1, 1, (4, 3))).float()
    if kind == 0:  # smooth value noise at a few octaves
        out = torch.zeros(3, size, size)
        for octave in range(4):
            n = 4 * 2 ** octave
            g = torch.from_numpy(rng.uniform(-1, 1, (1, 3, n, n))).float()
            out += F.interpolate(g, size=(size, size), mode="bicubic", align_corners=True)[0] / 2 ** octave
        return out.clamp(-1, 1)
    if kind == 1:  # stripes / sinusoid gratings
        t = torch.zeros(size, size)
        for _ in range(rng.integers(1, 4)):
            a = rng.uniform(0, math.pi)
            f = rng.uniform(3, 25)
            t += torch.sin(2 * math.pi * f * (xx * math.cos(a) + yy * math.sin(a)) + rng.uniform(0, 6.3))
        t = (t - t.min()) / (t.max() - t.min() + 1e-6)
        return (cols[0][:, None, None] * (1 - t) + cols[1][:, None, None] * t).clamp(-1, 1)
    if kind == 2:  # blobs over a gradient
        out = cols[0][:, None, None] * (1 - yy) + cols[1][:, None, None] * yy
        for _ in range(rng.integers(5, 30)):
            cx, cy, r = rng.uniform(0, 1), rng.uniform(0, 1), rng.uniform(0.02, 0.15)
            m = (((xx - cx) ** 2 + (yy - cy) ** 2).sqrt() < r).float()
            c = torch.from_numpy(rng.uniform(-1, 1, 3)).float()
            out = out * (1 - m) + c[:, None, None] * m
        return out
    n = int(rng.integers(4, 16))  # checkers, rotated by the camera anyway
    t = ((xx * n).floor() + (yy * n).floor()) % 2
    return cols[0][:, None, None] * (1 - t) + cols[1][:, None, None] * t


# ---------------------------------------------------------------------------------------------
# Clips


def _affine(scale, angle, tx, ty, cx=0.0, cy=0.0):
    """3x3 matrix mapping a frame's pixel offsets (from the centre) to the reference frame's."""
    c, s = math.cos(angle), math.sin(angle)
    m = np.array([[scale * c, -scale * s, 0], [scale * s, scale * c, 0], [0, 0, 1]], dtype=np.float64)
    t1 = np.array([[1, 0, cx], [0, 1, cy], [0, 0, 1]], dtype=np.float64)
    t0 = np.array([[1, 0, -cx], [0, 1, -cy], [0, 0, 1]], dtype=np.float64)
    tr = np.array([[1, 0, tx], [0, 1, ty], [0, 0, 1]], dtype=np.float64)
    return tr @ t1 @ m @ t0


def _path(rng, frames, fps, speed, kind):
    """Per-frame 3x3 transforms (frame pixel offsets -> reference pixel offsets), frame 0 = identity.
    `speed` is the intended mean displacement in pixels per frame (REF_SIZE units)."""
    R = 0.38 * REF_SIZE  # mean distance of a pixel from the centre of a square frame
    mats = []
    theta = rng.uniform(0, 2 * math.pi)
    omega = rng.normal(0, 1.0)                   # radians per second: the pan direction turns
    accel = rng.uniform(-0.3, 0.3)               # relative change of speed per second
    sign_z = rng.choice([-1, 1])
    sign_r = rng.choice([-1, 1])
    w = {"pan": (1, 0, 0), "zoom": (0, 1, 0), "rotate": (0, 0, 1)}.get(kind)
    if w is None:
        w = rng.dirichlet([1, 1, 1])
    w = np.array(w, dtype=np.float64)
    w = w / max(1e-6, w.sum())
    cz = rng.uniform(-0.2, 0.2, 2) * REF_SIZE
    x = y = 0.0
    lz = ang = 0.0
    for k in range(frames):
        t = k / fps
        mats.append(_affine(math.exp(lz), ang, x, y, cz[0], cz[1]))
        v = speed * max(0.2, 1 + accel * t)
        d = theta + omega * t
        x += w[0] * v * math.cos(d)
        y += w[0] * v * math.sin(d)
        lz += sign_z * w[1] * v / R
        ang += sign_r * w[2] * v / R
    return mats


def _sample(img, mats, size, base_scale, base_cx, base_cy):
    """Frames [F, 3, size, size] from `img` [3, H, W]: reference pixel p maps to image pixel
    base_c + base_scale * p; frame pixel q maps to reference pixel M q."""
    _, H, W = img.shape
    lin = (torch.arange(size, dtype=torch.float64) + 0.5 - size / 2) * (REF_SIZE / size)
    gy, gx = torch.meshgrid(lin, lin, indexing="ij")
    pts = torch.stack([gx.flatten(), gy.flatten(), torch.ones(size * size, dtype=torch.float64)])
    grids = []
    for m in mats:
        ref = torch.from_numpy(m) @ pts
        ix = base_cx + base_scale * ref[0]
        iy = base_cy + base_scale * ref[1]
        grids.append(torch.stack([(ix / W) * 2 - 1, (iy / H) * 2 - 1], -1).view(size, size, 2))
    grid = torch.stack(grids).float()
    return F.grid_sample(img[None].expand(len(mats), -1, -1, -1), grid, mode="bilinear",
                         padding_mode="reflection", align_corners=False)


def _flow_mag(mats, size, mask=None):
    """Mean |flow| between consecutive frames (REF_SIZE pixels) for pixels of frame k, per pair."""
    lin = (np.arange(size) + 0.5 - size / 2) * (REF_SIZE / size)
    gx, gy = np.meshgrid(lin, lin)
    pts = np.stack([gx.ravel(), gy.ravel(), np.ones(size * size)])
    out = []
    for k in range(len(mats) - 1):
        # a scene point seen at q in frame k is at inv(M_{k+1}) M_k q in frame k+1
        q1 = np.linalg.inv(mats[k + 1]) @ mats[k] @ pts
        out.append(np.hypot(q1[0] - pts[0], q1[1] - pts[1]))
    return np.stack(out)  # [F-1, size*size]


def _blob_mask(rng, size):
    yy, xx = torch.meshgrid(torch.linspace(-1, 1, size), torch.linspace(-1, 1, size), indexing="ij")
    a = torch.atan2(yy, xx)
    r = torch.sqrt(xx ** 2 + yy ** 2)
    edge = torch.full_like(a, 0.75)
    for h in range(2, 6):
        edge = edge + rng.uniform(-0.08, 0.08) * torch.cos(h * a + rng.uniform(0, 6.3))
    return torch.sigmoid((edge - r) * 25)


def make_clip(rng, bank, frames=8, size=128):
    """One training clip: (frames [F, 3, size, size] in [-1, 1], motion_bucket_id, fps, motion)."""
    def source():
        if bank is None or rng.random() < 0.15:
            return procedural(rng)
        img = bank.images[rng.integers(len(bank.images))]
        if rng.random() < 0.5:
            img = img.flip(-1)
        gain = torch.from_numpy(rng.uniform(0.85, 1.15, 3)).float()[:, None, None]
        return ((img + 1) * gain - 1).clamp(-1, 1)

    fps = int(rng.integers(4, 13))
    still = rng.random() < 0.08
    speed = 0.0 if still else rng.uniform(0.0, 1.15) ** 1.0 * MAX_MOTION
    kind = rng.choice(["pan", "zoom", "rotate", "mix", "parallax", "object"], p=[0.25, 0.15, 0.1, 0.15, 0.2, 0.15])

    bg = source()
    _, H, W = bg.shape
    view = rng.uniform(0.35, 0.95) * min(H, W)     # source pixels across the reference frame
    s = view / REF_SIZE
    if s > 1.2:  # antialias: shrink the source so sampling is near 1:1
        f = 1.0 / s
        bg = F.interpolate(bg[None], scale_factor=f, mode="bilinear", antialias=True, align_corners=False)[0]
        _, H, W = bg.shape
        s = 1.0
    margin = s * (REF_SIZE / 2 + speed * frames)
    cx = rng.uniform(min(margin, W / 2), max(W - margin, W / 2))
    cy = rng.uniform(min(margin, H / 2), max(H - margin, H / 2))

    if kind in ("pan", "zoom", "rotate", "mix"):
        mats = _path(rng, frames, fps, speed, kind)
        clip = _sample(bg, mats, size, s, cx, cy)
        motion = float(_flow_mag(mats, 32).mean())
    else:
        bg_speed = speed * (0.45 if kind == "parallax" else rng.uniform(0, 0.15))
        fg_speed = speed * (1.6 if kind == "parallax" else rng.uniform(2.0, 3.5))
        bg_mats = _path(rng, frames, fps, bg_speed, "pan")
        clip = _sample(bg, bg_mats, size, s, cx, cy)
        fg = source()
        fg = F.interpolate(fg[None], size=(REF_SIZE, REF_SIZE), mode="bilinear", antialias=True, align_corners=False)[0]
        obj = int(rng.uniform(0.3, 0.6) * REF_SIZE)
        mask = _blob_mask(rng, obj)
        layer = torch.zeros(4, REF_SIZE, REF_SIZE)
        o0 = (REF_SIZE - obj) // 2
        layer[:3] = fg
        layer[3, o0:o0 + obj, o0:o0 + obj] = mask
        # the object sits at a random place; its path moves it (in the direction of the camera for parallax)
        fg_mats = _path(rng, frames, fps, fg_speed, "pan" if kind == "parallax" else "mix")
        off = rng.uniform(-0.25, 0.25, 2) * REF_SIZE
        shift = _affine(1, 0, off[0], off[1])
        fg_mats = [np.linalg.inv(shift) @ m for m in fg_mats]
        lay = _sample(layer, fg_mats, size, 1.0, REF_SIZE / 2, REF_SIZE / 2)
        # reflection padding would repeat the object: cut everything that maps outside the layer
        lin = (torch.arange(size, dtype=torch.float64) + 0.5 - size / 2) * (REF_SIZE / size)
        a = lay[:, 3:4]
        clip = clip * (1 - a) + lay[:, :3] * a
        bgf = _flow_mag(bg_mats, 32)
        fgf = _flow_mag(fg_mats, 32)
        am = F.interpolate(a, size=(32, 32), mode="area")[:-1, 0].reshape(frames - 1, -1).numpy()
        motion = float((bgf * (1 - am) + fgf * am).mean())
    if rng.random() < 0.5:  # occasionally play the clip in reverse order of magnitude change
        pass
    bucket = int(round(255 * min(motion / MAX_MOTION, 1.0)))
    return clip.clamp(-1, 1), bucket, fps, motion
