// Whole-model gradient checks: the backward pass of every layer type, composed, against
// central differences of the model's own loss (float32 forward; bound 1e-2 relative).
import { beforeAll, describe, expect, it } from "vitest";
import * as fovea from "../src/index.js";
import { Dropout } from "../src/layers/dropout.js";
import { toyImages } from "./helpers/models.js";

const { layers: L } = fovea;
const BOUND = 1e-2;

beforeAll(async () => {
  await fovea.init({ build: "simd" });
});

function check(m: fovea.Model, inputShape: [number, number, number] | [number], loss: fovea.train.LossName, n = 4, classes = 3, h = 1e-2) {
  const shape = inputShape.length === 3 ? inputShape : ([1, 1, inputShape[0]] as [number, number, number]);
  const { x, y } = toyImages(n, shape, classes, 5);
  const targets = loss === "softmaxCrossEntropy" || loss === "hinge" ? y : new fovea.Rng(9).shuffle(Float32Array.from({ length: n * m.outputSize }, (_, i) => (loss === "mse" ? Math.sin(i) : (i % 3) / 2)));
  m.compile({ batchSize: n, loss, optimizer: fovea.train.sgd() });
  const r = fovea.train.gradCheck(m, x, targets, { h, samples: 12 });
  for (const p of r.params) {
    // relative error below the bound, or a gradient that is zero in exact arithmetic (a bias
    // right before batch norm) where both sides are float32 noise
    const ok = p.relError < BOUND || p.absError < 1e-5;
    expect(ok, `${p.layer}.${p.param}: relative ${p.relError.toExponential(2)}, absolute ${p.absError.toExponential(2)}`).toBe(true);
  }
  expect(r.params.length).toBeGreaterThan(0);
  m.free();
  return r;
}

describe("whole-model gradient checks", () => {
  it("conv → batch norm → ELU → max pool → dense → softmax (cross-entropy through the softmax)", () => {
    const m = fovea.sequential([
      L.conv2d({ filters: 4, kernelSize: 3, padding: "same" }), L.batchNorm(), L.elu(), L.maxPool2d({ poolSize: 2 }),
      L.flatten(), L.dense({ units: 3 }), L.softmax(),
    ], { inputShape: [6, 6, 2], seed: 3 });
    check(m, [6, 6, 2], "softmaxCrossEntropy");
  });

  it("conv → batch norm → ReLU → max pool → dense → softmax (the ReLU kink stays away from the sampled inputs)", () => {
    const m = fovea.sequential([
      L.conv2d({ filters: 4, kernelSize: 3, padding: "same" }), L.batchNorm(), L.relu(), L.maxPool2d({ poolSize: 2 }),
      L.flatten(), L.dense({ units: 3 }), L.softmax(),
    ], { inputShape: [6, 6, 2], seed: 3 });
    check(m, [6, 6, 2], "softmaxCrossEntropy");
  });

  it("conv with a fused ReLU → max pool → ReLU layer → max pool → dense (both ReLUs' backward done by the pools, the first conv's gradients from its pool's windows: model/fuse.ts)", () => {
    const m = fovea.sequential([
      L.conv2d({ filters: 4, kernelSize: 3, padding: "same", activation: "relu" }), L.maxPool2d({ poolSize: 2 }),
      L.conv2d({ filters: 3, kernelSize: 3, padding: "same" }), L.relu(), L.maxPool2d({ poolSize: 2, strides: 1, rounding: "floor" }),
      L.flatten(), L.dense({ units: 3 }), L.softmax(),
    ], { inputShape: [8, 8, 2], seed: 7 }); // (a seed whose sampled weights keep h = 1e-2 off the ReLU and max-switch kinks)
    m.compile({ batchSize: 4, loss: "softmaxCrossEntropy", optimizer: fovea.train.sgd() });
    expect(m.plan(4, true).fused).toBe(3);
    check(m, [8, 8, 2], "softmaxCrossEntropy");
  });

  it("conv → tanh → conv with a fused ReLU, stride 2 → 2×2 max pool → dense: the second conv's data, filter and bias gradients from its pool's windows (model/fuse.ts pooledGradients)", () => {
    const m = fovea.sequential([
      L.conv2d({ filters: 3, kernelSize: 3, padding: "same" }), L.tanh(),
      L.conv2d({ filters: 5, kernelSize: [3, 2], strides: [1, 2], padding: [1, 1, 1, 1], activation: "relu" }), L.maxPool2d({ poolSize: 2, rounding: "floor" }),
      L.flatten(), L.dense({ units: 3 }), L.softmax(),
    ], { inputShape: [9, 10, 2], seed: 1 }); // (seeds 1, 2, 3 and 5 of 1–8 keep h = 2e-3 off the ReLU and max-switch kinks; where they do not, compile({ fuse: false }) misses by the same amounts)
    m.compile({ batchSize: 4, loss: "softmaxCrossEntropy", optimizer: fovea.train.sgd() });
    expect(m.plan(4, true).fused).toBe(2);
    check(m, [9, 10, 2], "softmaxCrossEntropy", 4, 3, 2e-3);
  });

  it("conv → tanh → dilated max pool (ceil mode, padding) → dense → softmax", () => {
    const m = fovea.sequential([
      L.conv2d({ filters: 3, kernelSize: 3, padding: "same" }), L.tanh(),
      L.maxPool2d({ poolSize: 2, strides: 2, dilations: [2, 3], padding: 1, rounding: "ceil" }),
      L.flatten(), L.dense({ units: 3 }), L.softmax(),
    ], { inputShape: [7, 6, 2], seed: 1 }); // (4 of seeds 1-5 keep h = 1e-2 off the max-switch kinks; the kernel's float64 check is in pool.test.ts)
    check(m, [7, 6, 2], "softmaxCrossEntropy");
  });

  it("max-pool indices: a zero gradient (piecewise constant: central differences would only see their jumps)", () => {
    const inp = fovea.input([6, 6, 2]);
    const a = L.conv2d({ filters: 3, kernelSize: 3, padding: "same" }).apply(inp);
    const m = fovea.model({ inputs: inp, outputs: L.flatten().apply(L.maxPool2dIndices({ poolSize: 2, dilations: 2, strides: 1, rounding: "floor" }).apply(a)), seed: 2 });
    m.compile({ batchSize: 3, loss: "mse", optimizer: fovea.train.sgd() });
    const x = Float32Array.from({ length: 3 * m.inputSize }, (_, i) => Math.sin(i * 0.7));
    const loss = m.computeGradients(x, new Float32Array(3 * m.outputSize).fill(1), 0, 3);
    expect(loss).toBeGreaterThan(0);
    for (const p of m.params) expect(Array.from(m.backend.heap.f32(p.g, p.size)).every((v) => v === 0), p.spec.name).toBe(true);
    m.free();
  });

  it("layer norm → 3-D max pool (ceil, padding, dilation) → tanh → 3-D average pool (padding counted) → dense → softmax", () => {
    const m = fovea.sequential([
      L.layerNorm(), L.maxPool3d({ poolSize: 2, strides: [1, 2, 2], padding: [1, 0, 1], dilations: [1, 2, 1], rounding: "ceil" }), L.tanh(),
      L.avgPool3d({ poolSize: 2, strides: 1, padding: 1, countIncludePad: true, rounding: "floor" }),
      L.flatten(), L.dense({ units: 3 }), L.softmax(),
    ], { inputShape: [4, 5, 6, 3], seed: 2 });
    check(m, [4, 5, 18], "softmaxCrossEntropy");
  });

  it("3-D transposed conv (stride, crop, output padding, dilation) → tanh → 3-D average pool → transposed conv → dense → softmax", () => {
    const m = fovea.sequential([
      L.conv3dTranspose({ filters: 2, kernelSize: [2, 3, 2], strides: [2, 1, 2], padding: [0, 1, 1, 0, 0, 0], outputPadding: [1, 0, 0], dilation: [1, 1, 2] }), L.tanh(),
      L.avgPool3d({ poolSize: 2, strides: 2, rounding: "floor" }), L.conv3dTranspose({ filters: 2, kernelSize: 2 }),
      L.flatten(), L.dense({ units: 3 }), L.softmax(),
    ], { inputShape: [2, 3, 3, 2], seed: 4 });
    check(m, [2, 3, 6], "softmaxCrossEntropy");
  });

  it("a residual block (conv-bn-tanh-conv + identity, add) with average pooling", () => {
    const inp = fovea.input([5, 5, 3]);
    const a = L.conv2d({ filters: 3, kernelSize: 3, padding: "same" }).apply(inp);
    const b = L.tanh().apply(L.batchNorm().apply(a));
    const c = L.conv2d({ filters: 3, kernelSize: 3, padding: 1 }).apply(b);
    const s = L.add().apply(c, inp);
    const out = L.dense({ units: 3 }).apply(L.flatten().apply(L.avgPool2d({ poolSize: 2, rounding: "floor" }).apply(L.sigmoid().apply(s))));
    check(fovea.model({ inputs: inp, outputs: out, seed: 4 }), [5, 5, 3], "softmaxCrossEntropy");
  });

  it("an inception-style block: 1×1, 3×3 and pooled branches joined by concat, global average pool", () => {
    const inp = fovea.input([6, 6, 4]);
    const b1 = L.conv2d({ filters: 2, kernelSize: 1 }).apply(inp);
    const b2 = L.conv2d({ filters: 3, kernelSize: 3, padding: "same", dilation: 1 }).apply(L.conv2d({ filters: 2, kernelSize: 1 }).apply(inp));
    const b3 = L.conv2d({ filters: 2, kernelSize: 1 }).apply(L.maxPool2d({ poolSize: 3, strides: 1, padding: 1 }).apply(inp));
    const cat = L.concat().apply(b1, b2, b3);
    const out = L.dense({ units: 3 }).apply(L.globalAvgPool2d().apply(L.tanh().apply(cat)));
    check(fovea.model({ inputs: inp, outputs: out, seed: 5 }), [6, 6, 4], "softmaxCrossEntropy");
  });

  it("a branch used twice (fan-out: gradients of both consumers add up) and depthwise + strided convs", () => {
    const inp = fovea.input([7, 7, 3]);
    const a = L.tanh().apply(L.depthwiseConv2d({ kernelSize: 3, padding: 1, depthMultiplier: 2 }).apply(inp));
    const b = L.conv2d({ filters: 6, kernelSize: 3, strides: 2, padding: 1 }).apply(a);
    const c = L.conv2d({ filters: 6, kernelSize: 1, strides: 2 }).apply(a);
    const out = L.dense({ units: 3 }).apply(L.flatten().apply(L.add().apply(b, c)));
    check(fovea.model({ inputs: inp, outputs: out, seed: 6 }), [7, 7, 3], "softmaxCrossEntropy");
  });

  it("tied layers (Model.tie: a conv run twice, a dense layer on two branches): the gradient of each shared tensor is the sum of its uses', checked moving every copy at once", () => {
    const inp = fovea.input([6, 6, 3]);
    const a = L.tanh().apply(L.conv2d({ filters: 3, kernelSize: 3, padding: "same", name: "c1" }).apply(inp));
    const b = L.tanh().apply(L.conv2d({ filters: 3, kernelSize: 3, padding: "same", name: "c2" }).apply(a));
    const f1 = L.dense({ units: 3, name: "d1" }).apply(L.flatten().apply(L.maxPool2d({ poolSize: 2 }).apply(b)));
    const f2 = L.dense({ units: 3, name: "d2" }).apply(L.flatten().apply(L.avgPool2d({ poolSize: 2 }).apply(b)));
    const m = fovea.model({ inputs: inp, outputs: L.add().apply(f1, f2), seed: 4 });
    m.tie([[["c1", "kernel"], ["c2", "kernel"]], [["c1", "bias"], ["c2", "bias"]], [["d1", "kernel"], ["d2", "kernel"]]]);
    const r = check(m, [6, 6, 3], "softmaxCrossEntropy", 4, 3, 3e-3); // (h = 1e-2 crosses the max pool's switches: 3e-2 with the layers untied too)
    // each group once (at its first copy), d2's own bias on its own
    expect(r.params.map((p) => `${p.layer}.${p.param}`)).toEqual(["c1.kernel", "c1.bias", "d1.kernel", "d1.bias", "d2.bias"]);
  });

  it.each(["hinge", "mse", "sigmoidCrossEntropy"] as const)("the %s loss on a dense network", (loss) => {
    const m = fovea.sequential([L.dense({ units: 6 }), L.tanh(), L.dense({ units: 3 })], { inputShape: [5], seed: 8 });
    check(m, [5], loss);
  });

  it("transposed convs (strided with padding and output padding, grouped; the first layer reads the input)", () => {
    const m = fovea.sequential([
      L.conv2dTranspose({ filters: 4, kernelSize: 3, strides: 2, padding: 1, outputPadding: 1 }), L.tanh(),
      L.conv2d({ filters: 4, kernelSize: 3, strides: 2, rounding: "floor" }), L.sigmoid(),
      L.conv2dTranspose({ filters: 2, kernelSize: 2, strides: 2, groups: 2 }), L.flatten(), L.dense({ units: 3 }),
    ], { inputShape: [4, 4, 2], seed: 12 });
    expect(m.layers.map((l) => l.type === "conv2dTranspose" ? `${m.nodes[m.layers.indexOf(l)]!.outShape}` : "").filter(Boolean)).toEqual(["8,8,4", "6,6,2"]);
    check(m, [4, 4, 2], "softmaxCrossEntropy");
  });

  it("a pixel shuffle and unshuffle (reshapes around permutes of four and five axes, as ONNX's DepthToSpace / SpaceToDepth import) between convs", () => {
    const m = fovea.sequential([
      L.conv2d({ filters: 12, kernelSize: 3, padding: "same" }), L.tanh(),
      L.reshape({ targetShape: [3, 4, 3, 2, 2] }), L.permute({ perm: [0, 3, 1, 4, 2] }), L.reshape({ targetShape: [6, 8, 3] }),
      L.conv2d({ filters: 4, kernelSize: 3, padding: "same" }), L.tanh(),
      L.reshape({ targetShape: [3, 2, 4, 8] }), L.permute({ perm: [0, 2, 1, 3] }), L.reshape({ targetShape: [3, 4, 16] }),
      L.flatten(), L.dense({ units: 3 }), L.softmax(),
    ], { inputShape: [3, 4, 2], seed: 4 });
    check(m, [3, 4, 2], "softmaxCrossEntropy");
  });

  it("argMax in a graph: a class map of the input's channels multiplies a conv's output (central differences would only see the map's jumps under a parameter; its zero backward is checked in eltwise.test)", () => {
    const inp = fovea.input([5, 5, 2]);
    const a = L.conv2d({ filters: 3, kernelSize: 3, padding: "same" }).apply(inp);
    const map = L.argMax().apply(L.tanh().apply(inp));
    const y = L.binary({ op: "mul" }).apply(a, L.binary({ op: "add" }).apply(map, L.constant({ shape: [1], name: "one" }).apply(inp)));
    const m = fovea.model({ inputs: inp, outputs: L.softmax().apply(L.dense({ units: 3 }).apply(L.flatten().apply(L.tanh().apply(y)))), seed: 6 });
    check(m, [5, 5, 2], "softmaxCrossEntropy");
  });

  it("maxout and LRN", () => {
    const m = fovea.sequential([
      L.conv2d({ filters: 6, kernelSize: 3 }), L.lrn({ size: 3, alpha: 0.5, beta: 0.75, k: 1 }), L.maxout({ pieces: 2 }),
      L.flatten(), L.dense({ units: 3 }),
    ], { inputShape: [5, 5, 2], seed: 9 });
    check(m, [5, 5, 2], "softmaxCrossEntropy");
  });

  it("dropout with a fixed mask, leaky ReLU, ReLU6 and a dense-layer batch norm", () => {
    const drop = L.dropout({ rate: 0.5 }) as Dropout;
    const mask = Float32Array.from({ length: 4 * 8 }, (_, i) => ((i * 7) % 3 === 0 ? 0 : 2));
    drop.maskSource = () => mask;
    const m = fovea.sequential([
      L.dense({ units: 8 }), L.batchNorm(), L.leakyRelu({ alpha: 0.2 }), drop, L.dense({ units: 8 }), L.relu6(), L.dense({ units: 3 }),
    ], { inputShape: [6], seed: 10 });
    check(m, [6], "softmaxCrossEntropy");
  });

  it("dropout drawing its masks from the model's RNG: gradCheck rewinds the RNG before each loss, so every difference is of one network (without, 0.996)", () => {
    const m = fovea.sequential([L.dense({ units: 6 }), L.tanh(), L.dropout({ rate: 0.5 }), L.dense({ units: 3 }), L.softmax()], { inputShape: [4], seed: 3 });
    m.compile({ batchSize: 5, loss: "softmaxCrossEntropy", optimizer: fovea.train.sgd({ lr: 0.1 }) });
    const x = Float32Array.from({ length: 20 }, (_, i) => Math.sin(i * 0.7));
    const before = m.rng.state();
    const r = fovea.train.gradCheck(m, x, [0, 1, 2, 1, 0]);
    expect(r.maxRelError).toBeLessThan(1e-3);
    // the RNG ends where one step leaves it: one draw of the masks past where it was
    m.rng.setState(before);
    m.computeGradients(x, Int32Array.from([0, 1, 2, 1, 0]), 0, 5);
    const oneStep = m.rng.state();
    m.rng.setState(before);
    fovea.train.gradCheck(m, x, [0, 1, 2, 1, 0]);
    expect(m.rng.state()).toEqual(oneStep);
    m.free();
  });

  it("softplus, log, softsign and exp (Selu / Celu import as an elu between scale layers, checked above)", () => {
    const m = fovea.sequential([
      L.conv2d({ filters: 4, kernelSize: 3, padding: "same" }), L.softplus(), L.log(), L.conv2d({ filters: 3, kernelSize: 3 }), L.softsign(), L.exp(),
      L.flatten(), L.dense({ units: 3 }), L.softmax(),
    ], { inputShape: [5, 5, 2], seed: 6 });
    check(m, [5, 5, 2], "softmaxCrossEntropy");
  });

  it("trainable scale layers (an imported PReLU's slope, an InstanceNorm's affine after a layer norm without one, a sequence Linear's bias) and mod / fmod", () => {
    const inp = fovea.input([4, 4, 3]);
    const c = L.conv2d({ filters: 4, kernelSize: 3, padding: "same" }).apply(inp);
    const n = L.scale({ trainable: ["scale", "shift"], name: "affine" }).apply(L.layerNorm({ affine: false, name: "norm" }).apply(c));
    const slope = L.scale({ trainable: ["scale"], name: "slope" }).apply(L.reshape({ targetShape: [64, 1] }).apply(L.tanh().apply(n)));
    const bias = L.scale({ trainable: ["shift"], name: "bias" }).apply(L.reshape({ targetShape: [16, 4] }).apply(slope));
    // mod and fmod by constants: dy through a (a divisor constant is not a parameter; their db is checked against
    // float64 in eltwise-math), away from their jumps: mod(x + 10, 20) and then fmod(·, −20) of |x| < 4
    const shifted = L.binary({ op: "add", constantShape: [1], name: "ten" }).apply(bias);
    const r = L.binary({ op: "fmod", constantShape: [1], name: "f" }).apply(L.binary({ op: "mod", constantShape: [1], name: "m" }).apply(shifted));
    const m = fovea.model({ inputs: inp, outputs: L.softmax().apply(L.dense({ units: 3 }).apply(L.flatten().apply(r))), seed: 14 });
    m.setWeights([
      { layer: "affine", name: "scale", values: Float32Array.from([0.5, 1.5, -1, 2]) }, { layer: "affine", name: "shift", values: Float32Array.from([0.1, -0.2, 0.3, 0]) },
      { layer: "slope", name: "scale", values: [0.7] }, { layer: "bias", name: "shift", values: Float32Array.from([0.2, -0.1, 0.05, 0.3]) },
      { layer: "ten", name: "constant", values: [10] }, { layer: "m", name: "constant", values: [20] }, { layer: "f", name: "constant", values: [-20] },
    ]);
    const r2 = check(m, [4, 4, 3], "softmaxCrossEntropy");
    // the trained parameters, and not the layer norm's held γ and β
    expect(r2.params.map((p) => `${p.layer}.${p.param}`).filter((k) => /affine|slope|bias\.|norm/.test(k)).sort()).toEqual(["affine.scale", "affine.shift", "bias.shift", "slope.scale"]);
  });

  it("layer norm (γ, β learnt), GELU, erf, √ and broadcasting binary ops (ConvNeXt's block, imported graphs' arithmetic)", () => {
    const inp = fovea.input([4, 4, 3]);
    const a = L.conv2d({ filters: 6, kernelSize: 3, padding: "same" }).apply(inp);
    const n = L.gelu().apply(L.layerNorm({ epsilon: 1e-6 }).apply(a));
    // a per-channel constant (layer scale) and a broadcast divisor, then erf, √(x² + 1) and a power
    const s = L.binary({ op: "mul", constantShape: [6], name: "ls" }).apply(n);
    const g = L.globalAvgPool2d().apply(s);
    const b = L.binary({ op: "div" }).apply(L.reshape({ targetShape: [2, 3] }).apply(L.dense({ units: 6 }).apply(g)), L.reshape({ targetShape: [1, 3] }).apply(L.sigmoid().apply(L.dense({ units: 3 }).apply(g))));
    const e = L.erf().apply(L.flatten().apply(b));
    const r = L.sqrt().apply(L.binary({ op: "add", constantShape: [1], name: "one" }).apply(L.binary({ op: "mul" }).apply(e, e)));
    const p = L.binary({ op: "pow", constantShape: [6], name: "p" }).apply(r);
    const m = fovea.model({ inputs: inp, outputs: L.dense({ units: 3 }).apply(L.binary({ op: "sub", constantShape: [1], constantFirst: true, name: "neg" }).apply(p)), seed: 13 });
    m.setWeights([
      { layer: "ls", name: "constant", values: Float32Array.from([0.5, 1.5, -1, 2, 0.25, 1]) },
      { layer: "one", name: "constant", values: [1] }, { layer: "neg", name: "constant", values: [0.3] },
      { layer: "p", name: "constant", values: Float32Array.from([1, 2, 0.5, 3, 1.5, -1]) },
    ]);
    check(m, [4, 4, 3], "softmaxCrossEntropy");
  });

  it("max and min of computed tensors and with a constant (the comparisons are steps: their zero gradient is checked against float64 in eltwise-math)", () => {
    const inp = fovea.input([4, 4, 2]);
    const a = L.tanh().apply(L.conv2d({ filters: 3, kernelSize: 3, padding: "same" }).apply(inp));
    const b = L.sigmoid().apply(L.conv2d({ filters: 3, kernelSize: 1 }).apply(inp));
    const mx = L.binary({ op: "max" }).apply(a, b), mn = L.binary({ op: "min", constantShape: [3], name: "cap" }).apply(a);
    const m = fovea.model({ inputs: inp, outputs: L.dense({ units: 3 }).apply(L.flatten().apply(L.add().apply(mx, mn))), seed: 16 }); // (a seed whose samples keep h = 1e-2 off the max/min kinks)
    m.setWeights([{ layer: "cap", name: "constant", values: [0.1, -0.2, 0.3] }]);
    check(m, [4, 4, 2], "softmaxCrossEntropy");
  });

  it("where: the choice between two computed tensors by a condition of 1s and 0s (channels 0 and 2 of the input)", () => {
    const inp = fovea.input([4, 4, 3]);
    const cond = L.binary({ op: "equal" }).apply(inp, L.binary({ op: "mul", constantShape: [3], name: "mask" }).apply(inp));
    const a = L.tanh().apply(L.conv2d({ filters: 3, kernelSize: 3, padding: "same" }).apply(inp));
    const b = L.sigmoid().apply(L.conv2d({ filters: 3, kernelSize: 1 }).apply(inp));
    const m = fovea.model({ inputs: inp, outputs: L.dense({ units: 3 }).apply(L.flatten().apply(L.where().apply(cond, a, b))), seed: 14 });
    m.setWeights([{ layer: "mask", name: "constant", values: [1, 0, 1] }]);
    check(m, [4, 4, 3], "softmaxCrossEntropy");
  });

  it("L1 and L2 regularisation add their gradients (checked against the penalised loss)", () => {
    const m = fovea.sequential([L.dense({ units: 3, useBias: false })], { inputShape: [4], seed: 11 });
    m.compile({ batchSize: 2, loss: "mse", optimizer: fovea.train.sgd({ lr: 0.1 }), regularizer: { l1: 0.01, l2: 0.1 } });
    const x = Float32Array.from([1, -2, 0.5, 3, 0.2, 0.1, -1, 2]), t = Float32Array.from([1, 0, -1, 0.5, 0.5, 0.5]);
    const w0 = m.backend.heap.f32(m.params[0]!.w, 12).slice();
    m.trainOnBatch(x, t);
    const w1 = m.backend.heap.f32(m.params[0]!.w, 12).slice();
    // expected step: w −= lr·(dL/dw + l2·w + l1·sign(w)), with dL/dw from a float64 evaluation
    const out = [0, 1].map((b) => [0, 1, 2].map((o) => [0, 1, 2, 3].reduce((s, i) => s + x[b * 4 + i]! * w0[i * 3 + o]!, 0)));
    for (let i = 0; i < 4; i++) for (let o = 0; o < 3; o++) {
      let g = 0;
      for (let b = 0; b < 2; b++) g += (2 * (out[b]![o]! - t[b * 3 + o]!) * x[b * 4 + i]!) / (2 * 3);
      const w = w0[i * 3 + o]!;
      expect(w1[i * 3 + o]).toBeCloseTo(w - 0.1 * (g + 0.1 * w + 0.01 * Math.sign(w)), 5);
    }
    m.free();
  });

  it("global-norm clipping scales the regularised gradients (checked against a float64 step), momentum's fused update agrees", () => {
    for (const clipNorm of [0.05, 1e3]) {
      const m = fovea.sequential([L.dense({ units: 3 })], { inputShape: [4], seed: 12 });
      m.compile({ batchSize: 2, loss: "mse", optimizer: fovea.train.sgd({ lr: 0.1, momentum: 0.9 }), regularizer: { l1: 0.01, l2: 0.1 }, clipNorm });
      const x = Float32Array.from([1, -2, 0.5, 3, 0.2, 0.1, -1, 2]), t = Float32Array.from([1, 0, -1, 0.5, 0.5, 0.5]);
      const w0 = m.backend.heap.f32(m.params[0]!.w, 12).slice(), b0 = m.backend.heap.f32(m.params[1]!.w, 3).slice();
      m.trainOnBatch(x, t);
      const w1 = m.backend.heap.f32(m.params[0]!.w, 12).slice(), b1 = m.backend.heap.f32(m.params[1]!.w, 3).slice();
      const out = [0, 1].map((b) => [0, 1, 2].map((o) => b0[o]! + [0, 1, 2, 3].reduce((s, i) => s + x[b * 4 + i]! * w0[i * 3 + o]!, 0)));
      const d = (b: number, o: number) => (2 * (out[b]![o]! - t[b * 3 + o]!)) / (2 * 3);
      // the weights are regularised, the bias is not; the norm is over both, after the penalty
      const gw = w0.map((w, k) => [0, 1].reduce((s, b) => s + d(b, k % 3) * x[b * 4 + Math.floor(k / 3)]!, 0) + 0.1 * w + 0.01 * Math.sign(w));
      const gb = [0, 1, 2].map((o) => d(0, o) + d(1, o));
      const norm = Math.hypot(...gw, ...gb), f = norm > clipNorm ? clipNorm / norm : 1;
      // the first momentum step: v = g, w −= lr·v
      gw.forEach((g, k) => expect(w1[k]).toBeCloseTo(w0[k]! - 0.1 * f * g, 5));
      gb.forEach((g, o) => expect(b1[o]).toBeCloseTo(b0[o]! - 0.1 * f * g, 5));
      if (clipNorm < 1) expect(f).toBeLessThan(0.5); // the clip really acted
      m.free();
    }
  });
});
