// fitAsync (fit with a turn of the event loop between batches), fit's progress events and its
// verbose line. Timings are never asserted: "the event loop ran" is a count of timer callbacks.
import { beforeAll, describe, expect, it } from "vitest";
import * as fovea from "../src/index.js";

const L = fovea.layers;

beforeAll(async () => {
  await fovea.init({ build: "simd", threads: 1 });
});

/** 40 examples of 3 classes: a small conv net's data. */
const data = () => {
  const x = Float32Array.from({ length: 40 * 6 * 6 }, (_, i) => Math.sin(i * 0.37) + (Math.floor(i / 36) % 3) * 0.3);
  const y = Int32Array.from({ length: 40 }, (_, i) => i % 3);
  return { x, y };
};
const net = () =>
  fovea.sequential([L.conv2d({ filters: 4, kernelSize: 3, activation: "relu" }), L.flatten(), L.dense({ units: 3 }), L.softmax()], { inputShape: [6, 6, 1], seed: 9 })
    .compile({ batchSize: 8, loss: "softmaxCrossEntropy", optimizer: fovea.train.adam({ lr: 0.01 }) });

describe("fitAsync", () => {
  it("gives the same weights and history as fit, bit for bit, and lets the event loop run between batches", async () => {
    const { x, y } = data();
    const a = net(), b = net();
    const h1 = a.fit(x, y, { epochs: 3, validationData: [x, y] });
    let ticks = 0;
    const timer = setInterval(() => ticks++, 0);
    const pending = b.fitAsync(x, y, { epochs: 3, validationData: [x, y], yieldMs: 0 });
    expect(pending).toBeInstanceOf(Promise);
    const h2 = await pending;
    clearInterval(timer);
    expect(ticks).toBeGreaterThan(0); // timers ran while it trained
    const strip = (h: fovea.train.History) => h.epochs.map(({ seconds, imagesPerSecond, ...rest }) => rest);
    expect(strip(h2)).toEqual(strip(h1));
    expect(b.getWeights().map((w) => Array.from(w.values))).toEqual(a.getWeights().map((w) => Array.from(w.values)));
    expect(b.step).toBe(a.step);
    a.free();
    b.free();
  });

  it("a second fit of a model under fitAsync is a ConfigError; after it ends, the model trains again", async () => {
    const { x, y } = data();
    const m = net();
    const first = m.fitAsync(x, y, { epochs: 2, yieldMs: 0 });
    await new Promise((r) => setImmediate(r)); // it is between two batches now
    expect(() => m.fit(x, y)).toThrow(new fovea.ConfigError(`fit: model "${m.name}" is already being trained (a fitAsync under way); wait for it to end`));
    await expect(m.fitAsync(x, y)).rejects.toThrow(/fitAsync: model .* is already being trained/);
    await first;
    expect(m.fit(x, y).epochs).toHaveLength(1);
    await expect(m.fitAsync(x, y, { yieldMs: -1 })).rejects.toThrow(new fovea.ConfigError("fitAsync: yieldMs must be a number of ms >= 0, got -1"));
    await expect(m.fitAsync(x, y, { yieldMs: 0, wait: 1 } as never)).rejects.toThrow(/fitAsync: unknown option "wait"/);
    m.free();
  });

  it("T.checkpoint with an async save: fitAsync waits for each before the next epoch, with ema the weights it reads before its first await are the averaged ones, a failing save rejects it; fit refuses the promise; neither leaves the model training", async () => {
    const { x, y } = data();
    const T = fovea.train;
    const ema = () => fovea.sequential([L.conv2d({ filters: 4, kernelSize: 3, activation: "relu" }), L.flatten(), L.dense({ units: 3 }), L.softmax()], { inputShape: [6, 6, 1], seed: 9 })
      .compile({ batchSize: 8, loss: "softmaxCrossEntropy", optimizer: T.sgd({ lr: 0.05, momentum: 0.9, ema: 0.9 }) });
    // the same run with a synchronous save: the bytes each epoch
    const values = (m: fovea.Model) => m.getWeights().flatMap((w) => Array.from(w.values));
    const a = ema(), want: number[][] = [];
    a.fit(x, y, { epochs: 3, callbacks: [T.checkpoint((m) => void want.push(values(m)))] });
    const b = ema(), got: number[][] = [], events: string[] = [];
    await b.fitAsync(x, y, {
      epochs: 3, yieldMs: 0,
      onProgress: (e) => void (e.type === "batch" && e.batch === 1 && events.push(`epoch ${e.epoch} starts`)),
      callbacks: [T.checkpoint(async (m, logs) => {
        got.push(values(m));
        events.push(`save ${logs.epoch}`);
        await new Promise((r) => setTimeout(r, 20));
        events.push(`saved ${logs.epoch}`);
      })],
    });
    expect(events).toEqual(["epoch 0 starts", "save 0", "saved 0", "epoch 1 starts", "save 1", "saved 1", "epoch 2 starts", "save 2", "saved 2"]);
    expect(got).toEqual(want);
    expect(values(b)).toEqual(values(a));
    // a save that fails rejects fitAsync with its error, after that epoch
    const c = ema();
    let epochs = 0;
    await expect(c.fitAsync(x, y, { epochs: 3, callbacks: [T.checkpoint(async () => {
      epochs++;
      await Promise.resolve();
      throw new Error("disk full");
    })] })).rejects.toThrow("disk full");
    expect(epochs).toBe(1);
    // fit cannot wait: a ConfigError saying what to use
    const pending: Promise<unknown>[] = [];
    expect(() => c.fit(x, y, { epochs: 2, callbacks: [T.checkpoint(() => {
      const p = Promise.resolve();
      pending.push(p);
      return p;
    })] })).toThrow(/fit: a callback's onEpochEnd returned a promise \(an async save given T\.checkpoint\?\), which fit cannot wait for: use fitAsync/);
    expect(pending).toHaveLength(1);
    // an async function is refused before fit trains
    const w0 = c.getWeights().map((w) => Array.from(w.values)), step = c.step;
    expect(() => c.fit(x, y, { epochs: 1, callbacks: [T.checkpoint(async () => undefined)] })).toThrow(/fit: callbacks\[0\] returns a promise \(an async save given T\.checkpoint\), which fit cannot wait for: use fitAsync/);
    expect(c.getWeights().map((w) => Array.from(w.values))).toEqual(w0);
    expect(c.step).toBe(step);
    // neither left the model training
    expect(() => c.fit(x, y, { epochs: 1 })).not.toThrow();
    for (const m of [a, b, c]) m.free();
  });

  it("a model freed while fitAsync waits rejects its promise with fit's BackendError", async () => {
    const { x, y } = data();
    const m = net();
    const run = m.fitAsync(x, y, { epochs: 5, yieldMs: 0 });
    await new Promise((r) => setImmediate(r));
    m.free();
    await expect(run).rejects.toThrow(fovea.BackendError);
  });
});

describe("fit's progress", () => {
  it("onProgress hears every batch and every epoch, in order, ending at fraction 1", () => {
    const { x, y } = data();
    const m = net();
    const events: fovea.train.FitEvent[] = [];
    const h = m.fit(x, y, { epochs: 2, onProgress: (e) => events.push(e) });
    const batches = Math.ceil(40 / 8);
    expect(events.map((e) => `${e.type} ${e.epoch}.${e.batch}`)).toEqual(
      [0, 1].flatMap((ep) => [...Array.from({ length: batches }, (_, b) => `batch ${ep}.${b + 1}`), `epoch ${ep}.${batches}`]),
    );
    const fractions = events.map((e) => e.fraction);
    expect(fractions).toEqual([...fractions].sort((p, q) => p - q));
    expect(fractions[fractions.length - 1]).toBe(1);
    expect(events.every((e) => e.epochs === 2 && e.batches === batches && Number.isFinite(e.loss))).toBe(true);
    const ends = events.filter((e) => e.type === "epoch");
    expect(ends.map((e) => e.logs)).toEqual(h.epochs);
    expect(ends[0]!.epochLoss).toBe(h.epochs[0]!.loss);
    // the running mean at the epoch's last batch is the epoch's loss
    const lastBatch = events.filter((e) => e.type === "batch" && e.epoch === 0).pop()!;
    expect(lastBatch.epochLoss).toBeCloseTo(h.epochs[0]!.loss, 12);
    expect(() => m.fit(x, y, { onProgress: 3 as never })).toThrow(/fit: onProgress must be a function, got number/);
    m.free();
  });

  it("verbose: one line per epoch (formatEpoch), to console.log or to a function", () => {
    const { x, y } = data();
    const m = net();
    const lines: string[] = [];
    const h = m.fit(x, y, { epochs: 2, validationData: [x, y], verbose: (l) => lines.push(l) });
    expect(lines).toEqual(h.epochs.map((l) => fovea.train.formatEpoch(l, 2)));
    expect(lines[1]).toMatch(/^epoch 2\/2 {2}loss \d\.\d{4} {2}accuracy \d+\.\d\d% {2}validation loss \d\.\d{4} {2}validation accuracy \d+\.\d\d% {2}lr 0\.01 {2}\d+\.\d s {2}[\d,]+ img\/s$/);
    const logged: string[] = [];
    const log = console.log;
    console.log = (s: string) => logged.push(s);
    try {
      m.fit(x, y, { epochs: 1, verbose: true });
    } finally {
      console.log = log;
    }
    expect(logged).toHaveLength(1);
    expect(logged[0]).toMatch(/^epoch 1\/1 {2}loss /);
    m.free();
  });
});
