// The model zoo: the classic CNNs built from fovea's layers. ImageNet models follow the
// torchvision definitions (same layers, same parameter counts: AlexNet 61,100,840, VGG-16
// 138,357,544, ResNet-18 11,689,512, ResNet-34 21,797,672, ResNet-50 25,557,032, GoogLeNet
// without aux heads 6,624,904, MobileNetV2 3,504,872), with PyTorch's floor / ceil output-size
// rules written out. Weights are freshly initialised (He normal); import trained ones via io/.

import { ConfigError, checkOptionKeys, show, checkBoolean } from "../errors.js";
import * as L from "../layers/index.js";
import type { Layer } from "../layers/layer.js";
import { model, sequential, type Model } from "./model.js";
import { input, type SymbolicTensor } from "../layers/symbolic.js";

export interface ZooOptions {
  /** Output classes. Default 1000 for ImageNet models, 10 for the small ones. */
  classes?: number;
  seed?: number;
  /** End with a softmax layer (default true). */
  softmax?: boolean;
}

const opts = (o: ZooOptions, where: string, extra: string[] = []) => {
  checkOptionKeys(where, o, ["classes", "seed", "softmax", ...extra]);
  if (o.classes !== undefined && !(Number.isSafeInteger(o.classes) && o.classes >= 1)) throw new ConfigError(`zoo.${where}: classes must be a whole number >= 1, got ${show(o.classes)}`);
  checkBoolean(`zoo.${where}`, "softmax", o.softmax);
  return o;
};

const head = (o: ZooOptions, dflt: number): Layer[] => [L.dense({ units: o.classes ?? dflt }), ...(o.softmax === false ? [] : [L.softmax()])];

/** Conv (no bias) → batch norm → activation, torchvision's BasicConv2d / ConvBNReLU. */
function cbr(x: SymbolicTensor, filters: number, k: number, s = 1, p = 0, act: "relu" | "relu6" | "none" = "relu", groups = 1, eps = 1e-5): SymbolicTensor {
  const conv = groups === 1
    ? L.conv2d({ filters, kernelSize: k, strides: s, padding: p, useBias: false, rounding: "floor" })
    : L.depthwiseConv2d({ kernelSize: k, strides: s, padding: p, useBias: false, rounding: "floor" });
  let y = L.batchNorm({ epsilon: eps }).apply(conv.apply(x));
  if (act !== "none") y = (act === "relu" ? L.relu() : L.relu6()).apply(y);
  return y;
}

/**
 * LeNet-5 for 28×28×1 (MNIST): C1 6@5×5 ("same", as on the paper's 32×32 input), S2, C3 16@5×5,
 * S4, C5 120, F6 84, 10 outputs. Parameters: C1 156, C5 48,120, F6 10,164. activation "tanh" and
 * pooling "avg" give the 1998 flavour; ReLU and max pooling (default) train faster.
 */
export function lenet5(o: ZooOptions & { activation?: "relu" | "tanh"; pooling?: "max" | "avg" } = {}): Model {
  opts(o, "lenet5", ["activation", "pooling"]);
  const act = o.activation ?? "relu";
  const pool = () => (o.pooling === "avg" ? L.avgPool2d({ poolSize: 2 }) : L.maxPool2d({ poolSize: 2 }));
  const a = act === "relu" ? ("relu" as const) : ("none" as const);
  const t = () => (act === "tanh" ? [L.tanh()] : []);
  return sequential([
    L.conv2d({ filters: 6, kernelSize: 5, padding: "same", activation: a, name: "C1" }), ...t(), pool(),
    L.conv2d({ filters: 16, kernelSize: 5, activation: a, name: "C3" }), ...t(), pool(),
    L.flatten(),
    L.dense({ units: 120, activation: a, name: "C5" }), ...t(),
    L.dense({ units: 84, activation: a, name: "F6" }), ...t(),
    ...head(o, 10),
  ], { inputShape: [28, 28, 1], name: "lenet5", seed: o.seed });
}

/** A 5×5 conv without bias, batch norm, ReLU and a 2×2 max pool: a stage of lenet5Bn and lenetWide. */
const lenetBnBlock = (filters: number, padding: "same" | "valid", name: string, kernelSize = 5): Layer[] => [
  L.conv2d({ filters, kernelSize, padding, useBias: false, name }), L.batchNorm(), L.relu(), L.maxPool2d({ poolSize: 2 }),
];

/**
 * LeNet-5 with batch norm after C1 and C3 (their biases dropped: the norm's shift replaces them),
 * the net of `fovea train mnist --speedrun`: the same shapes, and it trains to 99% in about two
 * epochs without distortions. At inference each norm folds into its conv.
 */
export function lenet5Bn(o: ZooOptions = {}): Model {
  opts(o, "lenet5Bn");
  return sequential([
    ...lenetBnBlock(6, "same", "C1"),
    ...lenetBnBlock(16, "valid", "C3"),
    L.flatten(),
    L.dense({ units: 120, activation: "relu", name: "C5" }),
    L.dense({ units: 84, activation: "relu", name: "F6" }),
    ...head(o, 10),
  ], { inputShape: [28, 28, 1], name: "lenet5-bn", seed: o.seed });
}

/**
 * LeNet-5's layout widened for the harder MNIST-format data (Fashion-MNIST): C1 16@5×5 "same" and
 * C3 32@5×5, each with batch norm (no conv bias) and ReLU before its 2×2 max pool, one hidden
 * layer of 128, 10 outputs; 117,114 parameters, about four times LeNet-5's multiply-adds. The net of
 * `fovea train fashion-mnist` before lenet3x3.
 */
export function lenetWide(o: ZooOptions = {}): Model {
  opts(o, "lenetWide");
  return sequential([
    ...lenetBnBlock(16, "same", "C1"),
    ...lenetBnBlock(32, "valid", "C3"),
    L.flatten(),
    L.dense({ units: 128, activation: "relu", name: "F5" }),
    ...head(o, 10),
  ], { inputShape: [28, 28, 1], name: "lenet-wide", seed: o.seed });
}

/**
 * lenet-wide with 3×3 "same" convs: C1 16@3×3 and C3 32@3×3 over 28² and 14², each with batch norm
 * (no conv bias) and ReLU before its 2×2 max pool, so 7×7×32 features reach one hidden layer of
 * 128, 10 outputs; 206,970 parameters (most of them the hidden layer's), 72% of lenet-wide's
 * multiply-adds. The net of `fovea train fashion-mnist`.
 */
export function lenet3x3(o: ZooOptions = {}): Model {
  opts(o, "lenet3x3");
  return sequential([
    ...lenetBnBlock(16, "same", "C1", 3),
    ...lenetBnBlock(32, "same", "C3", 3),
    L.flatten(),
    L.dense({ units: 128, activation: "relu", name: "F5" }),
    ...head(o, 10),
  ], { inputShape: [28, 28, 1], name: "lenet-3x3", seed: o.seed });
}

/** The ConvNetJS CIFAR-10 demo net: 3× (conv 5×5 pad 2 ReLU, pool 2), then softmax over 10. */
export function convnetjsCifar10(o: ZooOptions = {}): Model {
  opts(o, "convnetjsCifar10");
  const conv = (filters: number) => L.conv2d({ filters, kernelSize: 5, padding: 2, activation: "relu" });
  return sequential([
    conv(16), L.maxPool2d({ poolSize: 2 }), conv(20), L.maxPool2d({ poolSize: 2 }), conv(20), L.maxPool2d({ poolSize: 2 }),
    L.flatten(), ...head(o, 10),
  ], { inputShape: [32, 32, 3], name: "convnetjs-cifar10", seed: o.seed });
}

/** AlexNet as torchvision defines it (224×224×3; no LRN). */
export function alexnet(o: ZooOptions = {}): Model {
  opts(o, "alexnet");
  const conv = (filters: number, k: number, s: number, p: number) => L.conv2d({ filters, kernelSize: k, strides: s, padding: p, activation: "relu", rounding: "floor" });
  const pool = () => L.maxPool2d({ poolSize: 3, strides: 2, rounding: "floor" });
  return sequential([
    conv(64, 11, 4, 2), pool(), conv(192, 5, 1, 2), pool(), conv(384, 3, 1, 1), conv(256, 3, 1, 1), conv(256, 3, 1, 1), pool(),
    L.flatten(), L.dropout({ rate: 0.5 }), L.dense({ units: 4096, activation: "relu" }), L.dropout({ rate: 0.5 }),
    L.dense({ units: 4096, activation: "relu" }), ...head(o, 1000),
  ], { inputShape: [224, 224, 3], name: "alexnet", seed: o.seed });
}

/** VGG-16 (configuration D, no batch norm), 224×224×3. */
export function vgg16(o: ZooOptions = {}): Model {
  opts(o, "vgg16");
  const layers: Layer[] = [];
  for (const v of [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"] as const) {
    layers.push(v === "M" ? L.maxPool2d({ poolSize: 2 }) : L.conv2d({ filters: v, kernelSize: 3, padding: 1, activation: "relu" }));
  }
  return sequential([
    ...layers, L.flatten(), L.dense({ units: 4096, activation: "relu" }), L.dropout({ rate: 0.5 }),
    L.dense({ units: 4096, activation: "relu" }), L.dropout({ rate: 0.5 }), ...head(o, 1000),
  ], { inputShape: [224, 224, 3], name: "vgg16", seed: o.seed });
}

function resnet(name: string, blocks: number[], bottleneck: boolean, o: ZooOptions): Model {
  opts(o, name);
  const inp = input([224, 224, 3]);
  let x = cbr(inp, 64, 7, 2, 3);
  x = L.maxPool2d({ poolSize: 3, strides: 2, padding: 1, rounding: "floor" }).apply(x);
  let inC = 64;
  blocks.forEach((n, stage) => {
    const width = 64 << stage;
    const outC = bottleneck ? width * 4 : width;
    for (let b = 0; b < n; b++) {
      const s = b === 0 && stage > 0 ? 2 : 1;
      let y: SymbolicTensor;
      if (bottleneck) {
        y = cbr(x, width, 1);
        y = cbr(y, width, 3, s, 1);
        y = cbr(y, outC, 1, 1, 0, "none");
      } else {
        y = cbr(x, width, 3, s, 1);
        y = cbr(y, width, 3, 1, 1, "none");
      }
      const short = s !== 1 || inC !== outC ? cbr(x, outC, 1, s, 0, "none") : x;
      x = L.relu().apply(L.add().apply(y, short));
      inC = outC;
    }
  });
  let out = L.globalAvgPool2d().apply(x);
  for (const l of head(o, 1000)) out = l.apply(out);
  return model({ inputs: inp, outputs: out, name, seed: o.seed });
}

export const resnet18 = (o: ZooOptions = {}) => resnet("resnet18", [2, 2, 2, 2], false, o);
export const resnet34 = (o: ZooOptions = {}) => resnet("resnet34", [3, 4, 6, 3], false, o);
export const resnet50 = (o: ZooOptions = {}) => resnet("resnet50", [3, 4, 6, 3], true, o);

/** GoogLeNet (Inception v1) as torchvision defines it, without the auxiliary heads. */
export function googlenet(o: ZooOptions = {}): Model {
  opts(o, "googlenet");
  const c = (x: SymbolicTensor, f: number, k: number, s = 1, p = 0) => cbr(x, f, k, s, p, "relu", 1, 1e-3);
  const pool = (x: SymbolicTensor, k: number, s: number, p = 0) => L.maxPool2d({ poolSize: k, strides: s, padding: p, rounding: "ceil" }).apply(x);
  const inception = (x: SymbolicTensor, b1: number, b2r: number, b2: number, b3r: number, b3: number, b4: number) =>
    L.concat().apply(c(x, b1, 1), c(c(x, b2r, 1), b2, 3, 1, 1), c(c(x, b3r, 1), b3, 3, 1, 1), c(pool(x, 3, 1, 1), b4, 1));
  const inp = input([224, 224, 3]);
  let x = pool(c(inp, 64, 7, 2, 3), 3, 2);
  x = pool(c(c(x, 64, 1), 192, 3, 1, 1), 3, 2);
  x = inception(x, 64, 96, 128, 16, 32, 32);
  x = pool(inception(x, 128, 128, 192, 32, 96, 64), 3, 2);
  x = inception(x, 192, 96, 208, 16, 48, 64);
  x = inception(x, 160, 112, 224, 24, 64, 64);
  x = inception(x, 128, 128, 256, 24, 64, 64);
  x = inception(x, 112, 144, 288, 32, 64, 64);
  x = pool(inception(x, 256, 160, 320, 32, 128, 128), 2, 2);
  x = inception(x, 256, 160, 320, 32, 128, 128);
  x = inception(x, 384, 192, 384, 48, 128, 128);
  let out = L.dropout({ rate: 0.2 }).apply(L.globalAvgPool2d().apply(x));
  for (const l of head(o, 1000)) out = l.apply(out);
  return model({ inputs: inp, outputs: out, name: "googlenet", seed: o.seed });
}

/** Network in Network for 32×32×3 (Lin et al. 2013, the CIFAR-10 model): mlpconv stacks and global average pooling. */
export function nin(o: ZooOptions = {}): Model {
  opts(o, "nin");
  const conv = (f: number, k: number, p = 0) => L.conv2d({ filters: f, kernelSize: k, padding: p, activation: "relu" });
  const classes = o.classes ?? 10;
  return sequential([
    conv(192, 5, 2), conv(160, 1), conv(96, 1), L.maxPool2d({ poolSize: 3, strides: 2, rounding: "ceil" }), L.dropout({ rate: 0.5 }),
    conv(192, 5, 2), conv(192, 1), conv(192, 1), L.avgPool2d({ poolSize: 3, strides: 2, rounding: "ceil" }), L.dropout({ rate: 0.5 }),
    conv(192, 3, 1), conv(192, 1), L.conv2d({ filters: classes, kernelSize: 1 }), L.globalAvgPool2d(),
    ...(o.softmax === false ? [] : [L.softmax()]),
  ], { inputShape: [32, 32, 3], name: "nin", seed: o.seed });
}

/** MobileNetV2 (width 1.0) as torchvision defines it, 224×224×3. */
export function mobilenetV2(o: ZooOptions = {}): Model {
  opts(o, "mobilenetV2");
  const inp = input([224, 224, 3]);
  let x = cbr(inp, 32, 3, 2, 1, "relu6");
  let inC = 32;
  for (const [t, ch, n, s] of [[1, 16, 1, 1], [6, 24, 2, 2], [6, 32, 3, 2], [6, 64, 4, 2], [6, 96, 3, 1], [6, 160, 3, 2], [6, 320, 1, 1]] as const) {
    for (let i = 0; i < n; i++) {
      const stride = i === 0 ? s : 1;
      let y = t === 1 ? x : cbr(x, inC * t, 1, 1, 0, "relu6");
      y = cbr(y, inC * t, 3, stride, 1, "relu6", inC * t);
      y = cbr(y, ch, 1, 1, 0, "none");
      x = stride === 1 && inC === ch ? L.add().apply(x, y) : y;
      inC = ch;
    }
  }
  x = cbr(x, 1280, 1, 1, 0, "relu6");
  let out = L.dropout({ rate: 0.2 }).apply(L.globalAvgPool2d().apply(x));
  for (const l of head(o, 1000)) out = l.apply(out);
  return model({ inputs: inp, outputs: out, name: "mobilenet-v2", seed: o.seed });
}
