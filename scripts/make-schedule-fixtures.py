#!/usr/bin/python3
# Writes test/fixtures/onecycle-pytorch.json: the learning rates PyTorch's OneCycleLR gives step by
# step (Debian's python3-torch 1.13: /usr/bin/python3 scripts/make-schedule-fixtures.py), the
# reference for fovea.train.oneCycle (test/train.test.ts).
import json
import torch

CASES = [(100, 0.3, 25.0, 1e4), (37, 0.2, 10.0, 100.0), (10, 0.25, 25.0, 1e4), (860, 0.25, 10.0, 1e3)]
out = []
for steps, pct, div, fdiv in CASES:
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p], lr=0.1, momentum=0.9)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.1, total_steps=steps, pct_start=pct, div_factor=div,
                                                final_div_factor=fdiv, anneal_strategy="cos", cycle_momentum=False)
    lrs = []
    for _ in range(steps):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    out.append({"maxLr": 0.1, "totalSteps": steps, "pctStart": pct, "divFactor": div, "finalDivFactor": fdiv, "lrs": lrs})
with open("test/fixtures/onecycle-pytorch.json", "w") as f:
    json.dump({"torch": torch.__version__, "cases": out}, f)
