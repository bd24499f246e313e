// ONNX export: fovea models (trained, with batch norm, residual adds, concat) run in
// onnxruntime-node with outputs equal to fovea's within 1e-4 relative.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { beforeAll, describe, expect, it } from "vitest";
import * as fovea from "../src/index.js";
import { decodeModel } from "../src/io/onnx/proto.js";

const require = createRequire(import.meta.url);
interface OrtTensor { data: Float32Array; dims: readonly number[] }
const ort = require("onnxruntime-node") as {
  InferenceSession: { create(b: Uint8Array): Promise<{ run(f: Record<string, unknown>): Promise<Record<string, OrtTensor>>; readonly inputNames: readonly string[]; readonly outputNames: readonly string[]; release?(): Promise<void> }> };
  Tensor: new (t: string, d: Float32Array, dims: number[]) => unknown;
};
const { layers: L } = fovea;

beforeAll(async () => {
  await fovea.init({ build: "simd", threads: 1 });
});

/** NHWC examples → NCHW. */
function toNchw(x: Float32Array, n: number, [H, W, C]: number[]): Float32Array {
  const out = new Float32Array(x.length);
  for (let b = 0; b < n; b++) for (let h = 0; h < H!; h++) for (let w = 0; w < W!; w++) for (let c = 0; c < C!; c++) {
    out[((b * C! + c) * H! + h) * W! + w] = x[((b * H! + h) * W! + w) * C! + c]!;
  }
  return out;
}

async function compare(m: fovea.Model, n: number) {
  const shape = [...m.inputShape];
  const x = Float32Array.from({ length: n * m.inputSize }, (_, i) => Math.sin(i * 0.31) + 0.2 * Math.cos(i * 0.07));
  const want = m.predict(x);
  const bytes = await fovea.exportOnnx(m);
  const sess = await ort.InferenceSession.create(bytes);
  const feed = shape.length === 3 ? toNchw(x, n, shape) : x;
  const dims = shape.length === 3 ? [n, shape[2]!, shape[0]!, shape[1]!] : [n, ...shape];
  const got = (await sess.run({ input: new ort.Tensor("float32", feed, dims) })).output!.data;
  expect(got.length).toBe(want.length);
  let worst = 0;
  for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i]! - want[i]!) / Math.max(Math.abs(want[i]!), 1e-3));
  expect(worst).toBeLessThanOrEqual(1e-4);
  return bytes;
}

function trained(m: fovea.Model) {
  m.compile({ batchSize: 4, loss: "softmaxCrossEntropy", optimizer: fovea.train.sgd({ lr: 0.01, momentum: 0.9 }) });
  const x = Float32Array.from({ length: 8 * m.inputSize }, (_, i) => Math.cos(i * 0.13));
  m.fit(x, Array.from({ length: 8 }, (_, i) => i % m.outputSize), { epochs: 2 }); // moving statistics move
  return m;
}

describe("ONNX export runs in onnxruntime-node with fovea's outputs", () => {
  it("LeNet-5 (conv, pools, flatten before dense, softmax)", async () => {
    const m = fovea.zoo.lenet5({ seed: 2 });
    await compare(m, 3);
    m.free();
  });

  it("a trained residual + inception block with batch norm, concat, global pooling", async () => {
    const inp = fovea.input([12, 10, 3]);
    const a = L.conv2d({ filters: 8, kernelSize: 3, padding: "same", useBias: false }).apply(inp);
    const b = L.relu().apply(L.batchNorm().apply(a));
    const c = L.conv2d({ filters: 8, kernelSize: 3, padding: 1 }).apply(b);
    const s = L.add().apply(c, a);
    const d = L.depthwiseConv2d({ kernelSize: 3, padding: 1, activation: "relu6" }).apply(s);
    const e = L.conv2d({ filters: 4, kernelSize: 1, activation: "relu" }).apply(s);
    const p = L.maxPool2d({ poolSize: 3, strides: 1, padding: 1 }).apply(s);
    const cat = L.concat().apply(d, e, p);
    const g = L.globalAvgPool2d().apply(L.batchNorm().apply(cat));
    const out = L.softmax().apply(L.dense({ units: 5 }).apply(L.dropout({ rate: 0.3 }).apply(g)));
    const m = trained(fovea.model({ inputs: inp, outputs: out, seed: 3 }));
    await compare(m, 4);
    m.free();
  });

  it("strided convs with ceil rounding, average pooling with and without padding counted, LRN, other activations", async () => {
    const m = trained(fovea.sequential([
      L.conv2d({ filters: 6, kernelSize: 3, strides: 2, rounding: "ceil", activation: "none" }), L.leakyRelu({ alpha: 0.2 }),
      L.avgPool2d({ poolSize: 3, strides: 2, padding: 1, countIncludePad: true, rounding: "ceil" }), L.lrn({ size: 3 }),
      L.conv2d({ filters: 6, kernelSize: 2, dilation: 2, padding: [1, 0, 0, 1] }), L.elu(),
      L.avgPool2d({ poolSize: 2, padding: 1, rounding: "floor" }), L.tanh(), L.flatten(), L.dense({ units: 7 }), L.sigmoid(), L.dense({ units: 3 }), L.logSoftmax(),
    ], { inputShape: [23, 19, 2], seed: 4 }));
    await compare(m, 2);
    m.free();
  });

  it("dilated max pooling (ceil mode, padding, anisotropic), trained, as MaxPool with dilations", async () => {
    const m = trained(fovea.sequential([
      L.conv2d({ filters: 4, kernelSize: 3, padding: 1 }), L.relu(),
      L.maxPool2d({ poolSize: 3, strides: 2, dilations: 2, padding: 1, rounding: "ceil" }),
      L.maxPool2d({ poolSize: [2, 3], strides: [1, 2], dilations: [3, 1], padding: [1, 1, 0, 0], rounding: "floor" }),
      L.flatten(), L.dense({ units: 3 }), L.softmax(),
    ], { inputShape: [13, 11, 2], seed: 5 }));
    expect(m.layers.filter((l) => l.type === "maxPool2d").map((l) => (l.config() as { dilations?: unknown }).dilations)).toEqual([2, [3, 1]]);
    const bytes = await compare(m, 3);
    // and back: the same layers, the same outputs (the file takes NCHW)
    const back = await fovea.importOnnx(bytes);
    expect(back.layers.filter((l) => l.type === "maxPool2d").map((l) => (l.config() as { dilations?: unknown }).dilations)).toEqual([[2, 2], [3, 1]]);
    const x = Float32Array.from({ length: 2 * m.inputSize }, (_, i) => Math.sin(i * 0.7));
    expect(Array.from(back.predict(toNchw(x, 2, [...m.inputShape])))).toEqual(Array.from(m.predict(x)));
    back.free();
    m.free();
  });

  it("max-pool indices (row- and column-major) beside the trained max pool, as MaxPool with two outputs", async () => {
    const inp = fovea.input([7, 8, 3]);
    const a = L.tanh().apply(L.conv2d({ filters: 5, kernelSize: 3, padding: 1 }).apply(inp));
    const cfg = { poolSize: 3, strides: 2, padding: 1, dilations: [2, 1] as [number, number], rounding: "ceil" as const };
    const rows = L.maxPool2dIndices(cfg).apply(a), cols = L.maxPool2dIndices({ ...cfg, storageOrder: "column" }).apply(a);
    // one image out: the max pool's 5 channels, then the two indices' 5 each
    const m = fovea.model({ inputs: inp, outputs: L.concat().apply(L.maxPool2d(cfg).apply(a), rows, cols), seed: 6 });
    const [OH, OW, OC] = m.outputShape as [number, number, number];
    expect([OH, OW, OC]).toEqual([3, 5, 15]);
    // it trains: the max pool's outputs move to their targets (its gradient reaches the conv; the indices' is zero)
    m.compile({ batchSize: 4, loss: "mse", optimizer: fovea.train.sgd({ lr: 0.1 }) });
    const x = Float32Array.from({ length: 8 * m.inputSize }, (_, i) => Math.cos(i * 0.13));
    const targets = Float32Array.from(m.predict(x), (v, i) => (i % OC < 5 ? 0.5 * Math.sin(i) : v));
    const maxError = () => m.predict(x).reduce((s, v, i) => (i % OC < 5 ? s + (v - targets[i]!) ** 2 : s), 0);
    const e0 = maxError();
    m.fit(x, targets, { epochs: 10 });
    expect(maxError()).toBeLessThan(0.8 * e0);
    const n = 3, xs = x.subarray(0, n * m.inputSize), want = m.predict(xs);
    for (let i = 0; i < want.length; i++) if (i % OC >= 5) expect(Number.isInteger(want[i]) && want[i]! >= 0 && want[i]! < 5 * 7 * 8).toBe(true);
    // onnxruntime: the same image (NCHW there)
    const bytes = await fovea.exportOnnx(m);
    const pools = decodeModel(bytes, "x.onnx").graph!.node.filter((nd) => nd.opType === "MaxPool");
    expect(pools.map((nd) => nd.output.length).sort()).toEqual([1, 2, 2]); // Y unread beside each Indices
    const sess = await ort.InferenceSession.create(bytes);
    const got = (await sess.run({ input: new ort.Tensor("float32", toNchw(xs, n, [7, 8, 3]), [n, 3, 7, 8]) })).output!.data;
    const mine = toNchw(want, n, [OH, OW, OC]);
    expect(got.length).toBe(mine.length);
    for (let i = 0; i < got.length; i++) {
      if (Math.floor(i / (OH * OW)) % OC < 5) expect(Math.abs(got[i]! - mine[i]!)).toBeLessThan(1e-5);
      else expect(got[i]).toBe(mine[i]); // the indices exactly
    }
    m.free();
  });

  it("3-D max and average pooling of [D, H, W, C] examples (ceil mode, padding, dilation, count_include_pad), trained", async () => {
    const m = trained(fovea.sequential([
      L.layerNorm(), L.maxPool3d({ poolSize: [2, 3, 2], strides: [1, 2, 2], padding: [1, 1, 0], dilations: [1, 1, 2], rounding: "ceil" }), L.tanh(),
      L.avgPool3d({ poolSize: 2, strides: 1, padding: 1, countIncludePad: true, rounding: "floor" }),
      L.avgPool3d({ poolSize: 3, strides: 2, rounding: "ceil" }), L.flatten(), L.dense({ units: 4 }), L.softmax(),
    ], { inputShape: [5, 6, 7, 3], seed: 9 }));
    const bytes = await compare(m, 3);
    expect(decodeModel(bytes, "x.onnx").graph!.node.filter((nd) => nd.opType === "MaxPool" || nd.opType === "AveragePool").length).toBe(3);
    m.free();
  });

  it("2-D transposed convs (stride, crops, output padding, \"same\", dilation, groups; with and without bias), trained, as ConvTranspose", async () => {
    const m = trained(fovea.sequential([
      L.conv2dTranspose({ filters: 4, kernelSize: 3, strides: 2, padding: [1, 0, 0, 1], outputPadding: [1, 0] }), L.relu(),
      L.conv2dTranspose({ filters: 4, kernelSize: [2, 3], strides: [1, 2], padding: "same", groups: 2, useBias: false }), L.tanh(),
      L.conv2dTranspose({ filters: 3, kernelSize: 3, dilation: [2, 1], padding: 1 }),
      L.maxPool2d({ poolSize: 2, rounding: "ceil" }), L.flatten(), L.dense({ units: 4 }), L.softmax(),
    ], { inputShape: [5, 4, 2], seed: 12 }));
    await compare(m, 3);
    m.free();
  });

  it("3-D transposed convs (stride, crops, output padding, dilation; with and without bias) and a 3-D pool, trained, as ConvTranspose", async () => {
    const m = trained(fovea.sequential([
      L.conv3dTranspose({ filters: 3, kernelSize: [3, 2, 3], strides: [2, 1, 2], padding: [1, 1, 0, 0, 1, 0], outputPadding: [1, 0, 0], dilation: [1, 2, 1] }), L.tanh(),
      L.maxPool3d({ poolSize: 2, rounding: "ceil" }), L.conv3dTranspose({ filters: 2, kernelSize: 2, useBias: false }),
      L.flatten(), L.dense({ units: 4 }), L.softmax(),
    ], { inputShape: [3, 4, 3, 2], seed: 10 }));
    await compare(m, 3);
    m.free();
  });

  it.each([["branches", [2, 4, 9, 9]], ["consts", [2, 3, 8, 8]], ["joined_constants_unfolded", [2, 3, 4, 5]], ["where_constants", [2, 3, 4, 5]]] as const)("an imported ONNX model (%s) exports back and still matches PyTorch", async (name, dims) => {
    const fx = JSON.parse(readFileSync(`test/fixtures/onnx/${name}.json`, "utf8")) as { input: number[]; output: number[] };
    const m = await fovea.importOnnx(new Uint8Array(readFileSync(`test/fixtures/onnx/${name}.onnx`)));
    const bytes = await fovea.exportOnnx(m);
    const sess = await ort.InferenceSession.create(bytes);
    const got = (await sess.run({ input: new ort.Tensor("float32", Float32Array.from(fx.input), [...dims]) })).output!.data;
    for (let i = 0; i < fx.output.length; i++) expect(Math.abs(got[i]! - fx.output[i]!)).toBeLessThan(1e-4 * Math.max(1, Math.abs(fx.output[i]!)));
    const back = await fovea.importOnnx(bytes);
    expect(Array.from(back.predict(Float32Array.from(fx.input)))).toEqual(Array.from(m.predict(Float32Array.from(fx.input))));
    m.free();
    back.free();
  });

  it("maxout (Reshape + ReduceMax) on features and on images", async () => {
    const m = trained(fovea.sequential([
      L.conv2d({ filters: 6, kernelSize: 3 }), L.maxout({ pieces: 3 }), L.flatten(), L.dense({ units: 8 }), L.maxout({ pieces: 2 }), L.dense({ units: 3 }),
    ], { inputShape: [7, 6, 2], seed: 6 }));
    await compare(m, 3);
    m.free();
  });

  it("multiply: SiLU (x·σ(x)) and squeeze-and-excitation (per-channel gate), trained", async () => {
    const inp = fovea.input([6, 5, 3]);
    const a = L.conv2d({ filters: 4, kernelSize: 3, padding: "same" }).apply(inp);
    const silu = L.multiply().apply(a, L.sigmoid().apply(a));
    const gate = L.sigmoid().apply(L.dense({ units: 4 }).apply(L.globalAvgPool2d().apply(silu)));
    const out = L.dense({ units: 3 }).apply(L.flatten().apply(L.multiply().apply(silu, gate)));
    const m = trained(fovea.model({ inputs: inp, outputs: out, seed: 7 }));
    await compare(m, 3);
    m.free();
  });

  it("a Transpose to NCHW of data reshaped after another Transpose (a new user's graphs): onnxruntime's shape and values", async () => {
    // before: fovea took the data as the image [W, H, C] (output [2, 6, 4] for [2, 4, 6], values off by 3.55), or failed on a rank-4 shape
    const { encodeModel } = await import("../src/io/onnx/proto.js");
    const vi = (name: string, dims: (number | string)[]) => ({ name, type: { tensorType: { elemType: 1, shape: { dim: dims.map((d) => (typeof d === "string" ? { dimParam: d } : { dimValue: d })) } } } });
    const f32 = (name: string, dims: number[]) => ({ name, dims, dataType: 1, floatData: Array.from({ length: dims.reduce((a, b) => a * b, 1) }, (_, i) => Math.sin(i * 1.7 + dims[0]!)) });
    const i64 = (name: string, v: number[]) => ({ name, dims: [v.length], dataType: 7, int64Data: v });
    const perm = (v: number[]) => [{ name: "perm", type: 7, ints: v }];
    const pads = [{ name: "pads", type: 7, ints: [1, 1, 1, 1] }];
    const graphs: [string, object[], object[], number[]][] = [
      ["permute, reshape, to NCHW", [f32("w1", [4, 3, 1, 1]), f32("w2", [2, 4, 3, 3]), i64("s", [0, 4, 6, 4])], [
        { opType: "Conv", name: "c1", input: ["x", "w1"], output: ["a"] }, { opType: "Transpose", name: "t1", input: ["a"], output: ["b"], attribute: perm([0, 3, 2, 1]) },
        { opType: "Reshape", name: "r", input: ["b", "s"], output: ["c"] }, { opType: "Transpose", name: "t2", input: ["c"], output: ["d"], attribute: perm([0, 3, 1, 2]) },
        { opType: "Conv", name: "c2", input: ["d", "w2"], output: ["y"], attribute: pads }], [2, 4, 6]],
      ["five axes between", [f32("w1", [4, 3, 1, 1]), f32("w2", [2, 2, 3, 3]), i64("s", [0, 4, 6, 2, 2]), i64("s2", [0, 8, 6, 2])], [
        { opType: "Conv", name: "c1", input: ["x", "w1"], output: ["a"] }, { opType: "Transpose", name: "t1", input: ["a"], output: ["b"], attribute: perm([0, 2, 3, 1]) },
        { opType: "Reshape", name: "r1", input: ["b", "s"], output: ["c"] }, { opType: "Transpose", name: "t2", input: ["c"], output: ["d"], attribute: perm([0, 1, 3, 2, 4]) },
        { opType: "Reshape", name: "r2", input: ["d", "s2"], output: ["e"] }, { opType: "Transpose", name: "t3", input: ["e"], output: ["f"], attribute: perm([0, 3, 1, 2]) },
        { opType: "Conv", name: "c2", input: ["f", "w2"], output: ["y"], attribute: pads }], [2, 8, 6]],
    ];
    for (const [what, initializer, node, out] of graphs) {
      const bytes = encodeModel({ irVersion: 7, opsetImport: [{ domain: "", version: 13 }], graph: { name: "g", initializer, node, input: [vi("x", ["N", 3, 4, 6])], output: [vi("y", ["N", "C", "H", "W"])] } } as Parameters<typeof encodeModel>[0]);
      const x = Float32Array.from({ length: 2 * 72 }, (_, i) => Math.sin(i * 0.37));
      const ref = (await (await ort.InferenceSession.create(bytes)).run({ x: new ort.Tensor("float32", x, [2, 3, 4, 6]) })).y!;
      expect(ref.dims, what).toEqual([2, ...out]);
      const m = await fovea.importOnnx(bytes);
      expect(m.outputShape, what).toEqual(out);
      const y = m.predict(x);
      let worst = 0;
      for (let i = 0; i < y.length; i++) worst = Math.max(worst, Math.abs(y[i]! - (ref.data[i] as number)));
      expect(worst, what).toBeLessThan(1e-5);
      m.free();
    }
  });

  it("a channels-last file (its NHWC input transposed to NCHW) exports with its NHWC input, as the file had it: onnxruntime's values on the file's own input", async () => {
    // found by a differential fuzz: the export declared the input NCHW, so the file's own input gave other values (or a shape error)
    const f = JSON.parse(readFileSync("test/fixtures/onnx/nhwc.json", "utf8")) as { input: number[]; inputShape: number[]; output: number[]; outputShape: number[] };
    const m = await fovea.importOnnx(new Uint8Array(readFileSync("test/fixtures/onnx/nhwc.onnx")));
    expect(m.io!.inputs[0]!.nhwc).toBe(true);
    const sess = await ort.InferenceSession.create(await fovea.exportOnnx(m));
    const r = (await sess.run({ [sess.inputNames[0]!]: new ort.Tensor("float32", Float32Array.from(f.input), f.inputShape) }))[sess.outputNames[0]!]!;
    expect(r.dims).toEqual(f.outputShape);
    let worst = 0;
    f.output.forEach((v, i) => (worst = Math.max(worst, Math.abs((r.data[i] as number) - v))));
    expect(worst).toBeLessThan(1e-5);
    m.free();
  });

  it("every PyTorch fixture imports, exports and imports back with the same predictions (fovea reads its own exports)", async () => {
    // before: the exports of pixel_shuffle, seq1d, interp and scales (a Transpose to NCHW of data reshaped
    // after a permute) and of an even LRN (Pad of [N, 1, C, H, W]) did not import again
    const { readdirSync } = await import("node:fs");
    const dir = "test/fixtures/onnx";
    const names = readdirSync(dir).filter((n) => n.endsWith(".onnx")).map((n) => n.slice(0, -5)).sort();
    expect(names.length).toBeGreaterThan(30);
    for (const name of names) {
      if (name === "pool_indices" || name === "expand_batch") continue; // graphs taken whole (MaxPool's Indices, copies of an example): the export has a batch axis, which such a graph cannot have
      const f = JSON.parse(readFileSync(`${dir}/${name}.json`, "utf8")) as { input: number[]; inputShape: number[] };
      const m = await fovea.importOnnx(new Uint8Array(readFileSync(`${dir}/${name}.onnx`)));
      const back = await fovea.importOnnx(await fovea.exportOnnx(m), { inputLayout: m.inputShape.length === 3 && m.layers[0]!.type !== "permute" ? "NHWC" : "NCHW" });
      const x = Float32Array.from(f.input);
      const values = (k: fovea.Model) => (k.io!.outputs.length > 1 ? Object.values(k.predict({ [k.io!.inputs[0]!.name]: x })).flatMap((v) => Array.from(v)) : Array.from(k.predict(x)));
      const a = values(m), b = values(back);
      expect(b.length, name).toBe(a.length);
      let worst = 0;
      a.forEach((v, i) => (worst = Math.max(worst, Math.abs(b[i]! - v) / Math.max(Math.abs(v), 1e-3))));
      expect(worst, name).toBeLessThan(1e-5);
      m.free();
      back.free();
    }
  }, 120_000);

  it("tied layers (a module PyTorch ran twice) export their tensor once: onnxruntime gives fovea's outputs, and the re-import ties them again", async () => {
    const m = await fovea.importOnnx(new Uint8Array(readFileSync("test/fixtures/train/shared_sgd.onnx")));
    expect(m.ties.length).toBe(5); // the conv's kernel and bias, the gain, the Linear's weight and bias
    const bytes = await fovea.exportOnnx(m);
    const graph = decodeModel(bytes, "shared.onnx").graph!;
    // each tensor once: the initializers' floats are the model's parameters counted once (plus the Reshapes' shapes)
    const floats = graph.initializer.filter((t) => t.dataType === 1).reduce((a, t) => a + t.dims.reduce<number>((p, q) => p * Number(q), 1), 0);
    expect(floats).toBe(m.countParams(false));
    const x = Float32Array.from({ length: 2 * m.inputSize }, (_, i) => Math.sin(i * 0.37));
    const sess = await ort.InferenceSession.create(bytes);
    const got = (await sess.run({ [sess.inputNames[0]!]: new ort.Tensor("float32", x, [2, 3, 8, 8]) }))[sess.outputNames[0]!]!.data;
    const want = m.predict(x);
    got.forEach((v, i) => expect(Math.abs(v - want[i]!)).toBeLessThan(1e-5));
    const back = await fovea.importOnnx(bytes);
    expect(back.ties.length).toBe(5);
    expect(back.countParams()).toBe(m.countParams());
    m.free();
    back.free();
  });

  it("Resize nearest by scales whose source coordinates land on x.5 in float32 (7×9 by 1.1 and 1.3, every coordinate convention and rounding): onnxruntime's pixels", async () => {
    // before: half_pixel's column 6 took source column 5 (float64: 6.5 / 1.3 − 0.5 = 4.50000018), onnxruntime 4
    const vi = (name: string, dims: number[]) => ({ name, type: { tensorType: { elemType: 1, shape: { dim: dims.map((d) => ({ dimValue: d })) } } } });
    const { encodeModel } = await import("../src/io/onnx/proto.js");
    const x = Float32Array.from({ length: 63 }, (_, i) => i);
    for (const coords of ["half_pixel", "pytorch_half_pixel", "asymmetric"]) {
      for (const nearest of ["round_prefer_floor", "round_prefer_ceil", "floor", "ceil"]) {
        const s = (v: string) => new TextEncoder().encode(v);
        const bytes = encodeModel({
          irVersion: 7, opsetImport: [{ domain: "", version: 13 }],
          graph: {
            name: "g", initializer: [{ name: "scales", dims: [4], dataType: 1, floatData: [1, 1, 1.1, 1.3] }], input: [vi("x", [1, 1, 7, 9])], output: [vi("y", [1, 1, 7, 11])],
            node: [{ opType: "Resize", name: "r", input: ["x", "", "scales"], output: ["y"], attribute: [
              { name: "mode", type: 3, s: s("nearest") }, { name: "coordinate_transformation_mode", type: 3, s: s(coords) }, { name: "nearest_mode", type: 3, s: s(nearest) }] }],
          },
        });
        const m = await fovea.importOnnx(bytes);
        const ref = (await (await ort.InferenceSession.create(bytes)).run({ x: new ort.Tensor("float32", x, [1, 1, 7, 9]) })).y!.data;
        expect(Array.from(m.predict(x)), `${coords}, ${nearest}`).toEqual(Array.from(ref as Float32Array));
        m.free();
      }
    }
  });

  it("an imported model whose output is a feature map (NCHW, the file's layout) exports back and runs in onnxruntime", async () => {
    const f32 = (name: string, dims: number[], v: number[]) => ({ name, dims, dataType: 1, floatData: v });
    const vi = (name: string, dims: number[]) => ({ name, type: { tensorType: { elemType: 1, shape: { dim: dims.map((d) => ({ dimValue: d })) } } } });
    const { encodeModel } = await import("../src/io/onnx/proto.js");
    const w = Array.from({ length: 3 * 2 * 3 * 3 }, (_, i) => Math.sin(i));
    const bytes = encodeModel({
      irVersion: 7, opsetImport: [{ domain: "", version: 13 }],
      graph: {
        name: "g", initializer: [f32("w", [3, 2, 3, 3], w)], input: [vi("x", [1, 2, 5, 4])], output: [vi("y", [1, 3, 5, 4])],
        node: [{ opType: "Conv", name: "c", input: ["x", "w"], output: ["c"], attribute: [{ name: "pads", type: 7, ints: [1, 1, 1, 1] }] }, { opType: "Relu", name: "r", input: ["c"], output: ["y"] }],
      },
    });
    const m = await fovea.importOnnx(bytes);
    expect(m.outputShape).toEqual([3, 5, 4]);
    const x = Float32Array.from({ length: 40 }, (_, i) => Math.cos(i * 0.3));
    const ref = (await (await ort.InferenceSession.create(bytes)).run({ x: new ort.Tensor("float32", x, [1, 2, 5, 4]) })).y!.data;
    const mine = m.predict(x);
    for (let i = 0; i < ref.length; i++) expect(Math.abs(mine[i]! - ref[i]!)).toBeLessThan(1e-5);
    const back = await fovea.exportOnnx(m);
    // the file's own input and output names kept (code feeds onnxruntime by them)
    const got = (await (await ort.InferenceSession.create(back)).run({ x: new ort.Tensor("float32", x, [1, 2, 5, 4]) })).y!.data;
    for (let i = 0; i < ref.length; i++) expect(Math.abs(got[i]! - ref[i]!)).toBeLessThan(1e-5);
    const nhwc = await fovea.importOnnx(bytes, { outputLayout: "NHWC" });
    expect(nhwc.outputShape).toEqual([5, 4, 3]);
    const y = nhwc.predict(x);
    for (let c = 0; c < 3; c++) for (let p = 0; p < 20; p++) expect(y[p * 3 + c]).toBe(mine[c * 20 + p]);
    m.free();
    nhwc.free();
  });

  it("an imported model ending in a channel shuffle and a ReLU (its output held in the file's order, not as an image) exports back with the file's output shape and values", async () => {
    // PyTorch's export (scripts/make-onnx-fixtures.py shuffle_out): before, the export's output was [2, 7, 12, 6], PyTorch's values as (N, W, C, H)
    const { readFileSync } = await import("node:fs");
    const bytes = new Uint8Array(readFileSync("test/fixtures/onnx/shuffle_out.onnx"));
    const f = JSON.parse(readFileSync("test/fixtures/onnx/shuffle_out.json", "utf8")) as { input: number[]; inputShape: number[]; output: number[]; outputShape: number[] };
    const x = Float32Array.from(f.input);
    const [N, C, H, W] = f.outputShape as [number, number, number, number];
    for (const outputLayout of ["NCHW", "NHWC"] as const) {
      const m = await fovea.importOnnx(bytes, { outputLayout });
      // NHWC asked: [H, W, C] though the output is held in the file's order after the shuffle (it was [C, H, W], silently)
      expect(m.outputShape).toEqual(outputLayout === "NHWC" ? [H, W, C] : [C, H, W]);
      const y = m.predict(x);
      let off = 0;
      for (let b = 0; b < N; b++) for (let c = 0; c < C; c++) for (let h = 0; h < H; h++) for (let w = 0; w < W; w++) {
        const i = ((b * C + c) * H + h) * W + w, j = outputLayout === "NHWC" ? ((b * H + h) * W + w) * C + c : i;
        off = Math.max(off, Math.abs(y[j]! - f.output[i]!));
      }
      expect(off, `${outputLayout}: predict against PyTorch`).toBeLessThan(1e-5);
      const back = await fovea.exportOnnx(m);
      const r = (await (await ort.InferenceSession.create(back)).run({ input: new ort.Tensor("float32", x, f.inputShape) })).output!;
      // a plain output comes back as the file has it; one held as an image (NHWC asked, where the output is an image) as NCHW, the same values
      expect(r.dims, outputLayout).toEqual(f.outputShape);
      let worst = 0;
      for (let i = 0; i < f.output.length; i++) worst = Math.max(worst, Math.abs(r.data[i] as number - f.output[i]!));
      expect(worst, outputLayout).toBeLessThan(1e-5);
      m.free();
    }
  });

  // PyTorch's PixelShuffle / PixelUnshuffle (DepthToSpace, or six-axis Reshape / Transpose chains): each
  // shuffle one permute of the image's axes (opset 9's pixel_shuffle in the file's order: one more each way)
  it.each([["pixel_shuffle_opset9", 8], ["pixel_shuffle_opset11", 6], ["pixel_shuffle_opset13", 6], ["repeat", 3], ["argmax_opset13", 3]])("PyTorch's %s imports (%i permutes) and exports back with PyTorch's values", async (fixture, permutes) => {
    const { readFileSync } = await import("node:fs");
    const name = `test/fixtures/onnx/${fixture}`;
    const f = JSON.parse(readFileSync(`${name}.json`, "utf8")) as { input: number[]; inputShape: number[]; output: number[]; outputShape: number[] };
    const m = await fovea.importOnnx(new Uint8Array(readFileSync(`${name}.onnx`)));
    expect(m.layers.filter((l) => l.type === "permute").length).toBe(permutes);
    const r = (await (await ort.InferenceSession.create(await fovea.exportOnnx(m))).run({ input: new ort.Tensor("float32", Float32Array.from(f.input), f.inputShape) })).output!;
    expect(r.dims).toEqual(f.outputShape);
    let worst = 0;
    for (let i = 0; i < f.output.length; i++) worst = Math.max(worst, Math.abs(r.data[i] as number - f.output[i]!));
    expect(worst).toBeLessThan(1e-5);
    m.free();
  });

  it("an imported model with two named outputs (PyTorch's export) exports them by name and shape, with PyTorch's values", async () => {
    // before: one output "output" of [N, 124], the two packed end to end
    const { readFileSync } = await import("node:fs");
    const bytes = new Uint8Array(readFileSync("test/fixtures/onnx/two_outputs.onnx"));
    const f = JSON.parse(readFileSync("test/fixtures/onnx/two_outputs.json", "utf8")) as { input: number[]; inputShape: number[]; outputs: Record<string, { shape: number[]; values: number[] }> };
    for (const outputLayout of ["NCHW", "NHWC"] as const) {
      const m = await fovea.importOnnx(bytes, { outputLayout });
      const sess = await ort.InferenceSession.create(await fovea.exportOnnx(m));
      expect(sess.outputNames).toEqual(["features", "logits"]);
      const r = await sess.run({ input: new ort.Tensor("float32", Float32Array.from(f.input), f.inputShape) });
      for (const [name, want] of Object.entries(f.outputs)) {
        expect(r[name]!.dims, `${outputLayout} ${name}`).toEqual(want.shape);
        let worst = 0;
        want.values.forEach((v, i) => (worst = Math.max(worst, Math.abs((r[name]!.data[i] as number) - v))));
        expect(worst, `${outputLayout} ${name}`).toBeLessThan(1e-5);
      }
      m.free();
    }
  });

  it("resize: nearest ×2 and bilinear (half-pixel) ×1.5 as ONNX Resize", async () => {
    const m = trained(fovea.sequential([
      L.conv2d({ filters: 3, kernelSize: 3, padding: "same" }), L.resize({ size: [8, 10], mode: "nearest", coordinates: "asymmetric", nearest: "floor" }),
      L.relu(), L.resize({ size: [12, 15], mode: "linear" }), L.conv2d({ filters: 2, kernelSize: 3, strides: 2, rounding: "floor" }), L.flatten(), L.dense({ units: 3 }),
    ], { inputShape: [4, 5, 2], seed: 8 }));
    await compare(m, 2);
    m.free();
  });

  it("resize of an image holding Inf and NaN: each reaches only the outputs interpolated from it, as in onnxruntime (nearest, linear; up and down)", async () => {
    // before: the interpolation was a product with whole weight matrices, and 0·Inf made NaN of
    // every output in the Inf's rows and columns. (Cubic still differs next to an Inf at the edge:
    // its taps clamped onto one pixel are one weight in fovea's matrix, Inf·(w1 + w2) where
    // onnxruntime's Inf·w1 + Inf·w2 can be Inf − Inf = NaN; so does linear for the last pixel's Inf)
    const x = Float32Array.from({ length: 5 * 6 * 2 }, (_, i) => Math.sin(i * 0.7));
    x[7] = Infinity;
    x[40] = -Infinity;
    x[55] = NaN;
    for (const [mode, size] of [["nearest", [9, 11]], ["linear", [9, 11]], ["nearest", [3, 4]], ["linear", [3, 4]]] as const) {
      const m = fovea.sequential([L.resize({ size: [...size], mode })], { inputShape: [5, 6, 2] });
      const want = m.predict(x);
      const sess = await ort.InferenceSession.create(await fovea.exportOnnx(m));
      const got = (await sess.run({ input: new ort.Tensor("float32", toNchw(x, 1, [5, 6, 2]), [1, 2, 5, 6]) })).output!.data as Float32Array;
      const fin = (v: number) => (Number.isFinite(v) ? "finite" : String(v));
      expect(Array.from(got, fin), `${mode} ${size.join("x")}`).toEqual(Array.from(toNchw(want, 1, [size[0], size[1], 2]), fin));
      expect(want.some((v) => Number.isFinite(v))).toBe(true);
      m.free();
    }
  });

  it("softmax and log-softmax over an image's channels and over the last axis of a rank-2 value as ONNX's Softmax / LogSoftmax", async () => {
    // before: "channel softmax of images does not export"
    const m = trained(fovea.sequential([
      L.conv2d({ filters: 4, kernelSize: 3, padding: "same" }), L.softmax(), L.conv2d({ filters: 3, kernelSize: 1 }), L.logSoftmax(),
      L.reshape({ targetShape: [10, 9] }), L.softmax(), L.flatten(), L.dense({ units: 3 }),
    ], { inputShape: [5, 6, 2], seed: 4 }));
    await compare(m, 2);
    m.free();
  });

  it("max, min and the comparisons (Less … GreaterOrEqual, cast back to float) as ONNX's ops", async () => {
    const inp = fovea.input([5, 4, 2]);
    const a = L.conv2d({ filters: 3, kernelSize: 3, padding: "same" }).apply(inp), b = L.conv2d({ filters: 3, kernelSize: 1 }).apply(inp);
    const parts = [L.binary({ op: "max" }).apply(a, b), L.binary({ op: "min" }).apply(a, b), L.binary({ op: "less" }).apply(a, b), L.binary({ op: "greater" }).apply(a, b),
      L.binary({ op: "lessOrEqual" }).apply(a, b), L.binary({ op: "greaterOrEqual" }).apply(a, b)];
    const m = fovea.model({ inputs: inp, outputs: L.softmax().apply(L.dense({ units: 3 }).apply(L.globalAvgPool2d().apply(L.concat().apply(...parts)))), seed: 5 });
    await compare(trained(m), 3);
    m.free();
  });

  it("softplus, softsign, exp, log and the steps (floor, ceil, round, sign) as ONNX's ops", async () => {
    const m = fovea.sequential([L.conv2d({ filters: 3, kernelSize: 3, padding: "same" }), L.softplus(), L.log(), L.conv2d({ filters: 4, kernelSize: 3 }), L.softsign(), L.exp(), L.flatten(), L.dense({ units: 3 }), L.softmax()], { inputShape: [5, 6, 2], seed: 3 });
    await compare(trained(m), 3);
    m.free();
    const inp = fovea.input([4, 5, 2]);
    const a = L.binary({ op: "mul", constantShape: [1], name: "x4" }).apply(L.conv2d({ filters: 3, kernelSize: 3, padding: "same" }).apply(inp));
    const steps = [L.floor().apply(a), L.ceil().apply(a), L.round().apply(a), L.sign().apply(a)];
    const s = fovea.model({ inputs: inp, outputs: L.dense({ units: 2 }).apply(L.globalAvgPool2d().apply(L.concat().apply(...steps))), seed: 6 });
    s.setWeights([{ layer: "x4", name: "constant", values: [4] }]);
    await compare(s, 3);
    s.free();
  });

  it("reshape and permute of data in any shape (a channel shuffle, an image's axes reordered, features flattened from an image reshaped)", async () => {
    const inp = fovea.input([4, 5, 6]);
    const a = L.conv2d({ filters: 6, kernelSize: 3, padding: "same" }).apply(inp);
    // a channel shuffle (ShuffleNet's): the pixels' [2, 3] channel groups → [3, 2]
    const sh = L.reshape({ targetShape: [4, 5, 6] }).apply(L.permute({ perm: [0, 2, 1] }).apply(L.reshape({ targetShape: [20, 2, 3] }).apply(a)));
    const moved = L.permute({ perm: [2, 0, 1] }).apply(sh); // [6, 4, 5]: an image's axes in another order
    const back = L.conv2d({ filters: 3, kernelSize: 1 }).apply(L.reshape({ targetShape: [5, 4, 6] }).apply(moved));
    const rows = L.reshape({ targetShape: [6, 10] }).apply(L.flatten().apply(back)); // features flattened from an image, as rows
    const m = fovea.model({ inputs: inp, outputs: L.softmax().apply(L.dense({ units: 3 }).apply(L.flatten().apply(rows))), seed: 7 });
    await compare(trained(m), 3);
    m.free();
  });

  it("imported 3-D models (PyTorch's MaxPool3d / AvgPool3d and ConvTranspose3d exports) and 1-D ones (Conv1d, ConvTranspose1d) export again", async () => {
    for (const f of ["pools3d", "deconv3d", "seq1d"]) {
      const m = await fovea.importOnnx(new Uint8Array(readFileSync(`test/fixtures/onnx/${f}.onnx`)));
      const dims = [2, ...m.io!.inputs[0]!.shape], x = Float32Array.from({ length: dims.reduce((a, b) => a * b, 1) }, (_, i) => Math.sin(i * 0.37));
      const sess = await ort.InferenceSession.create(await fovea.exportOnnx(m));
      const got = (await sess.run({ input: new ort.Tensor("float32", x, dims) })).output!.data as Float32Array;
      const want = m.predict(x), scale = Math.max(...Array.from(want, Math.abs));
      expect(got.length).toBe(want.length);
      for (let i = 0; i < want.length; i++) expect(Math.abs(got[i]! - want[i]!), `${f}[${i}]`).toBeLessThanOrEqual(1e-5 * scale);
      m.free();
    }
  });

  it("features flattened from an image (held in CHW order in ONNX) as the output, concatenated, batch- and layer-normed, soft-maxed: onnxruntime gives fovea's outputs", async () => {
    // each of these exported with the features in the wrong order before (outputs 0.09 to 3 apart);
    // layer norm was refused
    const conv = () => L.conv2d({ filters: 3, kernelSize: 3 });
    await compare(fovea.sequential([conv(), L.flatten()], { inputShape: [5, 4, 2], seed: 1 }), 3);
    await compare(fovea.sequential([conv(), L.flatten(), L.softmax()], { inputShape: [5, 4, 2], seed: 1 }), 3);
    await compare(trained(fovea.sequential([conv(), L.flatten(), L.batchNorm(), L.dense({ units: 3 }), L.softmax()], { inputShape: [5, 4, 2], seed: 3 })), 3);
    await compare(trained(fovea.sequential([conv(), L.flatten(), L.layerNorm(), L.dense({ units: 3 }), L.softmax()], { inputShape: [5, 4, 2], seed: 3 })), 3);
    const inp = fovea.input([5, 4, 2]);
    const a = L.flatten().apply(conv().apply(inp)), b = L.flatten().apply(L.conv2d({ filters: 2, kernelSize: 2 }).apply(inp));
    await compare(fovea.model({ inputs: inp, outputs: L.concat().apply(a, b), seed: 2 }), 3);
    await compare(trained(fovea.model({ inputs: inp, outputs: L.softmax().apply(L.dense({ units: 4 }).apply(L.concat().apply(a, b))), seed: 2 })), 3);
    // PyTorch's torch.cat of flattened feature maps (F.interpolate's fixture): imported, exported, the same in onnxruntime
    const m = await fovea.importOnnx(new Uint8Array(readFileSync("test/fixtures/onnx/interp.onnx")));
    const fx = JSON.parse(readFileSync("test/fixtures/onnx/interp.json", "utf8")) as { input: number[]; inputShape: number[]; output: number[] };
    const got = (await (await ort.InferenceSession.create(await fovea.exportOnnx(m))).run({ input: new ort.Tensor("float32", Float32Array.from(fx.input), fx.inputShape) })).output!.data;
    expect(got.length).toBe(fx.output.length);
    for (let i = 0; i < fx.output.length; i++) expect(Math.abs(got[i]! - fx.output[i]!)).toBeLessThan(1e-4 * Math.max(1, Math.abs(fx.output[i]!)));
    m.free();
  });

  it("slice: a range of an image's channels and of features (a channel split), trained", async () => {
    const inp = fovea.input([5, 4, 6]);
    const a = L.conv2d({ filters: 8, kernelSize: 3, padding: "same" }).apply(inp);
    const lo = L.slice({ begin: 0, size: 3 }).apply(a), hi = L.slice({ begin: 5, size: 3 }).apply(a);
    const f = L.dense({ units: 7 }).apply(L.globalAvgPool2d().apply(L.add().apply(lo, hi)));
    const m = fovea.model({ inputs: inp, outputs: L.softmax().apply(L.dense({ units: 3 }).apply(L.slice({ begin: 2, size: 4 }).apply(f))), seed: 4 });
    await compare(trained(m), 3);
    m.free();
    // a slice of features flattened from an image (CHW order in ONNX) gets them in fovea's order
    const flat = fovea.sequential([L.conv2d({ filters: 2, kernelSize: 3 }), L.flatten(), L.slice({ begin: 1, size: 3, name: "part" }), L.dense({ units: 2 })], { inputShape: [4, 4, 1] });
    await compare(flat, 3);
    flat.free();
  });

  it("an imported PyTorch model with the new layers (Hardswish, SE gate, SiLU, PReLU) fine-tunes in fovea and exports again", async () => {
    const m = await fovea.importOnnx(new Uint8Array(readFileSync("test/fixtures/onnx/se_block.onnx")));
    expect(m.layers.some((l) => l.type === "multiply")).toBe(true);
    // 12 examples of [3, 7, 6] (NCHW, as the file takes them) and 5 classes
    const x = Float32Array.from({ length: 12 * m.inputSize }, (_, i) => Math.sin(i * 0.37) + 0.3 * Math.cos(i * 0.11));
    const y = Array.from({ length: 12 }, (_, i) => i % 5);
    m.compile({ batchSize: 4, loss: "softmaxCrossEntropy", optimizer: fovea.train.adam({ lr: 0.01 }) });
    const before = m.evaluate(x, y).loss;
    m.fit(x, y, { epochs: 40 });
    const after = m.evaluate(x, y).loss;
    expect(after).toBeLessThan(0.7 * before);
    // the fine-tuned model exports; onnxruntime gives its outputs
    const bytes = await fovea.exportOnnx(m);
    const sess = await ort.InferenceSession.create(bytes);
    const got = (await sess.run({ input: new ort.Tensor("float32", x, [12, 3, 7, 6]) })).output!.data;
    const want = m.predict(x);
    for (let i = 0; i < want.length; i++) expect(Math.abs(got[i]! - want[i]!)).toBeLessThan(1e-4 * Math.max(1, Math.abs(want[i]!)));
    m.free();
  });

  it("a cast to float16, layer norm, GELU, erf, √, the binary ops (with constants, broadcast over features) and where, trained", async () => {
    const inp = fovea.input([6, 5, 3]);
    const a = L.conv2d({ filters: 4, kernelSize: 3, padding: "same" }).apply(L.toFloat16().apply(inp));
    const n = L.gelu().apply(L.layerNorm({ epsilon: 1e-6 }).apply(a));
    const h = L.binary({ op: "mul", constantShape: [1], name: "half" }).apply(L.binary({ op: "add" }).apply(n, L.erf().apply(n)));
    const f = L.dense({ units: 6 }).apply(L.globalAvgPool2d().apply(h));
    const d = L.binary({ op: "div", constantShape: [6], constantFirst: true, name: "inv" }).apply(L.binary({ op: "add", constantShape: [1], name: "two" }).apply(L.sqrt().apply(L.binary({ op: "mul" }).apply(f, f))));
    const p = L.binary({ op: "pow", constantShape: [1], name: "sq" }).apply(L.layerNorm().apply(L.binary({ op: "sub", constantShape: [6], name: "off" }).apply(d)));
    const same = L.binary({ op: "equal" }).apply(d, L.binary({ op: "mul", constantShape: [1], name: "one" }).apply(d)); // ones
    const chosen = L.where().apply(L.binary({ op: "equal" }).apply(f, L.binary({ op: "mul", constantShape: [6], name: "mask" }).apply(f)), p, d);
    const m = fovea.model({ inputs: inp, outputs: L.softmax().apply(L.dense({ units: 3 }).apply(L.binary({ op: "add" }).apply(chosen, same))), seed: 9 });
    m.setWeights([
      { layer: "half", name: "constant", values: [0.5] }, { layer: "two", name: "constant", values: [2] }, { layer: "sq", name: "constant", values: [2] }, { layer: "one", name: "constant", values: [1] },
      { layer: "inv", name: "constant", values: [1, 2, 3, -1, 0.5, 4] }, { layer: "mask", name: "constant", values: [1, 0, 0, 1, 1, 0] }, { layer: "off", name: "constant", values: [0.1, -0.2, 0.3, 0, 1, -1] },
    ]);
    await compare(trained(m), 3);
    m.free();
  });

  it("an imported ConvNeXt (torchvision's blocks, opset 11) fine-tunes in fovea and exports again", async () => {
    const m = await fovea.importOnnx(new Uint8Array(readFileSync("test/fixtures/onnx/convnext_mini_opset11.onnx")));
    expect(m.layers.filter((l) => l.type === "layerNorm").length).toBe(4);
    const x = Float32Array.from({ length: 12 * m.inputSize }, (_, i) => Math.sin(i * 0.37) + 0.3 * Math.cos(i * 0.11));
    const y = Array.from({ length: 12 }, (_, i) => i % 5);
    m.compile({ batchSize: 4, loss: "softmaxCrossEntropy", optimizer: fovea.train.adam({ lr: 0.01 }) });
    const before = m.evaluate(x, y).loss;
    m.fit(x, y, { epochs: 30 });
    expect(m.evaluate(x, y).loss).toBeLessThan(0.7 * before);
    const sess = await ort.InferenceSession.create(await fovea.exportOnnx(m));
    const got = (await sess.run({ input: new ort.Tensor("float32", x, [12, 3, 16, 16]) })).output!.data;
    const want = m.predict(x);
    for (let i = 0; i < want.length; i++) expect(Math.abs(got[i]! - want[i]!)).toBeLessThan(1e-4 * Math.max(1, Math.abs(want[i]!)));
    m.free();
  });

  it("constant (an output computed from shapes alone): the value for every example, a zero gradient", async () => {
    const inp = fovea.input([4]);
    const m = fovea.model({ inputs: inp, outputs: L.constant({ shape: [2, 3], name: "c" }).apply(inp) });
    m.setWeights([{ layer: "c", name: "value", values: [1, 2, 3, -4, 5.5, 6] }]);
    const bytes = await fovea.exportOnnx(m);
    const x = Float32Array.from({ length: 12 }, (_, i) => i);
    const got = (await (await ort.InferenceSession.create(bytes)).run({ input: new ort.Tensor("float32", x, [3, 4]) })).output!.data;
    expect(Array.from(got)).toEqual(Array.from(m.predict(x)));
    expect(Array.from(m.predict(x))).toEqual([1, 2, 3, -4, 5.5, 6, 1, 2, 3, -4, 5.5, 6, 1, 2, 3, -4, 5.5, 6]);
    expect(Array.from(m.inputGradient(x.subarray(0, 4), { class: 1 }))).toEqual([0, 0, 0, 0]);
    m.free();
  });

  // a differential campaign (random small models, exported, run in onnxruntime-node against
  // fovea's predict) found each of these exporting wrong numbers, or a file onnxruntime refused
  it("concat and maxout of examples of rank 2 and 4 (the last axis, not ONNX's axis 1)", async () => {
    const i2 = fovea.input([2, 3]);
    await compare(fovea.model({ inputs: i2, outputs: L.concat().apply(i2, L.tanh().apply(i2)), seed: 1 }), 3);
    const i4 = fovea.input([1, 1, 2, 2]);
    await compare(fovea.model({ inputs: i4, outputs: L.flatten().apply(L.concat().apply(i4, L.tanh().apply(i4))), seed: 1 }), 3);
    await compare(fovea.sequential([L.maxout({ pieces: 2 })], { inputShape: [3, 4] }), 3);
    await compare(fovea.sequential([L.maxout({ pieces: 2 }), L.flatten(), L.dense({ units: 2 })], { inputShape: [2, 2, 2, 4] }), 3);
  });

  it("binary and multiply with operands of other ranks, constants of any rank (numpy broadcasting, the batch apart)", async () => {
    const i = fovea.input([2, 3]);
    const f = L.slice({ begin: 0, size: 3 }).apply(L.flatten().apply(i));
    await compare(fovea.model({ inputs: i, outputs: L.binary({ op: "add" }).apply(i, f), seed: 1 }), 3);
    await compare(fovea.model({ inputs: i, outputs: L.multiply().apply(i, L.dense({ units: 3 }).apply(L.flatten().apply(i))), seed: 1 }), 3);
    const v = fovea.input([4]);
    await compare(fovea.model({ inputs: v, outputs: L.multiply().apply(v, L.reshape({ targetShape: [1, 1, 4] }).apply(v)), seed: 1 }), 3);
    const withConstant = (cs: number[], inputShape: number[], op: "add" | "mul" | "sub" = "add") => {
      const m = fovea.sequential([L.binary({ op, constantShape: cs, name: "k" }), L.flatten()], { inputShape, seed: 2 });
      m.setWeights([{ layer: "k", name: "constant", values: Float32Array.from({ length: cs.reduce((a, b) => a * b, 1) }, (_, j) => 1 + j) }]);
      return m;
    };
    await compare(withConstant([1, 8], [8]), 3); // a constant of higher rank than the input
    await compare(withConstant([2, 2, 2], [2, 2, 2, 2]), 3); // a rank-3 constant on volumes: not an image
    await compare(withConstant([3], [4, 5, 3]), 3); // per channel on an image (refused before)
    await compare(withConstant([5, 3], [4, 5, 3], "sub"), 3);
    await compare(withConstant([4, 1, 1], [4, 5, 3]), 3);
  });

  it("idiv of floats truncates the quotient as fovea does (a divisor of 2.5 or 0.5; 0 where it is 0)", async () => {
    const m = fovea.sequential([L.binary({ op: "idiv", constantShape: [3], name: "k" })], { inputShape: [3], seed: 1 });
    m.setWeights([{ layer: "k", name: "constant", values: Float32Array.from([2.5, 0.5, 0]) }]);
    await compare(m, 3);
    const i = fovea.input([4]);
    await compare(fovea.model({ inputs: i, outputs: L.binary({ op: "idiv" }).apply(i, L.sigmoid().apply(i)), seed: 1 }), 3);
  });

  it("mod and fmod: the remainder with the divisor's sign (0 for a divisor of 0) or the dividend's, by constants and by data of either sign", async () => {
    for (const [op, k] of [["mod", [2.5, -0.75, 0]], ["fmod", [2.5, -0.75, 0.3]]] as const) {
      const m = fovea.sequential([L.binary({ op, constantShape: [3], name: "k" })], { inputShape: [3], seed: 1 });
      m.setWeights([{ layer: "k", name: "constant", values: Float32Array.from(k) }]);
      await compare(m, 5);
      // quotients up to ~7 either way: the data scaled by 7 over tanh of it
      const i = fovea.input([4]), d = fovea.model({ inputs: i, outputs: L.binary({ op }).apply(L.scale({ name: "s" }).apply(i), L.tanh().apply(i)), seed: 1 });
      d.setWeights([{ layer: "s", name: "scale", values: new Float32Array(4).fill(7) }]);
      await compare(d, 5);
    }
  });

  it("a leading NCHW → NHWC permute whose input has other readers", async () => {
    const i = fovea.input([2, 2, 2]);
    await compare(fovea.model({ inputs: i, outputs: L.flatten().apply(L.add().apply(L.permute({ perm: [1, 2, 0] }).apply(i), i)), seed: 1 }), 3);
  });

  it("ceil-mode pools whose last window fovea drops (it starts in the padding): the size fovea gives, so later layers load", async () => {
    await compare(fovea.sequential([L.maxPool2d({ poolSize: 1, strides: 2, rounding: "ceil" }), L.flatten(), L.dense({ units: 3 })], { inputShape: [1, 4, 1], seed: 1 }), 3);
    await compare(fovea.sequential([L.avgPool2d({ poolSize: 2, strides: 2, padding: 1, rounding: "ceil" }), L.flatten(), L.dense({ units: 3 })], { inputShape: [5, 4, 2], seed: 1 }), 3);
    await compare(fovea.sequential([L.maxPool3d({ poolSize: 1, strides: 2, rounding: "ceil" }), L.flatten(), L.dense({ units: 3 })], { inputShape: [4, 3, 4, 1], seed: 1 }), 3);
    // a later layer that reuses the pool's buffer: onnxruntime's run failed ("Shape mismatch attempting to re-use buffer") when ceil_mode was 1
    const t = fovea.input([4, 4, 1]);
    await compare(fovea.model({ inputs: t, outputs: L.flatten().apply(L.sigmoid().apply(L.pad({ padding: [1, 0, 1, 0] }).apply(L.maxPool2d({ poolSize: 1, strides: 2, rounding: "ceil" }).apply(t)))), seed: 1 }), 3);
    const t5 = fovea.input([5, 5, 1]);
    await compare(fovea.model({ inputs: t5, outputs: L.flatten().apply(L.sigmoid().apply(L.pad({ padding: [1, 0, 1, 0] }).apply(L.avgPool2d({ poolSize: 2, strides: 2, padding: 1, rounding: "ceil" }).apply(t5)))), seed: 1 }), 3);
  });

  it("an LRN of even size (its window leans the other way from ONNX's LRN, which onnxruntime takes for odd sizes only) exports as torch.onnx.export writes nn.LocalResponseNorm: an AveragePool of x² over the channels", async () => {
    // before: "an even size (2) does not export"
    for (const size of [2, 4]) {
      const m = trained(fovea.sequential([L.conv2d({ filters: 5, kernelSize: 3, padding: "same" }), L.lrn({ size, alpha: 0.3, beta: 0.75, k: 1.5 }), L.flatten(), L.dense({ units: 3 })], { inputShape: [4, 3, 2], seed: size }));
      await compare(m, 2);
      m.free();
    }
  });

  it("layers without an ONNX form are ConfigErrors naming the layer", async () => {
    const b = fovea.sequential([L.toBfloat16({ name: "bf" }), L.dense({ units: 2 })], { inputShape: [4] });
    await expect(fovea.exportOnnx(b)).rejects.toThrow('exportOnnx: layer toBfloat16 "bf": bfloat16 truncation');
    b.free();
  });
});

