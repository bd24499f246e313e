#!/usr/bin/python3
# Writes test/fixtures/resize-tf-crop-onnx.json: ONNX Resize with coordinate_transformation_mode
# tf_crop_and_resize computed by ONNX's own reference implementation (interpolate_nd in
# onnx.backend.test.case.node.resize, float64) for a few rois, modes and extrapolation values.
# Run with Debian's python3-onnx: /usr/bin/python3 scripts/make-resize-fixtures.py
import json, os
import numpy as np
import onnx
from onnx.backend.test.case.node.resize import interpolate_nd, linear_coeffs, nearest_coeffs, cubic_coeffs

SEED = 7
OUT = os.path.join(os.path.dirname(__file__), "..", "test", "fixtures", "resize-tf-crop-onnx.json")

rng = np.random.default_rng(SEED)
x = rng.uniform(-2, 2, size=(2, 3, 5, 6)).astype(np.float32)
# name, mode, roi over N, C, H, W (starts then ends), sizes [OH, OW], extrapolation_value, extra attributes
CASES = [
    ("linear", "linear", [0.2, 0.1, 0.9, 1.3], [4, 7], 0.5, {}),
    ("linear_inside", "linear", [0.1, 0.25, 0.8, 0.95], [6, 4], 0.0, {}),
    ("nearest", "nearest", [-0.3, 0.25, 0.8, 0.75], [6, 3], -2.0, {}),
    ("cubic", "cubic", [0.1, 0.2, 0.7, 0.9], [5, 5], 0.0, {"cubic_coeff_a": -0.5}),
    ("cubic_exclude", "cubic", [-0.1, 0.0, 1.1, 0.6], [7, 4], 1.5, {"cubic_coeff_a": -0.75, "exclude_outside": 1}),
    ("one_pixel", "linear", [0.25, 0.5, 0.75, 1.0], [1, 1], 3.0, {}),
]
cases = []
for name, mode, r, (oh, ow), ev, extra in CASES:
    roi = np.array([0, 0, r[0], r[1], 1, 1, r[2], r[3]], dtype=np.float32)
    a = extra.get("cubic_coeff_a", -0.75)
    coeffs = {"linear": linear_coeffs, "nearest": lambda ratio: nearest_coeffs(ratio), "cubic": lambda ratio: cubic_coeffs(ratio, A=a)}[mode]
    y = interpolate_nd(x.astype(np.float64), coeffs, output_size=[2, 3, oh, ow], roi=roi.astype(np.float64),
                       coordinate_transformation_mode="tf_crop_and_resize", extrapolation_value=ev,
                       exclude_outside=bool(extra.get("exclude_outside", 0)))
    cases.append({"name": name, "mode": mode, "roi": roi.tolist(), "sizes": [oh, ow], "extrapolation": ev, **extra, "output": y.flatten().tolist()})
json.dump({"onnx": onnx.__version__, "numpy": np.__version__, "seed": SEED, "inputShape": list(x.shape), "input": x.flatten().tolist(), "cases": cases},
          open(OUT, "w"))
print("wrote", OUT)

# test/fixtures/resize-antialias-torch.json: images resized as torchvision resizes them for its classifiers —
# torch's bilinear interpolate with antialias (float64, align_corners False; what PIL's resize computes
# before it rounds to bytes), torchvision's Resize(size) (the shorter side to size) then CenterCrop, and PIL's
# own bilinear resize of the same bytes (rounded to bytes). Run with Debian's python3-torch, python3-torchvision, python3-pil.
import torch
import torch.nn.functional as F
import torchvision.transforms as T
from PIL import Image

OUT2 = os.path.join(os.path.dirname(__file__), "..", "test", "fixtures", "resize-antialias-torch.json")
h, w = 37, 53
yy, xx = np.mgrid[0:h, 0:w]
# stripes finer than the targets' pixels (what aliasing shows) over smooth gradients, and noise
img = np.stack([128 + 100 * np.sin(xx * 1.9 + yy * 0.3), 128 + 100 * np.cos(yy * 2.3), 255 * xx / w], axis=-1)
img = np.clip(img + rng.uniform(-20, 20, size=img.shape), 0, 255).astype(np.uint8)
t = torch.from_numpy(img.astype(np.float64) / 255).permute(2, 0, 1)[None]
g8 = lambda vs: [float(f"{v:.7g}") for v in vs]  # 7 significant digits: below the tests' 1e-6
resized = []
for oh, ow in [(11, 17), (5, 4), (37, 20), (41, 31), (12, 64), (1, 1)]:
    y = F.interpolate(t, size=(oh, ow), mode="bilinear", antialias=True, align_corners=False)[0].permute(1, 2, 0)
    pil = np.asarray(Image.fromarray(img).resize((ow, oh), Image.BILINEAR)).astype(np.float64) / 255  # bytes, kept as such
    resized.append({"size": [oh, ow], "torch": g8(y.flatten().tolist()), "pil": [round(v * 255) for v in pil.flatten().tolist()]})
cropped = []
for (oh, ow), frac in [((16, 16), 0.875), ((12, 20), 0.9), ((9, 9), 1.0)]:
    size = round(max(oh, ow) / frac)
    for image in [img, img.transpose(1, 0, 2).copy()]:  # wide and tall
        ti = torch.from_numpy(image.astype(np.float64) / 255).permute(2, 0, 1)
        y = T.CenterCrop((oh, ow))(T.Resize(size, antialias=True)(ti)).permute(1, 2, 0)
        cropped.append({"size": [oh, ow], "centerCrop": frac, "tall": image.shape[0] > image.shape[1], "torch": g8(y.flatten().tolist())})
# edges: a size of exactly .5 before Python's round (10 / 0.8 = 12.5 → 12), and a 1 × 1200 line cropped from a
# 9 × 10800 resize (only the crop's window is computed)
line = rng.integers(0, 256, size=(1, 1200, 3)).astype(np.uint8)
edges = []
for image, (oh, ow), frac in [(img, (10, 10), 0.8), (line, (8, 8), 0.875), (line.transpose(1, 0, 2).copy(), (6, 7), 0.875)]:
    size = round(max(oh, ow) / frac)
    ti = torch.from_numpy(image.astype(np.float64) / 255).permute(2, 0, 1)
    y = T.CenterCrop((oh, ow))(T.Resize(size, antialias=True)(ti)).permute(1, 2, 0)
    edges.append({"height": image.shape[0], "width": image.shape[1], "rgb": image.flatten().tolist(), "size": [oh, ow], "centerCrop": frac, "torch": g8(y.flatten().tolist())})
with open(OUT2, "w") as f:
    json.dump({"source": "scripts/make-resize-fixtures.py (torch " + torch.__version__ + ", torchvision's Resize + CenterCrop, PIL " + Image.__version__ + ")",
               "height": h, "width": w, "rgb": img.flatten().tolist(), "resized": resized, "cropped": cropped, "edges": edges}, f)
print("wrote", OUT2)
