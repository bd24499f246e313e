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
async function artifacts(model: { save(h: unknown): Promise<unknown> }) {
  let saved: { modelTopology: object; weightSpecs: object[]; weightData: ArrayBuffer } | null = null;
  await model.save(tf.io.withSaveHandler(async (a: typeof saved) => {
    saved = a;
    return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: "JSON" } };
  }));
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
});
