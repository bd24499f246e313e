// Misuse is an error, not corruption: work started from inside a fit callback, two models used in
// turn, the thread pool changed or stopped between the calls of a plan, init() repeated, a freed
// model used. Each either gives the results a correct use gives (compared with a copy, or with a
// model trained alone, bit for bit) or throws a typed error naming the model and the numbers.
import { readFileSync } from "node:fs";
import { beforeAll, describe, expect, it, vi } from "vitest";
import * as fovea from "../src/index.js";
import { toyImages } from "./helpers/models.js";

type Fovea = typeof fovea;
const SHAPE: [number, number, number] = [16, 16, 4];
const IN = 16 * 16 * 4;
const LOSS = "softmaxCrossEntropy" as const;
// 24 examples: 3 batches of 8 per epoch; the convolutions are large enough (> 1 MFLOP a batch)
// to be split across the pool
const { x, y } = toyImages(24, SHAPE, 10, 5);

/** A small conv net on `f`, compiled for training with SGD + momentum. */
function net(f: Fovea, seed: number, name = `net${seed}`): fovea.Model {
  const L = f.layers;
  return f.sequential([
    L.conv2d({ filters: 16, kernelSize: 3, padding: "same", activation: "relu" }), L.maxPool2d({ poolSize: 2 }),
    L.conv2d({ filters: 8, kernelSize: 3, padding: "same", activation: "relu" }),
    L.flatten(), L.dense({ units: 10 }), L.softmax(),
  ], { inputShape: SHAPE, seed, name }).compile({ batchSize: 8, loss: LOSS, optimizer: f.train.sgd({ lr: 0.05, momentum: 0.9 }) });
}

const weights = (m: fovea.Model) => m.getWeights().flatMap((w) => Array.from(w.values));
const inUse = (f: Fovea = fovea) => f.getBackend().heap.stats().inUseBytes;

/** A fresh copy of fovea's modules: its own default backend, for the tests of init / shutdown. */
async function freshFovea(): Promise<Fovea> {
  vi.resetModules();
  return (await import("../src/index.js")) as Fovea;
}

beforeAll(async () => {
  await fovea.init({ threads: 2 });
  expect(fovea.backendInfo().threads).toBe(2);
});

describe("work started inside a fit callback", () => {
  it("predict and evaluate in onBatchEnd / onEpochEnd give a copy's results, and training continues as without them", () => {
    const ref = net(fovea, 1);
    const refHistory = ref.fit(x, y, { epochs: 2 });
    const m = net(fovea, 1);
    let probes = 0;
    const probe = () => {
      const p = m.predict(x.subarray(0, 5 * IN)); // a batch of 5: a plan of its own, built mid-fit
      const e = m.evaluate(x, y, { batchSize: 6 });
      const copy = fovea.loadModel(m.save()).compile({ batchSize: 8, loss: LOSS });
      expect(Array.from(p)).toEqual(Array.from(copy.predict(x.subarray(0, 5 * IN))));
      expect(e).toEqual(copy.evaluate(x, y, { batchSize: 6 }));
      copy.free();
      probes++;
    };
    const h = m.fit(x, y, { epochs: 2, callbacks: [{ onBatchEnd: probe, onEpochEnd: () => void probe() }] });
    expect(probes).toBe(2 * 3 + 2);
    expect(weights(m)).toEqual(weights(ref));
    expect(h.epochs.map((e) => e.loss)).toEqual(refHistory.epochs.map((e) => e.loss));
    expect(Array.from(m.predict(x))).toEqual(Array.from(ref.predict(x)));
    m.free();
    ref.free();
  });

  it("setThreads inside a callback applies after the running call: the fit is unchanged and nothing leaks", async () => {
    const ref = net(fovea, 2);
    ref.fit(x, y, { epochs: 2 });
    const m = net(fovea, 2);
    const changes: Promise<fovea.BackendInfo>[] = [];
    m.fit(x, y, {
      epochs: 2,
      callbacks: [{ onBatchEnd: (b) => void (b.batch === 0 && changes.push(fovea.setThreads(b.epoch === 0 ? 3 : 1))) }],
    });
    expect(fovea.backendInfo().threads).toBe(2); // nothing changed under the running fit
    expect(weights(m)).toEqual(weights(ref));
    const before = inUse();
    const infos = await Promise.all(changes);
    expect(infos.map((i) => i.threads)).toEqual([3, 1]);
    expect(fovea.backendInfo().threads).toBe(1);
    expect(Array.from(m.predict(x))).toEqual(Array.from(ref.predict(x))); // plans split for 2 threads, run on 1
    await fovea.setThreads(2);
    expect(inUse()).toBe(before); // the pools of 3 and 1 threads gave their memory back
    m.free();
    ref.free();
  });

  it("shutdown inside a callback: training goes on on this thread with the same results; init() restarts the pool", async () => {
    const ref = net(fovea, 3);
    ref.fit(x, y, { epochs: 2 });
    const m = net(fovea, 3);
    m.fit(x, y, { epochs: 2, callbacks: [{ onBatchEnd: (b) => void (b.epoch === 0 && b.batch === 1 && fovea.shutdown()) }] });
    expect(fovea.backendInfo()).toMatchObject({ threads: 1, threadsReason: "the pool was shut down" });
    expect(weights(m)).toEqual(weights(ref));
    expect(Array.from(m.predict(x))).toEqual(Array.from(ref.predict(x)));
    await fovea.init();
    expect(fovea.backendInfo().threads).toBe(2);
    expect(Array.from(m.predict(x))).toEqual(Array.from(ref.predict(x)));
    m.free();
    ref.free();
  });

  it("free inside a callback: the next step is a BackendError naming the model, and every byte is back", () => {
    const before = inUse();
    const m = net(fovea, 4, "victim");
    expect(() => m.fit(x, y, { epochs: 2, callbacks: [{ onBatchEnd: (b) => void (b.batch === 1 && m.free()) }] }))
      .toThrow(new fovea.BackendError('model "victim" was freed'));
    expect(inUse()).toBe(before);
    const v = net(fovea, 4, "victim2");
    expect(() => v.fit(x, y, { epochs: 2, validationData: [x, y], callbacks: [{ onBatchEnd: (b) => void (b.batch === 2 && v.free()) }] }))
      .toThrow(new fovea.BackendError('model "victim2" was freed'));
    expect(inUse()).toBe(before);
  });
});

describe("two models", () => {
  it("predict A, predict B, train A one step, predict B: B is unchanged and A equals a model trained alone", () => {
    const a = net(fovea, 5, "a"), b = net(fovea, 6, "b"), alone = net(fovea, 5, "alone");
    const b0 = Array.from(b.predict(x));
    const a0 = Array.from(a.predict(x));
    expect(Array.from(b.predict(x))).toEqual(b0);
    const la = a.trainOnBatch(x.subarray(0, 8 * IN), y.subarray(0, 8));
    expect(Array.from(b.predict(x))).toEqual(b0);
    expect(la).toBe(alone.trainOnBatch(x.subarray(0, 8 * IN), y.subarray(0, 8)));
    expect(weights(a)).toEqual(weights(alone));
    const a1 = Array.from(a.predict(x));
    expect(a1).not.toEqual(a0);
    expect(a1).toEqual(Array.from(alone.predict(x)));
    b.fit(x, y, { epochs: 1 }); // B trains: A does not move
    expect(Array.from(a.predict(x))).toEqual(a1);
    for (const m of [a, b, alone]) m.free();
  });

  it("one optimizer for two live models is a ConfigError naming both; a freed model's optimizer may move on", () => {
    const opt = fovea.train.adam();
    const a = net(fovea, 7, "first").compile({ optimizer: opt });
    const b = net(fovea, 8, "second");
    expect(() => b.compile({ optimizer: opt })).toThrow(fovea.ConfigError);
    expect(() => b.compile({ optimizer: opt })).toThrow(/model "second".*optimizer.*model "first"/);
    a.trainOnBatch(x.subarray(0, 8 * IN), y.subarray(0, 8));
    a.free();
    b.compile({ optimizer: opt });
    b.trainOnBatch(x.subarray(0, 8 * IN), y.subarray(0, 8));
    b.free();
  });

  it("compile with a new optimizer returns the old one's state", () => {
    const m = net(fovea, 9).compile({ optimizer: fovea.train.adam() });
    m.trainOnBatch(x.subarray(0, 8 * IN), y.subarray(0, 8));
    const trained = inUse();
    for (let i = 0; i < 3; i++) {
      m.compile({ optimizer: fovea.train.adam() });
      m.trainOnBatch(x.subarray(0, 8 * IN), y.subarray(0, 8));
      expect(inUse()).toBe(trained);
    }
    m.free();
  });
});

describe("a freed model", () => {
  it("every use is a BackendError naming it; freeing twice is fine", async () => {
    const before = inUse();
    const m = net(fovea, 10, "gone");
    m.trainOnBatch(x.subarray(0, 8 * IN), y.subarray(0, 8));
    m.free();
    expect(inUse()).toBe(before);
    const gone = new fovea.BackendError('model "gone" was freed');
    const xs = x.subarray(0, 8 * IN), ys = y.subarray(0, 8);
    const uses: [string, () => unknown][] = [
      ["predict", () => m.predict(xs)],
      ["predictClasses", () => m.predictClasses(xs)],
      ["evaluate", () => m.evaluate(xs, ys)],
      ["fit", () => m.fit(xs, ys)],
      ["trainOnBatch", () => m.trainOnBatch(xs, ys)],
      ["computeGradients", () => m.computeGradients(xs, ys, 0, 8)],
      ["applyGradients", () => m.applyGradients()],
      ["getWeights", () => m.getWeights()],
      ["setWeights", () => m.setWeights([])],
      ["save", () => m.save()],
      ["saveModel", () => fovea.saveModel(m)],
      ["activations", () => m.activations(x.subarray(0, IN))],
      ["compile", () => m.compile({ batchSize: 4 })],
      ["plan", () => m.plan(8, false)],
    ];
    for (const [what, use] of uses) expect(use, what).toThrow(gone);
    await expect(fovea.exportOnnx(m)).rejects.toThrow(gone);
    expect(inUse()).toBe(before);
    m.free();
    m.free();
    expect(inUse()).toBe(before);
  });
});

describe("the default backend's lifecycle", () => {
  const other = (build: string) => (build.startsWith("relaxed") ? "simd" : "debug");

  it("setThreads on the single-threaded build (one thread asked for at init) is a BackendError that says to choose threads at init", async () => {
    const f = await freshFovea();
    await f.init({ threads: 1 });
    await expect(f.setThreads(2)).rejects.toThrow(/^setThreads\(2\): fovea runs the single-threaded \w+ build \(one thread requested\), whose memory no thread can share .*at the process's first init: fovea\.init\(\{ threads: 2 \}\) there, or FOVEA_THREADS=2 when it starts/);
    // what the message says: a second init cannot change the build (its own message says so)
    await expect(f.init({ threads: 2 })).rejects.toThrow(/init: fovea is initialised with 1 thread/);
    expect(f.backendInfo().threads).toBe(1);
    await f.shutdown();
  });

  it("init twice, and twice at once, is one backend; other options while models live are ConfigErrors, and the models keep working", async () => {
    const f = await freshFovea();
    const [a, b] = await Promise.all([f.init({ threads: 2 }), f.init()]);
    expect(a).toBe(b);
    expect(await f.init({ threads: 2 })).toBe(a);
    const m = net(f, 11);
    const p = Array.from(m.predict(x));
    expect(() => f.init({ build: other(a.build) as "simd" })).toThrow(f.ConfigError);
    await expect(f.init({ threads: 3 })).rejects.toThrow(/init: fovea is initialised with 2 threads; threads: 3 needs setThreads\(3\)/);
    expect(() => f.init({ initialMemoryMiB: 64 })).toThrow(/init: fovea is already initialised with 16 MiB.*initialMemoryMiB: 64/);
    expect(await f.init()).toBe(a);
    expect(Array.from(m.predict(x))).toEqual(p);
    m.free();
    await f.shutdown();
  });

  it("shutdown then predict: the same results on this thread; setThreads and init start a pool again", async () => {
    const f = await freshFovea();
    await f.init({ threads: 2 });
    const m = net(f, 12);
    const p = Array.from(m.predict(x));
    const before = inUse(f);
    await f.shutdown();
    expect(inUse(f)).toBeLessThan(before); // the pool's control block and its second scratch block
    expect(f.backendInfo().threads).toBe(1);
    expect(Array.from(m.predict(x))).toEqual(p);
    await f.setThreads(2);
    expect(inUse(f)).toBe(before);
    expect(Array.from(m.predict(x))).toEqual(p);
    await f.shutdown();
    await f.shutdown(); // twice: fine
    expect((await f.init()).threads).toBe(2);
    expect(inUse(f)).toBe(before);
    expect(Array.from(m.predict(x))).toEqual(p);
    m.free();
    await f.shutdown();
  });

  it("setThreads(n) keeps a healthy pool of n threads (it had stopped and started one again); a pool with a dead worker it replaces", async () => {
    const f = await freshFovea();
    await f.init({ threads: 2 });
    const m = net(f, 14);
    const p = Array.from(m.predict(x));
    const pool = Reflect.get(f.getBackend(), "pool") as unknown as { healthy: boolean; workers: { terminate(): unknown }[] };
    expect((await f.setThreads(2)).threads).toBe(2);
    expect(Reflect.get(f.getBackend(), "pool")).toBe(pool);
    expect(Array.from(m.predict(x))).toEqual(p);
    // a worker killed from outside: the monitor marks it dead (watched for 10 s), calls fail, setThreads(2) starts a new pool
    await pool.workers[0]!.terminate();
    for (const t0 = Date.now(); pool.healthy && Date.now() - t0 < 10_000; ) await new Promise((r) => setTimeout(r, 10));
    expect(pool.healthy).toBe(false);
    expect(() => m.predict(x)).toThrow(f.BackendError);
    expect((await f.setThreads(2)).threads).toBe(2);
    expect(Reflect.get(f.getBackend(), "pool")).not.toBe(pool);
    expect(Array.from(m.predict(x))).toEqual(p);
    m.free();
    await f.shutdown();
  });

  it("setThreads and shutdown called before earlier ones finished: the last call wins, no pool is left behind", async () => {
    const f = await freshFovea();
    await f.init({ threads: 2 });
    const m = net(f, 13);
    const p = Array.from(m.predict(x));
    const before = inUse(f);
    const infos = await Promise.all([f.setThreads(3), f.setThreads(1), f.setThreads(4), f.setThreads(2)]);
    expect(infos[3]!.threads).toBe(2);
    expect(f.backendInfo().threads).toBe(2);
    expect(inUse(f)).toBe(before);
    const started = f.setThreads(3);
    const stopped = f.shutdown(); // after the setThreads: it wins
    await Promise.all([started, stopped]);
    expect(f.backendInfo().threads).toBe(1);
    expect(Array.from(m.predict(x))).toEqual(p);
    await f.setThreads(2);
    expect(inUse(f)).toBe(before);
    m.free();
    await f.shutdown();
  });

  it("an import under way while the pool changes gives the model an import after it gives", async () => {
    const f = await freshFovea();
    await f.init({ threads: 2 });
    const bytes = readFileSync("test/fixtures/onnx/conv_bn_pool.onnx");
    const input = new Float32Array(16 * 20 * 3).map((_, i) => Math.sin(i * 0.1));
    const ref = await f.importOnnx(bytes);
    const want = Array.from(ref.predict(input));
    const pending = f.importOnnx(bytes);
    const change = f.setThreads(1);
    const down = f.shutdown();
    const m = await pending;
    await Promise.all([change, down]);
    expect(Array.from(m.predict(input))).toEqual(want);
    await f.setThreads(2);
    expect(Array.from(m.predict(input))).toEqual(want);
    m.free();
    ref.free();
    await f.shutdown();
  });
});

describe("training mistakes are refused before anything trains", () => {
  it("computeGradients and trainStep check the caller's labels and range: a label out of range wrote outside the loss's buffer (another model's weights)", () => {
    const other = net(fovea, 31), m = net(fovea, 32);
    const mine = weights(m), theirs = weights(other), rng = m.rng.state();
    const hinge = fovea.sequential([fovea.layers.flatten(), fovea.layers.dense({ units: 10 })], { inputShape: SHAPE, seed: 3, name: "hinge" })
      .compile({ batchSize: 2, loss: "hinge", optimizer: fovea.train.sgd({ lr: 0.1 }) });
    const two = x.slice(0, 2 * IN);
    const cases: [() => unknown, RegExp][] = [
      [() => hinge.computeGradients(two, new Int32Array([-557768, 0]), 0, 2), /model "hinge"\.computeGradients, examples from 0: label 0 is -557768; labels are class indices in \[0, 10\)/],
      [() => m.computeGradients(x, Int32Array.from(y, (v, i) => (i === 11 ? 10 : v)), 8, 8), /model "net32"\.computeGradients, examples from 8: label 3 is 10; labels are class indices in \[0, 10\)/],
      [() => m.computeGradients(x, y.slice(0, 8), 0, 8), /computeGradients: 8 labels for 24 examples/],
      [() => m.computeGradients(x, y, 20, 8), /computeGradients: examples \[start, start \+ count\) must be a non-empty range of the 24 in data, got start 20, count 8/],
      [() => m.computeGradients(x, y, 0, 0), /non-empty range of the 24 in data, got start 0, count 0/],
      [() => m.computeGradients(x, y, 0.5, 8), /got start 0\.5, count 8/],
      [() => m.computeGradients("x" as never, y, 0, 8), /computeGradients: examples must be a Float32Array, an array of numbers or a Tensor, got "x"/],
      [() => fovea.train.trainStep(m, x, Int32Array.from(y, (v) => v + 1e7), 0, 8), /trainStep\(model "net32"\), examples from 0: label 0 is 10000000; labels are class indices in \[0, 10\)/],
      [() => fovea.train.trainStep(m, x, y, 0, 8, Number.NaN), /trainStep\(model "net32"\): lr must be a finite number > 0, got NaN/],
    ];
    for (const [f, msg] of cases) {
      expect(f).toThrow(fovea.FoveaError);
      expect(f).toThrow(msg);
    }
    expect(weights(other)).toEqual(theirs);
    expect(weights(m)).toEqual(mine);
    expect(m.rng.state()).toEqual(rng);
    // only the range's labels are read (a loop over batches checks each once); a bad one outside it is another call's
    expect(Number.isFinite(m.computeGradients(x, Int32Array.from(y, (v, i) => (i === 20 ? 99 : v)), 0, 8))).toBe(true);
    // a step that updates needs an optimiser, before its forward pass moves anything
    const noOpt = fovea.sequential([fovea.layers.flatten(), fovea.layers.dense({ units: 10 }), fovea.layers.dropout({ rate: 0.5 })], { inputShape: SHAPE, seed: 4, name: "noopt" }).compile({ batchSize: 8, loss: LOSS });
    const r0 = noOpt.rng.state();
    expect(() => noOpt.trainOnBatch(x.slice(0, 8 * IN), y.slice(0, 8))).toThrow(/model "noopt"\.trainOnBatch: model "noopt" has no optimizer/);
    expect(() => fovea.train.trainStep(noOpt, x, y, 0, 8)).toThrow(/trainStep\(model "noopt"\): model "noopt" has no optimizer/);
    expect(noOpt.rng.state()).toEqual(r0);
    noOpt.free();
    // a NaN regression target, before the forward pass
    const reg = fovea.sequential([fovea.layers.flatten(), fovea.layers.dense({ units: 2 })], { inputShape: SHAPE, seed: 5, name: "reg" }).compile({ batchSize: 8, loss: "mse", optimizer: fovea.train.sgd({ lr: 0.1 }) });
    const t = new Float32Array(16).fill(0.5);
    t[5] = Number.NaN;
    expect(() => reg.trainOnBatch(x.slice(0, 8 * IN), t)).toThrow(/model "reg"\.trainOnBatch: the target data holds NaN at example 2 \(value 1 of its 2\)/);
    reg.free();
    // plain arrays are examples and labels, as fit takes them
    expect(m.computeGradients(Array.from(x) as never, Array.from(y) as never, 0, 8)).toBe(m.computeGradients(x, y, 0, 8));
    for (const k of [m, other, hinge]) k.free();
  });

  it("a bad lr anywhere, validationData that does not fit, a callback that cannot work, NaN in the data: a FoveaError, and the weights, step, optimiser and RNG as they were", () => {
    const m = net(fovea, 21);
    const before = { w: weights(m), step: m.step, lr: m.optimizer!.lr, rng: m.rng.state() };
    const T = fovea.train;
    const bad = x.slice();
    bad[IN * 5 + 7] = Number.NaN;
    const cases: [() => unknown, RegExp][] = [
      [() => m.trainOnBatch(x, y, { lr: Number.NaN }), /trainOnBatch: lr must be a finite number > 0, got NaN/],
      [() => m.trainOnBatch(x, y, { lr: "0.1" as unknown as number }), /trainOnBatch: lr must be a finite number > 0, got "0\.1"/],
      [() => m.applyGradients(-1), /applyGradients: lr must be a finite number > 0, got -1/],
      [() => { m.optimizer!.lr = Number.POSITIVE_INFINITY; }, /optimizer sgd: lr must be a finite number > 0, got Infinity/],
      [() => m.fit(x, y, { lr: -1 }), /fit: lr must be a finite number > 0, got -1/],
      [() => m.fit(x, y, { epochs: "2" as unknown as number }), /fit: epochs must be a whole number >= 1, got "2"/],
      [() => m.fit(x, y, { validationData: [x, Array.from(y).slice(0, 23)] }), /fit validationData: 23 labels for 24 examples/],
      [() => m.fit(x, y, { validationData: x as unknown as [Float32Array, number[]] }), /fit: validationData must be a pair \[examples, targets\], got Float32Array\(\d+\)/],
      [() => m.fit(x, y, { validationData: [bad, y] }), /fit: validationData holds NaN at example 5 \(value 7 of its 1024\)/],
      [() => m.fit(bad, y), /fit: the training data holds NaN at example 5 \(value 7 of its 1024\)/],
      [() => m.fit(x, y, { callbacks: [T.earlyStopping()] }), /fit: callbacks\[0\]: monitor "valLoss" needs validationData in fit \(or monitor "loss"\)/],
      [() => m.fit(x, y, { callbacks: T.earlyStopping() as unknown as fovea.Callback[] }), /fit: callbacks must be an array of callbacks/],
      [() => m.fit(x, y, { validationData: [x, y], lr: T.stepDecay(0.1, { every: 10 }), callbacks: [T.reduceOnPlateau()] }), /fit: callbacks\[0\] sets the optimiser's lr between epochs, which fit's lr option would override; give one or the other/],
      // a schedule's first value and the augment option are checked before the epoch's shuffle draws from the RNG
      [() => m.fit(x, y, { lr: () => Number.NaN }), /fit: the learning rate schedule gave NaN at step 0/],
      [() => m.fit(x, y, { augment: { rotation: 10 } as never }), /fit: augment must be a function of \(examples, count, rng\), e\.g\. fovea\.data\.augmenter\(\.\.\.\), got \{"rotation":10\}/],
      [() => m.evaluate(bad, y), /evaluate: the data holds NaN at example 5 \(value 7 of its 1024\)/],
    ];
    for (const [f, msg] of cases) {
      expect(f).toThrow(fovea.FoveaError);
      expect(f).toThrow(msg);
    }
    expect(weights(m)).toEqual(before.w);
    expect(m.step).toBe(before.step);
    expect(m.optimizer!.lr).toBe(before.lr);
    expect(m.rng.state()).toEqual(before.rng);
    // a schedule may reach 0 (cosineDecay past its steps), on every update path (clipNorm updates after the step)
    m.compile({ clipNorm: 1 });
    expect(() => m.fit(x, y, { epochs: 1, lr: () => 0 })).not.toThrow();
    expect(weights(m)).toEqual(before.w);
    // a user's callback whose monitor is no monitor
    expect(() => m.fit(x, y, { callbacks: [{ monitor: {} as never }] })).toThrow(/fit: callbacks\[0\]: monitor must be "loss", "accuracy", "valLoss" or "valAccuracy", got \{\}/);
    // schedules' counts of steps are whole numbers: warmup's arguments swapped gave a rate of 500,000 at step 0
    expect(() => T.warmup(0.001, 500)).toThrow(/schedule: warmupSteps must be a whole number >= 1, got 0\.001 \(warmup\(steps, after\): the steps come first/);
    expect(() => T.cosineDecay(0.1, { totalSteps: 10.5 })).toThrow(/schedule: totalSteps must be a whole number >= 1, got 10\.5/);
    expect(() => T.stepDecay(0.1, { every: 0 })).toThrow(/schedule: every must be a whole number >= 1, got 0/);
    // adamw's weight decay is adamw's: adam's options have none (its type neither)
    expect(() => T.adam({ weightDecay: 0.1 } as never)).toThrow(/adam: unknown option "weightDecay"/);
    m.free();
  });
});
