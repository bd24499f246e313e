# /usr/bin/python3 scripts/make-train-fixtures.py: test/fixtures/train/<case>.onnx and .json, the
# reference for test/train-pytorch.test.ts (fine-tuning an imported PyTorch model trains as PyTorch
# trains it). Each case: a small net built with a fixed seed, exported before training (ONNX opset
# 13, eval mode, TrainingMode.PRESERVE: EVAL would fold each batch norm into its conv), then trained
# in PyTorch for a few steps on fixed data; the JSON holds the data, the settings, each step's loss
# and the trained net's outputs (eval mode: batch norms on their moving statistics) on a probe batch.
# fovea's conventions are set on PyTorch's side where they differ by design (README, "Models and
# training"): L2 on kernels only (weight_decay in a parameter group of the conv and linear weights);
# a constant learning rate with momentum (fovea keeps it inside the velocity, as Keras does).
import json, os, sys
import torch, torch.nn as nn, torch.nn.functional as F

SEED = 7
OUT = os.path.join(os.path.dirname(__file__), "..", "test", "fixtures", "train")
torch.set_num_threads(1)


class ConvBn(nn.Module):
    """input normalisation → conv → batch norm (PyTorch momentum 0.01: ONNX's and fovea's 0.99) → ReLU → max pool → conv → ReLU → linear."""
    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(3, 6, 3, padding=1, bias=False)  # (a bias before a batch norm has a zero gradient)
        self.bn = nn.BatchNorm2d(6, momentum=0.01)
        self.c2 = nn.Conv2d(6, 8, 3, stride=2, padding=1)
        self.fc = nn.Linear(8 * 2 * 2, 5)

    def forward(self, x):
        x = (x - 0.5) / 0.25  # input normalisation: constants of the export, which stay fixed (a scale layer)
        y = F.max_pool2d(F.relu(self.bn(self.c1(x))), 2)
        return self.fc(torch.flatten(F.relu(self.c2(y)), 1))


class PReLUNet(nn.Module):
    """conv → PReLU per channel → conv → PReLU (one slope) → linear: the slopes are learned."""
    def __init__(self):
        super().__init__()
        self.c1, self.a1 = nn.Conv2d(3, 4, 3, padding=1), nn.PReLU(4)
        self.c2, self.a2 = nn.Conv2d(4, 4, 3, stride=2, padding=1), nn.PReLU()
        self.fc = nn.Linear(4 * 4 * 4, 5)

    def forward(self, x):
        return self.fc(torch.flatten(self.a2(self.c2(self.a1(self.c1(x)))), 1))


class Norms(nn.Module):
    """InstanceNorm2d with an affine, GroupNorm (exported between Reshapes to groups), and one without an affine."""
    def __init__(self):
        super().__init__()
        self.c1, self.n1 = nn.Conv2d(3, 4, 3, padding=1), nn.InstanceNorm2d(4, affine=True)
        self.c2, self.n2 = nn.Conv2d(4, 6, 3, padding=1), nn.GroupNorm(2, 6)
        self.c3, self.n3 = nn.Conv2d(6, 6, 3, padding=1), nn.InstanceNorm2d(6)
        self.fc = nn.Linear(6, 5)

    def forward(self, x):
        y = F.relu(self.n1(self.c1(x)))
        y = F.relu(self.n2(self.c2(y)))
        y = F.relu(self.n3(self.c3(y)))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(y, 1), 1))


class SeqLinear(nn.Module):
    """Linear over a sequence's features ([N, L, F]: MatMul by the weight, Add of the bias), then a classifier."""
    def __init__(self):
        super().__init__()
        self.l1 = nn.Linear(6, 8)
        self.fc = nn.Linear(5 * 8, 5)

    def forward(self, x):
        return self.fc(torch.flatten(F.relu(self.l1(x)), 1))


class SigmoidOut(nn.Module):
    """A multi-label head ending in Sigmoid (PyTorch's BCELoss on its probabilities; fovea's sigmoidCrossEntropy reads the logits before it)."""
    def __init__(self):
        super().__init__()
        self.c = nn.Conv2d(3, 4, 3, padding=1)
        self.fc = nn.Linear(4 * 4 * 4, 5)

    def forward(self, x):
        return torch.sigmoid(self.fc(torch.flatten(F.max_pool2d(F.relu(self.c(x)), 2), 1)))


class SegSigmoid(nn.Module):
    """A segmentation head ending in Sigmoid, its output a feature map (NCHW): per-pixel multi-label BCELoss."""
    def __init__(self):
        super().__init__()
        self.c1, self.c2 = nn.Conv2d(3, 4, 3, padding=1), nn.Conv2d(4, 2, 1)

    def forward(self, x):
        return torch.sigmoid(self.c2(F.relu(self.c1(x))))


class Buffered(nn.Module):
    """A sequence's Linear without a bias, then a registered buffer added (not a parameter), and a Linear(F, 1) with one."""
    def __init__(self):
        super().__init__()
        self.l1, self.l2 = nn.Linear(6, 8, bias=False), nn.Linear(8, 1)
        self.register_buffer("offset", torch.randn(8))

    def forward(self, x):
        return torch.flatten(self.l2(F.relu(self.l1(x) + self.offset)), 1)


class SmallNorms(nn.Module):
    """InstanceNorm2d of one channel with an affine (one weight, one bias), a LayerNorm without an affine, PReLU per channel of a sequence."""
    def __init__(self):
        super().__init__()
        self.c, self.n = nn.Conv2d(3, 1, 3, padding=1), nn.InstanceNorm2d(1, affine=True)
        self.ln = nn.LayerNorm(5, elementwise_affine=False)
        self.c1, self.a1 = nn.Conv1d(6, 4, 3, padding=1), nn.PReLU(4)
        self.fc = nn.Linear(4 * 5 + 30, 5)

    def forward(self, x):
        y = self.ln(self.n(self.c(x)))  # [N, 1, 6, 5]
        z = self.a1(self.c1(y.reshape(-1, 6, 5)))  # the map's rows as a sequence of 6 channels
        return self.fc(torch.cat([torch.flatten(z, 1), torch.flatten(y, 1)], 1))


class SeqNorms(nn.Module):
    """Sequences [N, C, L]: InstanceNorm1d with an affine, GroupNorm, then a classifier."""
    def __init__(self):
        super().__init__()
        self.c1, self.n1 = nn.Conv1d(3, 4, 3, padding=1), nn.InstanceNorm1d(4, affine=True)
        self.c2, self.n2 = nn.Conv1d(4, 6, 3, padding=1), nn.GroupNorm(3, 6)
        self.fc = nn.Linear(6 * 7, 5)

    def forward(self, x):
        return self.fc(torch.flatten(F.relu(self.n2(self.c2(F.relu(self.n1(self.c1(x)))))), 1))


class LayerScaled(nn.Module):
    """ConvNeXt's layer scales (a learned gain per channel, named layer_scale as torchvision names it, not weight; two at the same
    initial value, as torchvision's 1e-6, which the exporter stores once and gives the second through an Identity) and a learned
    offset per channel: parameters PyTorch trains that the file cannot tell from buffers (fovea trains them where importOnnx's
    trainable names them: the fixture's optimizer["trainable"])."""
    def __init__(self):
        super().__init__()
        self.c1, self.c2 = nn.Conv2d(3, 4, 3, padding=1), nn.Conv2d(4, 4, 3, padding=1)
        self.layer_scale = nn.Parameter(torch.full((4, 1, 1), 0.5))
        self.layer_scale2 = nn.Parameter(torch.full((4, 1, 1), 0.5))
        self.offset = nn.Parameter(0.1 * torch.randn(4, 1, 1))
        self.fc = nn.Linear(4 * 8 * 8, 5)

    def forward(self, x):
        y = F.relu(self.c1(x) * self.layer_scale + self.offset)
        return self.fc(torch.flatten(F.relu(self.c2(y) * self.layer_scale2), 1))


class ZeroBiases(nn.Module):
    """Two Linear layers over a sequence's features whose biases start at zero (torch.nn.init.zeros_, as many nets initialise
    them): the exporter stores the zeros once and gives the second bias through an Identity; both are PyTorch's parameters."""
    def __init__(self):
        super().__init__()
        self.l1, self.l2, self.fc = nn.Linear(6, 8), nn.Linear(8, 8), nn.Linear(8 * 5, 5)
        nn.init.zeros_(self.l1.bias)
        nn.init.zeros_(self.l2.bias)

    def forward(self, x):
        return self.fc(torch.flatten(F.relu(self.l2(F.relu(self.l1(x)))), 1))


class Gain(nn.Module):
    """A learned gain per channel that also shifts, x * self.weight + self.weight: a Mul and an Add by one parameter PyTorch's
    names say is one."""
    def __init__(self, c):
        super().__init__()
        self.weight = nn.Parameter(1 + 0.2 * torch.randn(c, 1, 1))

    def forward(self, x):
        return x * self.weight + self.weight


class Shared(nn.Module):
    """Modules run more than once, as Siamese nets and detection heads shared across levels run them: a conv and a gain run twice
    in a row (the export's two Conv nodes read one initializer, its two Muls and two Adds another) and a Linear run on two pooled
    views (two Gemm nodes of one weight and bias). PyTorch trains each as one tensor, whose gradient is the sum of its uses'."""
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 4, 3, padding=1)
        self.c = nn.Conv2d(4, 4, 3, padding=1)
        self.gain = Gain(4)
        self.head = nn.Linear(4 * 4 * 4, 5)

    def forward(self, x):
        y = F.relu(self.stem(x))
        y = F.relu(self.gain(self.c(F.relu(self.gain(self.c(y)))))) + y
        return self.head(torch.flatten(F.max_pool2d(y, 2), 1)) + self.head(torch.flatten(F.avg_pool2d(y, 2), 1))


class SharedFolded(nn.Module):
    """Modules run twice whose weights the exporter folds for each use and hands over through an Identity (onnx::…): a PReLU's
    slopes (one per channel, and one for all), a GroupNorm's affine, and a Linear over a sequence's features (its transposed weight); and an InstanceNorm2d with an
    affine run twice (two InstanceNormalization nodes of one scale and B). Their parameters start away from their defaults, as
    a trained net's are (equal values everywhere say nothing about sharing: a simplifier stores equal initializers once)."""
    def __init__(self):
        super().__init__()
        self.c = nn.Conv2d(3, 4, 3, padding=1)
        self.act, self.gn, self.inorm = nn.PReLU(4), nn.GroupNorm(2, 4), nn.InstanceNorm2d(4, affine=True)
        self.act1 = nn.PReLU()  # one slope: its one value, trained (not a round constant an initialiser writes), says it is one tensor
        self.seq = nn.Linear(16, 6)
        self.fc = nn.Linear(4 * 6, 5)
        with torch.no_grad():
            self.act.weight.uniform_(0.1, 0.4)
            self.act1.weight.fill_(0.2137)
            for m in (self.gn, self.inorm):
                m.weight.normal_(1, 0.2)
                m.bias.normal_(0, 0.2)

    def forward(self, x):
        y = self.act(self.act(self.c(x)))
        y = self.act1(self.act1(self.inorm(self.inorm(self.gn(self.gn(y))))) - 0.5)
        y = F.max_pool2d(y, 2).flatten(2)  # [N, 4, 16]: a sequence of 4 rows of 16 features
        return self.fc(torch.flatten(self.seq(F.relu(self.seq(y)[..., :6].repeat(1, 1, 3)[..., :16])), 1))


class TiedAutoencoder(nn.Module):
    """An encoder conv whose weight the decoder reads transposed (F.conv_transpose2d): one tensor, which fovea holds alike in
    both layers (a transposed conv's kernel is laid out as the conv's it transposes) and ties."""
    def __init__(self):
        super().__init__()
        self.enc = nn.Conv2d(3, 4, 3, padding=1)
        self.dec_bias = nn.Parameter(torch.zeros(3))
        self.fc = nn.Linear(3 * 8 * 8, 5)

    def forward(self, x):
        h = F.relu(self.enc(x))
        return self.fc(torch.flatten(F.conv_transpose2d(h, self.enc.weight, self.dec_bias, padding=1), 1))


class TransposedLinear(nn.Module):
    """A Linear's weight used again transposed (F.linear(y, W.t())), exported without constant folding (a Transpose of it
    for that use): one tensor two layers hold differently, which fovea does not tie; it refuses to train it unless frozen."""
    def __init__(self):
        super().__init__()
        self.l = nn.Linear(6, 6)
        self.fc = nn.Linear(6, 5)

    def forward(self, x):
        return self.fc(F.linear(F.relu(self.l(x)), self.l.weight.t()))


# which parameters an import trains: (net, input shape)
PARAMETERS = {"transposed_linear": (TransposedLinear, (6,), False), "buffered": (Buffered, (5, 6)), "small_norms": (SmallNorms, (3, 6, 5)), "norms_unfolded": (Norms, (3, 8, 8), False)}

# name: (net, input shape, optimiser, loss, batch, steps)
CASES = {
    "conv_bn_sgd": (ConvBn, (3, 8, 8), {"type": "sgd", "lr": 0.05, "momentum": 0.9, "l2": 1e-3}, "ce", 8, 6),
    "prelu_adam": (PReLUNet, (3, 8, 8), {"type": "adam", "lr": 0.01}, "ce", 6, 5),
    "norms_adamw": (Norms, (3, 8, 8), {"type": "adamw", "lr": 0.01, "weightDecay": 0.05}, "ce", 4, 5),
    "seq_linear_nesterov": (SeqLinear, (5, 6), {"type": "sgd", "lr": 0.05, "momentum": 0.9, "nesterov": True}, "ce", 5, 5),
    "sigmoid_bce": (SigmoidOut, (3, 8, 8), {"type": "sgd", "lr": 0.5}, "bce", 4, 5),
    "seg_sigmoid_bce": (SegSigmoid, (3, 6, 5), {"type": "adam", "lr": 0.01}, "bce", 3, 4),
    "seq_norms_adam": (SeqNorms, (3, 7), {"type": "adam", "lr": 0.01}, "ce", 4, 4),
    # PyTorch's momentum (sgd({ momentumForm: "pytorch" })) under its OneCycleLR: fovea is given each step's rate
    "onecycle_momentum": (ConvBn, (3, 8, 8), {"type": "sgd", "lr": 0.2, "momentum": 0.9, "nesterov": True, "momentumForm": "pytorch", "oneCycle": True}, "ce", 8, 6),
    # fine-tuning with frozen modules (requires_grad False; the batch norm's statistics still follow the batches in train mode):
    # only the head, and everything after the batch norm
    "frozen_backbone": (ConvBn, (3, 8, 8), {"type": "sgd", "lr": 0.1, "momentum": 0.9, "momentumForm": "pytorch", "frozen": ["c1", "bn", "c2"]}, "ce", 8, 6),
    "frozen_first": (ConvBn, (3, 8, 8), {"type": "adam", "lr": 0.01, "frozen": ["c1", "bn"]}, "ce", 8, 6),
    # constants PyTorch trains whose names do not say so: named in importOnnx's trainable
    "layer_scale_adam": (LayerScaled, (3, 8, 8), {"type": "adam", "lr": 0.02, "trainable": ["layer_scale", "layer_scale2", "offset"]}, "ce", 6, 5),
    "zero_biases_sgd": (ZeroBiases, (5, 6), {"type": "sgd", "lr": 0.1, "momentum": 0.9}, "ce", 4, 5),
    # modules run twice: one tensor each (fovea ties the layers that read it); with L2 on the kernels, and with Adam under
    # gradient clipping (clip_grad_norm_, counting each shared tensor's gradient once)
    "shared_sgd": (Shared, (3, 8, 8), {"type": "sgd", "lr": 0.05, "momentum": 0.9, "l2": 1e-2}, "ce", 6, 6),
    "shared_adam_clip": (Shared, (3, 8, 8), {"type": "adam", "lr": 0.01, "clip": 0.5}, "ce", 6, 6),
    "shared_folded_adam": (SharedFolded, (3, 8, 8), {"type": "adam", "lr": 0.01}, "ce", 6, 5),
    "tied_autoencoder": (TiedAutoencoder, (3, 8, 8), {"type": "adam", "lr": 0.01}, "ce", 6, 5),
}


def optimizer(model, o):
    for m in o.get("frozen", []):  # frozen modules: no gradient, not in the optimiser
        for p in getattr(model, m).parameters():
            p.requires_grad_(False)
    params = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    if o["type"] == "sgd":
        # the convs' and linear layers' weights (not a custom module's `weight` of any rank: fovea's scale layers take no L2)
        ids = {id(m.weight) for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))}
        kernels = [p for n, p in params if id(p) in ids]
        rest = [p for n, p in params if id(p) not in ids]
        groups = [{"params": kernels, "weight_decay": o.get("l2", 0)}, {"params": rest, "weight_decay": 0}]
        return torch.optim.SGD(groups, lr=o["lr"], momentum=o.get("momentum", 0), nesterov=o.get("nesterov", False))
    if o["type"] == "adam":
        return torch.optim.Adam([p for _, p in params], lr=o["lr"])
    return torch.optim.AdamW([p for _, p in params], lr=o["lr"], weight_decay=o["weightDecay"])


def write(name, make, shape, opt, loss, batch, steps):
    g = torch.Generator().manual_seed(SEED)
    torch.manual_seed(SEED)
    model = make()
    # the values as the JSON holds them (7 decimals), so both sides train on the same float32 data
    fixed = lambda t: torch.tensor([round(v, 7) for v in t.flatten().tolist()]).reshape(t.shape)
    x = fixed(torch.randn(batch * steps, *shape, generator=g))
    probe = fixed(torch.randn(3, *shape, generator=g))
    with torch.no_grad():
        out_shape = model.eval()(x[:1]).shape[1:]
    y = torch.randint(0, 5, (batch * steps,), generator=g) if loss == "ce" else (torch.rand(batch * steps, *out_shape, generator=g) > 0.5).float()
    os.makedirs(OUT, exist_ok=True)
    path = os.path.join(OUT, name + ".onnx")
    model.eval()
    torch.onnx.export(model, x[:batch], path, opset_version=13, input_names=["input"], output_names=["output"],
                      dynamic_axes={"input": {0: "N"}, "output": {0: "N"}}, training=torch.onnx.TrainingMode.PRESERVE)
    model.train()
    o = optimizer(model, opt)
    sched = torch.optim.lr_scheduler.OneCycleLR(o, max_lr=opt["lr"], total_steps=steps, cycle_momentum=False) if opt.get("oneCycle") else None
    losses, lrs = [], []
    for s in range(steps):
        lrs.append(o.param_groups[0]["lr"])
        xb, yb = x[s * batch:(s + 1) * batch], y[s * batch:(s + 1) * batch]
        out = model(xb)
        l = F.cross_entropy(out, yb) if loss == "ce" else F.binary_cross_entropy(out, yb)
        o.zero_grad()
        l.backward()
        if "clip" in opt:
            torch.nn.utils.clip_grad_norm_(model.parameters(), opt["clip"])
        o.step()
        if sched:
            sched.step()
        losses.append(l.item())
    model.eval()
    with torch.no_grad():
        after = model(probe)
    with open(os.path.join(OUT, name + ".json"), "w") as f:
        json.dump({"torch": torch.__version__, "seed": SEED, "opset": 13, "inputShape": list(shape), "optimizer": opt, "loss": loss,
                   "batch": batch, "x": x.flatten().tolist(), "y": y.flatten().tolist(),
                   "probe": probe.flatten().tolist(), "losses": losses, "lrs": lrs, "probeOutput": after.flatten().tolist(),
                   "parameters": parameter_sizes(model)}, f)
    print(name, os.path.getsize(path), "bytes")


def parameter_sizes(model):
    """What PyTorch trains: each parameter's number of values, sorted."""
    return sorted(p.numel() for p in model.parameters())


def write_parameters(name, make, shape, fold=True):
    """An export (with PyTorch's constant folding, or without: GroupNorm's affine then goes through Unsqueezes) and its parameters' sizes only: which constants an import trains."""
    torch.manual_seed(SEED)
    model = make().eval()
    path = os.path.join(OUT, name + ".onnx")
    torch.onnx.export(model, torch.randn(2, *shape), path, opset_version=13, input_names=["input"], output_names=["output"],
                      dynamic_axes={"input": {0: "N"}, "output": {0: "N"}}, training=torch.onnx.TrainingMode.PRESERVE, do_constant_folding=fold)
    with open(os.path.join(OUT, name + ".json"), "w") as f:
        json.dump({"torch": torch.__version__, "seed": SEED, "opset": 13, "folding": fold, "parameters": parameter_sizes(model)}, f)
    print(name, os.path.getsize(path), "bytes")


# exports as ONNX simplifiers leave them (onnxsim, onnxoptimizer's eliminate_identity and eliminate_duplicate_initializer):
# fresh parameters of equal values (zero biases, a batch norm's ones and zeros) stored once and read by every layer that had
# them; the net and its training are the case's (the same .json)
SIMPLIFIED = ["conv_bn_sgd", "zero_biases_sgd"]


def simplify(name):
    import onnx
    from onnx import numpy_helper
    m = onnx.load(os.path.join(OUT, name + ".onnx"))
    g = m.graph
    inits, rename, seen = {i.name for i in g.initializer}, {}, {}
    for i in g.initializer:  # initializers of one type, shape and bytes: the first
        key = (i.data_type, tuple(i.dims), numpy_helper.to_array(i).tobytes())
        if key in seen:
            rename[i.name] = seen[key]
        else:
            seen[key] = i.name
    for n in list(g.node):  # an Identity of an initializer: its readers read the initializer
        if n.op_type == "Identity" and n.input[0] in inits and n.output[0] not in [o.name for o in g.output]:
            rename[n.output[0]] = n.input[0]
            g.node.remove(n)
    for n in g.node:
        for k, x in enumerate(n.input):
            while x in rename:
                x = rename[x]
            n.input[k] = x
    keep = [i for i in g.initializer if i.name not in rename]
    del g.initializer[:]
    g.initializer.extend(keep)
    onnx.checker.check_model(m)
    onnx.save(m, os.path.join(OUT, name + "_simplified.onnx"))
    print(name + "_simplified", "merged", sorted(rename))


if __name__ == "__main__":
    for name in sys.argv[1:] or [*CASES, *PARAMETERS]:
        if name in PARAMETERS:
            write_parameters(name, *PARAMETERS[name])
        else:
            write(name, *CASES[name])
        if name in SIMPLIFIED:
            simplify(name)
