// Seeing inside a CNN: input gradients (model.inputGradient) against central differences of the
// model's own inference outputs (model.activations: batch norm with its moving statistics, dropout
// off), the deconvnet against a float64 reference (test/ref/deconv.ts), and saliency, class models
// and Deep Dream on the LeNet-5 an earlier `npm start` trained (its main job was then plain LeNet-5), as the demo ships it (examples/browser/lenet5-mnist.fovea:
// a fixed model, not whatever the last local run left in models/, so the results are the same on every machine).
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as fovea from "../src/index.js";
import { refDeconvnet, type RefDeconvNet } from "./ref/deconv.js";

const { layers: L } = fovea;

beforeAll(async () => {
  await fovea.init({ build: "simd" });
});

/** A layer's output for one example, through the model's inference path. */
function layerValues(m: fovea.Model, x: Float32Array, layer: string): Float32Array {
  return m.activations(x).find((a) => a.layer === layer)!.values;
}

type Objective = (m: fovea.Model, x: Float32Array) => number;
const unitSum = (layer: string, unit: number): Objective => (m, x) => {
  const a = m.activations(x).find((q) => q.layer === layer)!;
  const C = a.shape[a.shape.length - 1]!;
  let s = 0;
  for (let p = unit; p < a.values.length; p += C) s += a.values[p]!;
  return s;
};
const halfL2 = (layer: string): Objective => (m, x) => layerValues(m, x, layer).reduce((a, v) => a + v * v, 0) / 2;

/** Central differences of f at x (every input entry), in float64 arithmetic around a float32 forward pass. */
function centralDifferences(m: fovea.Model, x: Float32Array, f: Objective, h: number): Float64Array {
  const g = new Float64Array(x.length);
  const xp = x.slice();
  for (let i = 0; i < x.length; i++) {
    xp[i] = x[i]! + h;
    const up = f(m, xp);
    xp[i] = x[i]! - h;
    const down = f(m, xp);
    xp[i] = x[i]!;
    g[i] = (up - down) / (2 * h);
  }
  return g;
}

/** ‖a − b‖ / (‖a‖ + ‖b‖), and the largest absolute difference. */
function compare(a: ArrayLike<number>, b: ArrayLike<number>): { rel: number; maxAbs: number } {
  let d = 0, na = 0, nb = 0, maxAbs = 0;
  for (let i = 0; i < a.length; i++) {
    d += (a[i]! - b[i]!) ** 2;
    na += a[i]! ** 2;
    nb += b[i]! ** 2;
    maxAbs = Math.max(maxAbs, Math.abs(a[i]! - b[i]!));
  }
  return { rel: Math.sqrt(d) / (Math.sqrt(na) + Math.sqrt(nb)), maxAbs };
}

function noise(n: number, seed: number, scale = 1): Float32Array {
  const r = new fovea.Rng(seed);
  return Float32Array.from({ length: n }, () => scale * r.normal());
}

/** Batch norms get moving statistics that are not the initial 0 / 1, and γ, β away from 1, 0. */
function setNormStats(m: fovea.Model, seed: number): void {
  const r = new fovea.Rng(seed);
  const ws = m.getWeights().filter((w) => ["gamma", "beta", "movingMean", "movingVariance"].includes(w.name));
  m.setWeights(ws.map((w) => ({
    layer: w.layer, name: w.name,
    values: Float32Array.from(w.values, () => (w.name === "movingVariance" ? 0.5 + r.uniform() : w.name === "gamma" ? 0.6 + 0.8 * r.uniform() : 0.3 * r.normal())),
  })));
}

const BOUND = 5e-4;
const results: string[] = [];
afterAll(() => {
  if (process.env.FOVEA_INSPECT_REPORT) console.log(results.join("\n"));
});

function checkGradient(m: fovea.Model, x: Float32Array, target: fovea.GradientTarget, f: Objective, h = 1e-2) {
  const g = m.inputGradient(x, target);
  const num = centralDifferences(m, x, f, h);
  const { rel, maxAbs } = compare(g, num);
  results.push(`${m.name} ${JSON.stringify(target)}: relative ${rel.toExponential(2)}, max abs ${maxAbs.toExponential(2)}`);
  expect(rel, `${JSON.stringify(target)}: relative error`).toBeLessThan(BOUND);
  expect(Math.max(...Array.from(num, Math.abs))).toBeGreaterThan(1e-3); // not a vacuous check
  return { rel, maxAbs };
}

describe("model.inputGradient against central differences", () => {
  it("conv → batch norm → ELU → max pool → LRN → conv+ReLU → avg pool → dense → dropout → dense → softmax", () => {
    const m = fovea.sequential([
      L.conv2d({ filters: 4, kernelSize: 3, padding: "same", name: "c1" }), L.batchNorm({ name: "bn" }), L.elu({ name: "elu" }),
      L.maxPool2d({ poolSize: 2, name: "mp" }), L.lrn({ size: 3, alpha: 0.5, beta: 0.75, k: 1, name: "lrn" }),
      L.conv2d({ filters: 5, kernelSize: 3, padding: 1, activation: "relu", name: "c2" }), L.avgPool2d({ poolSize: 2, name: "ap" }),
      L.flatten(), L.dense({ units: 6, activation: "relu", name: "d1" }), L.dropout({ rate: 0.5, name: "drop" }), L.dense({ units: 3, name: "logits" }), L.softmax({ name: "prob" }),
    ], { inputShape: [8, 8, 2], name: "chain", seed: 11 });
    setNormStats(m, 3);
    const x = noise(8 * 8 * 2, 5);
    checkGradient(m, x, { class: 1 }, unitSum("logits", 1));
    checkGradient(m, x, { layer: "c2", unit: 2 }, unitSum("c2", 2));
    checkGradient(m, x, { layer: "d1", unit: 4 }, unitSum("d1", 4));
    checkGradient(m, x, { layer: "lrn" }, halfL2("lrn"));
    checkGradient(m, x, { layer: "bn", unit: 0 }, unitSum("bn", 0));
    m.free();
  });

  it("a residual block (the input read twice: fan-in at the input), concat, global pooling, softmax", () => {
    const inp = fovea.input([6, 6, 3]);
    const a = L.tanh({ name: "t1" }).apply(L.batchNorm({ name: "bn1" }).apply(L.conv2d({ filters: 4, kernelSize: 3, padding: "same", name: "c1" }).apply(inp)));
    const b = L.conv2d({ filters: 3, kernelSize: 3, padding: "same", name: "c2" }).apply(a);
    const s = L.add({ name: "res" }).apply(b, inp);
    const p = L.maxPool2d({ poolSize: 3, strides: 1, padding: 1, name: "mp" }).apply(s);
    const cat = L.concat({ name: "cat" }).apply(L.sigmoid({ name: "sig" }).apply(s), p, L.conv2d({ filters: 2, kernelSize: 1, name: "c3" }).apply(inp));
    const out = L.softmax({ name: "prob" }).apply(L.dense({ units: 4, name: "logits" }).apply(L.globalAvgPool2d({ name: "gap" }).apply(cat)));
    const m = fovea.model({ inputs: inp, outputs: out, name: "residual", seed: 12 });
    setNormStats(m, 4);
    const x = noise(6 * 6 * 3, 6);
    checkGradient(m, x, { class: 3 }, unitSum("logits", 3));
    checkGradient(m, x, { layer: "cat", unit: 5 }, unitSum("cat", 5));
    checkGradient(m, x, { layer: "res" }, halfL2("res"));
    m.free();
  });

  it("a batch gives each example's own gradient; a model without softmax reads its output", () => {
    const m = fovea.sequential([L.conv2d({ filters: 3, kernelSize: 3, name: "c" }), L.tanh(), L.flatten(), L.dense({ units: 2, name: "out" })], { inputShape: [5, 5, 1], seed: 2 });
    m.compile({ batchSize: 2 }); // 3 examples: batches of 2 and 1
    const x = noise(3 * 25, 9);
    const all = m.inputGradient(x, { class: 1 });
    for (let i = 0; i < 3; i++) {
      const one = m.inputGradient(x.subarray(i * 25, (i + 1) * 25), { class: 1 });
      expect(compare(all.subarray(i * 25, (i + 1) * 25), one).maxAbs).toBeLessThan(1e-6);
    }
    checkGradient(m, x.subarray(0, 25), { class: 1 }, unitSum("out", 1));
    m.free();
  });

  it("follows the weights: after setWeights and after a training step the gradient is the new model's", () => {
    const m = fovea.sequential([L.conv2d({ filters: 2, kernelSize: 3, name: "c" }), L.batchNorm({ name: "bn" }), L.tanh(), L.flatten(), L.dense({ units: 3, name: "logits" }), L.softmax()], { inputShape: [4, 4, 1], seed: 3 });
    const x = noise(16, 1);
    const before = m.inputGradient(x, { class: 0 });
    setNormStats(m, 8);
    expect(compare(before, m.inputGradient(x, { class: 0 })).maxAbs).toBeGreaterThan(1e-4);
    checkGradient(m, x, { class: 0 }, unitSum("logits", 0));
    m.compile({ loss: "softmaxCrossEntropy", optimizer: fovea.train.sgd({ lr: 0.5 }), batchSize: 4 });
    m.trainOnBatch(noise(64, 2), [0, 1, 2, 0]);
    checkGradient(m, x, { class: 0 }, unitSum("logits", 0)); // moving statistics and weights both moved
    m.free();
  });

  it("names what is wrong: unknown layers (listing them), units and classes out of range, bad targets", () => {
    const m = fovea.sequential([L.conv2d({ filters: 3, kernelSize: 3, name: "conv" }), L.flatten({ name: "flat" }), L.dense({ units: 2, name: "out" }), L.softmax({ name: "sm" })], { inputShape: [4, 4, 1] });
    const x = new Float32Array(16);
    expect(() => m.inputGradient(x, { layer: "nope" })).toThrow(/model "model" has no layer "nope"; its layers: conv, flat, out, sm/);
    expect(() => m.inputGradient(x, { layer: "conv", unit: 3 })).toThrow(/unit 3 is out of range; conv2d "conv" has 3 channels \(\[2, 2, 3\]\): 0 to 2/);
    expect(() => m.inputGradient(x, { class: 2 })).toThrow(/class 2 is out of range; dense "out" has 2 units/);
    expect(() => m.inputGradient(x, { class: 1.5 })).toThrow(fovea.ConfigError);
    expect(() => m.inputGradient(x, { layer: "conv", units: 1 } as never)).toThrow(/\{ class \} or \{ layer, unit\? \}/);
    expect(() => m.inputGradient(x, null as never)).toThrow(fovea.ConfigError);
    expect(() => m.inputGradient(new Float32Array(15), { class: 0 })).toThrow(fovea.ShapeError);
    m.free();
    expect(() => m.inputGradient(x, { class: 0 })).toThrow(fovea.BackendError);
  });
});

describe("memory", () => {
  it("the twin and its plans go with the model: the heap holds what it held before", () => {
    const heap = () => fovea.getBackend().heap.stats().inUseBytes;
    const cycle = () => {
      const m = fovea.sequential([
        L.conv2d({ filters: 4, kernelSize: 3, padding: "same", name: "c1", activation: "relu" }), L.batchNorm(), L.maxPool2d({ poolSize: 2 }),
        L.conv2d({ filters: 4, kernelSize: 3, padding: "same", name: "c2" }), L.relu({ name: "r2" }), L.flatten(), L.dense({ units: 3 }), L.softmax(),
      ], { inputShape: [8, 8, 1], seed: 1 });
      const x = noise(64, 1, 0.5);
      m.inputGradient(x, { class: 1 });
      fovea.inspect.saliency(m, x);
      fovea.inspect.deconvnet(m, x, { layer: "c2", unit: 1 });
      fovea.inspect.deepDream(m, x, { layer: "r2", octaves: 2, steps: 2, octaveScale: 2 }); // a twin at 4×4 too
      fovea.inspect.classModel(m, 2, { steps: 3 });
      m.free();
    };
    cycle(); // first use: code paths compiled, the backend's scratch sized
    const before = heap();
    for (let i = 0; i < 5; i++) cycle();
    fovea.getBackend().run([]); // lets the backend trim scratch that no plan holds any more
    expect(heap()).toBe(before);
  });
});

describe("deconvnet (Zeiler–Fergus) against a float64 reference", () => {
  // conv 3×3 pad 1 + fused ReLU → conv 1×1 → ReLU layer → max pool 2 → conv 3×3 stride 2 pad 1
  // (floor: an input row the transposed conv never reaches) → ReLU layer; known weights
  const H = 9, C = 2;
  function net(): { m: fovea.Model; ref: RefDeconvNet } {
    const m = fovea.sequential([
      L.conv2d({ filters: 3, kernelSize: 3, padding: 1, activation: "relu", name: "c1" }), L.conv2d({ filters: 4, kernelSize: 1, name: "c1b" }), L.relu({ name: "r1" }),
      L.maxPool2d({ poolSize: 2, rounding: "floor", name: "mp" }),
      L.conv2d({ filters: 5, kernelSize: 3, strides: 2, padding: 1, rounding: "floor", name: "c2" }), L.relu({ name: "r2" }),
    ], { inputShape: [H, H, C], name: "deconv-net" });
    const r = new fovea.Rng(21);
    const w = (n: number, s: number) => Float32Array.from({ length: n }, () => s * r.normal());
    const k1 = w(3 * 3 * C * 3, 0.5), b1 = w(3, 0.1), k1b = w(3 * 4, 0.6), b1b = w(4, 0.1), k2 = w(3 * 3 * 4 * 5, 0.4), b2 = w(5, 0.1);
    m.setWeights([
      { layer: "c1", name: "kernel", values: k1 }, { layer: "c1", name: "bias", values: b1 }, { layer: "c1b", name: "kernel", values: k1b }, { layer: "c1b", name: "bias", values: b1b },
      { layer: "c2", name: "kernel", values: k2 }, { layer: "c2", name: "bias", values: b2 },
    ]);
    const conv = (h: number, c: number, oh: number, oc: number, k: number, s: number, p: number) => ({ N: 1, H: h, W: h, C: c, OH: oh, OW: oh, OC: oc, KH: k, KW: k, SH: s, SW: s, DH: 1, DW: 1, PT: p, PL: p, G: 1 });
    const ref: RefDeconvNet = {
      inputSize: H * H * C,
      layers: [
        { type: "conv", p: conv(9, C, 9, 3, 3, 1, 1), w: k1, bias: b1, relu: true },
        { type: "conv", p: conv(9, 3, 9, 4, 1, 1, 0), w: k1b, bias: b1b, relu: false },
        { type: "relu" },
        { type: "maxPool", p: { N: 1, H: 9, W: 9, C: 4, OH: 4, OW: 4, KH: 2, KW: 2, SH: 2, SW: 2, PT: 0, PB: 0, PL: 0, PR: 0, countIncludePad: false } },
        { type: "conv", p: conv(4, 4, 2, 5, 3, 2, 1), w: k2, bias: b2, relu: false },
        { type: "relu" },
      ],
    };
    return { m, ref };
  }

  it("projects each unit's strongest activation to the input as the reference does (unpool by the switches, ReLU on the signal, transposed filters)", () => {
    const { m, ref } = net();
    const x = noise(H * H * C, 31);
    let worst = 0, projected = 0;
    for (let unit = 0; unit < 5; unit++) {
      const want = refDeconvnet(ref, x, unit);
      const got = fovea.inspect.deconvnet(m, x, { layer: "r2", unit });
      expect(got.activations[0]!).toBeCloseTo(want.activation, 5);
      if (want.activation > 0) projected++;
      const { rel, maxAbs } = compare(got.values, want.projection);
      worst = Math.max(worst, maxAbs);
      if (want.activation > 0) expect(rel, `unit ${unit}`).toBeLessThan(1e-6);
      else expect(maxAbs).toBe(0);
    }
    expect(projected).toBeGreaterThan(2);
    results.push(`deconvnet vs float64 reference: max abs error ${worst.toExponential(2)} over 5 units`);
    // a batch: each example its own projection
    const two = new Float32Array([...x, ...noise(H * H * C, 32)]);
    const both = fovea.inspect.deconvnet(m, two, { layer: "c2", unit: 3 });
    for (let i = 0; i < 2; i++) {
      const want = refDeconvnet({ ...ref, layers: ref.layers.slice(0, 5) }, two.subarray(i * H * H * C, (i + 1) * H * H * C), 3);
      expect(compare(both.values.subarray(i * H * H * C, (i + 1) * H * H * C), want.projection).rel).toBeLessThan(1e-6);
    }
    m.free();
  });

  it("refuses layers it does not pass through, and units that are not feature maps", () => {
    const m = fovea.sequential([L.conv2d({ filters: 2, kernelSize: 3, name: "c" }), L.tanh({ name: "t" }), L.conv2d({ filters: 2, kernelSize: 1, name: "c2" }), L.flatten({ name: "f" }), L.dense({ units: 2, name: "d" })], { inputShape: [5, 5, 1] });
    const x = new Float32Array(25);
    expect(() => fovea.inspect.deconvnet(m, x, { layer: "c2", unit: 0 })).toThrow(/tanh "t" lies on the way to the input; the deconvnet passes through conv/);
    expect(() => fovea.inspect.deconvnet(m, x, { layer: "d", unit: 0 })).toThrow(/dense "d" outputs \[2\]; a projection starts from a feature map/);
    expect(() => fovea.inspect.deconvnet(m, x, { layer: "c", unit: 2 })).toThrow(/unit 2 is out of range/);
    expect(() => fovea.inspect.deconvnet(m, x, { layer: "c" } as never)).toThrow(/give the unit; conv2d "c" has 2 channels \(\[3, 3, 2\]\): 0 to 1/);
    expect(() => fovea.inspect.deconvnet(m, x, { layer: "c", unit: 0, top: 1 } as never)).toThrow(/unknown option "top"/);
    m.free();
  });
});

describe("on the LeNet-5 an earlier npm start trained (the demo's copy, examples/browser/lenet5-mnist.fovea)", () => {
  const file = "examples/browser/lenet5-mnist.fovea";
  const N = 100;
  let m: fovea.Model, digits: Float32Array, labels: number[];
  const OUT = "test/output/inspect";

  beforeAll(async () => {
    m = fovea.loadModel(readFileSync(file), { source: file });
    // the demo's 1,500 MNIST training digits, 50 per row
    const sheet = await fovea.data.loadImage("examples/browser/mnist-1500.png", [30 * 28, 50 * 28, 1]);
    labels = (JSON.parse(readFileSync("examples/browser/mnist-1500-labels.json", "utf8")) as number[]).slice(0, N);
    digits = new Float32Array(N * 784);
    for (let i = 0; i < N; i++) for (let y = 0; y < 28; y++) digits.set(sheet.subarray(((Math.floor(i / 50) * 28 + y) * 50 + (i % 50)) * 28, ((Math.floor(i / 50) * 28 + y) * 50 + (i % 50)) * 28 + 28), i * 784 + y * 28);
    mkdirSync(OUT, { recursive: true });
  });
  afterAll(() => m?.free());

  it("saliency maps sit on and around the strokes: within 2 pixels of ink the mean is > 2× the mean elsewhere", async () => {
    const s = fovea.inspect.saliency(m, digits, { class: labels });
    expect(Array.from(s.classes)).toEqual(labels);
    let near = 0, nNear = 0, far = 0, nFar = 0;
    for (let i = 0; i < N; i++) for (let p = 0; p < 784; p++) {
      const y = Math.floor(p / 28), x = p % 28;
      let ink = false;
      for (let dy = -2; dy <= 2; dy++) for (let dx = -2; dx <= 2; dx++) if (digits[i * 784 + Math.min(27, Math.max(0, y + dy)) * 28 + Math.min(27, Math.max(0, x + dx))]! > 0.5) ink = true;
      if (ink) (near += s.values[i * 784 + p]!), nNear++;
      else (far += s.values[i * 784 + p]!), nFar++;
    }
    results.push(`LeNet-5 saliency: mean within 2 px of ink ${(near / nNear).toFixed(3)}, elsewhere ${(far / nFar).toFixed(3)}`);
    expect(near / nNear).toBeGreaterThan(2 * (far / nFar));
    const { saliencyPng } = await import("../src/cli/viz.js");
    writeFileSync(`${OUT}/lenet5-saliency-${labels[0]}.png`, (await saliencyPng(m, digits.subarray(0, 784))).png);
  });

  it("class-model images are classified as their class (> 99%)", async () => {
    const { classModelPng } = await import("../src/cli/viz.js");
    for (let k = 0; k < 10; k++) {
      const r = fovea.inspect.classModel(m, k, { range: [0, 1], seed: k + 1 });
      expect(r.values.every((v) => v >= 0 && v <= 1)).toBe(true);
      const p = m.predict(r.values);
      expect(m.predictClasses(r.values)[0], `class ${k}`).toBe(k);
      expect(p[k]).toBeGreaterThan(0.99);
      expect(r.score).toBeGreaterThan(10);
    }
    writeFileSync(`${OUT}/lenet5-class-model-3.png`, (await classModelPng(m, 3)).png);
  });

  it("Deep Dream raises ½‖C3‖² at the model's size and at 3× (octaves at sizes the layers take)", async () => {
    const x = digits.slice(0, 784);
    const before = (v: Float32Array, shape: [number, number, number]) => fovea.inspect.deepDream(m, v, { layer: "C3", shape, steps: 1, stepSize: 0, octaves: 1 }).objective;
    const d = fovea.inspect.deepDream(m, x, { layer: "C3", range: [0, 1] });
    expect(d.shape).toEqual([28, 28, 1]);
    expect(d.objective).toBeGreaterThan(1.5 * before(x, [28, 28, 1]));
    const big = fovea.data.imageToArray(await fovea.data.decodeImage(await fovea.data.encodePng(x, [28, 28, 1]), "digit"), [84, 84, 1]); // 3× bilinear
    const d3 = fovea.inspect.deepDream(m, big, { layer: "C3", shape: [84, 84, 1], octaves: 4, range: [0, 1] });
    expect(d3.values).toHaveLength(84 * 84);
    expect(d3.objective).toBeGreaterThan(1.5 * before(big, [84, 84, 1]));
    // a layer after the flatten takes only 28×28; 8 octaves of 28 reach sizes C3 cannot take
    expect(() => fovea.inspect.deepDream(m, big, { layer: "C5", shape: [84, 84, 1] })).toThrow(/dense "C5": its kernel\[400, 120\] fits only the model's input \[28, 28, 1\]; with input \[84, 84, 1\] it would be \[5776, 120\]/);
    expect(() => fovea.inspect.deepDream(m, x, { layer: "C3", octaves: 8 })).toThrow(/octave \d of 8: no size at or below \d+x\d+ fits the layers up to conv2d "C3" .*ask for fewer octaves/);
    const { dreamPng } = await import("../src/cli/viz.js");
    writeFileSync(`${OUT}/lenet5-dream-C3.png`, await dreamPng(m, big, [84, 84, 1], "C3"));
  });

  it("deconvnet projections of C3's strongest units show the image's strokes: they correlate with its patch, not another digit's", () => {
    const corr = (a: Float32Array, b: Float32Array, at: number[]) => {
      let ma = 0, mb = 0, ab = 0, aa = 0, bb = 0;
      for (const p of at) (ma += a[p]! / at.length), (mb += b[p]! / at.length);
      for (const p of at) (ab += (a[p]! - ma) * (b[p]! - mb)), (aa += (a[p]! - ma) ** 2), (bb += (b[p]! - mb) ** 2);
      return ab / Math.sqrt(aa * bb);
    };
    let own = 0, other = 0, n = 0;
    for (let i = 0; i < 20; i++) {
      const x = digits.subarray(i * 784, (i + 1) * 784), y = digits.subarray((i + 50) * 784, (i + 51) * 784);
      for (const { unit } of fovea.inspect.strongestUnits(m, x, "C3", 4)) {
        const v = fovea.inspect.deconvnet(m, x, { layer: "C3", unit }).values;
        const at = Array.from(v.keys()).filter((p) => v[p] !== 0); // the projection's support: the receptive field
        own += corr(v, x, at);
        other += corr(v, y, at);
        n++;
      }
    }
    results.push(`LeNet-5 deconvnet (C3, 20 digits × 4 units): correlation with the image ${(own / n).toFixed(3)}, with another digit ${(other / n).toFixed(3)}`);
    expect(own / n).toBeGreaterThan(0.25);
    expect(own / n).toBeGreaterThan(other / n + 0.2);
  });

  it("deconvnet projections of C3's strongest units stay inside the unit's 14×14 receptive field", async () => {
    const x = digits.slice(0, 784);
    const acts = m.activations(x).find((a) => a.layer === "C3")!;
    for (const { unit, value } of fovea.inspect.strongestUnits(m, x, "C3", 4)) {
      let at = unit;
      for (let i = unit; i < acts.values.length; i += 16) if (acts.values[i]! > acts.values[at]!) at = i;
      expect(acts.values[at]).toBe(value);
      const oy = Math.floor(at / 16 / 10), ox = Math.floor(at / 16) % 10;
      const v = fovea.inspect.deconvnet(m, x, { layer: "C3", unit }).values;
      let inside = 0, outside = 0;
      v.forEach((q, p) => {
        const y = Math.floor(p / 28), xx = p % 28;
        if (y >= 2 * oy - 2 && y <= 2 * oy + 11 && xx >= 2 * ox - 2 && xx <= 2 * ox + 11) inside += Math.abs(q);
        else outside += Math.abs(q);
      });
      expect(inside).toBeGreaterThan(0);
      expect(outside).toBe(0);
    }
    const { deconvPng } = await import("../src/cli/viz.js");
    writeFileSync(`${OUT}/lenet5-deconv-C3.png`, (await deconvPng(m, x, "C3", 8)).png);
  });
});

describe("a model that takes C×H×W images (importOnnx's default NCHW input)", () => {
  // PyTorch's export of the finetune example's net, imported channels-first (a permute to H×W×C
  // first) and channels-last: the same network, so each function's answer in the model's layout
  // is the other's, transposed (before, the NCHW model's saliency was [1, 28]: the max over rows)
  const file = "examples/finetune/digits0-4.onnx";
  let chw: fovea.Model, hwc: fovea.Model;
  beforeAll(async () => {
    chw = await fovea.importOnnx(readFileSync(file), { source: file });
    hwc = await fovea.importOnnx(readFileSync(file), { source: file, inputLayout: "NHWC" });
  });
  afterAll(() => [chw, hwc].forEach((m) => m.free()));
  const digit = Float32Array.from({ length: 28 * 28 }, (_, i) => (Math.abs((i % 28) - 14) < 3 && i > 140 && i < 640 ? 1 : 0)); // a "1"
  const close = (a: Float32Array, b: Float32Array, tol: number) => {
    let worst = 0, scale = 0;
    for (let i = 0; i < a.length; i++) {
      worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
      scale = Math.max(scale, Math.abs(b[i]!));
    }
    expect(a.length).toBe(b.length);
    expect(worst, `max |Δ| ${worst} of ${scale}`).toBeLessThanOrEqual(tol * Math.max(scale, 1e-30));
  };

  it("is seen as such: inputShape [1, 28, 28]; saliency maps are 28×28, the NHWC model's", () => {
    expect([...chw.inputShape]).toEqual([1, 28, 28]);
    const a = fovea.inspect.saliency(chw, digit), b = fovea.inspect.saliency(hwc, digit);
    expect(a.shape).toEqual([28, 28]);
    expect([...a.classes]).toEqual([...b.classes]);
    close(a.values, b.values, 1e-5);
  });

  it("class-model images and Deep Dream (jittered, octaves) come back in the model's layout, the NHWC model's transposed", () => {
    // one channel: C×H×W and H×W×C hold the same values in the same order
    close(fovea.inspect.classModel(chw, 2, { steps: 20 }).values, fovea.inspect.classModel(hwc, 2, { steps: 20 }).values, 1e-4);
    const a = fovea.inspect.deepDream(chw, digit, { layer: chw.nodes[2]!.layer.name, octaves: 2, steps: 4, jitter: 2 });
    const b = fovea.inspect.deepDream(hwc, digit, { layer: hwc.nodes[1]!.layer.name, octaves: 2, steps: 4, jitter: 2 });
    expect(a.shape).toEqual([1, 28, 28]);
    expect(b.shape).toEqual([28, 28, 1]);
    close(a.values, b.values, 1e-4);
    expect(() => fovea.inspect.deepDream(chw, digit, { layer: chw.nodes[2]!.layer.name, shape: [28, 28, 1] })).toThrow(/shape must be \[C, H, W\] with the model's 1 channels/);
  });
});

describe("three channels, C×H×W against H×W×C", () => {
  it("saliency, class models and Deep Dream of a model exported to ONNX and imported channels-first are the original's, transposed", async () => {
    const L = fovea.layers;
    const orig = fovea.sequential([L.conv2d({ filters: 4, kernelSize: 3, padding: "same", activation: "relu" }), L.conv2d({ filters: 4, kernelSize: 3, padding: "same", activation: "relu" }), L.flatten(), L.dense({ units: 3 }), L.softmax()], { inputShape: [8, 10, 3], seed: 5 });
    const chw = await fovea.importOnnx(await fovea.exportOnnx(orig));
    expect([...chw.inputShape]).toEqual([3, 8, 10]);
    const toCHW = (x: Float32Array) => Float32Array.from({ length: x.length }, (_, i) => x[(i % 80) * 3 + Math.floor(i / 80)]!);
    const x = Float32Array.from({ length: 240 }, (_, i) => Math.sin(i * 0.7));
    const near = (a: Float32Array, b: Float32Array) => {
      let worst = 0, scale = 0;
      a.forEach((v, i) => { worst = Math.max(worst, Math.abs(v - b[i]!)); scale = Math.max(scale, Math.abs(b[i]!)); });
      expect(worst).toBeLessThanOrEqual(1e-4 * scale);
    };
    near(fovea.inspect.saliency(chw, toCHW(x)).values, fovea.inspect.saliency(orig, x).values);
    near(fovea.inspect.classModel(chw, 1, { steps: 10, jitter: 2 }).values, toCHW(fovea.inspect.classModel(orig, 1, { steps: 10, jitter: 2 }).values));
    // the first conv's ReLU output: fused into conv2d_1 here, its own layer after the import
    const dream = (m: fovea.Model, layer: string, img: Float32Array) => fovea.inspect.deepDream(m, img, { layer, octaves: 1, steps: 5, jitter: 2 });
    const a = dream(chw, chw.nodes.find((n) => n.layer.type === "relu")!.layer.name, toCHW(x)), b = dream(orig, "conv2d_1", x);
    expect(a.shape).toEqual([3, 8, 10]);
    near(a.values, toCHW(b.values));
    [orig, chw].forEach((m) => m.free());
  });
});
