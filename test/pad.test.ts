// The pad layer (constant value, edge, reflect; forward checked against PyTorch's F.pad in
// test/onnx.test.ts's "pads" fixture and against the ONNX node tests): its backward through a
// whole-model gradient check (central differences, bound 1e-2 relative), a forward by definition,
// export to ONNX run in onnxruntime-node, config round-trip and bad configs.
import { createRequire } from "node:module";
import { beforeAll, describe, expect, it } from "vitest";
import * as fovea from "../src/index.js";
import { toyImages } from "./helpers/models.js";

const { layers: L } = fovea;
const require = createRequire(import.meta.url);
const ort = require("onnxruntime-node") as {
  InferenceSession: { create(b: Uint8Array): Promise<{ run(f: Record<string, unknown>): Promise<Record<string, { data: Float32Array }>> }> };
  Tensor: new (t: string, d: Float32Array, dims: number[]) => unknown;
};

beforeAll(async () => {
  await fovea.init({ build: "simd", threads: 1 });
});

describe("pad", () => {
  it("reflect and edge by definition (one channel, 3×4, pads [2, 1, 3, 2])", () => {
    const inp = fovea.input([3, 4, 1]);
    const x = Float32Array.from({ length: 12 }, (_, i) => i);
    for (const mode of ["reflect", "edge"] as const) {
      const m = fovea.model({ inputs: inp, outputs: L.pad({ padding: [2, 1, 3, 2], mode }).apply(inp) });
      const y = m.predict(x);
      const src = (i: number, n: number) => (mode === "edge" ? Math.min(Math.max(i, 0), n - 1) : i < 0 ? -i : i >= n ? 2 * (n - 1) - i : i);
      const want: number[] = [];
      for (let h = -2; h < 4; h++) for (let w = -3; w < 6; w++) want.push(x[src(h, 3) * 4 + src(w, 4)]!);
      expect(Array.from(y)).toEqual(want);
      m.free();
    }
  });

  it("gradients through reflect, edge and constant padding between convs; export runs in onnxruntime-node", async () => {
    const inp = fovea.input([5, 4, 2]);
    const a = L.conv2d({ filters: 3, kernelSize: 3, padding: "same" }).apply(inp);
    const b = L.conv2d({ filters: 2, kernelSize: 3 }).apply(L.pad({ padding: [1, 2, 2, 1], mode: "reflect" }).apply(L.tanh().apply(a)));
    const c = L.conv2d({ filters: 2, kernelSize: 3 }).apply(L.pad({ padding: [2, 0, 1, 1], mode: "edge" }).apply(b));
    const d = L.pad({ padding: [1, 1, 0, 2], value: -0.5 }).apply(c);
    const m = fovea.model({ inputs: inp, outputs: L.dense({ units: 3 }).apply(L.flatten().apply(d)), seed: 5 });
    const { x, y } = toyImages(3, [5, 4, 2], 3, 5);
    m.compile({ batchSize: 3, loss: "softmaxCrossEntropy", optimizer: fovea.train.sgd() });
    const r = fovea.train.gradCheck(m, x, y, { h: 1e-2, samples: 12 });
    for (const p of r.params) expect(p.relError < 1e-2 || p.absError < 1e-5, `${p.layer}.${p.param}: ${p.relError}`).toBe(true);
    // onnxruntime on the exported graph (NCHW input) gives fovea's outputs
    const want = m.predict(x);
    const nchw = new Float32Array(x.length);
    for (let n = 0; n < 3; n++) for (let h = 0; h < 5; h++) for (let w = 0; w < 4; w++) for (let ch = 0; ch < 2; ch++) nchw[((n * 2 + ch) * 5 + h) * 4 + w] = x[((n * 5 + h) * 4 + w) * 2 + ch]!;
    const sess = await ort.InferenceSession.create(await fovea.exportOnnx(m));
    const got = (await sess.run({ input: new ort.Tensor("float32", nchw, [3, 2, 5, 4]) })).output!.data;
    for (let i = 0; i < want.length; i++) expect(Math.abs(got[i]! - want[i]!)).toBeLessThan(1e-4 * Math.max(1, Math.abs(want[i]!)));
    const back = fovea.loadModel(m.save());
    expect(Array.from(back.predict(x))).toEqual(Array.from(want));
    m.free();
    back.free();
  });

  it("bad configs are ConfigErrors or ShapeErrors naming the layer", () => {
    expect(() => L.createLayer({ type: "pad", padding: [1, 2, 3], name: "p" })).toThrow('pad "p": padding must be [top, bottom, left, right]');
    expect(() => L.pad({ padding: [3, 0, 0, 0], mode: "reflect", name: "p" }).apply(fovea.input([3, 3, 1]))).toThrow('pad "p": reflect padding [3, 0, 0, 0] must be below the image\'s 3x3');
    for (const mode of ["edge", "reflect"] as const) {
      expect(() => L.pad({ padding: [1, 1, 1, 1], mode, value: 2, name: "p" })).toThrow(`pad "p": value 2 pads in mode "constant" only; mode "${mode}" takes the border from the image`);
      expect(() => L.pad({ padding: [1, 1, 1, 1], mode, value: 0 })).not.toThrow(); // a saved layer's config carries value 0
    }
  });

  it("a saved model whose reflect pad carries a value (written before it was refused) loads, the value unused as it always was", () => {
    const make = () => fovea.sequential([L.pad({ padding: [1, 1, 2, 0], mode: "reflect", name: "p" }), L.flatten(), L.dense({ units: 2 })], { inputShape: [3, 3, 1], seed: 4 });
    const m = make();
    const json = fovea.toJSON(m);
    const old = { ...json, layers: json.layers.map((l) => (l.config.type === "pad" ? { ...l, config: { ...l.config, value: 2 } } : l)) };
    const back = fovea.modelFromTopology(old, { seed: 4 });
    const x = Float32Array.from({ length: 9 }, (_, i) => i - 4);
    expect(back.predict(x)).toEqual(m.predict(x));
    // a layer type read from a file that names a property of every object is no layer (the fuzz campaign of seed 90819)
    for (const type of ["hasOwnProperty", "constructor", "__proto__", "toString"]) {
      const bad = { ...json, layers: json.layers.map((l) => (l.config.type === "pad" ? { ...l, config: { ...l.config, type } } : l)) };
      expect(() => fovea.modelFromTopology(bad), type).toThrow(fovea.FormatError);
    }
    m.free();
    back.free();
  });

  it("an ONNX Pad in mode reflect or edge with a constant_value imports as onnxruntime runs it: the value unused", async () => {
    const { onnx } = require("onnx-proto") as { onnx: { ModelProto: { fromObject(o: object): object; encode(m: object): { finish(): Uint8Array } } } };
    const vi = (name: string, dims: number[]) => ({ name, type: { tensorType: { elemType: 1, shape: { dim: dims.map((d) => ({ dimValue: d })) } } } });
    const x = Float32Array.from({ length: 12 }, (_, i) => Math.sin(i) * 3);
    for (const mode of ["reflect", "edge"]) {
      const bytes = onnx.ModelProto.encode(onnx.ModelProto.fromObject({
        irVersion: 7, opsetImport: [{ domain: "", version: 13 }],
        graph: {
          name: "g", input: [vi("x", [1, 1, 3, 4])], output: [vi("y", [1, 1, 5, 7])],
          node: [{ opType: "Pad", name: "p", input: ["x", "pads", "v"], output: ["y"], attribute: [{ name: "mode", type: 3, s: new TextEncoder().encode(mode) }] }],
          initializer: [{ name: "pads", dims: [8], dataType: 7, int64Data: [0, 0, 1, 2, 0, 0, 1, 1] }, { name: "v", dims: [], dataType: 1, floatData: [5] }],
        },
      })).finish();
      const sess = await ort.InferenceSession.create(bytes);
      const want = (await sess.run({ x: new ort.Tensor("float32", x, [1, 1, 3, 4]) })).y!.data;
      const m = await fovea.importOnnx(bytes);
      expect(Array.from(m.predict(x)), mode).toEqual(Array.from(want));
      m.free();
    }
  });
});
