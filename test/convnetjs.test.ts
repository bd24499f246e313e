// ConvNetJS layer_defs: the same nets as the convnetjs package builds (shapes, parameter
// counts, layer sequence), its heads' losses, and its option checking.
import { createRequire } from "node:module";
import { beforeAll, describe, expect, it } from "vitest";
import * as fovea from "../src/index.js";

const require = createRequire(import.meta.url);
interface CnjLayer { layer_type: string; out_sx: number; out_sy: number; out_depth: number; getParamsAndGrads(): { params: ArrayLike<number> }[] }
const convnetjsPkg = require("convnetjs") as { Net: new () => { makeLayers(d: unknown[]): void; layers: CnjLayer[] } };

beforeAll(async () => {
  await fovea.init({ build: "simd" });
});

const CIFAR: fovea.ConvNetJSLayerDef[] = [
  { type: "input", out_sx: 32, out_sy: 32, out_depth: 3 },
  { type: "conv", sx: 5, filters: 16, stride: 1, pad: 2, activation: "relu" },
  { type: "pool", sx: 2, stride: 2 },
  { type: "conv", sx: 5, filters: 20, stride: 1, pad: 2, activation: "relu" },
  { type: "pool", sx: 2, stride: 2 },
  { type: "conv", sx: 5, filters: 20, stride: 1, pad: 2, activation: "relu" },
  { type: "pool", sx: 2, stride: 2 },
  { type: "softmax", num_classes: 10 },
];

const OTHERS: fovea.ConvNetJSLayerDef[][] = [
  // MNIST demo: odd sizes where ConvNetJS floors, pool stride defaulting to 2
  [{ type: "input", out_sx: 24, out_sy: 24, out_depth: 1 }, { type: "conv", sx: 5, filters: 8, stride: 1, pad: 2, activation: "relu" },
    { type: "pool", sx: 2 }, { type: "conv", sx: 5, filters: 16, stride: 1, pad: 2, activation: "relu" }, { type: "pool", sx: 3, stride: 3 },
    { type: "softmax", num_classes: 10 }],
  // maxout and tanh shorthands, dropout, svm head
  [{ type: "input", out_sx: 1, out_sy: 1, out_depth: 2 }, { type: "fc", num_neurons: 6, activation: "maxout", group_size: 3 },
    { type: "fc", num_neurons: 4, activation: "tanh", drop_prob: 0.5 }, { type: "svm", num_classes: 3 }],
  // strided conv with floor rounding, lrn, regression head
  [{ type: "input", out_sx: 11, out_sy: 9, out_depth: 3 }, { type: "conv", sx: 3, filters: 5, stride: 2 }, { type: "lrn", k: 1, n: 3, alpha: 0.1, beta: 0.75 },
    { type: "sigmoid" }, { type: "regression", num_neurons: 2 }],
];

function reference(defs: fovea.ConvNetJSLayerDef[]) {
  const net = new convnetjsPkg.Net();
  net.makeLayers(structuredClone(defs)); // makeLayers writes into the defs
  let params = 0;
  for (const l of net.layers) for (const p of l.getParamsAndGrads()) params += p.params.length;
  const last = net.layers[net.layers.length - 1]!;
  return { params, out: last.out_depth, types: net.layers.map((l) => l.layer_type) };
}

describe("ConvNetJS layer_defs", () => {
  it.each([CIFAR, ...OTHERS].map((d, i) => [i, d] as const))("net %i matches the convnetjs package", (_i, defs) => {
    const ref = reference(defs);
    const { model, loss } = fovea.convnetjs(defs);
    expect(model.countParams()).toBe(ref.params);
    expect(model.outputShape).toEqual([ref.out]);
    const head = defs[defs.length - 1]!.type;
    expect(loss).toBe({ softmax: "softmaxCrossEntropy", svm: "hinge", regression: "mse" }[head]);
    // the same sequence of computing layers (ConvNetJS's input and our flatten copies aside)
    const ours = model.layers.map((l) => l.type).filter((t) => t !== "flatten");
    const map: Record<string, string> = { conv: "conv2d", fc: "dense", pool: "maxPool2d" };
    expect(ours).toEqual(ref.types.filter((t) => t !== "input" && t !== "svm" && t !== "regression").map((t) => map[t] ?? t));
    model.free();
  });

  it("matches the zoo's ConvNetJS CIFAR-10 net and trains with its head's loss and per-layer decay", () => {
    const { model, loss, regularizer } = fovea.convnetjs(CIFAR, { seed: 2 });
    expect(model.summary()).toContain("22,466");
    const reg = regularizer({ l2: 1e-3 });
    model.compile({ batchSize: 4, loss, optimizer: fovea.train.sgd({ lr: 0.01, momentum: 0.9 }), regularizer: reg });
    const x = new Float32Array(8 * 32 * 32 * 3).map((_, i) => Math.sin(i * 0.37)), y = [0, 1, 2, 3, 4, 5, 6, 7];
    const first = model.evaluate(x, y).loss;
    model.fit(x, y, { epochs: 30 });
    expect(model.evaluate(x, y).loss).toBeLessThan(first * 0.5);
    model.free();
  });

  it.each([CIFAR, ...OTHERS].map((d, i) => [i, d] as const))("net %i: the defs after ConvNetJS's makeLayers (which writes in_sx, in_sy, in_depth and bias_pref into them) build the same model", (_i, defs) => {
    const given = structuredClone(defs);
    new convnetjsPkg.Net().makeLayers(given);
    expect(given.slice(1).every((d) => d.in_sx !== undefined)).toBe(true);
    const a = fovea.convnetjs(defs, { seed: 3 }), b = fovea.convnetjs(given, { seed: 3 });
    expect(Buffer.from(b.model.save()).equals(Buffer.from(a.model.save()))).toBe(true);
    a.model.free();
    b.model.free();
  });

  it("an in_sx / in_sy / in_depth that is not the volume the layer takes is refused", () => {
    const defs = structuredClone(CIFAR);
    new convnetjsPkg.Net().makeLayers(defs);
    defs[2]!.in_depth = 7;
    expect(() => fovea.convnetjs(defs)).toThrow(/^convnetjs: layer 2 \(pool\): in_sx, in_sy, in_depth 32, 32, 7 \(as ConvNetJS's makeLayers writes them\) are not the 32 × 32 × 16 volume it takes here$/);
    expect(() => fovea.convnetjs([{ type: "input", out_sx: 2, out_sy: 2, out_depth: 1, in_sx: 3 }, { type: "softmax", num_classes: 2 }])).toThrow(/layer 0 \(input\): out_sx 2 and in_sx 3 differ \(ConvNetJS reads out_sx\)/);
  });

  it("rejects unknown types and options, and a missing head", () => {
    expect(() => fovea.convnetjs([{ type: "input", out_sx: 2, out_sy: 2, out_depth: 1 }, { type: "quadtransform" }])).toThrow(/layer 1 has unknown type "quadtransform"/);
    expect(() => fovea.convnetjs([{ type: "input", out_sx: 2, out_sy: 2, out_depth: 1 }, { type: "fc", num_neurons: 2, actvation: "relu" }, { type: "softmax", num_classes: 2 }])).toThrow(/layer 1 \(fc\): unknown option "actvation"/);
    expect(() => fovea.convnetjs([{ type: "input", out_sx: 2, out_sy: 2, out_depth: 1 }, { type: "fc", num_neurons: 2 }])).toThrow(/must be a softmax, svm or regression head/);
  });
});
