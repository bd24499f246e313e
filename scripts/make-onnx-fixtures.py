#!/usr/bin/python3
# Writes small ONNX test models and PyTorch's outputs for them (test/fixtures/onnx/).
# Run with Debian's python3-torch: /usr/bin/python3 scripts/make-onnx-fixtures.py [lrn_torch | seq1d | interp | pads | se_block | dilated_pools | ...]
# Each fixture: <name>.onnx and <name>.json = {"input": [...], "inputShape": [...], "output": [...],
# "outputShape": [...], "torch": version, "seed": seed}. Inputs are NCHW, as PyTorch exports them.
import copy, json, os, sys
import torch
import torch.nn as nn
import torch.nn.functional as F

SEED = 1234
OUT = os.path.join(os.path.dirname(__file__), "..", "test", "fixtures", "onnx")


class ConvBnPool(nn.Module):
    """Conv + BN + ReLU + pools (ceil mode, count_include_pad both ways), grouped and strided conv, flatten, linear, softmax."""
    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(3, 8, 3, padding=1)
        self.bn = nn.BatchNorm2d(8)
        self.c2 = nn.Conv2d(8, 8, 3, stride=2, padding=1, groups=2)
        self.c3 = nn.Conv2d(8, 6, (3, 2), padding=(2, 1), dilation=(2, 1), bias=False)
        self.fc = nn.Linear(6 * 3 * 5, 10)

    def forward(self, x):
        x = F.relu(self.bn(self.c1(x)))
        x = F.max_pool2d(x, 2, ceil_mode=True)
        x = F.relu(self.c2(x))
        x = F.avg_pool2d(x, 3, stride=1, padding=1, count_include_pad=False)
        x = self.c3(x)
        x = F.avg_pool2d(x, 2, stride=1, padding=0, ceil_mode=False, count_include_pad=True)
        x = torch.flatten(x, 1)
        return F.softmax(self.fc(x), dim=1)


class Branches(nn.Module):
    """Residual add, inception concat, depthwise conv, the activations, dropout, a view() flatten (Shape/Gather chain), GAP, log-softmax."""
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(4, 12, 3, padding=1)
        self.dw = nn.Conv2d(12, 12, 3, padding=1, groups=12)
        self.pw = nn.Conv2d(12, 12, 1)
        self.b1 = nn.Conv2d(12, 4, 1)
        self.b2 = nn.Conv2d(12, 6, 3, padding=2, dilation=2)
        self.bn2 = nn.BatchNorm2d(6)
        self.drop = nn.Dropout(0.3)
        self.fc = nn.Linear(4 + 6 + 12, 7)
        self.fc2 = nn.Linear(4 * 3 * 3, 5)

    def forward(self, x):
        s = F.leaky_relu(self.stem(x), 0.1)
        r = F.relu6(self.pw(F.elu(self.dw(s))))
        s = torch.sigmoid(s + r)
        a = torch.tanh(self.b1(s))
        b = F.relu(self.bn2(self.b2(s)))
        m = F.max_pool2d(s, 3, stride=1, padding=1)
        cat = torch.cat([a, b, m], dim=1)
        g = F.adaptive_avg_pool2d(cat, 1)
        g = self.drop(g.view(g.size(0), -1))
        p = F.max_pool2d(a, 3, stride=3)
        p = p.reshape(p.size(0), -1)
        return torch.cat([F.log_softmax(self.fc(g), dim=1), self.fc2(p)], dim=1)


class Consts(nn.Module):
    """Input normalisation with per-channel constants, scalar Mul/Add/Sub/Div around a conv and a linear layer."""
    def __init__(self):
        super().__init__()
        self.register_buffer("mean", torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1))
        self.c = nn.Conv2d(3, 5, 3)
        self.fc = nn.Linear(5 * 6 * 6, 4)

    def forward(self, x):
        x = (x - self.mean) / self.std
        x = F.relu(self.c(x) * 0.5 + 1.0)
        x = 2.0 - x
        x = torch.flatten(x, 1)
        return self.fc(x) / 3.0


class Nhwc(nn.Module):
    """A channels-last model as tf2onnx / Keras exports look: NHWC input transposed to NCHW, transposed back before flattening."""
    def __init__(self):
        super().__init__()
        self.c = nn.Conv2d(3, 4, 3, padding=1)
        self.fc = nn.Linear(3 * 3 * 4, 5)

    def forward(self, x):
        y = F.max_pool2d(F.relu(self.c(x.permute(0, 3, 1, 2))), 2)
        a = self.fc(y.permute(0, 2, 3, 1).reshape(y.size(0), -1))
        b = F.adaptive_avg_pool2d(y, 1).permute(0, 2, 3, 1).flatten(1)
        return torch.cat([a, b], dim=1)


class Lrn(torch.autograd.Function):
    """PyTorch's local_response_norm, exported as the ONNX LRN node (torch's own export decomposes it)."""
    @staticmethod
    def forward(ctx, x):
        return F.local_response_norm(x, 3, alpha=0.05, beta=0.75, k=2.0)

    @staticmethod
    def symbolic(g, x):
        return g.op("LRN", x, size_i=3, alpha_f=0.05, beta_f=0.75, bias_f=2.0)


class GlobalMax(torch.autograd.Function):
    """adaptive_max_pool2d(x, 1), exported as GlobalMaxPool (torch exports a MaxPool over the whole image)."""
    @staticmethod
    def forward(ctx, x):
        return F.adaptive_max_pool2d(x, 1)

    @staticmethod
    def symbolic(g, x):
        return g.op("GlobalMaxPool", x)


class Misc(nn.Module):
    """LRN, global max pooling, MatMul by a constant matrix."""
    def __init__(self):
        super().__init__()
        self.c = nn.Conv2d(3, 6, 3, padding=1)
        self.w = nn.Parameter(torch.randn(6, 4))

    def forward(self, x):
        y = Lrn.apply(F.relu(self.c(x)))
        return torch.cat([GlobalMax.apply(y).flatten(1) @ self.w, F.adaptive_max_pool2d(y, 1).flatten(1)], dim=1)


class TorchLrn(nn.Module):
    """nn.LocalResponseNorm as torch.onnx.export writes it (Pow/Slice/ConstantOfShape/Equal/If/...), odd and even sizes."""
    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(3, 6, 3, padding=1)
        self.n1 = nn.LocalResponseNorm(3, alpha=0.05, beta=0.75, k=2.0)
        self.c2 = nn.Conv2d(6, 5, 3, padding=1)
        self.n2 = nn.LocalResponseNorm(4, alpha=0.3, beta=0.6, k=1.0)
        self.fc = nn.Linear(5 * 6 * 5, 4)

    def forward(self, x):
        x = self.n1(F.relu(self.c1(x)))
        x = self.n2(self.c2(x))
        return torch.cat([self.fc(torch.flatten(x, 1)), x.mean(dim=(2, 3))], dim=1)


class Seq1d(nn.Module):
    """Sequences [N, C, L]: Conv1d (padded, strided, dilated, grouped), BatchNorm1d, pool1d (max, average with ceil mode), ConvTranspose1d."""
    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv1d(4, 6, 3, padding=1)
        self.bn = nn.BatchNorm1d(6)
        self.c2 = nn.Conv1d(6, 6, 3, stride=2, dilation=2, padding=2, groups=2)
        self.t = nn.ConvTranspose1d(6, 3, 4, stride=2, padding=1)
        self.fc = nn.Linear(3 * 10, 5)

    def forward(self, x):
        x = F.max_pool1d(F.relu(self.bn(self.c1(x))), 2)
        x = F.avg_pool1d(torch.tanh(self.c2(x)), 2, stride=1, padding=1, ceil_mode=True, count_include_pad=False)
        x = self.t(x)
        return torch.cat([self.fc(torch.flatten(x, 1)), x[:, :, 3]], dim=1)


class DilatedPools(nn.Module):
    """nn.MaxPool2d with dilation (with ceil_mode and padding, and anisotropic), a dilated max_pool1d, between convs."""
    def __init__(self):
        super().__init__()
        self.c = nn.Conv2d(3, 5, 3, padding=1)
        self.p1 = nn.MaxPool2d(3, stride=2, padding=1, dilation=2, ceil_mode=True)
        self.p2 = nn.MaxPool2d((2, 3), stride=(1, 2), padding=(1, 0), dilation=(3, 1))
        self.fc = nn.Linear(5 * 4 * 1, 6)

    def forward(self, x):
        y = self.p1(torch.tanh(self.c(x)))
        s = F.max_pool1d(y.flatten(2), 3, stride=2, dilation=3, padding=1, ceil_mode=True)
        return torch.cat([self.fc(self.p2(y).flatten(1)), s.flatten(1)], dim=1)


class PoolIndices(nn.Module):
    """F.max_pool2d(return_indices=True) (dilated, ceil mode, padding): torch exports MaxPool's Indices
    minus each plane's first index (a 1×1 MaxPool's Indices, sliced) — per-plane positions h·W + w."""
    def forward(self, x):
        y, i = F.max_pool2d(torch.tanh(x), 3, stride=2, padding=1, dilation=2, ceil_mode=True, return_indices=True)
        return torch.cat([y.flatten(1), i.float().flatten(1)], 1)


class Pools3d(nn.Module):
    """nn.MaxPool3d (ceil mode, padding, dilation) and nn.AvgPool3d (padding not counted; ceil mode) on [N, C, D, H, W], then a linear.
    (AvgPool3d with padding counted exports as a rank-5 Pad before the pool, which fovea's Pad does not take.)"""
    def __init__(self):
        super().__init__()
        self.p1 = nn.MaxPool3d((2, 3, 2), stride=(1, 2, 2), padding=(1, 1, 0), ceil_mode=True)
        self.p2 = nn.AvgPool3d(2, stride=1, padding=1, count_include_pad=False)
        self.p3 = nn.AvgPool3d(3, stride=2, ceil_mode=True, count_include_pad=False)
        self.p4 = nn.MaxPool3d(2, stride=1, dilation=(2, 1, 2))
        self.fc = nn.Linear(3 * 3 * 2 * 2, 5)

    def forward(self, x):
        y = self.p3(self.p2(torch.tanh(self.p1(x))))
        return torch.cat([self.fc(y.flatten(1)), self.p4(x).flatten(1)], 1)


class Deconv3d(nn.Module):
    """nn.ConvTranspose3d (stride, padding, output_padding, dilation; and one without bias) with a 3-D max pool, then a linear."""
    def __init__(self):
        super().__init__()
        self.t1 = nn.ConvTranspose3d(2, 3, (3, 2, 3), stride=(2, 1, 2), padding=(1, 0, 1), output_padding=(1, 0, 0), dilation=(1, 2, 1))
        self.t2 = nn.ConvTranspose3d(3, 2, 2, bias=False)
        self.fc = nn.Linear(128, 5)

    def forward(self, x):
        y = F.max_pool3d(torch.tanh(self.t1(x)), 2, ceil_mode=True)
        return self.fc(self.t2(y).flatten(1))


class Interp(nn.Module):
    """F.interpolate: nearest ×2, bilinear to a size (align_corners False and True), nearest to a size; a transposed conv."""
    def __init__(self):
        super().__init__()
        self.c = nn.Conv2d(3, 4, 3, padding=1)
        self.t = nn.ConvTranspose2d(4, 2, 3, stride=2, padding=1, output_padding=1)

    def forward(self, x):
        y = F.relu(self.c(x))
        a = F.interpolate(y, scale_factor=2, mode="nearest")
        b = F.interpolate(y, size=(9, 11), mode="bilinear", align_corners=False)
        c = F.interpolate(y, size=(4, 7), mode="bilinear", align_corners=True)
        d = F.interpolate(y, size=(7, 3), mode="nearest")
        return torch.cat([a.flatten(1), b.flatten(1), c.flatten(1), d.flatten(1), self.t(y).flatten(1)], dim=1)


class Scales(nn.Module):
    """F.interpolate by scale factors whose products with the sizes are not whole in float32 (5 × 1.8
    is 8.99999976 in float32 arithmetic rounded to float64, 9 in PyTorch's and onnxruntime's): nearest
    (Upsample at opset 9, Resize with scales after), and bilinear from opset 11 (with align_corners too)."""
    def __init__(self, bilinear=True):
        super().__init__()
        self.bilinear = bilinear
        self.c = nn.Conv2d(3, 2, 3, padding=1)

    def forward(self, x):
        y = self.c(x)
        a = F.interpolate(y, scale_factor=1.8, mode="nearest").flatten(1)
        if not self.bilinear:
            return a
        b = F.interpolate(y, scale_factor=(1.4, 2.2), mode="bilinear", align_corners=False).flatten(1)
        # align_corners with a scale factor whose product is not whole (5 × 1.5 = 7.5: PyTorch's step is 4/6, not 4/6.5)
        c = F.interpolate(y, scale_factor=1.5, mode="bilinear", align_corners=True).flatten(1)
        return torch.cat([a, b, c], dim=1)


class Pads(nn.Module):
    """F.pad reflect, replicate and a constant value (padding layers), and zeros at the output."""
    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(2, 3, 3)
        self.c2 = nn.Conv2d(3, 2, 3)

    def forward(self, x):
        y = self.c1(F.pad(x, (2, 1, 1, 3), mode="reflect"))
        y = self.c2(F.pad(torch.tanh(y), (1, 0, 2, 2), mode="replicate"))
        return F.pad(F.pad(y, (1, 2, 0, 1), value=0.5), (1, 1, 1, 0))


class SeBlock(nn.Module):
    """MobileNetV3 / EfficientNet pieces: Hardswish, squeeze-and-excitation (1×1 convs on the pooled vector, Hardsigmoid gate), SiLU, PReLU."""
    def __init__(self):
        super().__init__()
        self.c = nn.Conv2d(3, 8, 3, padding=1)
        self.bn = nn.BatchNorm2d(8)
        self.fc1 = nn.Conv2d(8, 4, 1)
        self.fc2 = nn.Conv2d(4, 8, 1)
        self.dw = nn.Conv2d(8, 8, 3, padding=1, groups=8)
        self.pr = nn.PReLU(8)
        self.fc = nn.Linear(8, 5)

    def forward(self, x):
        y = F.hardswish(self.bn(self.c(x)))
        s = F.hardsigmoid(self.fc2(F.relu(self.fc1(F.adaptive_avg_pool2d(y, 1)))))
        y = F.silu(self.dw(y * s))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(self.pr(y), 1), 1))


class ConvNextMini(nn.Module):
    """ConvNeXt's pieces from torchvision: a patchify stem with LayerNorm2d (permute, LayerNorm over
    channels, permute back), one CNBlock (depthwise 7×7, LayerNorm, Linear, exact GELU, Linear, layer
    scale, residual), a downsampling LayerNorm2d + conv, and the head's LayerNorm2d before Linear."""
    def __init__(self):
        from torchvision.models.convnext import CNBlock, LayerNorm2d
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 8, 2, stride=2), LayerNorm2d(8, eps=1e-6))
        self.block = CNBlock(8, layer_scale=1e-6, stochastic_depth_prob=0.0)
        self.down = nn.Sequential(LayerNorm2d(8, eps=1e-6), nn.Conv2d(8, 12, 2, stride=2))
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), LayerNorm2d(12, eps=1e-6), nn.Flatten(1), nn.Linear(12, 5))

    def forward(self, x):
        return self.head(self.down(self.block(self.stem(x))))


def randomize_bn(model, g):
    """Random statistics and affines for the norms (their initial ones make a norm an identity that
    hides layout bugs); for ConvNeXt's blocks also the layer scale (1e-6 at init: the blocks would add
    nothing to the output) and their biases (zeros at init)."""
    for m in model.modules():
        if isinstance(m, (nn.BatchNorm2d, nn.BatchNorm1d)):
            m.running_mean.copy_(torch.randn(m.num_features, generator=g) * 0.3)
            m.running_var.copy_(torch.rand(m.num_features, generator=g) + 0.5)
            m.weight.data.copy_(torch.rand(m.num_features, generator=g) + 0.5)
            m.bias.data.copy_(torch.randn(m.num_features, generator=g) * 0.2)
        elif isinstance(m, nn.LayerNorm) and m.elementwise_affine:
            m.weight.data.copy_(torch.rand(m.weight.shape, generator=g) + 0.5)
            m.bias.data.copy_(torch.randn(m.bias.shape, generator=g) * 0.2)
        elif type(m).__name__ == "CNBlock":
            m.layer_scale.data.copy_(torch.rand(m.layer_scale.shape, generator=g) * 0.5 + 0.25)
            for sub in m.modules():
                if isinstance(sub, (nn.Linear, nn.Conv2d)) and sub.bias is not None:
                    sub.bias.data.copy_(torch.randn(sub.bias.shape, generator=g) * 0.2)


class TwoOutputs(nn.Module):
    """Two named outputs, a feature map and logits (a detector's or a segmenter's pair)."""
    def __init__(self):
        super().__init__()
        self.c = nn.Conv2d(3, 6, 3, padding=1)
        self.fc = nn.Linear(6, 4)

    def forward(self, x):
        f = F.relu(self.c(x))
        return f, self.fc(F.adaptive_avg_pool2d(f, 1).flatten(1))


def write_two_outputs(name, shape, out=None):
    """TwoOutputs exported with its outputs named "features" and "logits"; the json keeps both."""
    g = torch.Generator().manual_seed(SEED)
    torch.manual_seed(SEED)
    model = TwoOutputs().eval()
    x = torch.randn(*shape, generator=g)
    with torch.no_grad():
        f, z = model(x)
    out = out or OUT
    torch.onnx.export(model, x, os.path.join(out, name + ".onnx"), opset_version=13, input_names=["input"], output_names=["features", "logits"],
                      dynamic_axes={"input": {0: "N"}, "features": {0: "N"}, "logits": {0: "N"}})
    with open(os.path.join(out, name + ".json"), "w") as fh:
        json.dump({"torch": torch.__version__, "seed": SEED, "opset": 13, "inputShape": list(x.shape), "input": [round(v, 7) for v in x.flatten().tolist()],
                   "outputs": {"features": {"shape": list(f.shape), "values": f.flatten().tolist()}, "logits": {"shape": list(z.shape), "values": z.flatten().tolist()}}}, fh)
    print(name, "written")


class ExpandSe(nn.Module):
    """Squeeze-and-excitation whose gate is expand_as'd to the feature map, and a bias row expanded with -1 sizes (torch.onnx.export writes Expand)."""
    def __init__(self):
        super().__init__()
        self.c = nn.Conv2d(3, 8, 3, padding=1)
        self.fc1 = nn.Linear(8, 4)
        self.fc2 = nn.Linear(4, 8)
        self.row = nn.Parameter(torch.randn(1, 1, 1, 6))

    def forward(self, x):
        y = F.relu(self.c(x))
        g = torch.sigmoid(self.fc2(F.relu(self.fc1(y.mean((2, 3)))))).view(y.shape[0], y.shape[1], 1, 1)
        y = y * g.expand_as(y)
        return y + self.row.expand(y.shape[0], -1, y.shape[2], -1)


class InstanceGroupNorm(nn.Module):
    """nn.InstanceNorm2d (affine) and nn.GroupNorm as torch.onnx.export writes them (InstanceNormalization, for GroupNorm between Reshapes)."""
    def __init__(self):
        super().__init__()
        self.c = nn.Conv2d(3, 8, 3, padding=1)
        self.inorm = nn.InstanceNorm2d(8, affine=True)
        self.gn = nn.GroupNorm(4, 8)
        for m in (self.inorm, self.gn):
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.3, 0.3)

    def forward(self, x):
        return self.gn(F.relu(self.inorm(self.c(x)))) * 2


class UnfoldedNorms(nn.Module):
    """nn.GroupNorm and nn.PReLU(C) exported with do_constant_folding=False: their per-channel weights
    reach the Mul / Add / PRelu through Unsqueeze nodes of constants ([C] to [C, 1, 1]); the images as
    wide as the channels, so weights left [C] would broadcast over the columns without an error."""
    def __init__(self):
        super().__init__()
        self.c = nn.Conv2d(3, 4, 3, padding=1)
        self.gn = nn.GroupNorm(2, 4)
        self.gn.weight.data.uniform_(0.5, 1.5)
        self.gn.bias.data.uniform_(-0.3, 0.3)
        self.act = nn.PReLU(4)
        self.act.weight.data.uniform_(0.05, 0.5)

    def forward(self, x):
        return self.act(self.gn(self.c(x)))


class JoinedConstants(nn.Module):
    """Constants joined to data by torch.cat: coordinate channels expanded to the batch (CoordConv), a
    learned map (an nn.Parameter), and two buffers joined along their last axis, then flattened and
    added to data (joined flat, the table's values would land in other places)."""
    def __init__(self):
        super().__init__()
        ys, xs = torch.meshgrid(torch.linspace(-1, 1, 4), torch.linspace(-1, 1, 5), indexing="ij")
        self.register_buffer("coords", torch.stack([ys, xs]).unsqueeze(0))
        self.learned = nn.Parameter(torch.randn(1, 2, 4, 5))
        self.register_buffer("a", torch.arange(6.).reshape(1, 2, 3))
        self.register_buffer("b", 10 + torch.arange(6.).reshape(1, 2, 3))
        self.c1 = nn.Conv2d(5, 4, 3, padding=1)
        self.c2 = nn.Conv2d(6, 3, 1)

    def forward(self, x):
        y = self.c1(torch.cat([x, self.coords.expand(x.shape[0], -1, -1, -1)], dim=1))
        y = self.c2(torch.cat([self.learned.expand(x.shape[0], -1, -1, -1), y], dim=1)).flatten(1)
        t = torch.cat([self.a, self.b], dim=2).reshape(1, 12)
        return torch.cat([y, y[:, :12] + t], dim=1)


class WhereConstants(nn.Module):
    """torch.where with a constant operand, masked_fill (a comparison Cast to bool, then Where with the
    fill value) and a constant mask (a buffer) choosing between data; continuous in the data (each fill
    is the value where its condition flips), for a gradient check by central differences."""
    def __init__(self):
        super().__init__()
        self.register_buffer("mask", torch.arange(20.).reshape(1, 1, 4, 5) % 3 == 0)
        self.c = nn.Conv2d(3, 4, 3, padding=1)

    def forward(self, x):
        y = self.c(x)
        a = torch.where(y > 0.1, y, torch.tensor(0.1))
        b = y.masked_fill(y < -0.3, -0.3)
        return torch.cat([a, b, torch.where(self.mask, a, b * 2)], dim=1)


class ShapeValues(nn.Module):
    """Constants computed at export that fovea folds: F.interpolate with recompute_scale_factor=True
    (a Floor of a constant size), a scale by sqrt of a size, a learned map repeated over the batch
    (p.repeat(x.shape[0], …), a Tile by the batch size) and joined to the data."""
    def __init__(self):
        super().__init__()
        self.p = nn.Parameter(torch.randn(1, 2, 5, 6))
        self.c = nn.Conv2d(5, 4, 3, padding=1)

    def forward(self, x):
        y = self.c(torch.cat([x, self.p.repeat(x.shape[0], 1, 1, 1)], dim=1)) / torch.sqrt(torch.tensor(x.shape[-1], dtype=torch.float32))
        a = F.interpolate(y, scale_factor=1.5, mode="bilinear", align_corners=False, recompute_scale_factor=True)
        b = F.interpolate(y, scale_factor=2, mode="nearest", recompute_scale_factor=True)
        return torch.cat([a.flatten(1), b.flatten(1)], dim=1)


class MoreReductions(nn.Module):
    """x.amin, x.argmin, F.normalize(p=1) (ReduceL1) and torch.logsumexp over the channels and over
    the positions (of large values: exp of them alone would overflow)."""
    def forward(self, x):
        return torch.cat([x.amin(1).flatten(1), x.argmin(1).float().flatten(1), F.normalize(x, p=1, dim=1).flatten(1),
                          torch.logsumexp(x, 1).flatten(1), torch.logsumexp(x * 100, (2, 3)).flatten(1)], dim=1)


class BatchValue(nn.Module):
    """The batch size used as a number (x * x.shape[0]): fovea computes it with a batch fixed in the
    file and refuses it where the batch axis is dynamic."""
    def forward(self, x):
        return x * x.shape[0]


class ExpandBatch(nn.Module):
    """x.expand(2, …) of an input of batch 1: two copies of the example (the graph mixes its batch)."""
    def forward(self, x):
        return x.expand(2, 3, 4, 5) * 1.0


class EdgeExports(nn.Module):
    """Exports at the edges of ONNX's ops: torch.roll by a whole axis (a Concat with an empty slice),
    torch.clamp with its lower bound above the upper (the upper everywhere), and a matrix times the
    data (MatMul with the constant first)."""
    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.randn(2, 3))

    def forward(self, x):
        return torch.cat([torch.roll(x, 5, 3).flatten(1), torch.clamp(x, min=0.5, max=-0.5).flatten(1),
                          torch.matmul(self.w, x.flatten(2)).flatten(1)], dim=1)


class FlatBinary(nn.Module):
    """Features flattened from an image through the binary layer's ops: Max with a per-feature
    constant, Pow, an Add and a Div with the constant first (with outputLayout "NHWC" they come in
    HWC order, as after Mul, Add or Relu)."""
    def __init__(self):
        super().__init__()
        self.c = nn.Conv2d(3, 2, 3)
        self.register_buffer("k", torch.linspace(-0.5, 0.5, 2 * 2 * 3))

    def forward(self, x):
        return 2.0 / (1.5 + torch.maximum(self.c(x).flatten(1), self.k) ** 2)


class CoordsFromShape(nn.Module):
    """CoordConv with the coordinates made in forward from the input's sizes, as many CoordConv
    repositories write it: torch.arange(w) (a Range of a size cast to float) over w − 1, expanded to
    the batch and joined to the data."""
    def __init__(self):
        super().__init__()
        self.c = nn.Conv2d(5, 4, 3, padding=1)

    def forward(self, x):
        n, _, h, w = x.shape
        xx = torch.arange(w, dtype=torch.float32).view(1, 1, 1, w).expand(n, 1, h, w) / (w - 1)
        yy = torch.arange(h, dtype=torch.float32).view(1, 1, h, 1).expand(n, 1, h, w) / (h - 1)
        return self.c(torch.cat([x, xx * 2 - 1, yy * 2 - 1], 1))


class CropPads(nn.Module):
    """Negative pads, which crop: nn.ZeroPad2d with some of them negative, F.pad with a value, and a
    crop of the zeros an earlier F.pad added."""
    def __init__(self):
        super().__init__()
        self.z = nn.ZeroPad2d((-1, 2, 0, -1))
        self.c = nn.Conv2d(3, 2, 3)

    def forward(self, x):
        # the last: a crop of zeros an earlier Pad added (held for a conv that never comes)
        return torch.cat([self.c(self.z(x)).flatten(1), F.pad(x, (1, -2, -1, 0), value=0.5).flatten(1),
                          F.pad(F.pad(x, (1, 1, 2, 0)), (-1, 0, 0, -2)).flatten(1)], dim=1)


class UnfoldedParams(nn.Module):
    """Per-channel values computed from a buffer in forward, exported without constant folding: a
    Gather along its second axis, then its mean and maximum (ReduceMean, ReduceMax of a constant)."""
    def __init__(self):
        super().__init__()
        self.register_buffer("b", torch.randn(3, 3, 4))

    def forward(self, x):
        w = self.b[:, [2, 0, 1]]
        return x * w.mean((1, 2)).view(1, 3, 1, 1) + w.amax((1, 2)).view(1, 3, 1, 1)


class PadReads(nn.Module):
    """Zero padding (F.pad) read by ops that take no padding of their own: a sum and a max over the
    last axis (ReduceSum, ReduceMax), the last column (Gather)."""
    def forward(self, x):
        p = F.pad(x, (1, 2, 0, 1))
        return torch.cat([p.sum(-1).flatten(1), p.amax(-1).flatten(1), p[:, :, :, -1].flatten(1)], dim=1)


class PadSlices(nn.Module):
    """Zero padding read by Slices (halves of the rows, torch.chunk), a max pool (its own padding is
    −∞) and an average pool with padding of its own it does not count."""
    def forward(self, x):
        p = F.pad(x, (1, 2, 0, 1))
        a, b = p.chunk(2, dim=2)
        m = F.max_pool2d(F.pad(x, (1, 1, 1, 1)), 2)
        v = F.avg_pool2d(F.pad(x, (1, 0, 2, 1)), 3, stride=1, padding=1, count_include_pad=False)
        return torch.cat([(a * 2).flatten(1), b.flatten(1), m.flatten(1), v.flatten(1)], dim=1)


class CeilPool(nn.Module):
    """A ceil_mode max pool whose last window would start past its input (PyTorch drops it): PyTorch
    1.13 declares the output one larger on each axis (ONNX's formula before opset 19), [N, 5, 5, 5]
    for the [N, 5, 4, 4] it and onnxruntime compute."""
    def __init__(self):
        super().__init__()
        self.c = nn.Conv2d(3, 5, 3, padding=1)

    def forward(self, x):
        return F.max_pool2d(self.c(x), 1, stride=2, ceil_mode=True)


class Reductions(nn.Module):
    """Sums and norms as PyTorch writes them: F.normalize (ReduceL2), .sum over the positions (ReduceSum), torch.std (a ReduceProd of the shape's sizes), .pow(2).sum; and full_like."""
    def __init__(self):
        super().__init__()
        self.c = nn.Conv2d(3, 6, 3, padding=1)

    def forward(self, x):
        y = self.c(x)
        n = F.normalize(y, dim=1)
        s = y.sum(dim=(2, 3), keepdim=True)
        sd = y.std(1, keepdim=True)
        # full_like under a dynamic batch: ConstantOfShape of a shape whose first size is symbolic
        return n + s * 0.01 + sd + y.pow(2).sum(1, keepdim=True) * 0.1 + torch.full_like(y, 0.25)


class ShuffleOut(nn.Module):
    """A feature map that ends after a channel shuffle (view / transpose / reshape) and a ReLU: fovea holds it in the file's order, not as an image."""
    def __init__(self):
        super().__init__()
        self.a = nn.Conv2d(3, 12, 1)

    def forward(self, x):
        y = self.a(x)
        b, c, h, w = y.shape
        return F.relu(y.view(b, 3, c // 3, h, w).transpose(1, 2).reshape(b, c, h, w))


class PixelShuffleNet(nn.Module):
    """A super-resolution tail and its inverse: nn.PixelShuffle (DepthToSpace, mode CRD, from opset 11;
    a 6-D Reshape / Transpose / Reshape at opset 9) and nn.PixelUnshuffle (the 6-D chain at every opset)."""
    def __init__(self):
        super().__init__()
        self.a = nn.Conv2d(3, 12, 3, padding=1)
        self.up = nn.PixelShuffle(2)
        self.b = nn.Conv2d(3, 4, 3, padding=1)
        self.down = nn.PixelUnshuffle(2)
        self.c = nn.Conv2d(16, 5, 1)

    def forward(self, x):
        return self.c(self.down(F.relu(self.b(self.up(self.a(x))))))


class Repeat(nn.Module):
    """x.repeat of feature maps along the channels and the positions (torch.onnx.export writes Tile), and of a constant."""
    def __init__(self):
        super().__init__()
        self.a = nn.Conv2d(3, 4, 3, padding=1)
        self.b = nn.Conv2d(8, 2, 1)
        self.register_buffer("row", torch.arange(3.0).view(1, 1, 1, 3))

    def forward(self, x):
        y = self.a(x).repeat(1, 2, 1, 1)
        return self.b(y).repeat(1, 1, 2, 3) + self.row.repeat(1, 1, 1, x.shape[3])


class ArgmaxHead(nn.Module):
    """A segmentation head's class map: torch.argmax over the channels (keepdim), and over the width
    (not kept), as float (torch.onnx.export writes ArgMax, then a Cast); ties come from a ReLU's zeros."""
    def __init__(self):
        super().__init__()
        self.c = nn.Conv2d(3, 5, 3, padding=1)

    def forward(self, x):
        y = F.relu(self.c(x))
        return torch.cat([torch.argmax(y, dim=1, keepdim=True).float().flatten(1), torch.argmax(y, dim=3).float().flatten(1)], dim=1)


class IntegerOps(nn.Module):
    """Keypoint decoding (each channel's argmax over its flattened map: its column idx % W, row idx // W, and a floor
    division of idx - 7, which PyTorch writes with Mod, Less, Xor, Not, And and Where), C's fmod of data (Mod with fmod 1),
    Python's remainder (Div, Floor, Mul, Sub) and boolean masks joined with & | ^ (And, Or, Xor) for torch.where."""
    def forward(self, x):
        W = x.shape[3]
        idx = x.flatten(2).argmax(-1)
        floor_rows = torch.div(idx - 7, W, rounding_mode="floor")
        keypoints = torch.stack([(idx % W).float(), (idx // W).float(), floor_rows.float()], -1).flatten(1)
        m = ((x > 0) & (x < 1)) | ((x < -1) ^ (x < -2))
        return torch.cat([keypoints, torch.fmod(3 * x, 0.7).flatten(1), torch.remainder(3 * x, -0.7).flatten(1), torch.where(m, x, -x).flatten(1)], 1)


def write(name, make, shape, out=None, opset=13, binary_input=False, dynamic=True, fold=True):
    g = torch.Generator().manual_seed(SEED)
    torch.manual_seed(SEED)  # before the model is built: its initial weights come from this seed
    model = make().eval()
    randomize_bn(model, g)
    x = torch.randn(*shape, generator=g)
    with torch.no_grad():
        y = model(x)
    out = out or OUT
    path = os.path.join(out, name + ".onnx")
    torch.onnx.export(model, x, path, opset_version=opset, do_constant_folding=fold,
                      input_names=["input"], output_names=["output"], dynamic_axes={"input": {0: "N"}, "output": {0: "N"}} if dynamic else None)
    extra = {}
    if binary_input:
        x.numpy().astype("<f4").tofile(os.path.join(out, name + ".input.f32"))
        # the same weights and input in float64: how far float32 arithmetic (PyTorch's own too) may be from exact
        with torch.no_grad():
            y64 = copy.deepcopy(model).double()(x.double())
        extra["output64"] = y64.flatten().tolist()
    with open(os.path.join(out, name + ".json"), "w") as f:
        json.dump({"torch": torch.__version__, "seed": SEED, "opset": opset, "inputShape": list(x.shape),
                   **({} if binary_input else {"input": [round(v, 7) for v in x.flatten().tolist()]}),
                   "outputShape": list(y.shape), "output": y.flatten().tolist(), **extra}, f)
    print(name, os.path.getsize(path), "bytes")


class DynamicHw(nn.Module):
    """A fully convolutional net exported with its height and width dynamic (dynamic_axes on axes 2 and 3): a conv, batch norm,
    a floor max pool, a stride-2 conv; the map upsampled back to the input's size (F.interpolate(size=x.shape[-2:]): Shape,
    Slice, Concat and Resize in the file) and a class head (adaptive average pooling, flatten, Linear), one after the other."""
    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(3, 6, 3, padding=1)
        self.bn = nn.BatchNorm2d(6)
        self.c2 = nn.Conv2d(6, 4, 3, stride=2, padding=1)
        self.head = nn.Linear(4, 3)

    def forward(self, x):
        z = F.relu(self.c2(F.max_pool2d(F.relu(self.bn(self.c1(x))), 2)))
        up = F.interpolate(z, size=x.shape[-2:], mode="bilinear", align_corners=False)
        return torch.cat([up.flatten(1), self.head(F.adaptive_avg_pool2d(z, 1).flatten(1))], 1)


def write_dynamic_hw(name, shapes, opset=13):
    """DynamicHw exported at shapes[0] with axes N, H and W dynamic; the json holds PyTorch's input and output at each shape.
    In a folder of their own: the fuzz's seeds and the export round trip take every file of the main one, which import as they are."""
    out = os.path.join(OUT, "dynamic")
    os.makedirs(out, exist_ok=True)
    g = torch.Generator().manual_seed(SEED)
    torch.manual_seed(SEED)
    model = DynamicHw().eval()
    randomize_bn(model, g)
    xs = [torch.randn(*shape, generator=g) for shape in shapes]
    torch.onnx.export(model, xs[0], os.path.join(out, name + ".onnx"), opset_version=opset, input_names=["input"], output_names=["output"],
                      dynamic_axes={"input": {0: "N", 2: "H", 3: "W"}, "output": {0: "N", 1: "F"}})
    cases = []
    for x in xs:
        with torch.no_grad():
            y = model(x)
        cases.append({"inputShape": list(x.shape), "input": [round(v, 7) for v in x.flatten().tolist()], "outputShape": list(y.shape), "output": y.flatten().tolist()})
    with open(os.path.join(out, name + ".json"), "w") as f:
        json.dump({"torch": torch.__version__, "seed": SEED, "opset": opset, "cases": cases}, f)
    print(name, "written")


def write_shape_values():
    write("shape_values", ShapeValues, (2, 3, 5, 6))
    write("more_reductions", MoreReductions, (2, 3, 4, 5))
    # refused by design (their own folder: the fuzz's seeds and the export round trip take every file of the main one)
    refused = os.path.join(OUT, "refused")
    os.makedirs(refused, exist_ok=True)
    write("batch_value_dynamic", BatchValue, (2, 3, 4, 5), out=refused)
    write("batch_value_fixed", BatchValue, (2, 3, 4, 5), dynamic=False, fold=False)
    write("expand_batch", ExpandBatch, (1, 3, 4, 5), dynamic=False)
    write("expand_batch_dynamic", ExpandBatch, (1, 3, 4, 5), out=refused)
    write("edge_exports", EdgeExports, (2, 3, 4, 5))
    write("flat_binary", FlatBinary, (2, 3, 4, 5))
    write("coords_from_shape", CoordsFromShape, (2, 3, 4, 5), fold=False)
    write("coords_from_shape_folded", CoordsFromShape, (2, 3, 4, 5))
    write("joined_constants_fixed", JoinedConstants, (2, 3, 4, 5), dynamic=False)
    for opset in (9, 13):
        write(f"crop_pads_opset{opset}", CropPads, (2, 3, 5, 6), opset=opset)
    write("unfolded_params", UnfoldedParams, (2, 3, 4, 5), fold=False)
    write("integer_ops", IntegerOps, (2, 3, 4, 5))


class SegOut(nn.Module):
    """A segmentation model's "out" head (torchvision's models return a dict)."""
    def __init__(self, m):
        super().__init__()
        self.m = m

    def forward(self, x):
        return self.m(x)["out"]


def zoo():
    """torchvision 0.14's CNN classification zoo (random weights) and one segmentation model."""
    import torchvision.models as tv
    import torchvision.models.segmentation as seg
    names = ["alexnet", "vgg11_bn", "resnet18", "resnet50", "resnext50_32x4d", "wide_resnet50_2", "squeezenet1_0", "squeezenet1_1",
             "densenet121", "mobilenet_v2", "mobilenet_v3_small", "mobilenet_v3_large", "mnasnet0_5", "shufflenet_v2_x0_5",
             "efficientnet_b0", "efficientnet_v2_s", "regnet_x_400mf", "regnet_y_400mf", "convnext_tiny"]
    models = {n: (lambda n=n: getattr(tv, n)(weights=None)) for n in names}
    models["googlenet"] = lambda: tv.googlenet(weights=None, aux_logits=False, init_weights=True)
    models["inception_v3"] = lambda: tv.inception_v3(weights=None, aux_logits=False, init_weights=True)
    models["lraspp_mobilenet_v3_large"] = lambda: SegOut(seg.lraspp_mobilenet_v3_large(weights=None, weights_backbone=None))
    return models


def torchvision_models(out, only=None, opsets=(11, 13, 17), size=224):
    """The zoo at each opset (random weights, not committed): <model>_opset<k>.onnx, its PyTorch outputs
    for a batch of 2 (<name>.json: the first example alone is batch 1) and the input (<name>.input.f32,
    float32 NCHW). Checked by npm run check:onnx -- --torchvision <dir>."""
    os.makedirs(out, exist_ok=True)
    for name, make in zoo().items():
        if only and name not in only:
            continue
        for opset in opsets:
            try:
                write(f"{name}_opset{opset}", make, (2, 3, size, size), out, opset=opset, binary_input=True)
            except Exception as e:  # PyTorch cannot export some models at some sizes (AlexNet's 6×6 pool below 224)
                print(f"SKIP {name}_opset{opset}: {str(e).splitlines()[0][:200]}")


def external(out=None):
    """conv_bn_pool.onnx saved with its weights as external data by the onnx package
    (onnx.save_model(save_as_external_data=True)): in one file beside it, and one file a tensor."""
    import onnx
    out = out or OUT
    os.makedirs(os.path.join(out, "external", "split"), exist_ok=True)
    m = onnx.load(os.path.join(out, "conv_bn_pool.onnx"))
    onnx.save_model(m, os.path.join(out, "external", "conv_bn_pool.onnx"), save_as_external_data=True,
                    all_tensors_to_one_file=True, location="conv_bn_pool.onnx.data", size_threshold=0)
    m = onnx.load(os.path.join(out, "conv_bn_pool.onnx"))
    onnx.save_model(m, os.path.join(out, "external", "split", "conv_bn_pool.onnx"), save_as_external_data=True,
                    all_tensors_to_one_file=False, size_threshold=0)
    print("external", sorted(os.listdir(os.path.join(out, "external"))), len(os.listdir(os.path.join(out, "external", "split"))), "files split")


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--torchvision":
        # --torchvision DIR [--opsets 11,13,17] [--size 224] [model ...]
        args, opsets, size, only = sys.argv[3:], (11, 13, 17), 224, []
        while args:
            a = args.pop(0)
            if a == "--opsets":
                opsets = tuple(int(v) for v in args.pop(0).split(","))
            elif a == "--size":
                size = int(args.pop(0))
            else:
                only.append(a)
        torchvision_models(sys.argv[2], only or None, opsets, size)
    elif len(sys.argv) > 1 and sys.argv[1] == "lrn_torch":
        for opset in (11, 13, 17):
            write(f"lrn_torch_opset{opset}", TorchLrn, (2, 3, 6, 5), opset=opset)
    elif len(sys.argv) > 1 and sys.argv[1] == "seq1d":
        write("seq1d", Seq1d, (2, 4, 16))
    elif len(sys.argv) > 1 and sys.argv[1] == "interp":
        write("interp", Interp, (2, 3, 5, 6))
    elif len(sys.argv) > 1 and sys.argv[1] == "dilated_pools":
        write("dilated_pools", DilatedPools, (2, 3, 11, 9))
    elif len(sys.argv) > 1 and sys.argv[1] == "pool_indices":
        write("pools3d", Pools3d, (2, 3, 5, 6, 7))  # also alone: make-onnx-fixtures.py pools3d
        write("deconv3d", Deconv3d, (2, 2, 3, 4, 3))  # also alone: make-onnx-fixtures.py deconv3d
        write("pool_indices", PoolIndices, (2, 3, 7, 6), dynamic=False)
    elif len(sys.argv) > 1 and sys.argv[1] == "pools3d":
        write("pools3d", Pools3d, (2, 3, 5, 6, 7))
    elif len(sys.argv) > 1 and sys.argv[1] == "deconv3d":
        write("deconv3d", Deconv3d, (2, 2, 3, 4, 3))
    elif len(sys.argv) > 1 and sys.argv[1] == "scales":
        write("scales_opset9", lambda: Scales(bilinear=False), (2, 3, 5, 5), opset=9)
        for opset in (11, 13):
            write(f"scales_opset{opset}", Scales, (2, 3, 5, 5), opset=opset)
    elif len(sys.argv) > 1 and sys.argv[1] == "external":
        external()
    elif len(sys.argv) > 1 and sys.argv[1] == "pads":
        write("pads", Pads, (2, 2, 6, 5))
    elif len(sys.argv) > 1 and sys.argv[1] == "se_block":
        write("se_block", SeBlock, (2, 3, 7, 6))
    elif len(sys.argv) > 1 and sys.argv[1] == "shuffle_out":
        write("shuffle_out", ShuffleOut, (2, 3, 6, 7))
        write_two_outputs("two_outputs", (2, 3, 5, 4))
        write("expand_se", ExpandSe, (2, 3, 5, 6))
        write("instance_group_norm", InstanceGroupNorm, (2, 3, 6, 5))
        write("reductions", Reductions, (2, 3, 5, 4))
    elif len(sys.argv) > 1 and sys.argv[1] == "pixel_shuffle":
        for opset in (9, 11, 13):
            write(f"pixel_shuffle_opset{opset}", PixelShuffleNet, (2, 3, 5, 6), opset=opset)
        write("repeat", Repeat, (2, 3, 4, 5))
        for opset in (11, 13):
            write(f"argmax_opset{opset}", ArgmaxHead, (2, 3, 6, 7), opset=opset)
    elif len(sys.argv) > 1 and sys.argv[1] == "unfolded":
        for opset in (11, 13, 17):
            write(f"unfolded_norms_opset{opset}", UnfoldedNorms, (2, 3, 5, 4), opset=opset, fold=False)
        write("pad_reads", PadReads, (2, 3, 4, 5))
        write("pad_slices", PadSlices, (2, 3, 4, 5))
        write("ceil_pool_declared", CeilPool, (2, 3, 8, 8), opset=11)
    elif len(sys.argv) > 1 and sys.argv[1] == "joined_constants":
        write("joined_constants", JoinedConstants, (2, 3, 4, 5), opset=13)
        write("joined_constants_unfolded", JoinedConstants, (2, 3, 4, 5), opset=17, fold=False)
        write("where_constants", WhereConstants, (2, 3, 4, 5))
    elif len(sys.argv) > 1 and sys.argv[1] == "shape_values":
        write_shape_values()
    elif len(sys.argv) > 1 and sys.argv[1] == "dynamic_hw":
        for opset in (11, 13):
            write_dynamic_hw(f"dynamic_hw_opset{opset}", [(2, 3, 8, 10), (1, 3, 13, 7)], opset=opset)
    elif len(sys.argv) > 1 and sys.argv[1] == "convnext_mini":
        for opset in (11, 13, 17):
            write(f"convnext_mini_opset{opset}", ConvNextMini, (2, 3, 16, 16), opset=opset)
    elif len(sys.argv) > 1:
        # anything else (--help, a misspelt name) must not rewrite every checked-in fixture
        sys.exit("usage: make-onnx-fixtures.py [lrn_torch | seq1d | interp | dilated_pools | pool_indices | pools3d | deconv3d | pads | se_block | convnext_mini | shuffle_out | pixel_shuffle | unfolded | joined_constants | shape_values | dynamic_hw | scales | external]\n"
                 "       make-onnx-fixtures.py --torchvision DIR [--opsets 11,13,17] [--size 224] [model ...]\n"
                 f"       (no argument: every fixture in test/fixtures/onnx); not an option: {sys.argv[1]}")
    else:
        os.makedirs(OUT, exist_ok=True)
        write("conv_bn_pool", ConvBnPool, (2, 3, 16, 20))
        write("branches", Branches, (2, 4, 9, 9))
        write("consts", Consts, (2, 3, 8, 8))
        write("nhwc", Nhwc, (2, 7, 6, 3))
        write("misc", Misc, (2, 3, 6, 5))
        write("branches_opset9", Branches, (2, 4, 9, 9), opset=9)  # attribute forms: Clip min/max, Unsqueeze axes, Pad pads
        for opset in (11, 13, 17):  # also alone: make-onnx-fixtures.py lrn_torch
            write(f"lrn_torch_opset{opset}", TorchLrn, (2, 3, 6, 5), opset=opset)
        write("seq1d", Seq1d, (2, 4, 16))  # also alone: make-onnx-fixtures.py seq1d
        write("pads", Pads, (2, 2, 6, 5))  # also alone: make-onnx-fixtures.py pads
        write("dilated_pools", DilatedPools, (2, 3, 11, 9))  # also alone: make-onnx-fixtures.py dilated_pools
        write("pool_indices", PoolIndices, (2, 3, 7, 6), dynamic=False)  # also alone: make-onnx-fixtures.py pool_indices (a fixed batch: the graph mixes it)
        write("se_block", SeBlock, (2, 3, 7, 6))  # also alone: make-onnx-fixtures.py se_block
        for opset in (11, 13, 17):  # also alone: make-onnx-fixtures.py convnext_mini
            write(f"convnext_mini_opset{opset}", ConvNextMini, (2, 3, 16, 16), opset=opset)
        write("interp", Interp, (2, 3, 5, 6))  # also alone: make-onnx-fixtures.py interp (PyTorch 1.13 cannot export it below opset 11)
        write("shuffle_out", ShuffleOut, (2, 3, 6, 7))  # also alone: make-onnx-fixtures.py shuffle_out (with two_outputs, expand_se)
        write_two_outputs("two_outputs", (2, 3, 5, 4))
        write("expand_se", ExpandSe, (2, 3, 5, 6))
        write("instance_group_norm", InstanceGroupNorm, (2, 3, 6, 5))
        write("reductions", Reductions, (2, 3, 5, 4))
        for opset in (9, 11, 13):  # also alone: make-onnx-fixtures.py pixel_shuffle (with repeat and argmax)
            write(f"pixel_shuffle_opset{opset}", PixelShuffleNet, (2, 3, 5, 6), opset=opset)
        write("repeat", Repeat, (2, 3, 4, 5))
        for opset in (11, 13):  # also alone: make-onnx-fixtures.py pixel_shuffle (with repeat and argmax)
            write(f"argmax_opset{opset}", ArgmaxHead, (2, 3, 6, 7), opset=opset)
        write("scales_opset9", lambda: Scales(bilinear=False), (2, 3, 5, 5), opset=9)  # also alone: make-onnx-fixtures.py scales
        for opset in (11, 13):
            write(f"scales_opset{opset}", Scales, (2, 3, 5, 5), opset=opset)
        for opset in (11, 13, 17):  # also alone: make-onnx-fixtures.py unfolded (with pad_reads, pad_slices, ceil_pool_declared)
            write(f"unfolded_norms_opset{opset}", UnfoldedNorms, (2, 3, 5, 4), opset=opset, fold=False)
        write("pad_reads", PadReads, (2, 3, 4, 5))
        write("pad_slices", PadSlices, (2, 3, 4, 5))
        write("ceil_pool_declared", CeilPool, (2, 3, 8, 8), opset=11)
        write("joined_constants", JoinedConstants, (2, 3, 4, 5), opset=13)  # also alone: make-onnx-fixtures.py joined_constants (with where_constants)
        write("joined_constants_unfolded", JoinedConstants, (2, 3, 4, 5), opset=17, fold=False)
        write("where_constants", WhereConstants, (2, 3, 4, 5))
        write_shape_values()  # also alone: make-onnx-fixtures.py shape_values
        for opset in (11, 13):  # also alone: make-onnx-fixtures.py dynamic_hw
            write_dynamic_hw(f"dynamic_hw_opset{opset}", [(2, 3, 8, 10), (1, 3, 13, 7)], opset=opset)
        external()  # also alone: make-onnx-fixtures.py external (after conv_bn_pool)
