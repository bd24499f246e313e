// The resize layer (nearest / bilinear with ONNX's coordinate conventions; forward checked against
// PyTorch in test/onnx.test.ts's "interp" fixture and against the ONNX node tests): its backward
// through a whole-model gradient check (central differences, bound 1e-2 relative), its weights
// against their definition, config round-trip and bad configs. tf_crop_and_resize (a region of
// interest, a value outside the image) against ONNX's own reference implementation in float64
// (test/fixtures/resize-tf-crop-onnx.json, written by scripts/make-resize-fixtures.py), and its
// export in onnxruntime-node.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { beforeAll, describe, expect, it } from "vitest";
import * as fovea from "../src/index.js";
import { resizeWeights } from "../src/layers/resize.js";
import { toyImages } from "./helpers/models.js";

const { layers: L } = fovea;
const require = createRequire(import.meta.url);
const { onnx } = require("onnx-proto") as { onnx: { ModelProto: { create(o: object): object; encode(m: object): { finish(): Uint8Array } } } };
const ort = require("onnxruntime-node") as {
  InferenceSession: { create(b: Uint8Array): Promise<{ inputNames: readonly string[]; outputNames: readonly string[]; run(f: Record<string, unknown>): Promise<Record<string, { data: Float32Array }>> }> };
  Tensor: new (t: string, d: Float32Array, dims: number[]) => unknown;
};
interface CropCase { name: string; mode: "linear" | "nearest" | "cubic"; roi: number[]; sizes: [number, number]; extrapolation: number; cubic_coeff_a?: number; exclude_outside?: number; output: number[] }
const crop = JSON.parse(readFileSync("test/fixtures/resize-tf-crop-onnx.json", "utf8")) as { onnx: string; inputShape: number[]; input: number[]; cases: CropCase[] };

beforeAll(async () => {
  await fovea.init({ build: "simd" });
});

describe("resize", () => {
  it("weights: bilinear half-pixel ×2 and align-corners rows sum to 1; nearest picks one source", () => {
    // half_pixel ×2 over 3: output 1 samples x = (1 + 0.5)/2 − 0.5 = 0.25 → 0.75·x0 + 0.25·x1
    const w = resizeWeights(3, 6, 2, "linear", "half_pixel", "round_prefer_floor");
    expect(Array.from(w.subarray(3, 6))).toEqual([0.75, 0.25, 0]);
    // x = −0.25 clamps to 0: its second tap, x1, weighs −0 (a tap of the interpolation, computed: an Inf there gives NaN, as in onnxruntime)
    expect(Array.from(w.subarray(0, 3))).toEqual([1, -0, 0]);
    const a = resizeWeights(3, 5, 5 / 3, "linear", "align_corners", "round_prefer_floor");
    for (let o = 0; o < 5; o++) expect(a.subarray(o * 3, o * 3 + 3).reduce((p, q) => p + q, 0)).toBeCloseTo(1, 6);
    expect(Array.from(a.subarray(12, 15))).toEqual([0, 0, 1]);
    const n = resizeWeights(4, 2, 0.5, "nearest", "asymmetric", "floor");
    expect(Array.from(n)).toEqual([1, 0, 0, 0, 0, 0, 1, 0]);
    // cubic (Keys, a = −0.75): at an input point the kernel is that point alone; every row sums to 1
    const c = resizeWeights(5, 10, 2, "cubic", "asymmetric", "round_prefer_floor");
    expect(Array.from(c.subarray(4 * 5, 5 * 5), (v) => v + 0)).toEqual([0, 0, 1, 0, 0]); // (its other taps weigh −0)
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

  it.each(crop.cases.map((c) => [c.name, c] as const))("tf_crop_and_resize %s: ONNX's reference (float64) within 8e-6; onnxruntime-node runs the export", async (_, c) => {
    expect(crop.onnx).toBe("1.12.0");
    const [N, C, H, W] = crop.inputShape as [number, number, number, number];
    const attr = [
      { name: "mode", type: 3, s: new TextEncoder().encode(c.mode) }, { name: "coordinate_transformation_mode", type: 3, s: new TextEncoder().encode("tf_crop_and_resize") },
      { name: "extrapolation_value", type: 1, f: c.extrapolation },
      ...(c.cubic_coeff_a !== undefined ? [{ name: "cubic_coeff_a", type: 1, f: c.cubic_coeff_a }] : []), ...(c.exclude_outside ? [{ name: "exclude_outside", type: 2, i: 1 }] : []),
    ];
    const vi = (name: string, dims: (number | string)[]) => ({ name, type: { tensorType: { elemType: 1, shape: { dim: dims.map((d) => (typeof d === "string" ? { dimParam: d } : { dimValue: d })) } } } });
    const bytes = onnx.ModelProto.encode(onnx.ModelProto.create({
      irVersion: 7, opsetImport: [{ domain: "", version: 13 }],
      graph: {
        name: "crop", node: [{ opType: "Resize", name: "r", input: ["x", "roi", "", "sizes"], output: ["y"], attribute: attr }],
        initializer: [{ name: "roi", dims: [8], dataType: 1, floatData: c.roi }, { name: "sizes", dims: [4], dataType: 7, int64Data: [N, C, ...c.sizes] }],
        input: [vi("x", ["N", C, H, W])], output: [vi("y", ["N", C, ...c.sizes])],
      },
    })).finish();
    const m = await fovea.importOnnx(bytes);
    const y = m.predict(Float32Array.from(crop.input));
    expect(y.length).toBe(c.output.length);
    let worst = 0;
    for (let i = 0; i < y.length; i++) worst = Math.max(worst, Math.abs(y[i]! - c.output[i]!));
    expect(worst, c.name).toBeLessThan(8e-6);
    // exported: Resize with the roi and sizes [N, C, OH, OW]. onnxruntime-node 1.30 computes a cubic
    // tf_crop_and_resize without exclude_outside differently from ONNX's reference (at every output,
    // a roi well inside the image too): that case is compared with the reference alone
    if (c.mode === "cubic" && !c.exclude_outside) return m.free();
    const sess = await ort.InferenceSession.create(await fovea.exportOnnx(m));
    const got = (await sess.run({ [sess.inputNames[0]!]: new ort.Tensor("float32", Float32Array.from(crop.input), [N, C, H, W]) }))[sess.outputNames[0]!]!.data;
    let far = 0;
    for (let i = 0; i < y.length; i++) far = Math.max(far, Math.abs(got[i]! - y[i]!));
    expect(far, `${c.name}: onnxruntime`).toBeLessThan(1e-5);
    m.free();
  });

  it("tf_crop_and_resize: gradients through it (central differences), saved and loaded with its roi and value", () => {
    const inp = fovea.input([5, 6, 2]);
    const a = L.conv2d({ filters: 3, kernelSize: 3, padding: "same" }).apply(inp);
    const b = L.resize({ size: [4, 7], coordinates: "tf_crop_and_resize", roi: [0.2, 0.1, 0.9, 1.3], extrapolation: 0.5 }).apply(L.tanh().apply(a));
    const c = L.resize({ size: [5, 5], mode: "cubic", coordinates: "tf_crop_and_resize", roi: [-0.1, 0, 1.1, 0.6], extrapolation: -1 }).apply(a);
    const out = L.dense({ units: 3 }).apply(L.concat().apply(L.flatten().apply(b), L.flatten().apply(c)));
    const m = fovea.model({ inputs: inp, outputs: out, seed: 5 });
    const { x, y } = toyImages(3, [5, 6, 2], 3, 6);
    m.compile({ batchSize: 3, loss: "softmaxCrossEntropy", optimizer: fovea.train.sgd() });
    const r = fovea.train.gradCheck(m, x, y, { h: 1e-2, samples: 12 });
    for (const p of r.params) expect(p.relError < 1e-2 || p.absError < 1e-5, `${p.layer}.${p.param}: ${p.relError}`).toBe(true);
    const back = fovea.loadModel(m.save());
    expect(Array.from(back.predict(x))).toEqual(Array.from(m.predict(x)));
    m.free();
    back.free();
  });

  it("bad configs are ConfigErrors naming the layer", () => {
    expect(() => L.resize({ size: [2, 3], roi: [0, 0, 1, 1], name: "r" })).toThrow('resize "r": roi and extrapolation are options of coordinates "tf_crop_and_resize", not "half_pixel"');
    expect(() => L.resize({ size: [2, 3], coordinates: "tf_crop_and_resize", scales: [2, 2], name: "r" })).toThrow('resize "r": tf_crop_and_resize takes its output size, not scales');
    expect(() => L.resize({ size: [2, 3], coordinates: "tf_crop_and_resize", roi: [0, 0, 1, NaN] as [number, number, number, number], name: "r" })).toThrow('resize "r": roi must be four finite numbers');
    expect(() => L.resize({ size: [0, 3], name: "r" })).toThrow('resize "r": size[0] must be a whole number >= 1, got 0');
    expect(() => L.createLayer({ type: "resize", size: [2, 3], mode: "lanczos", name: "r" })).toThrow('resize "r": mode must be "nearest", "linear" or "cubic", got "lanczos"');
  });
});
