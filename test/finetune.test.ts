// Transfer learning: Model.freeze / unfreeze (the optimiser and the regulariser leave frozen
// parameters alone; gradients flow through their layers to those before them that learn, and not past the first that does) and Model.withHead (copies of the
// layers a feature depends on, their weights copied, a new head after them).
import { beforeAll, describe, expect, it } from "vitest";
import * as fovea from "../src/index.js";

const L = fovea.layers;

beforeAll(async () => {
  await fovea.init({ build: "simd" });
});

const data = (n: number, per: number) => ({
  x: Float32Array.from({ length: n * per }, (_, i) => Math.sin(i * 0.37) + 0.3 * Math.cos(i * 0.11)),
  y: Array.from({ length: n }, (_, i) => i % 3),
});
const net = () => fovea.sequential([
  L.conv2d({ filters: 4, kernelSize: 3, activation: "relu", name: "c1" }),
  L.batchNorm({ name: "bn" }),
  L.conv2d({ filters: 4, kernelSize: 3, activation: "relu", name: "c2" }),
  L.flatten({ name: "flat" }),
  L.dense({ units: 3, name: "out" }),
  L.softmax({ name: "prob" }),
], { inputShape: [6, 6, 2], seed: 3 });
const weightsOf = (m: fovea.Model, layer: string) => m.getWeights().filter((w) => w.layer === layer && !w.name.startsWith("moving"));
const same = (a: { values: Float32Array }[], b: { values: Float32Array }[]) => a.every((w, i) => w.values.every((v, j) => v === b[i]!.values[j]));

describe("freeze", () => {
  it("a frozen layer keeps its weights while the layers before and after it train", () => {
    const m = net(), { x, y } = data(12, 72);
    m.compile({ batchSize: 4, loss: "softmaxCrossEntropy", optimizer: fovea.train.adamw({ lr: 0.01 }), regularizer: { l2: 0.01 } });
    m.freeze(["c2"]);
    const before = m.getWeights();
    m.fit(x, y, { epochs: 3 });
    expect(same(weightsOf(m, "c2"), before.filter((w) => w.layer === "c2"))).toBe(true);
    // c1 comes before the frozen c2: its gradient flowed through c2
    expect(same(weightsOf(m, "c1"), before.filter((w) => w.layer === "c1"))).toBe(false);
    expect(same(weightsOf(m, "out"), before.filter((w) => w.layer === "out"))).toBe(false);
    // a checkpoint's optimiser state still covers every trainable parameter (zeros for c2's)
    const s = m.optimizer!.exportState(m.params);
    const all = m.params.filter((p) => p.spec.trainable).reduce((a, p) => a + p.size, 0);
    expect(s.values.length).toBe(2 * all);
    // countParams and the summary count what training updates: c2's are frozen
    const frozen = weightsOf(m, "c2").reduce((a, w) => a + w.values.length, 0);
    expect(frozen).toBeGreaterThan(0);
    expect(m.countParams()).toBe(all - frozen);
    expect(m.summary()).toContain(`trainable params: ${(all - frozen).toLocaleString("en-US")}   frozen: ${frozen.toLocaleString("en-US")}`);
    m.unfreeze(["c2"]);
    m.fit(x, y, { epochs: 1 });
    expect(same(weightsOf(m, "c2"), before.filter((w) => w.layer === "c2"))).toBe(false);
    m.free();
  });

  it("behind a frozen backbone the backward stops where nothing before it learns (the backbone's backward and gradient buffers are skipped); unfreezing brings them back", () => {
    // (that what learns gets PyTorch's gradients with its modules frozen: test/train-pytorch.test.ts, frozen_backbone and frozen_first)
    const { x, y } = data(8, 72);
    const run = (frozen: string[]) => {
      const m = net();
      m.compile({ batchSize: 4, loss: "softmaxCrossEntropy", optimizer: fovea.train.sgd({ lr: 0.1, momentum: 0.9 }) });
      m.freeze(frozen);
      // which layers' backward a training plan runs, or records for its slices' programs, or steps through (a batch norm's)
      const ran = new Set<string>();
      for (const n of m.nodes) {
        const layer = n.layer, backward = layer.backward.bind(layer), steps = layer.sliceSteps.bind(layer);
        layer.backward = (r) => { ran.add(layer.name); backward(r); };
        layer.sliceSteps = (r, pass) => { const s = steps(r, pass); if (pass === "bwd" && s) ran.add(layer.name); return s; };
      }
      m.fit(x, y, { epochs: 2, shuffle: false });
      return { m, ran, bytes: m.planBytes() };
    };
    const full = run([]), head = run(["c1", "bn", "c2"]), tail = run(["c1", "bn"]);
    expect([...full.ran].sort()).toEqual(["bn", "c1", "c2", "flat", "out"]);
    expect([...head.ran]).toEqual(["out"]); // and its dx is not computed: nothing before it learns
    expect([...tail.ran].sort()).toEqual(["c2", "flat", "out"]);
    expect(head.bytes).toBeLessThan(tail.bytes);
    expect(tail.bytes).toBeLessThan(full.bytes);
    // unfreezing rebuilds the plan with every backward
    head.ran.clear();
    head.m.unfreeze();
    head.m.fit(x, y, { epochs: 1, shuffle: false });
    expect([...head.ran].sort()).toEqual(["bn", "c1", "c2", "flat", "out"]);
    [full, head, tail].forEach((r) => r.m.free());
  });

  it("gradients computed while a layer was frozen are not applied once it learns (it has none from them); gradCheck with nothing that learns is a ConfigError", () => {
    const { x, y } = data(4, 72);
    const m = net();
    m.compile({ batchSize: 4, loss: "softmaxCrossEntropy", optimizer: fovea.train.sgd({ lr: 0.1 }) });
    m.freeze(["c1"]);
    m.computeGradients(x, Int32Array.from(y), 0, 4);
    m.unfreeze(["c1"]);
    const before = m.getWeights();
    expect(() => m.applyGradients()).toThrow(/applyGradients: layer "c1" was frozen when computeGradients ran, so it has no gradient from it; it learns now: computeGradients again first/);
    expect(same(m.getWeights(), before)).toBe(true);
    m.computeGradients(x, Int32Array.from(y), 0, 4);
    m.applyGradients();
    expect(same(weightsOf(m, "c1"), before.filter((w) => w.layer === "c1"))).toBe(false);
    // the other way round is fine: what learns has its gradients, the frozen layer is left as it is
    m.computeGradients(x, Int32Array.from(y), 0, 4);
    m.freeze(["c1"]);
    const mid = m.getWeights();
    m.applyGradients();
    expect(same(weightsOf(m, "c1"), mid.filter((w) => w.layer === "c1"))).toBe(true);
    m.freeze();
    expect(() => fovea.train.gradCheck(m, x.subarray(0, 72), [0])).toThrow(/gradCheck: model "model" has no parameter that learns/);
    m.free();
  });

  it("freeze() with no names freezes everything; an unknown name is a ConfigError and changes nothing", () => {
    const m = net(), { x, y } = data(8, 72);
    m.compile({ batchSize: 4, loss: "softmaxCrossEntropy", optimizer: fovea.train.sgd({ lr: 0.1 }) });
    expect(() => m.freeze(["c1", "nope"])).toThrow(/freeze: model "model" has no layer "nope"/);
    const before = m.getWeights();
    m.fit(x, y, { epochs: 1 });
    expect(same(weightsOf(m, "c1"), before.filter((w) => w.layer === "c1"))).toBe(false); // not frozen by the failed call
    m.freeze();
    const mid = m.getWeights();
    m.fit(x, y, { epochs: 1 });
    expect(same(m.getWeights().filter((w) => !w.name.startsWith("moving")), mid.filter((w) => !w.name.startsWith("moving")))).toBe(true);
    m.free();
  });
});

describe("withHead", () => {
  it("copies the layers a feature depends on with their weights; the new model trains without touching the original", () => {
    const base = net(), { x } = data(6, 72);
    const tuned = base.withHead("flat", (f) => L.softmax().apply(L.dense({ units: 5, name: "head" }).apply(f)), { freeze: true, seed: 2 });
    expect(tuned.layers.map((l) => l.name).slice(0, 4)).toEqual(["c1", "bn", "c2", "flat"]);
    expect(tuned.outputShape).toEqual([5]);
    // the copied trunk computes what the original's does
    const trunk = base.withHead("flat", (f) => f);
    const probe = fovea.sequential([L.conv2d({ filters: 4, kernelSize: 3, activation: "relu", name: "c1" }), L.batchNorm({ name: "bn" }), L.conv2d({ filters: 4, kernelSize: 3, activation: "relu", name: "c2" }), L.flatten({ name: "flat" })], { inputShape: [6, 6, 2] });
    probe.setWeights(base.getWeights().filter((w) => w.layer !== "out"));
    expect(Array.from(trunk.predict(x))).toEqual(Array.from(probe.predict(x)));
    const original = base.getWeights();
    tuned.compile({ batchSize: 3, loss: "softmaxCrossEntropy", optimizer: fovea.train.adam({ lr: 0.01 }) });
    tuned.fit(x, [0, 1, 2, 3, 4, 0], { epochs: 2 });
    expect(same(weightsOf(tuned, "c1"), original.filter((w) => w.layer === "c1"))).toBe(true); // frozen
    expect(same(base.getWeights(), original)).toBe(true);
    for (const m of [base, tuned, trunk, probe]) m.free();
  });

  it("the new head and the generator are what a model of the same layers and seed draws: the copied layers' draws are skipped, not made and overwritten", () => {
    const base = net();
    const tuned = base.withHead("flat", (f) => L.dense({ units: 5, name: "head" }).apply(f), { seed: 2 });
    const inp = fovea.input([6, 6, 2]);
    let t = inp;
    for (const l of tuned.layers) t = L.createLayer(l.config() as fovea.LayerConfig).apply(t);
    const drawn = fovea.model({ inputs: inp, outputs: t, seed: 2 });
    expect(same(weightsOf(tuned, "head"), weightsOf(drawn, "head"))).toBe(true);
    expect(weightsOf(tuned, "head")[0]!.values.some((v) => v !== 0)).toBe(true);
    expect(tuned.rng.state()).toEqual(drawn.rng.state());
    for (const m of [base, tuned, drawn]) m.free();
  });

  it("bad arguments are ConfigErrors naming the problem", () => {
    const base = net();
    expect(() => base.withHead("nope", (f) => f)).toThrow(/withHead: model "model" has no layer "nope" \(layers: "c1", "bn"/);
    expect(() => base.withHead("flat", 3 as never)).toThrow(/withHead: head must be a function/);
    expect(() => base.withHead("flat", (() => 1) as never)).toThrow(/withHead: head must return a symbolic tensor/);
    expect(() => base.withHead("flat", (f) => L.dense({ units: 2, name: "c1" }).apply(f))).toThrow(/two layers are named "c1"/);
    expect(() => base.withHead("flat", (f) => f, { frozen: true } as never)).toThrow(/withHead/);
    base.free();
  });
});
