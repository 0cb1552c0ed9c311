"""Writes the training stills (short side 256, PNG) and the held-out photos into Weights/demo-work/data,
with sources.json: every file's origin, package and the licence read from /usr/share/doc/<pkg>/copyright."""
import json
import os
import re
import sys

import numpy as np
from PIL import Image

sys.path.insert(0, os.path.dirname(__file__))
import data  # noqa: E402


def licence_of(package, path):
    """The `License:` of the copyright stanza whose `Files:` pattern matches `path` (else the `*` stanza)."""
    if package == "scikit-image":
        # each loader's docstring states the image's origin and licence
        import skimage.data
        doc = getattr(skimage.data, path).__doc__ or ""
        for line in doc.splitlines():
            if re.search(r"CC0|CC-0|public domain|copyright|License", line, re.I):
                return "scikit-image: " + line.strip()
        return "scikit-image sample data (no licence line in its docstring)"
    if package == "plasma-workspace-wallpapers":
        # debian/copyright covers the package (Files: *, GPL-2+); each wallpaper's metadata names its
        # author and licence as well: both are recorded
        meta = os.path.join(path.split("/contents/")[0], "metadata.json")
        if os.path.exists(meta):
            kp = json.load(open(meta)).get("KPlugin", {})
            author = ", ".join(a.get("Name", "") for a in kp.get("Authors", []))
            return f"GPL-2+ (debian/copyright); metadata.json: {kp.get('License', '?')}, author {author}"
    text = open(f"/usr/share/doc/{package}/copyright", encoding="utf-8", errors="replace").read()
    if package == "gnome-backgrounds":
        return "CC-BY-SA-3.0 (gnome-backgrounds copyright file: images by Jakub Steiner and others)"
    import fnmatch
    best = None
    for stanza in re.split(r"\n\s*\n", text):
        m = re.search(r"^Files:(.*?)(?=^\S)", stanza + "\nX", re.S | re.M)
        lic = re.search(r"^License:\s*(\S+)", stanza, re.M)
        if not m or not lic:
            continue
        for pat in m.group(1).split():
            if fnmatch.fnmatch(path, "*" + pat.lstrip("*")) or pat == "*":
                if pat == "*":
                    best = best or lic.group(1)
                else:
                    return lic.group(1)
    return best or "see /usr/share/doc/%s/copyright" % package


def main():
    train_dir = os.path.join(data.DATA, "train")
    hold_dir = os.path.join(data.DATA, "holdout")
    os.makedirs(train_dir, exist_ok=True)
    os.makedirs(hold_dir, exist_ok=True)
    records = []
    for name, src, pkg in data.training_sources():
        a = data.resize_short(data.load_rgb(src), data.BANK_SHORT_SIDE)
        Image.fromarray(a).save(os.path.join(train_dir, name + ".png"))
        records.append({"name": name, "source": src, "package": pkg, "licence": licence_of(pkg, src),
                        "split": "train", "size": [a.shape[1], a.shape[0]]})
    for name, src in data.HOLDOUT.items():
        pkg = "plasma-workspace-wallpapers" if "/wallpapers/" in src else "mate-backgrounds"
        a = data.load_rgb(src)
        Image.fromarray(data.resize_short(a, 512)).save(os.path.join(hold_dir, name + ".png"))
        records.append({"name": name, "source": src, "package": pkg, "licence": licence_of(pkg, src),
                        "split": "holdout"})
    with open(os.path.join(data.DATA, "sources.json"), "w") as f:
        json.dump(records, f, indent=1)
    n = sum(r["split"] == "train" for r in records)
    print(f"{n} training stills, {len(records) - n} held out -> {data.DATA}")


if __name__ == "__main__":
    main()
