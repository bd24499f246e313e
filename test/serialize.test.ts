import { beforeAll, describe, expect, it } from "vitest";
import * as fovea from "../src/index.js";
import { topologyOf, toyImages, withTopologyText } from "./helpers/models.js";
import { readFileSync } from "node:fs";
import { PNG } from "pngjs";
import { crc32 } from "../src/model/save.js";

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
    // contents that are wrong under a CRC that fits them: the checks behind the CRC
    const stamped = (f: (b: Uint8Array) => Uint8Array) => (b: Uint8Array) => {
      const body = f(b.subarray(0, b.length - 4)), out = new Uint8Array(body.length + 4);
      out.set(body);
      new DataView(out.buffer).setUint32(body.length, crc32(body), true);
      return out;
    };
    bad((b) => { b[0] = 0x47; return b; }, /x\.fovea: not a fovea model \(bad magic/);
    bad((b) => { b[8] = 9; return b; }, /format version 9 is not supported \(this fovea reads versions 1 to 3\)/);
    bad((b) => b.subarray(0, b.length - 4), /^x\.fovea: corrupt or truncated: CRC-32 [0-9a-f]{8} of 356 bytes, the file says [0-9a-f]{8}$/);
    bad((b) => b.subarray(0, 19), /^x\.fovea: truncated: 19 bytes, too short for the header and the CRC-32$/);
    bad(stamped((b) => b.subarray(0, b.length - 4)), /truncated or padded: 28 weight bytes, the topology needs 32/);
    bad(stamped((b) => b.subarray(0, 40)), /truncated: the topology claims/);
    bad(stamped((b) => { b[16] = 0x21; return b; }), /the topology is not valid JSON/);
    const withJson = (edit: (j: fovea.ModelJSON) => void) => (b: Uint8Array) => {
      const j = JSON.parse(topologyOf(b)) as fovea.ModelJSON;
      edit(j);
      return withTopologyText(b, JSON.stringify(j));
    };
    bad(withJson((j) => { j.layers[0]!.config.type = "conv3d"; }), /bad topology: unknown layer type "conv3d"/);
    bad(withJson((j) => { j.layers[0]!.config.unitz = 3; }), /bad topology: dense "d": unknown option "unitz"/);
    bad(withJson((j) => { j.layers[0]!.config.units = 4; }), /truncated or padded|parameter 0 is d.kernel\[3, 2\], the layers expect d.kernel\[3, 4\]/);
    bad((b) => withTopologyText(b, topologyOf(b), (w) => { new DataView(w.buffer).setFloat32(w.length - 8, NaN, true); return w; }), /weight 6 is NaN \(layer "d", bias\[2\]\); weights must be finite/);
  });

  it("bit flips anywhere and cuts at every length: a FormatError naming the file or the identical model, nothing allocated", () => {
    const m = fovea.zoo.lenet5({ seed: 2 });
    m.classes = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"];
    const bytes = m.save();
    m.free();
    const be = fovea.getBackend();
    const before = be.heap.stats().inUseBytes;
    let errors = 0;
    // every byte of the header and the topology, every 97th of the weights, and the CRC's
    const jsonEnd = 16 + new DataView(bytes.buffer).getUint32(12, true);
    for (let i = 0; i < bytes.length; i += i < jsonEnd || i >= bytes.length - 8 ? 1 : 97) {
      const b = bytes.slice();
      b[i]! ^= 1 << (i % 8);
      try {
        const back = fovea.loadModel(b, { source: "flip.fovea" });
        expect(Array.from(back.save()), `byte ${i}`).toEqual(Array.from(bytes));
        back.free();
      } catch (e) {
        expect(e, `byte ${i}`).toBeInstanceOf(fovea.FormatError);
        expect((e as Error).message).toMatch(/^flip\.fovea: /);
        errors++;
      }
    }
    for (let n = 0; n < bytes.length; n += n < jsonEnd ? 1 : 211) {
      expect(() => fovea.loadModel(bytes.subarray(0, n), { source: "cut.fovea" }), `${n} bytes`).toThrow(/^cut\.fovea: /);
    }
    expect(errors).toBeGreaterThan(jsonEnd);
    expect(be.heap.stats().inUseBytes).toBe(before);
  });

  it("version 1 files (no CRC-32, saved before it) still load, bit for bit", () => {
    const m = fovea.zoo.lenet5({ seed: 3 });
    const v2 = m.save();
    const v1 = v2.slice(0, v2.length - 4);
    new DataView(v1.buffer).setUint32(8, 1, true);
    const back = fovea.loadModel(v1, { source: "old.fovea" });
    expect(Array.from(back.save())).toEqual(Array.from(v2));
    expect(() => fovea.loadModel(v1.subarray(0, v1.length - 4), { source: "old.fovea" })).toThrow(/^old\.fovea: truncated or padded: 246820 weight bytes, the topology needs 246824$/);
    // the model the browser example ships, saved in version 1
    const shipped = fovea.loadModel(new Uint8Array(readFileSync(new URL("../examples/browser/lenet5-mnist.fovea", import.meta.url))));
    expect(new DataView(readFileSync(new URL("../examples/browser/lenet5-mnist.fovea", import.meta.url)).buffer).getUint32(8, true)).toBe(1);
    [m, back, shipped].forEach((x) => x.free());
  });

  it("crc32 is the standard CRC-32: its check value, and the chunk CRCs pngjs writes", () => {
    expect(crc32(new TextEncoder().encode("123456789"))).toBe(0xcbf43926);
    expect(crc32(new Uint8Array(0))).toBe(0);
    // continuing from a CRC, and every alignment of the 8-byte loop
    const text = new TextEncoder().encode("The quick brown fox jumps over the lazy dog");
    expect(crc32(text)).toBe(0x414fa339);
    for (let k = 0; k < text.length; k++) expect(crc32(text.subarray(k), crc32(text.subarray(0, k)))).toBe(0x414fa339);
    const png = PNG.sync.write(Object.assign(new PNG({ width: 13, height: 7 }), { data: Buffer.from(Array.from({ length: 13 * 7 * 4 }, (_, i) => (i * 37) & 255)) }));
    let chunks = 0;
    for (let at = 8; at < png.length; chunks++) {
      const len = png.readUInt32BE(at);
      expect(crc32(png.subarray(at + 4, at + 8 + len))).toBe(png.readUInt32BE(at + 8 + len));
      at += 12 + len;
    }
    expect(chunks).toBeGreaterThanOrEqual(3);
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
