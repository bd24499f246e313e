#!/usr/bin/python3
# Writes test/fixtures/jpeg/: JPEGs as PIL (libjpeg-turbo) writes them — colour subsampled 4:2:0
# (most photos), 4:2:2 and 4:4:4, progressive, greyscale, and CMYK — and, for each, the RGB bytes
# PIL decodes from it (Image.open(f).convert("RGB"), torchvision's loading), <name>.rgb.
# Run with Debian's python3-pil: /usr/bin/python3 scripts/make-jpeg-fixtures.py
import json, os
import numpy as np
from PIL import Image, __version__ as pil_version

OUT = os.path.join(os.path.dirname(__file__), "..", "test", "fixtures", "jpeg")
os.makedirs(OUT, exist_ok=True)
# 37 × 29: odd sizes (partial MCUs), smooth colour and hard colour edges (where subsampled colour is interpolated)
h, w = 29, 37
y, x = np.mgrid[0:h, 0:w]
rgb = np.stack([128 + 127 * np.sin(x / 4.0), 128 + 127 * np.cos(y / 3.0), ((x // 6 + y // 5) % 2) * 255], -1).astype(np.uint8)
img = Image.fromarray(rgb)
CASES = {
    "s420": lambda p: img.save(p, quality=85, subsampling=2),
    "s422": lambda p: img.save(p, quality=85, subsampling=1),
    "s444": lambda p: img.save(p, quality=90, subsampling=0),
    "progressive": lambda p: img.save(p, quality=80, subsampling=2, progressive=True),
    "grey": lambda p: img.convert("L").save(p, quality=85),
    "cmyk": lambda p: img.convert("CMYK").save(p, quality=90),
}
meta = {"pil": pil_version, "width": w, "height": h, "cases": {}}
for name, save in CASES.items():
    path = os.path.join(OUT, name + ".jpg")
    save(path)
    decoded = Image.open(path)
    meta["cases"][name] = {"mode": decoded.mode}
    np.asarray(decoded.convert("RGB")).tofile(os.path.join(OUT, name + ".rgb"))
with open(os.path.join(OUT, "meta.json"), "w") as f:
    json.dump(meta, f)
print(meta)
