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
