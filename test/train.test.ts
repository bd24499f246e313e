import { readFileSync } from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import * as fovea from "../src/index.js";
import { toyImages } from "./helpers/models.js";

const { layers: L, train: T } = fovea;

beforeAll(async () => {
  await fovea.init({ build: "simd" });
});

const smallNet = (seed: number) => fovea.sequential([
  L.conv2d({ filters: 4, kernelSize: 3, padding: "same", activation: "relu" }), L.maxPool2d({ poolSize: 2 }),
  L.flatten(), L.dense({ units: 16, activation: "relu" }), L.dropout({ rate: 0.2 }), L.dense({ units: 3 }), L.softmax(),
], { inputShape: [8, 8, 1], seed });

describe("training", () => {
  it("evaluate's loss is the mean cross-entropy of predict's probabilities (a final softmax is fused into the loss)", () => {
    const { x, y } = toyImages(20, [8, 8, 1], 3, 2);
    const m = smallNet(3).compile({ batchSize: 8, loss: "softmaxCrossEntropy", optimizer: T.sgd({ lr: 0.05 }) });
    m.predict(x); // an inference plan built before the loss is known must not change evaluate
    const p = m.predict(x);
    let want = 0;
    for (let i = 0; i < y.length; i++) want -= Math.log(p[i * 3 + y[i]!]!);
    expect(m.evaluate(x, y).loss).toBeCloseTo(want / y.length, 5);
    m.free();
  });

  it("fit trains on the batches of its RNG's shuffled order, each gathered in that order: the same bits as trainOnBatch over them (10 examples in batches of 4, the last of 2; dropout draws in between)", () => {
    const { x, y } = toyImages(10, [8, 8, 1], 3, 5);
    const make = () => smallNet(7).compile({ batchSize: 4, loss: "softmaxCrossEntropy", optimizer: T.sgd({ lr: 0.05, momentum: 0.9 }) });
    const a = make(), b = make();
    a.fit(x, y, { epochs: 2 });
    const order = Int32Array.from({ length: 10 }, (_, i) => i);
    for (let e = 0; e < 2; e++) {
      b.rng.shuffle(order);
      for (let s = 0; s < 10; s += 4) {
        const idx = [...order.subarray(s, Math.min(10, s + 4))];
        const xb = new Float32Array(idx.length * 64);
        idx.forEach((i, k) => xb.set(x.subarray(i * 64, (i + 1) * 64), k * 64));
        b.trainOnBatch(xb, idx.map((i) => y[i]!));
      }
    }
    const bits = (m: fovea.Model) => m.getWeights().map((w) => [...new Uint32Array(w.values.buffer, w.values.byteOffset, w.values.length)]);
    expect(bits(a)).toEqual(bits(b));
    a.free();
    b.free();
  });

  it("reduces the loss on a fixed toy set (and reaches full training accuracy)", () => {
    const { x, y } = toyImages(60, [8, 8, 1], 3, 1);
    const m = smallNet(1).compile({ batchSize: 12, loss: "softmaxCrossEntropy", optimizer: T.sgd({ lr: 0.05, momentum: 0.9 }) });
    const first = m.evaluate(x, y).loss;
    const h = m.fit(x, y, { epochs: 15 });
    const last = m.evaluate(x, y);
    expect(first).toBeGreaterThan(0.9); // ~ log(3) at the start
    expect(last.loss).toBeLessThan(0.2 * first);
    expect(last.accuracy).toBe(1);
    expect(h.epochs).toHaveLength(15);
    expect(h.epochs[14]!.loss).toBeLessThan(h.epochs[0]!.loss);
    m.free();
  });

  it("is deterministic: the same seed gives identical weights and losses", () => {
    const { x, y } = toyImages(24, [8, 8, 1], 3, 2);
    const run = () => {
      const m = smallNet(42).compile({ batchSize: 8, loss: "softmaxCrossEntropy", optimizer: T.adam({ lr: 0.01 }) });
      const w0 = Array.from(m.backend.heap.f32(m.params[0]!.w, m.params[0]!.size));
      const losses = m.fit(x, y, { epochs: 3 }).epochs.map((e) => e.loss);
      const w = m.params.map((p) => Array.from(m.backend.heap.f32(p.w, p.size)));
      m.free();
      return { w0, losses, w };
    };
    const a = run(), b = run();
    expect(b.w0).toEqual(a.w0);
    expect(b.losses).toEqual(a.losses);
    expect(b.w).toEqual(a.w);
    const c = smallNet(43);
    expect(Array.from(c.backend.heap.f32(c.params[0]!.w, c.params[0]!.size))).not.toEqual(a.w0);
    c.free();
  });

  it.each([
    ["sgd", () => T.sgd({ lr: 0.1 })], ["momentum", () => T.sgd({ lr: 0.05, momentum: 0.9 })],
    ["nesterov", () => T.sgd({ lr: 0.05, momentum: 0.9, nesterov: true })], ["adagrad", () => T.adagrad({ lr: 0.05 })],
    ["rmsprop", () => T.rmsprop({ lr: 0.005 })], ["adadelta", () => T.adadelta({ lr: 1 })],
    ["adam", () => T.adam({ lr: 0.01 })], ["adamw", () => T.adamw({ lr: 0.01, weightDecay: 0.01 })],
  ] as const)("%s lowers the loss of a dense network", (_name, make) => {
    const { x, y } = toyImages(30, [1, 1, 6], 3, 3);
    const m = fovea.sequential([L.dense({ units: 12 }), L.tanh(), L.dense({ units: 3 })], { inputShape: [6], seed: 5 });
    m.compile({ batchSize: 10, loss: "softmaxCrossEntropy", optimizer: make() });
    const first = m.evaluate(x, y).loss;
    m.fit(x, y, { epochs: 20 });
    expect(m.evaluate(x, y).loss).toBeLessThan(0.7 * first);
    m.free();
  });

  it("a non-finite loss stops with an error naming the first layer whose output went bad", () => {
    const m = fovea.sequential([L.dense({ units: 4, name: "d1" }), L.relu({ name: "r" }), L.dense({ units: 2, name: "d2" })], { inputShape: [3] });
    m.compile({ batchSize: 2, loss: "softmaxCrossEntropy", optimizer: T.sgd() });
    m.backend.heap.f32(m.params[2]!.w, 8)[3] = NaN; // d2's kernel
    expect(() => m.trainOnBatch(new Float32Array(6).fill(1), [0, 1])).toThrow(fovea.NumericError);
    expect(() => m.trainOnBatch(new Float32Array(6).fill(1), [0, 1])).toThrow(/training step 1: the loss is NaN; the first non-finite output is layer dense "d2" \(\[2\]\)/);
    expect(() => m.trainOnBatch(Float32Array.from([1, NaN, 1, 1, 1, 1]), [0, 1])).toThrow(/the input batch holds NaN/);
    m.free();
    // a batch norm whose output pass the max pool after it runs (model/fuse.ts): its parameters are named
    const b = fovea.sequential([L.conv2d({ filters: 4, kernelSize: 3, padding: "same", useBias: false, name: "c" }), L.batchNorm({ name: "bn" }), L.relu(), L.maxPool2d({ poolSize: 2 }), L.flatten(), L.dense({ units: 2, name: "d" })], { inputShape: [4, 4, 1] });
    b.compile({ batchSize: 2, loss: "softmaxCrossEntropy", optimizer: T.sgd() });
    b.backend.heap.f32(b.params.find((p) => p.spec.name === "gamma")!.w, 4)[1] = NaN;
    expect(() => b.trainOnBatch(new Float32Array(32).map((_, i) => i % 5), [0, 1])).toThrow(/training step 1: the loss is NaN; the first non-finite values are layer batchNorm "bn"'s parameters/);
    b.free();
  });

  it("batch norm uses batch statistics in training and its moving averages at inference", () => {
    const m = fovea.sequential([L.batchNorm({ momentum: 0 })], { inputShape: [2] });
    m.compile({ batchSize: 4, loss: "mse", optimizer: T.sgd({ lr: 1e-9 }) });
    const x = Float32Array.from([1, 10, 3, 20, 5, 30, 7, 40]);
    m.trainOnBatch(x, new Float32Array(8));
    // momentum 0: the moving statistics are this batch's mean and unbiased variance
    const h = m.backend.heap;
    expect(Array.from(h.f32(m.params[2]!.w, 2))).toEqual([4, 25]);
    const mv = h.f32(m.params[3]!.w, 2);
    expect(mv[0]).toBeCloseTo(20 / 3, 4);
    expect(mv[1]).toBeCloseTo(500 / 3, 3);
    const p = m.predict(Float32Array.from([4, 25]));
    expect(Math.abs(p[0]!)).toBeLessThan(1e-6);
    expect(Math.abs(p[1]!)).toBeLessThan(1e-6);
    m.free();
  });

  it("callbacks: early stopping ends training, reduce-on-plateau halves the rate, schedules shape it", () => {
    const { x, y } = toyImages(12, [1, 1, 4], 2, 4);
    const m = fovea.sequential([L.dense({ units: 2 })], { inputShape: [4], seed: 1 });
    m.compile({ batchSize: 4, loss: "softmaxCrossEntropy", optimizer: T.sgd({ lr: 1e-12 }) });
    const h = m.fit(x, y, { epochs: 20, validationData: [x, y], callbacks: [T.earlyStopping({ monitor: "valLoss", patience: 2, minDelta: 1e-3 })] });
    expect(h.epochs.length).toBe(3);
    const opt = T.sgd({ lr: 1e-12 });
    m.compile({ optimizer: opt });
    // no epoch improves by minDelta: the rate halves after every epoch but the first
    m.fit(x, y, { epochs: 4, validationData: [x, y], callbacks: [T.reduceOnPlateau({ patience: 1, factor: 0.5, minDelta: 1e-3 })] });
    expect(opt.lr).toBeCloseTo(1e-12 / 8, 20);
    const m2 = fovea.sequential([L.dense({ units: 2 })], { inputShape: [4], seed: 1 });
    m2.compile({ batchSize: 4, loss: "softmaxCrossEntropy", optimizer: T.sgd({ lr: 1 }) });
    const lrs: number[] = [];
    const h2 = m2.fit(x, y, { epochs: 1, lr: T.warmup(2, T.cosineDecay(0.1, { totalSteps: 10 })), callbacks: [{ onBatchEnd: (i) => void lrs.push(i.lr) }] });
    const cos = (s: number) => 0.05 * (1 + Math.cos((Math.PI * s) / 10));
    expect(lrs).toHaveLength(3);
    expect(h2.epochs[0]!.lr).toBe(lrs[2]); // the epoch's last step's rate, not the next one's
    expect(lrs[0]).toBeCloseTo(cos(0) / 2, 12);
    expect(lrs[1]).toBeCloseTo(cos(1), 12);
    expect(lrs[2]).toBeCloseTo(cos(2), 12);
    m2.free();
    expect(T.stepDecay(0.1, { every: 2, gamma: 0.5 })(0, 5)).toBeCloseTo(0.025, 12);
    expect(T.exponentialDecay(1, { rate: 0.5, steps: 10 })(20, 0)).toBeCloseTo(0.25, 12);
    expect(T.warmup(4, 0.8)(1, 0)).toBeCloseTo(0.4, 12);
    m.free();
  });

  it("callbacks watch only what they are told: an unknown monitor or a bad number is refused when the callback is made; a monitored value fit does not report (no validationData) stops fit with an error instead of watching the training loss", () => {
    const { x, y } = toyImages(12, [1, 1, 4], 2, 4);
    const bad: [() => unknown, RegExp][] = [
      [() => T.earlyStopping({ monitor: "valAcc" as "valLoss" }), /earlyStopping: monitor must be "loss", "accuracy", "valLoss" or "valAccuracy", got "valAcc"/],
      [() => T.earlyStopping({ patience: NaN }), /earlyStopping: patience must be a whole number of epochs >= 1, got NaN/],
      [() => T.earlyStopping({ patience: 0 }), /patience must be a whole number of epochs >= 1, got 0/],
      [() => T.earlyStopping({ minDelta: -1 }), /earlyStopping: minDelta must be a finite number >= 0, got -1/],
      [() => T.checkpoint(() => {}, { monitor: "val_loss" as "valLoss" }), /checkpoint: monitor must be .* got "val_loss"/],
      [() => T.checkpoint(() => {}, { bestOnly: "yes" as unknown as boolean }), /checkpoint: bestOnly must be true or false, got "yes"/],
      [() => T.reduceOnPlateau({ patience: -1 }), /reduceOnPlateau: patience must be a whole number of epochs >= 1, got -1/],
      [() => T.reduceOnPlateau({ minLr: NaN }), /reduceOnPlateau: minLr must be a finite number >= 0, got NaN/],
      [() => T.reduceOnPlateau({ factor: "0.5" as unknown as number }), /reduceOnPlateau: factor must be in \(0, 1\), got "0.5"/],
    ];
    for (const [f, msg] of bad) expect(f).toThrow(msg);
    for (const [f] of bad) expect(f).toThrow(fovea.ConfigError);
    const m = fovea.sequential([L.dense({ units: 2 })], { inputShape: [4], seed: 1 });
    const opt = T.sgd({ lr: 0.1 });
    m.compile({ batchSize: 4, loss: "softmaxCrossEntropy", optimizer: opt });
    let saved = 0;
    for (const cb of [T.checkpoint(() => saved++, { bestOnly: true }), T.reduceOnPlateau(), T.earlyStopping()]) {
      expect(() => m.fit(x, y, { epochs: 3, callbacks: [cb] })).toThrow(/monitor "valLoss" needs validationData in fit \(or monitor "loss"\)/);
    }
    expect(saved).toBe(0);
    expect(opt.lr).toBe(0.1);
    // a loss without accuracy: "accuracy" is not there to watch
    const r = fovea.sequential([L.dense({ units: 2 })], { inputShape: [4], seed: 1 }).compile({ batchSize: 4, loss: "mse", optimizer: T.sgd({ lr: 0.1 }) });
    expect(() => r.fit(x, new Float32Array(24), { epochs: 1, callbacks: [T.earlyStopping({ monitor: "accuracy" })] })).toThrow(/monitor "accuracy": the loss reports no accuracy/);
    r.free();
    // the named values work, accuracies upward: checkpoint saves on the first epoch and then only when the training accuracy rises
    const accs: number[] = [];
    m.fit(x, y, { epochs: 4, callbacks: [T.checkpoint((_, logs) => void accs.push(logs.accuracy!), { monitor: "accuracy", bestOnly: true })] });
    expect(accs.length).toBeGreaterThanOrEqual(1);
    for (let i = 1; i < accs.length; i++) expect(accs[i]).toBeGreaterThan(accs[i - 1]!);
    m.free();
  });

  it("evaluate refuses a batchSize that is not a whole number >= 1 (0 looped forever) and changes nothing", () => {
    const { x, y } = toyImages(6, [8, 8, 1], 3, 2);
    const m = smallNet(3).compile({ batchSize: 4, loss: "softmaxCrossEntropy", optimizer: T.sgd({ lr: 0.05 }) });
    const before = m.evaluate(x, y);
    for (const bs of [0, -1, 2.5, NaN, "4"]) {
      expect(() => m.evaluate(x, y, { batchSize: bs as number })).toThrow(`model "${m.name}".evaluate: batchSize must be a whole number >= 1, got ${typeof bs === "string" ? `"${bs}"` : String(bs)}`);
    }
    expect(m.evaluate(x, y)).toEqual(before);
    expect(() => m.compile({ clipNorm: "5" as unknown as number })).toThrow(/compile: clipNorm must be a finite number > 0, got "5"/);
    expect(() => m.compile({ foldBatchNorm: "no" as unknown as boolean })).toThrow(/compile: foldBatchNorm must be true or false, got "no"/);
    expect(m.clipNorm).toBe(0);
    m.free();
  });

  it("labelSmoothing: the loss against smoothed targets (PyTorch's formula in float64), its gradient by central differences, and bad values refused with nothing changed", () => {
    const m = fovea.sequential([L.dense({ units: 4 })], { inputShape: [3], seed: 3 });
    m.compile({ batchSize: 5, loss: "softmaxCrossEntropy", optimizer: T.sgd({ lr: 0.1 }), labelSmoothing: 0.2 });
    expect(m.labelSmoothing).toBe(0.2);
    const x = Float32Array.from({ length: 15 }, (_, i) => Math.sin(i * 1.7) * 2), y = [0, 3, 1, 2, 3];
    const z = m.predict(x);
    // −Σ_c q_c log softmax(z)_c with q = 0.8·onehot + 0.05, per example, averaged
    let want = 0;
    for (let r = 0; r < 5; r++) {
      const row = Array.from(z.subarray(r * 4, r * 4 + 4), Number), mx = Math.max(...row);
      const lse = mx + Math.log(row.reduce((a, v) => a + Math.exp(v - mx), 0));
      row.forEach((v, c) => (want += ((c === y[r] ? 0.8 : 0) + 0.05) * (lse - v)));
    }
    expect(m.evaluate(x, y).loss).toBeCloseTo(want / 5, 5);
    const g = T.gradCheck(m, x, y, { samples: 12, seed: 1 });
    expect(g.maxRelError).toBeLessThan(1e-2);
    expect(() => m.compile({ labelSmoothing: 1 })).toThrow(/labelSmoothing must be a number in \[0, 1\), got 1/);
    expect(() => m.compile({ loss: "mse" })).toThrow(/labelSmoothing 0.2 smooths softmaxCrossEntropy's targets; the loss is "mse"/);
    expect([m.loss, m.labelSmoothing]).toEqual(["softmaxCrossEntropy", 0.2]);
    m.compile({ loss: "mse", labelSmoothing: 0 });
    expect(m.loss).toBe("mse");
    m.free();
  });

  it("oneCycle gives PyTorch's OneCycleLR rates step by step (scripts/make-schedule-fixtures.py), and refuses a cycle with no room", () => {
    const fx = JSON.parse(readFileSync(new URL("./fixtures/onecycle-pytorch.json", import.meta.url), "utf8")) as {
      cases: { maxLr: number; totalSteps: number; pctStart: number; divFactor: number; finalDivFactor: number; lrs: number[] }[];
    };
    for (const c of fx.cases) {
      const { maxLr, lrs: _, ...o } = c;
      const f = T.oneCycle(maxLr, o);
      c.lrs.forEach((lr, step) => expect(Math.abs(f(step, 0) - lr)).toBeLessThan(1e-12));
      expect(f(c.totalSteps + 5, 0)).toBeCloseTo(c.lrs[c.lrs.length - 1]!, 15);
    }
    expect(() => T.oneCycle(0.1, { totalSteps: 3, pctStart: 0.2 })).toThrow(fovea.ConfigError);
    expect(() => T.oneCycle(0.1, { totalSteps: 100, pctStart: 1 })).toThrow(/pctStart/);
  });
});
