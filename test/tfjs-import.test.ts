// tfjs-layers models (model.json + weights) give tfjs-layers' own predictions in fovea.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import * as fovea from "../src/index.js";

// eslint-disable-next-line @typescript-eslint/no-explicit-any
let tf: any;

beforeAll(async () => {
  await fovea.init({ build: "simd" });
  tf = await import("@tensorflow/tfjs");
  await tf.setBackend("cpu");
});

/** The model's artifacts as tfjs saves them (model.json fields and the weight bytes). */
async function artifacts(model: { save(h: unknown, config?: unknown): Promise<unknown> }, config?: { includeOptimizer: boolean }) {
  let saved: { modelTopology: object; weightSpecs: object[]; weightData: ArrayBuffer } | null = null;
  await model.save(tf.io.withSaveHandler(async (a: typeof saved) => {
    saved = a;
    return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: "JSON" } };
  }), config);
  return saved!;
}

async function check(model: { predict(x: unknown): { dataSync(): Float32Array }; inputs: { shape: number[] }[] }, n = 3) {
  const shape = model.inputs[0]!.shape.slice(1);
  const size = shape.reduce((a, b) => a * b, 1);
  const x = Float32Array.from({ length: n * size }, (_, i) => Math.sin(i * 0.41));
  const want = model.predict(tf.tensor(x, [n, ...shape])).dataSync();
  const a = await artifacts(model as never);
  const m = fovea.importTfjs({ modelTopology: a.modelTopology, weightSpecs: a.weightSpecs as never }, a.weightData);
  const got = m.predict(x);
  expect(got.length).toBe(want.length);
  for (let i = 0; i < want.length; i++) expect(Math.abs(got[i]! - want[i]!)).toBeLessThanOrEqual(1e-4 * Math.max(1, Math.abs(want[i]!)));
  return { m, a };
}

describe("tfjs-layers import", () => {
  it("a Sequential CNN (conv, depthwise, batch norm, pools, dense, activations)", async () => {
    const model = tf.sequential({
      layers: [
        tf.layers.conv2d({ inputShape: [14, 12, 3], filters: 8, kernelSize: 3, padding: "same", activation: "relu" }),
        tf.layers.batchNormalization(),
        tf.layers.depthwiseConv2d({ kernelSize: 3, padding: "valid", depthMultiplier: 2 }),
        tf.layers.activation({ activation: "tanh" }),
        tf.layers.maxPooling2d({ poolSize: 2 }),
        tf.layers.averagePooling2d({ poolSize: 2, strides: 1, padding: "same" }),
        tf.layers.conv2d({ filters: 6, kernelSize: 3, strides: 2, dilationRate: 1, activation: "elu" }),
        tf.layers.flatten(),
        tf.layers.dropout({ rate: 0.2 }),
        tf.layers.dense({ units: 10, activation: "sigmoid" }),
        tf.layers.dense({ units: 4, activation: "softmax" }),
      ],
    });
    // moving statistics away from 0 / 1, so batch norm is really checked
    const bn = model.layers[1];
    bn.setWeights(bn.getWeights().map((w: { shape: number[] }, k: number) => tf.add(tf.randomUniform(w.shape, 0.5, 1.5, "float32", 3 + k), 0)));
    const { m } = await check(model);
    m.free();
  });

  it("a functional model with a residual add, a concat and global pooling, read from model.json + a shard", async () => {
    const inp = tf.input({ shape: [10, 10, 4] });
    const a = tf.layers.conv2d({ filters: 6, kernelSize: 3, padding: "same" }).apply(inp);
    const b = tf.layers.reLU().apply(tf.layers.conv2d({ filters: 6, kernelSize: 1 }).apply(a));
    const s = tf.layers.add().apply([a, b]);
    const c = tf.layers.concatenate().apply([s, tf.layers.leakyReLU({ alpha: 0.2 }).apply(a)]);
    const g = tf.layers.globalAveragePooling2d({}).apply(c);
    const out = tf.layers.dense({ units: 3 }).apply(g);
    const model = tf.model({ inputs: inp, outputs: out });
    const { m, a: art } = await check(model);
    m.free();
    // the same through files, as tfjs writes them
    const dir = mkdtempSync(join(tmpdir(), "fovea-tfjs-"));
    writeFileSync(join(dir, "model.json"), JSON.stringify({ format: "layers-model", modelTopology: art.modelTopology, weightsManifest: [{ paths: ["group1-shard1of1.bin"], weights: art.weightSpecs }] }));
    writeFileSync(join(dir, "group1-shard1of1.bin"), new Uint8Array(art.weightData));
    const f = await fovea.loadTfjsModel(join(dir, "model.json"));
    expect(f.countParams()).toBe(model.countParams());
    f.free();
  });

  it("unsupported layers and broken weights are FormatErrors", async () => {
    const model = tf.sequential({ layers: [tf.layers.dense({ inputShape: [4], units: 3 }), tf.layers.gaussianNoise({ stddev: 0.1 })] });
    const a = await artifacts(model);
    expect(() => fovea.importTfjs({ modelTopology: a.modelTopology, weightSpecs: a.weightSpecs as never }, a.weightData, { source: "m.json" }))
      .toThrow(/m\.json: layer 1 ".*" \(GaussianNoise\): not supported/);
    const ok = tf.sequential({ layers: [tf.layers.dense({ inputShape: [4], units: 3 })] });
    const b = await artifacts(ok);
    expect(() => fovea.importTfjs({ modelTopology: b.modelTopology, weightSpecs: b.weightSpecs as never }, b.weightData.slice(0, 20), { source: "m.json" }))
      .toThrow(/m\.json: the weight data ends at 20 bytes/);
  });

  it("LeakyReLU's slope as tfjs-layers and Keras 2 write it (alpha) and as Keras 3 does (negative_slope); both, differing, is a FormatError", async () => {
    const model = tf.sequential({ layers: [tf.layers.dense({ inputShape: [3], units: 4 }), tf.layers.leakyReLU({ alpha: 0.1 })] });
    const { m, a } = await check(model);
    m.free();
    // the same file with the slope under Keras 3's key (its LeakyReLU config has negative_slope, no alpha)
    const topo = JSON.parse(JSON.stringify(a.modelTopology)) as { config: { layers: { class_name: string; config: Record<string, unknown> }[] } };
    const cfg = topo.config.layers.find((l) => l.class_name === "LeakyReLU")!.config;
    expect(cfg.alpha).toBeCloseTo(0.1, 7);
    cfg.negative_slope = cfg.alpha;
    delete cfg.alpha;
    const x = Float32Array.from([-1, 0.5, 2, -3, 1, -0.25]);
    const want = model.predict(tf.tensor(x, [2, 3])).dataSync() as Float32Array;
    const k3 = fovea.importTfjs({ modelTopology: topo, weightSpecs: a.weightSpecs as never }, a.weightData);
    Array.from(k3.predict(x)).forEach((v, i) => expect(Math.abs(v - want[i]!)).toBeLessThanOrEqual(1e-6));
    k3.free();
    cfg.alpha = 0.3;
    expect(() => fovea.importTfjs({ modelTopology: topo, weightSpecs: a.weightSpecs as never }, a.weightData, { source: "k.json" }))
      .toThrow(/k\.json: layer "[^"]+" \(LeakyReLU\): alpha 0\.3 and negative_slope 0\.1\d* differ/);
  });

  it("what tfjs-layers predicts on: Dense and BatchNormalization on [L, C] and [H, W, C], the last axis as Keras counts it, a Sequential in a Sequential, a layer named with a slash, Conv2D groups", async () => {
    const rows = tf.sequential({ layers: [tf.layers.dense({ inputShape: [4, 6], units: 5, activation: "relu" }), tf.layers.batchNormalization({ axis: 2 }), tf.layers.dense({ units: 3, useBias: false }), tf.layers.softmax({ axis: -1 })] });
    const maps = tf.sequential({ layers: [tf.layers.conv2d({ inputShape: [5, 6, 2], filters: 4, kernelSize: 3 }), tf.layers.dense({ units: 3, activation: "tanh" }), tf.layers.batchNormalization()] });
    const inner = tf.sequential({ name: "inner", layers: [tf.layers.dense({ inputShape: [6], units: 5, activation: "relu", name: "block1/fc" }), tf.layers.dense({ units: 4 })] });
    const nested = tf.sequential({ layers: [inner, tf.layers.dense({ units: 2 })] });
    const a = tf.input({ shape: [6] });
    const cat = tf.layers.concatenate({ axis: 1 }).apply([tf.layers.dense({ units: 3 }).apply(a), tf.layers.dense({ units: 4 }).apply(a)]);
    const wide = tf.model({ inputs: a, outputs: tf.layers.softmax({ axis: 1 }).apply(tf.layers.batchNormalization({ axis: 1 }).apply(cat)) });
    for (const model of [rows, maps, nested, wide]) {
      for (const l of model.layers) if (l.getClassName() === "BatchNormalization") l.setWeights(l.getWeights().map((w: { shape: number[] }, k: number) => tf.randomUniform(w.shape, 0.5, 1.5, "float32", 7 + k)));
      const { m } = await check(model);
      expect(m.countParams()).toBe(model.countParams() - model.layers.filter((l: { getClassName(): string }) => l.getClassName() === "BatchNormalization").reduce((n: number, l: { getWeights(): { size: number }[] }) => n + l.getWeights()[2]!.size * 2, 0));
      m.free();
    }
    // Keras writes groups (tfjs does not): a grouped conv's kernel is [KH, KW, C / groups, filters]
    const plain = tf.sequential({ layers: [tf.layers.conv2d({ inputShape: [5, 5, 4], filters: 6, kernelSize: 3 })] });
    const art = await artifacts(plain);
    const topo = JSON.parse(JSON.stringify(art.modelTopology));
    topo.config.layers[0].config.groups = 2;
    const spec = JSON.parse(JSON.stringify(art.weightSpecs));
    spec[0].shape = [3, 3, 2, 6];
    const k = Float32Array.from({ length: 3 * 3 * 2 * 6 }, (_, i) => Math.cos(i * 0.7)), bias = Float32Array.from({ length: 6 }, (_, i) => i / 10);
    const bytes = new Uint8Array([...new Uint8Array(k.buffer), ...new Uint8Array(bias.buffer)]);
    const g = fovea.importTfjs({ modelTopology: topo, weightSpecs: spec }, bytes);
    const x = Float32Array.from({ length: 2 * 5 * 5 * 4 }, (_, i) => Math.sin(i * 0.3));
    const want = tf.add(tf.concat([0, 1].map((h) => tf.conv2d(tf.tensor(x, [2, 5, 5, 4]).slice([0, 0, 0, 2 * h], [2, 5, 5, 2]), tf.tensor(k, [3, 3, 2, 6]).slice([0, 0, 0, 3 * h], [3, 3, 2, 3]), 1, "valid")), 3), tf.tensor(bias)).dataSync() as Float32Array;
    Array.from(g.predict(x)).forEach((v, i) => expect(Math.abs(v - want[i]!)).toBeLessThanOrEqual(1e-5));
    g.free();
  });

  it("weights quantized as tfjs-converter writes them (uint8 and uint16: q·scale + min; float16) give tfjs's own predictions", async () => {
    const model = tf.sequential({ layers: [tf.layers.conv2d({ inputShape: [6, 6, 2], filters: 3, kernelSize: 3, activation: "relu" }), tf.layers.flatten(), tf.layers.dense({ units: 4 })] });
    const a = await artifacts(model);
    const floats = new Float32Array(a.weightData);
    const specs = a.weightSpecs as { name: string; shape: number[]; dtype: string }[];
    for (const kind of ["uint8", "uint16", "float16"] as const) {
      const parts: Uint8Array[] = [];
      let at = 0;
      const quantized = specs.map((sp) => {
        const n = sp.shape.reduce((p, q) => p * q, 1), w = floats.subarray(at, at + n);
        at += n;
        if (kind === "float16") {
          // random finite halves, subnormals and signed zeros among them
          const h = Uint16Array.from({ length: n }, (_, i) => (i * 40503 + 7 * n) & 0xffff).map((v) => ((v >> 10) & 31) === 31 ? v & 0x83ff : v);
          parts.push(new Uint8Array(h.buffer));
          return { ...sp, quantization: { dtype: kind } };
        }
        const levels = kind === "uint8" ? 255 : 65535, min = Math.min(...w), scale = (Math.max(...w) - min) / levels || 1;
        const levelsOf = Array.from(w, (v) => Math.round((v - min) / scale)), q = kind === "uint8" ? Uint8Array.from(levelsOf) : Uint16Array.from(levelsOf);
        parts.push(new Uint8Array(q.buffer));
        return { ...sp, quantization: { dtype: kind, scale, min } };
      });
      const data = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
      parts.reduce((o, p) => (data.set(p, o), o + p.length), 0);
      const tfm = await tf.loadLayersModel(tf.io.fromMemory({ modelTopology: a.modelTopology, weightSpecs: quantized, weightData: data.buffer }));
      const x = Float32Array.from({ length: 2 * 72 }, (_, i) => Math.sin(i * 0.41));
      const want = tfm.predict(tf.tensor(x, [2, 6, 6, 2])).dataSync() as Float32Array;
      const m = fovea.importTfjs({ modelTopology: a.modelTopology, weightSpecs: quantized as never }, data, { source: `${kind}.json` });
      const got = m.predict(x), scale = Math.max(...Array.from(want, Math.abs));
      Array.from(got).forEach((v, i) => expect(Math.abs(v - want[i]!), `${kind} ${i}`).toBeLessThanOrEqual(1e-5 * scale));
      m.free();
    }
    const bad = (q: unknown) => () => fovea.importTfjs({ modelTopology: a.modelTopology, weightSpecs: specs.map((sp, i) => (i === 0 ? { ...sp, quantization: q } : sp)) as never }, a.weightData, { source: "q.json" });
    expect(bad({ dtype: "uint4", scale: 1, min: 0 })).toThrow(/q\.json: weight "[^"]+": quantization \{"dtype":"uint4","scale":1,"min":0\} of dtype "float32" is not one tfjs reads/);
    expect(bad({ dtype: "uint8" })).toThrow(/with a finite scale and min/);
  });

  it("trainable: false freezes the layer, as tfjs trains it (its batch norm's statistics still follow the batches)", async () => {
    const model = tf.sequential({ layers: [tf.layers.dense({ inputShape: [6], units: 5, trainable: false, name: "base" }), tf.layers.dense({ units: 3, name: "head" })] });
    const a = await artifacts(model);
    const m = fovea.importTfjs({ modelTopology: a.modelTopology, weightSpecs: a.weightSpecs as never }, a.weightData);
    expect(m.countParams()).toBe(model.trainableWeights.reduce((n: number, w: { shape: number[] }) => n + w.shape.reduce((p, q) => p * q, 1), 0));
    const base = Array.from(m.getWeights().find((w) => w.layer === "base" && w.name === "kernel")!.values);
    m.compile({ batchSize: 4, loss: "softmaxCrossEntropy", optimizer: fovea.train.sgd({ lr: 0.5 }) });
    m.fit(Float32Array.from({ length: 24 }, (_, i) => Math.sin(i)), Int32Array.from([0, 1, 2, 1]), { epochs: 2 });
    expect(Array.from(m.getWeights().find((w) => w.layer === "base" && w.name === "kernel")!.values)).toEqual(base);
    m.free();
  });

  it("files that tfjs refuses are FormatErrors naming what is wrong: weight shapes, weights no layer reads, axes other than the last, several inputs", async () => {
    const model = tf.sequential({ layers: [tf.layers.dense({ inputShape: [4], units: 3, name: "d" })] });
    const a = await artifacts(model);
    const load = (edit: (t: any, s: any[]) => Uint8Array | void) => () => { // eslint-disable-line @typescript-eslint/no-explicit-any
      const t = JSON.parse(JSON.stringify(a.modelTopology)), s = JSON.parse(JSON.stringify(a.weightSpecs));
      const data = edit(t, s) ?? new Uint8Array(a.weightData);
      return fovea.importTfjs({ modelTopology: t, weightSpecs: s }, data, { source: "m.json" });
    };
    expect(load((_, s) => void (s[0].shape = [3, 4]))).toThrow(/^m\.json: weight "d\/kernel" is \[3, 4\] in the weights manifest; layer "d" needs \[4, 3\]$/);
    expect(load((_, s) => void (s[1].shape = [1, 3]))).toThrow(/weight "d\/bias" is \[1, 3\] in the weights manifest; layer "d" needs \[3\]/);
    expect(load((_, s) => { s.push({ name: "ghost/kernel", shape: [2], dtype: "float32" }); return new Uint8Array([...new Uint8Array(a.weightData), ...new Uint8Array(8)]); }))
      .toThrow(/^m\.json: the weights manifest holds a weight that no layer reads: "ghost\/kernel"$/);
    expect(load((_, s) => { s[0].name = "s1/d/kernel"; s.push({ name: "s2/d/kernel", shape: [4, 3], dtype: "float32" }); return new Uint8Array([...new Uint8Array(a.weightData), ...new Uint8Array(48)]); }))
      .toThrow(/2 weights in the manifest end in "d\/kernel": "s1\/d\/kernel", "s2\/d\/kernel"/);
    expect(load((_, s) => { s.push({ name: "scope/d/kernel", shape: [4, 3], dtype: "float32" }); return new Uint8Array([...new Uint8Array(a.weightData), ...new Uint8Array(48)]); }))
      .toThrow(/the weights manifest holds a weight that no layer reads: "scope\/d\/kernel"/);
    // an optimizer's weights (model.save({ includeOptimizer: true })) are not the layers'
    const withOpt = load((_, s) => { s.push({ name: "d/kernel/m", shape: [4, 3], dtype: "float32", group: "optimizer" }); return new Uint8Array([...new Uint8Array(a.weightData), ...new Uint8Array(48)]); })();
    withOpt.free();
    expect(load((t) => void t.config.layers.push({ class_name: "Softmax", config: { name: "s", axis: 2 } }))).toThrow(/layer 1 "s" \(Softmax\): axis 2 of an input of \[3\] \(rank 2 with its batch\): only the last axis \(-1 or 1\) is supported/);
    const conv = tf.sequential({ layers: [tf.layers.conv2d({ inputShape: [4, 4, 2], filters: 3, kernelSize: 1, name: "c" }), tf.layers.softmax({ name: "s" })] });
    const ca = await artifacts(conv);
    expect(() => fovea.importTfjs({ modelTopology: ca.modelTopology, weightSpecs: ca.weightSpecs as never }, ca.weightData, { source: "c.json" }))
      .toThrow(/c\.json: layer 1 "s" \(Softmax\): axis 1 of an input of \[4, 4, 3\] \(rank 4 with its batch\): only the last axis \(-1 or 3\) is supported/);
    const x1 = tf.input({ shape: [3], name: "in_a" }), x2 = tf.input({ shape: [3], name: "in_b" });
    const two = tf.model({ inputs: [x1, x2], outputs: tf.layers.add().apply([x1, tf.layers.dense({ units: 3 }).apply(x2)]) });
    const ta = await artifacts(two);
    expect(() => fovea.importTfjs({ modelTopology: ta.modelTopology, weightSpecs: ta.weightSpecs as never }, ta.weightData, { source: "two.json" }))
      .toThrow(/^two\.json: 2 inputs \("in_a", "in_b"\); a model with one input is supported$/);
  });

  it("DepthwiseConv2D's dilation_rate as Keras and TensorFlow's op apply it (tfjs-layers 4.22's layer ignores it in predict: its TODO)", async () => {
    const model = tf.sequential({ layers: [tf.layers.depthwiseConv2d({ inputShape: [9, 10, 2], kernelSize: 3, dilationRate: 2, padding: "same", depthMultiplier: 2 })] });
    const a = await artifacts(model);
    const m = fovea.importTfjs({ modelTopology: a.modelTopology, weightSpecs: a.weightSpecs as never }, a.weightData);
    const x = Float32Array.from({ length: 180 }, (_, i) => Math.sin(i * 0.37));
    const [k, b] = model.layers[0].getWeights();
    const want = tf.add(tf.depthwiseConv2d(tf.tensor(x, [1, 9, 10, 2]), k, 1, "same", "NHWC", 2), b).dataSync() as Float32Array;
    Array.from(m.predict(x)).forEach((v, i) => expect(Math.abs(v - want[i]!)).toBeLessThanOrEqual(1e-5));
    m.free();
  });

  it("what the review found: a nested Sequential's own InputLayer, an optimizer saved with the model, exact names before scoped ones, Keras 2's axis [3], groups that do not divide, names fovea adds that the file uses", async () => {
    const same = async (t: object, a: { weightSpecs: object[]; weightData: ArrayBuffer }, x: Float32Array, dims: number[]) => {
      const tm = await tf.loadLayersModel(tf.io.fromMemory({ modelTopology: t, weightSpecs: a.weightSpecs, weightData: a.weightData }));
      const want = tm.predict(tf.tensor(x, dims)).dataSync() as Float32Array;
      const m = fovea.importTfjs({ modelTopology: t, weightSpecs: a.weightSpecs as never }, a.weightData);
      Array.from(m.predict(x)).forEach((v, i) => expect(Math.abs(v - want[i]!)).toBeLessThanOrEqual(1e-5));
      m.free();
    };
    // Keras 2 writes an InputLayer first in a Sequential built from keras.Input: inside another Sequential it is the shape it takes
    const outer = tf.sequential({ layers: [tf.layers.dense({ inputShape: [4], units: 6, name: "first" }), tf.sequential({ name: "inner", layers: [tf.layers.dense({ inputShape: [6], units: 3, name: "fc" })] })] });
    const a = await artifacts(outer), t = JSON.parse(JSON.stringify(a.modelTopology));
    t.config.layers[1].config.layers.unshift({ class_name: "InputLayer", config: { batch_input_shape: [null, 6], dtype: "float32", sparse: false, name: "inner_input" } });
    await same(t, a, Float32Array.from({ length: 8 }, (_, i) => Math.sin(i)), [2, 4]);
    t.config.layers[1].config.layers[0].config.batch_input_shape = [null, 5];
    expect(() => fovea.importTfjs({ modelTopology: t, weightSpecs: a.weightSpecs as never }, a.weightData, { source: "n.json" })).toThrow(/n\.json: layer 1 "inner_input" \(InputLayer\): takes \[5\], where the layers before it give \[6\]/);
    // model.save(…, { includeOptimizer: true }): Adam's state, "iter" an int32, in the group "optimizer"
    const trained = tf.sequential({ layers: [tf.layers.dense({ inputShape: [4], units: 3, name: "d" })] });
    trained.compile({ optimizer: "adam", loss: "meanSquaredError" });
    await trained.fit(tf.ones([8, 4]), tf.ones([8, 3]), { epochs: 1, verbose: 0 });
    const withOpt = await artifacts(trained, { includeOptimizer: true });
    expect((withOpt.weightSpecs as { group?: string; dtype: string }[]).some((w) => w.group === "optimizer" && w.dtype === "int32")).toBe(true);
    await same(withOpt.modelTopology, withOpt, Float32Array.from({ length: 8 }, (_, i) => Math.cos(i)), [2, 4]);
    // layers "a/b" and "b": their weights "a/b/kernel" and "b/kernel" (tfjs matches names exactly)
    const slash = tf.sequential({ layers: [tf.layers.dense({ inputShape: [3], units: 4, name: "a/b" }), tf.layers.dense({ units: 2, name: "b" })] });
    const sa = await artifacts(slash);
    await same(sa.modelTopology, sa, Float32Array.from({ length: 6 }, (_, i) => i / 3), [2, 3]);
    // BatchNormalization's axis as Keras 2 writes it, [3]; a Dense on [L, C] named so that fovea's reshapes' names are taken
    const bn = tf.sequential({ layers: [tf.layers.conv2d({ inputShape: [4, 4, 2], filters: 3, kernelSize: 1 }), tf.layers.batchNormalization({ axis: 3 })] });
    const ba = await artifacts(bn), bt = JSON.parse(JSON.stringify(ba.modelTopology));
    bt.config.layers[1].config.axis = [3];
    await same(bt, ba, Float32Array.from({ length: 32 }, (_, i) => Math.sin(i * 0.7)), [1, 4, 4, 2]);
    const named = tf.sequential({ layers: [tf.layers.dense({ inputShape: [3, 4], units: 2, name: "d" }), tf.layers.flatten({ name: "d_back" }), tf.layers.dense({ units: 2, name: "d_rows" })] });
    const na = await artifacts(named);
    await same(na.modelTopology, na, Float32Array.from({ length: 24 }, (_, i) => Math.sin(i * 0.3)), [2, 3, 4]);
    const conv = tf.sequential({ layers: [tf.layers.conv2d({ inputShape: [5, 5, 3], filters: 4, kernelSize: 3, name: "c" })] });
    const ca = await artifacts(conv), ct = JSON.parse(JSON.stringify(ca.modelTopology));
    for (const g of [2, 0, -1, "2"]) {
      ct.config.layers[0].config.groups = g;
      expect(() => fovea.importTfjs({ modelTopology: ct, weightSpecs: ca.weightSpecs as never }, ca.weightData, { source: "g.json" }))
        .toThrow(`g.json: layer 0 "c" (Conv2D): groups ${JSON.stringify(g)} must be a whole number >= 1 that divides the 3 input channels and the 4 filters`);
    }
    const q = (ca.weightSpecs as object[]).map((w, i) => (i ? w : { ...w, quantization: { dtype: "constructor", scale: 1, min: 0 } }));
    expect(() => fovea.importTfjs({ modelTopology: ca.modelTopology, weightSpecs: q as never }, ca.weightData, { source: "q.json" })).toThrow(/q\.json: weight "c\/kernel": quantization \{"dtype":"constructor"/);
  });
});
