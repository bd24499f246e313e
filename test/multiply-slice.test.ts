// The multiply layer (the product of two tensors: same shape, or one value per channel broadcast
// over an image's positions) and the slice layer (a range of each example's values): forward
// against the product / slice by definition, backward through whole-model gradient checks
// (central differences of the model's loss, bound 1e-2 relative as test/gradcheck.test.ts), and
// save/load of their configs.
import { beforeAll, describe, expect, it } from "vitest";
import * as fovea from "../src/index.js";
import { toyImages } from "./helpers/models.js";

const { layers: L } = fovea;

beforeAll(async () => {
  await fovea.init({ build: "simd" });
});

function gradCheck(m: fovea.Model, shape: [number, number, number], n = 4) {
  const { x, y } = toyImages(n, shape, 3, 5);
  m.compile({ batchSize: n, loss: "softmaxCrossEntropy", optimizer: fovea.train.sgd() });
  const r = fovea.train.gradCheck(m, x, y, { h: 1e-2, samples: 12 });
  for (const p of r.params) expect(p.relError < 1e-2 || p.absError < 1e-5, `${p.layer}.${p.param}: relative ${p.relError.toExponential(2)}`).toBe(true);
  expect(r.params.length).toBeGreaterThan(0);
}

describe("multiply", () => {
  it("same shape and per-channel broadcast, forward by definition", () => {
    const inp = fovea.input([2, 3, 4]);
    const sq = L.multiply().apply(inp, inp);
    const gate = L.multiply().apply(inp, L.globalAvgPool2d().apply(inp)); // x · mean over positions, per channel
    const m = fovea.model({ inputs: inp, outputs: L.concat().apply(sq, gate) });
    const x = Float32Array.from({ length: 2 * 2 * 3 * 4 }, (_, i) => Math.sin(i * 0.7) * 2);
    const y = m.predict(x);
    for (let e = 0; e < 2; e++) {
      const mean = [0, 1, 2, 3].map((c) => { let s = 0; for (let p = 0; p < 6; p++) s += x[e * 24 + p * 4 + c]!; return s / 6; });
      for (let p = 0; p < 6; p++) for (let c = 0; c < 4; c++) {
        const v = x[e * 24 + p * 4 + c]!;
        expect(y[e * 48 + p * 8 + c]).toBeCloseTo(v * v, 5);
        expect(y[e * 48 + p * 8 + 4 + c]).toBeCloseTo(v * mean[c]!, 5);
      }
    }
    m.free();
  });

  it("gradients: SiLU x·σ(x) and squeeze-and-excitation (x · σ(conv(gap(x)))) between convs", () => {
    const inp = fovea.input([5, 5, 3]);
    const a = L.conv2d({ filters: 4, kernelSize: 3, padding: "same" }).apply(inp);
    const silu = L.multiply().apply(a, L.sigmoid().apply(a));
    const se = L.sigmoid().apply(L.dense({ units: 4 }).apply(L.globalAvgPool2d().apply(silu)));
    const out = L.dense({ units: 3 }).apply(L.flatten().apply(L.multiply().apply(silu, se)));
    const m = fovea.model({ inputs: inp, outputs: out, seed: 11 });
    gradCheck(m, [5, 5, 3]);
    m.free();
  });

  it("a second input that is neither the same shape nor per channel is a ShapeError; the config round-trips", () => {
    const inp = fovea.input([2, 2, 3]);
    expect(() => L.multiply({ name: "mul" }).apply(inp, L.flatten().apply(inp))).toThrow(/multiply "mul": input 1 \[12\] is neither input 0's shape \[2, 2, 3\] nor one value per channel \(3\)/);
    const m = fovea.model({ inputs: inp, outputs: L.multiply().apply(inp, inp) });
    const back = fovea.loadModel(m.save());
    const x = Float32Array.from({ length: 12 }, (_, i) => i - 5);
    expect(Array.from(back.predict(x))).toEqual(Array.from(m.predict(x)));
    m.free();
    back.free();
  });
});

describe("slice", () => {
  it("takes a range of the last axis; gradients flow into its part of the input", () => {
    const inp = fovea.input([5, 5, 2]);
    const rest = L.slice({ begin: 20, size: 30 }).apply(L.flatten().apply(inp));
    const m0 = fovea.model({ inputs: inp, outputs: rest });
    const x = Float32Array.from({ length: 100 }, (_, i) => i);
    expect(Array.from(m0.predict(x))).toEqual([...Array.from({ length: 30 }, (_, i) => 20 + i), ...Array.from({ length: 30 }, (_, i) => 70 + i)]);
    m0.free();
    // behind a conv, so the slices' backward (zeros outside the range) reaches parameters
    const c = L.conv2d({ filters: 2, kernelSize: 3, padding: "same" }).apply(inp);
    // a channel slice of the image and a range of the flattened values
    const a = L.flatten().apply(L.slice({ begin: 1, size: 1 }).apply(c)), b = L.slice({ begin: 15, size: 30 }).apply(L.flatten().apply(c));
    const out = L.add().apply(L.dense({ units: 3 }).apply(L.tanh().apply(a)), L.dense({ units: 3 }).apply(b));
    const m = fovea.model({ inputs: inp, outputs: out, seed: 2 });
    gradCheck(m, [5, 5, 2]);
    m.free();
  });

  it("a range past the end is a ShapeError", () => {
    const inp = fovea.input([4]);
    expect(() => L.slice({ begin: 2, size: 3, name: "s" }).apply(inp)).toThrow('slice "s": [2, 5) of the last axis of an input [4] (4)');
  });
});

describe("matmul", () => {
  it("batched products of two computed tensors by definition, gradients through both sides", () => {
    const inp = fovea.input([2, 3, 4]);
    const a = L.tanh().apply(L.conv2d({ filters: 4, kernelSize: 1 }).apply(inp)); // [2, 3, 4]
    const bT = L.reshape({ targetShape: [2, 4, 3] }).apply(L.conv2d({ filters: 4, kernelSize: 1 }).apply(inp)); // [2, 4, 3]
    const p = L.matmul().apply(a, bT); // [2, 3, 3]
    const m = fovea.model({ inputs: inp, outputs: L.dense({ units: 3 }).apply(L.flatten().apply(p)), seed: 3 });
    const { x, y } = toyImages(3, [2, 3, 4], 3, 5);
    m.compile({ batchSize: 3, loss: "softmaxCrossEntropy", optimizer: fovea.train.sgd() });
    const r = fovea.train.gradCheck(m, x, y, { h: 1e-2, samples: 12 });
    for (const q of r.params) expect(q.relError < 1e-2 || q.absError < 1e-5, `${q.layer}.${q.param}: ${q.relError}`).toBe(true);
    m.free();
    // forward by definition: [3, 4] · [4, 2] per example
    const i2 = fovea.input([3, 4]), j2 = L.slice({ begin: 0, size: 2 }).apply(L.reshape({ targetShape: [4, 3] }).apply(i2));
    const mm = fovea.model({ inputs: i2, outputs: L.matmul().apply(i2, j2) });
    const v = Float32Array.from({ length: 24 }, (_, i) => Math.sin(i));
    const out = mm.predict(v);
    for (let e = 0; e < 2; e++) for (let r0 = 0; r0 < 3; r0++) for (let c = 0; c < 2; c++) {
      let acc = 0;
      for (let k = 0; k < 4; k++) acc += v[e * 12 + r0 * 4 + k]! * v[e * 12 + k * 3 + c]!;
      expect(out[e * 6 + r0 * 2 + c]).toBeCloseTo(acc, 5);
    }
    mm.free();
  });
});
