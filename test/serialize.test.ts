import { beforeAll, describe, expect, it } from "vitest";
import * as fovea from "../src/index.js";
import { toyImages } from "./helpers/models.js";

const { layers: L, train: T } = fovea;

beforeAll(async () => {
  await fovea.init({ build: "simd" });
});

function trainedResidual() {
  const inp = fovea.input([6, 6, 2]);
  const a = L.conv2d({ filters: 4, kernelSize: 3, padding: "same", name: "a" }).apply(inp);
  const b = L.relu({ name: "b" }).apply(L.batchNorm({ name: "bn" }).apply(a));
  const c = L.conv2d({ filters: 4, kernelSize: 3, padding: 1, name: "c" }).apply(b);
  const s = L.add({ name: "s" }).apply(c, a);
  const out = L.softmax({ name: "p" }).apply(L.dense({ units: 3, name: "fc" }).apply(L.flatten({ name: "f" }).apply(s)));
  const m = fovea.model({ inputs: inp, outputs: out, name: "res", seed: 3 });
  m.compile({ batchSize: 4, loss: "softmaxCrossEntropy", optimizer: T.adam({ lr: 0.01 }) });
  const { x, y } = toyImages(8, [6, 6, 2], 3, 2);
  m.fit(x, y, { epochs: 2 });
  return { m, x };
}

describe("native format", () => {
  it("round-trips bit-exactly: every parameter (batch-norm statistics too) and every prediction", () => {
    const { m, x } = trainedResidual();
    const bytes = m.save();
    const back = fovea.loadModel(bytes);
    expect(back.name).toBe("res");
    expect(back.layers.map((l) => l.name)).toEqual(m.layers.map((l) => l.name));
    const pa = m.params.map((p) => Array.from(m.backend.heap.f32(p.w, p.size)));
    const pb = back.params.map((p) => Array.from(back.backend.heap.f32(p.w, p.size)));
    expect(pb).toEqual(pa);
    expect(Array.from(back.predict(x))).toEqual(Array.from(m.predict(x)));
    expect(Array.from(fovea.saveModel(back))).toEqual(Array.from(bytes));
    m.free();
    back.free();
  });

  it("a loaded model's generator is where drawing its weights from the seed leaves it (its shuffles and dropout do not depend on how it was made)", () => {
    const m = fovea.zoo.lenet5Bn({ seed: 1 });
    const loaded = fovea.loadModel(m.save(), { seed: 7 }), drawn = fovea.modelFromTopology(JSON.stringify(fovea.toJSON(m)), { seed: 7 });
    expect(loaded.rng.state()).toEqual(drawn.rng.state());
    expect(loaded.rng.state()).not.toEqual(new fovea.Rng(7).state());
    [m, loaded, drawn].forEach((x) => x.free());
  });

  it("sequential models and the zoo round-trip too", () => {
    const m = fovea.zoo.lenet5({ seed: 4 });
    const back = fovea.loadModel(m.save());
    const x = new Float32Array(2 * 784).map((_, i) => Math.cos(i));
    expect(Array.from(back.predict(x))).toEqual(Array.from(m.predict(x)));
    expect(back.countParams()).toBe(61_706);
    m.free();
    back.free();
  });

  it("bad files are FormatErrors naming what is wrong, and change nothing", () => {
    const m = fovea.sequential([L.dense({ units: 2, name: "d" })], { inputShape: [3] });
    const good = m.save();
    m.free();
    const be = fovea.getBackend();
    const before = be.heap.stats().inUseBytes;
    const bad = (f: (b: Uint8Array) => Uint8Array, msg: RegExp) => {
      expect(() => fovea.loadModel(f(good.slice()), { source: "x.fovea" })).toThrow(fovea.FormatError);
      expect(() => fovea.loadModel(f(good.slice()), { source: "x.fovea" })).toThrow(msg);
      expect(be.heap.stats().inUseBytes).toBe(before);
    };
    bad((b) => { b[0] = 0x47; return b; }, /x\.fovea: not a fovea model \(bad magic/);
    bad((b) => { b[8] = 9; return b; }, /format version 9 is not supported/);
    bad((b) => b.subarray(0, b.length - 4), /truncated or padded: 28 weight bytes, the topology needs 32/);
    bad((b) => b.subarray(0, 40), /truncated: the topology claims/);
    bad((b) => { b[16] = 0x21; return b; }, /the topology is not valid JSON/);
    const json = () => JSON.parse(new TextDecoder().decode(good.subarray(16, 16 + new DataView(good.buffer).getUint32(12, true))));
    const withJson = (edit: (j: fovea.ModelJSON) => void) => (b: Uint8Array) => {
      const j = json();
      edit(j);
      const text = new TextEncoder().encode(JSON.stringify(j));
      const oldLen = new DataView(b.buffer).getUint32(12, true);
      const wOld = 16 + oldLen + ((4 - ((16 + oldLen) % 4)) % 4);
      const pad = (4 - ((16 + text.length) % 4)) % 4;
      const out = new Uint8Array(16 + text.length + pad + (b.length - wOld));
      out.set(b.subarray(0, 16));
      new DataView(out.buffer).setUint32(12, text.length, true);
      out.set(text, 16);
      out.set(b.subarray(wOld), 16 + text.length + pad);
      return out;
    };
    bad(withJson((j) => { j.layers[0]!.config.type = "conv3d"; }), /bad topology: unknown layer type "conv3d"/);
    bad(withJson((j) => { j.layers[0]!.config.unitz = 3; }), /bad topology: dense "d": unknown option "unitz"/);
    bad(withJson((j) => { j.layers[0]!.config.units = 4; }), /truncated or padded|parameter 0 is d.kernel\[3, 2\], the layers expect d.kernel\[3, 4\]/);
    bad((b) => { new DataView(b.buffer).setFloat32(b.length - 8, NaN, true); return b; }, /weight 6 is NaN \(layer "d", bias\[2\]\); weights must be finite/);
  });
});

describe("topology-only models (model.json)", () => {
  it("rebuilds the layers with fresh weights from a seed; bad JSON is a FormatError", () => {
    const m = fovea.zoo.convnetjsCifar10({ seed: 1 });
    const json = JSON.stringify(fovea.toJSON(m));
    const a = fovea.modelFromTopology(json, { seed: 7 }), b = fovea.modelFromTopology(json, { seed: 7 });
    expect(a.layers.map((l) => l.config())).toEqual(m.layers.map((l) => l.config()));
    expect(a.countParams()).toBe(22_466);
    const w = (x: fovea.Model) => Array.from(x.getWeights()[0]!.values);
    expect(w(a)).toEqual(w(b));
    expect(w(a)).not.toEqual(w(m));
    expect(() => fovea.modelFromTopology("{ nope", { source: "m.json" })).toThrow(/m\.json: not valid JSON/);
    expect(() => fovea.modelFromTopology(JSON.stringify({ format: "x" }), { source: "m.json" })).toThrow(/m\.json: not a fovea model topology/);
    [m, a, b].forEach((x) => x.free());
  });
});
