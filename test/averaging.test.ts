// Moving averages of the weights (every optimiser's `ema`, src/train/optimizers.ts): the averages
// of the weights and of batch norm's moving statistics against a float64 reference computed from
// the values after every step, withAveragedWeights
// putting the weights back bit for bit whatever happens inside it, fit validating with the
// averages and ending with them, frozen parameters, the optimiser state and checkpoints.
import { beforeAll, describe, expect, it } from "vitest";
import * as fovea from "../src/index.js";
import { toyImages } from "./helpers/models.js";

const { layers: L, train: T } = fovea;
const SHAPE: [number, number, number] = [6, 6, 1];

beforeAll(async () => {
  await fovea.init({ build: "simd" });
});

const net = (seed: number) => fovea.sequential([
  L.conv2d({ filters: 3, kernelSize: 3, padding: "same", activation: "relu", name: "conv" }), L.batchNorm(), L.flatten(),
  L.dense({ units: 8, name: "hidden" }), L.tanh(), L.dense({ units: 3, name: "out" }),
], { inputShape: SHAPE, seed });

const weightsOf = (m: fovea.Model) => m.params.map((p) => Float64Array.from(m.backend.heap.f32(p.w, p.size)));
const bytesOf = (m: fovea.Model) => Buffer.from(m.save());

describe("optimisers' ema", () => {
  it.each([
    ["sgd", (ema: number) => T.sgd({ lr: 0.1, momentum: 0.9, ema })],
    ["adam", (ema: number) => T.adam({ lr: 0.01, ema })],
    ["rmsprop", (ema: number) => T.rmsprop({ lr: 0.01, ema })],
  ] as const)("%s: the averages follow a·average + (1 − a)·weights, a = min(ema, (1 + t) / (10 + t)), from the weights before the first step (float64 reference, 40 steps)", (_name, make) => {
    const { x, y } = toyImages(24, SHAPE, 3, 1);
    const m = net(2).compile({ batchSize: 8, loss: "softmaxCrossEntropy", optimizer: make(0.8) });
    const trainable = m.params.map((p) => p.spec.trainable);
    let avg = weightsOf(m);
    // before any step the weights are their own averages
    expect(m.withAveragedWeights(() => weightsOf(m))).toEqual(avg);
    let crossed = false;
    for (let t = 1; t <= 40; t++) {
      m.trainOnBatch(x.subarray(((t % 3) * 8) * 36, ((t % 3) * 8 + 8) * 36), y.subarray((t % 3) * 8, (t % 3) * 8 + 8));
      const a = Math.min(0.8, (1 + t) / (10 + t));
      if (a === 0.8) crossed = true;
      const w = weightsOf(m);
      // batch norm's moving statistics are averaged too, from their values at the first step (after its forward pass)
      avg = avg.map((v, i) => (trainable[i] || t > 1 ? v.map((e, j) => a * e + (1 - a) * w[i]![j]!) : w[i]!));
      const got = m.withAveragedWeights(() => weightsOf(m));
      let worst = 0;
      got.forEach((g, i) => g.forEach((v, j) => (worst = Math.max(worst, Math.abs(v - avg[i]![j]!) / (1 + Math.abs(avg[i]![j]!))))));
      expect(worst, `step ${t}`).toBeLessThan(1e-6);
      // and the weights themselves are back
      expect(weightsOf(m)).toEqual(w);
    }
    expect(crossed).toBe(true); // the decay reached ema itself
    expect(m.optimizer!.settings.ema).toBe(0.8);
    m.free();
  });

  it("withAveragedWeights puts the weights back bit for bit when fn returns or throws; training, another optimiser or a nested call inside it are errors", () => {
    const { x, y } = toyImages(16, SHAPE, 3, 2);
    const m = net(3).compile({ batchSize: 8, loss: "softmaxCrossEntropy", optimizer: T.sgd({ lr: 0.1, momentum: 0.9, ema: 0.9 }) });
    for (let s = 0; s < 5; s++) m.trainOnBatch(x, y);
    const before = bytesOf(m), averaged = m.withAveragedWeights(() => bytesOf(m));
    expect(averaged.equals(before)).toBe(false);
    // predictions inside use the averages (the plans see the weights change)
    const p0 = m.predict(x);
    expect(m.withAveragedWeights(() => m.predict(x))).not.toEqual(p0);
    expect(m.predict(x)).toEqual(p0);
    expect(() => m.withAveragedWeights(() => { throw new RangeError("inside"); })).toThrow(/inside/);
    expect(bytesOf(m).equals(before)).toBe(true);
    expect(() => m.withAveragedWeights(() => m.trainOnBatch(x, y))).toThrow(/a training step inside withAveragedWeights/);
    expect(() => m.withAveragedWeights(() => m.fit(x, y, { epochs: 1 }))).toThrow(/a training step inside withAveragedWeights/);
    expect(() => m.withAveragedWeights(() => m.compile({ optimizer: T.adam() }))).toThrow(/another optimizer inside withAveragedWeights/);
    m.withAveragedWeights(() => m.compile({ optimizer: m.optimizer!, labelSmoothing: 0 })); // its own optimiser again: nothing changes
    // an async fn would go on with the raw weights after its first await: refused, the weights back
    expect(() => m.withAveragedWeights(async () => m.predict(x))).toThrow(/fn returned a promise; it must do its work before it returns/);
    expect(() => m.withAveragedWeights(() => m.withAveragedWeights(() => 1))).toThrow(/in place already/);
    expect(bytesOf(m).equals(before)).toBe(true);
    expect(m.optimizer!.name).toBe("sgd");
    // the step count and the averages went on as if nothing happened
    const again = net(3).compile({ batchSize: 8, loss: "softmaxCrossEntropy", optimizer: T.sgd({ lr: 0.1, momentum: 0.9, ema: 0.9 }) });
    for (let s = 0; s < 5; s++) again.trainOnBatch(x, y);
    expect(weightsOf(again)).toEqual(weightsOf(m));
    expect(again.withAveragedWeights(() => weightsOf(again))).toEqual(m.withAveragedWeights(() => weightsOf(m)));
    // a model freed inside: nothing to put back, no second error
    expect(m.withAveragedWeights(() => { m.free(); return 7; })).toBe(7);
    again.free();
  });

  it("an optimiser without ema keeps no averages: withAveragedWeights is a ConfigError naming the option; ema outside [0, 1) is refused", () => {
    const m = net(4).compile({ batchSize: 8, loss: "softmaxCrossEntropy", optimizer: T.sgd({ lr: 0.1 }) });
    expect(() => m.withAveragedWeights(() => 1)).toThrow(/the optimiser keeps no averages of the weights; compile with one given ema/);
    expect(() => m.withAveragedWeights(7 as unknown as () => number)).toThrow(/expected a function, got 7/);
    expect(m.optimizer!.settings).toEqual({ momentum: 0, nesterov: false }); // no ema key: states of runs without stay as they were
    m.free();
    for (const bad of [-0.1, 1, 1.5, Number.NaN, "0.9"]) {
      for (const make of [(e: unknown) => T.sgd({ ema: e as number }), (e: unknown) => T.adamw({ ema: e as number }), (e: unknown) => T.adadelta({ ema: e as number })]) {
        expect(() => make(bad)).toThrow(fovea.ConfigError);
        expect(() => make(bad)).toThrow(/ema/);
      }
    }
    expect(T.adagrad({ ema: 0 }).settings).toEqual({ epsilon: 1e-7 });
  });

  it("fit validates with the averages and ends with them in the model", () => {
    const { x, y } = toyImages(40, SHAPE, 3, 3), val = toyImages(12, SHAPE, 3, 4);
    const m = net(5).compile({ batchSize: 8, loss: "softmaxCrossEntropy", optimizer: T.sgd({ lr: 0.1, momentum: 0.9, ema: 0.9 }) });
    const seen: { val: number; averaged: Buffer }[] = [];
    const h = m.fit(x, y, {
      epochs: 3, validationData: [val.x, val.y],
      callbacks: [{ onEpochEnd: () => void seen.push(m.withAveragedWeights(() => ({ val: m.evaluate(val.x, val.y).loss, averaged: bytesOf(m) }))) }],
    });
    expect(h.epochs.map((e) => e.valLoss)).toEqual(seen.map((s) => s.val));
    const live = net(5).compile({ batchSize: 8, loss: "softmaxCrossEntropy", optimizer: T.sgd({ lr: 0.1, momentum: 0.9 }) });
    live.fit(x, y, { epochs: 3 });
    // the same steps without ema end with the last weights, which are not the averages
    expect(bytesOf(m).equals(seen[2]!.averaged)).toBe(true);
    expect(weightsOf(live)).not.toEqual(weightsOf(m));
    m.free();
    live.free();
  });

  it("constants are not averaged (their bits stay), a layer frozen mid-run keeps its values at fit's end, and best-only checkpoints save the averages", () => {
    const inp = fovea.input([4]);
    const scaled = L.binary({ op: "mul", constantShape: [4], name: "k" }).apply(inp);
    const m = fovea.model({ inputs: inp, outputs: L.dense({ units: 3, name: "out" }).apply(L.relu().apply(L.dense({ units: 6, name: "a" }).apply(scaled))), seed: 8 });
    const k = Float32Array.from([28, 3, 0.1, 784]);
    m.setWeights([{ layer: "k", name: "constant", values: k }]);
    m.compile({ batchSize: 4, loss: "softmaxCrossEntropy", optimizer: T.sgd({ lr: 0.01, momentum: 0.9, ema: 0.99 }) });
    const x = Float32Array.from({ length: 48 }, (_, i) => Math.sin(i * 0.7) * 0.01), y = Int32Array.from({ length: 12 }, (_, i) => i % 3);
    const layer = (name: string) => m.getWeights().filter((w) => w.layer === name).map((w) => Array.from(w.values));
    for (let s = 0; s < 6; s++) m.trainOnBatch(x.subarray(0, 16), y.subarray(0, 4));
    m.freeze(["a"]);
    const frozen = layer("a");
    let saved: { bytes: Buffer; valLoss: number } | null = null;
    m.fit(x, y, { epochs: 3, validationData: [x, y], callbacks: [T.checkpoint((mm, logs) => void (saved = { bytes: Buffer.from(mm.save()), valLoss: logs.valLoss! }), { bestOnly: true })] });
    expect(layer("k")).toEqual([Array.from(k)]);
    expect(layer("a")).toEqual(frozen);
    // the model saved as best scores what the log says: it was saved with the averages in place
    const back = fovea.loadModel(saved!.bytes).compile({ batchSize: 4, loss: "softmaxCrossEntropy" });
    expect(back.evaluate(x, y).loss).toBe(saved!.valLoss);
    back.free();
    m.free();
  });

  it("a frozen parameter's average is its value; the state round-trips with its averages, and a state with another ema is refused", () => {
    const { x, y } = toyImages(16, SHAPE, 3, 5);
    const make = (ema: number) => net(6).compile({ batchSize: 8, loss: "softmaxCrossEntropy", optimizer: T.adam({ lr: 0.01, ema }) });
    const a = make(0.9);
    a.freeze(["conv"]);
    for (let s = 0; s < 3; s++) a.trainOnBatch(x, y);
    const conv = a.nodes.find((n) => n.layer.name === "conv")!.params;
    expect(conv.length).toBeGreaterThan(0);
    const inside = a.withAveragedWeights(() => conv.map((p) => a.backend.heap.f32(p.w, p.size).slice()));
    conv.forEach((p, i) => expect(inside[i]).toEqual(a.backend.heap.f32(p.w, p.size)));
    const state = a.optimizer!.exportState(a.params);
    expect(state.slots).toBe(3); // m, v and the average
    const size = (trainable: boolean) => a.params.filter((p) => p.spec.trainable === trainable).reduce((n, p) => n + p.size, 0);
    expect(size(false)).toBe(6); // batch norm's moving mean and variance
    expect(state.values.length).toBe(3 * size(true) + size(false)); // and their averages
    expect(state.settings).toEqual({ beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0, ema: 0.9 });
    // another model continues from the state: the same weights and averages as this one after two more steps
    const b = fovea.loadModel(a.save(), { seed: 6 }).compile({ batchSize: 8, loss: "softmaxCrossEntropy", optimizer: T.adam({ lr: 0.01, ema: 0.9 }) });
    b.freeze(["conv"]);
    b.optimizer!.importState(b.backend, b.params, state);
    b.step = a.step;
    a.unfreeze();
    b.unfreeze();
    for (let s = 0; s < 2; s++) {
      a.trainOnBatch(x, y);
      b.trainOnBatch(x, y);
    }
    expect(bytesOf(b).equals(bytesOf(a))).toBe(true);
    expect(b.withAveragedWeights(() => bytesOf(b)).equals(a.withAveragedWeights(() => bytesOf(a)))).toBe(true);
    // a state imported before any step is exported as it came
    const fresh = make(0.9);
    fresh.optimizer!.importState(fresh.backend, fresh.params, { ...state, iterations: 0 });
    expect(fresh.optimizer!.exportState(fresh.params).values).toEqual(state.values);
    fresh.free();
    for (const [ema, msg] of [[0, /^adam: the state was kept with other settings: ema 0\.9 there, 0 here/], [0.99, /ema 0\.9 there, 0\.99 here/]] as const) {
      const c = make(ema);
      c.trainOnBatch(x, y);
      const kept = c.optimizer!.exportState(c.params);
      expect(() => c.optimizer!.importState(c.backend, c.params, state)).toThrow(msg);
      expect(c.optimizer!.exportState(c.params)).toEqual(kept);
      c.free();
    }
    a.free();
    b.free();
  });

  it("fit resumed from a checkpoint keeps averaging: the same model bytes as the run never stopped", () => {
    const { x, y } = toyImages(40, SHAPE, 3, 6);
    const compiled = (m: fovea.Model) => m.compile({ batchSize: 8, loss: "softmaxCrossEntropy", optimizer: T.sgd({ lr: 0.05, momentum: 0.9, nesterov: true, ema: 0.9 }) });
    const ckpts: Uint8Array[] = [];
    const m = compiled(net(7));
    m.fit(x, y, { epochs: 3, callbacks: [{ onBatchEnd: (i) => { if (i.batch === 2) ckpts.push(T.encodeCheckpoint(T.checkpointOf(m, i.progress, { model: "net" }))); } }] });
    const end = bytesOf(m);
    expect(ckpts).toHaveLength(3);
    for (const bytes of ckpts) {
      const { checkpoint: c, model } = T.readCheckpoint(bytes, { source: "e.ckpt", seed: 7 });
      const r = compiled(model);
      T.restoreCheckpoint(r, c, "e.ckpt");
      r.fit(x, y, { epochs: 3, resume: c.progress });
      expect(bytesOf(r).equals(end)).toBe(true);
      r.free();
    }
    m.free();
  });
});
