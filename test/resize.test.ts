// The resize layer (nearest / bilinear with ONNX's coordinate conventions; forward checked against
// PyTorch in test/onnx.test.ts's "interp" fixture and against the ONNX node tests): its backward
// through a whole-model gradient check (central differences, bound 1e-2 relative), its weights
// against their definition, config round-trip and bad configs.
import { beforeAll, describe, expect, it } from "vitest";
import * as fovea from "../src/index.js";
import { resizeWeights } from "../src/layers/resize.js";
import { toyImages } from "./helpers/models.js";

const { layers: L } = fovea;

beforeAll(async () => {
  await fovea.init({ build: "simd" });
});

describe("resize", () => {
  it("weights: bilinear half-pixel ×2 and align-corners rows sum to 1; nearest picks one source", () => {
    // half_pixel ×2 over 3: output 1 samples x = (1 + 0.5)/2 − 0.5 = 0.25 → 0.75·x0 + 0.25·x1
    const w = resizeWeights(3, 6, 2, "linear", "half_pixel", "round_prefer_floor");
    expect(Array.from(w.subarray(3, 6))).toEqual([0.75, 0.25, 0]);
    expect(Array.from(w.subarray(0, 3))).toEqual([1, 0, 0]); // x = −0.25 clamps to 0
    const a = resizeWeights(3, 5, 5 / 3, "linear", "align_corners", "round_prefer_floor");
    for (let o = 0; o < 5; o++) expect(a.subarray(o * 3, o * 3 + 3).reduce((p, q) => p + q, 0)).toBeCloseTo(1, 6);
    expect(Array.from(a.subarray(12, 15))).toEqual([0, 0, 1]);
    const n = resizeWeights(4, 2, 0.5, "nearest", "asymmetric", "floor");
    expect(Array.from(n)).toEqual([1, 0, 0, 0, 0, 0, 1, 0]);
    // cubic (Keys, a = −0.75): at an input point the kernel is that point alone; every row sums to 1
    const c = resizeWeights(5, 10, 2, "cubic", "asymmetric", "round_prefer_floor");
    expect(Array.from(c.subarray(4 * 5, 5 * 5))).toEqual([0, 0, 1, 0, 0]);
    for (let o = 0; o < 10; o++) expect(c.subarray(o * 5, o * 5 + 5).reduce((p, q) => p + q, 0)).toBeCloseTo(1, 6);
  });

  it("gradients flow through nearest, bilinear and bicubic resizes between convs", () => {
    const inp = fovea.input([5, 4, 2]);
    const a = L.conv2d({ filters: 3, kernelSize: 3, padding: "same" }).apply(inp);
    const b = L.resize({ size: [7, 9], mode: "linear" }).apply(L.tanh().apply(a));
    const c = L.resize({ size: [10, 8], mode: "cubic" }).apply(L.resize({ size: [10, 8], mode: "nearest", coordinates: "asymmetric", nearest: "floor" }).apply(a));
    const out = L.dense({ units: 3 }).apply(L.concat().apply(L.flatten().apply(L.conv2d({ filters: 2, kernelSize: 3 }).apply(b)), L.flatten().apply(c)));
    const m = fovea.model({ inputs: inp, outputs: out, seed: 4 });
    const { x, y } = toyImages(3, [5, 4, 2], 3, 5);
    m.compile({ batchSize: 3, loss: "softmaxCrossEntropy", optimizer: fovea.train.sgd() });
    const r = fovea.train.gradCheck(m, x, y, { h: 1e-2, samples: 12 });
    for (const p of r.params) expect(p.relError < 1e-2 || p.absError < 1e-5, `${p.layer}.${p.param}: ${p.relError}`).toBe(true);
    const back = fovea.loadModel(m.save());
    expect(Array.from(back.predict(x))).toEqual(Array.from(m.predict(x)));
    m.free();
    back.free();
  });

  it("bad configs are ConfigErrors naming the layer", () => {
    expect(() => L.resize({ size: [0, 3], name: "r" })).toThrow('resize "r": size[0] must be a whole number >= 1, got 0');
    expect(() => L.createLayer({ type: "resize", size: [2, 3], mode: "lanczos", name: "r" })).toThrow('resize "r": mode must be "nearest", "linear" or "cubic", got "lanczos"');
  });
});
