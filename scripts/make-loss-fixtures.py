#!/usr/bin/python3
# Writes test/fixtures/label-smoothing-pytorch.json: PyTorch's CrossEntropyLoss(label_smoothing=ε)
# on fixed logits, its mean loss and the gradient of that mean with respect to the logits, in
# float64 (Debian's python3-torch 1.13: /usr/bin/python3 scripts/make-loss-fixtures.py) — the
# reference for f32_softmax_xent's smoothing and compile({ labelSmoothing }) (test/loss.test.ts).
import json
import torch

g = torch.Generator().manual_seed(7)
cases = []
for rows, cols, scale, eps in [(5, 7, 3.0, 0.0), (5, 7, 3.0, 0.1), (4, 10, 8.0, 0.3), (3, 2, 1.0, 0.5), (6, 10, 40.0, 0.1)]:
    z = (torch.rand(rows, cols, generator=g, dtype=torch.float64) * 2 - 1) * scale
    z = z.float().double().requires_grad_()  # exactly representable in float32
    y = torch.randint(0, cols, (rows,), generator=g)
    loss = torch.nn.functional.cross_entropy(z, y, label_smoothing=eps)
    loss.backward()
    cases.append({"rows": rows, "cols": cols, "eps": eps, "logits": z.detach().flatten().tolist(),
                  "labels": y.tolist(), "loss": loss.item(), "grad": z.grad.flatten().tolist()})
with open("test/fixtures/label-smoothing-pytorch.json", "w") as f:
    json.dump({"torch": torch.__version__, "cases": cases}, f)
