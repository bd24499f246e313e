// Balanced splits (src/runtime/balance.ts): a forward of one image splits into one part per thread
// whose cuts follow the threads' speeds as the pool measures them. The controller keeps the parts a partition
// of the units in steps of their alignment whatever times it is given, moves towards a slower
// thread's share, and moves nothing on runs too short to time; every split kind of convCalls gives
// one thread's bits wherever its cuts fall (every cut of two parts, random cuts of three, and cuts
// placed by the threads' own speeds over repeated runs).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BackendError, Tensor, input, layers, loadBackend, model, ops, withBackend, zoo, type Backend } from "../src/index.js";
import { balanced, isBalanced, measureSpeeds, placeCuts, setCuts, type BalancedCalls } from "../src/runtime/balance.js";
import { call, type KernelCall } from "../src/runtime/calls.js";
import { randomArray } from "./helpers/check.js";

/** A split of `units` in steps of `align` over `T` parts, its calls fakes that record their range. */
function fake(units: number, align: number, T: number, fits?: (a: number, b: number) => boolean): BalancedCalls {
  const ranges = ops.splitRange(units, T, align);
  // (calls of a real kernel, never run: its first two arguments hold the range)
  return balanced(ranges, units, align, (a, b) => call("f32_add_fwd", a, b, 0, 0), (c, a, b) => {
    (c.args as number[])[0] = a;
    (c.args as number[])[1] = b;
  }, fits);
}

/** The calls' ranges tile [0, units) in order, starts in steps of align, none empty, and agree with the cuts. */
function expectPartition(calls: BalancedCalls): void {
  const b = calls.balance!;
  let at = 0;
  calls.forEach((c, t) => {
    const [a, e] = c.args as number[];
    expect([a, e], `part ${t}`).toEqual([b.cuts[t], b.cuts[t + 1]]);
    expect(a).toBe(at);
    expect(e!).toBeGreaterThan(a!);
    expect(a! % b.align).toBe(0);
    at = e!;
  });
  expect(at).toBe(b.units);
}

describe("the balance's controller", () => {
  it("keeps a partition in steps of its alignment whatever the speeds (2, 3 and 4 parts)", () => {
    let seed = 7;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
    for (const [units, align, T] of [[49, 1, 2], [100, 1, 3], [512, 8, 2], [64, 8, 4], [13, 1, 3], [7, 1, 2]] as const) {
      const calls = fake(units, align, T), speeds = new Array<number>(T).fill(1);
      expect(calls.balance, `${units} / ${align} / ${T}`).toBeDefined();
      for (let r = 0; r < 300; r++) {
        placeCuts(calls, speeds);
        expectPartition(calls);
        // times from equal rates to one part 20x slower, and now and then a part too short to time
        const busy = Array.from({ length: T }, (_, t) => (rnd() < 0.05 ? 0.01 : ((calls.balance!.cuts[t + 1]! - calls.balance!.cuts[t]!) / units) * (0.1 + 2 * rnd() ** 3)));
        measureSpeeds(calls, busy, speeds);
        expect(speeds.reduce((s, v) => s + v, 0)).toBeCloseTo(T, 9);
      }
    }
  });

  it("gives a thread half as fast a third of the units, a few runs on, and a part keeps its floor", () => {
    const calls = fake(96, 1, 2), speeds = [1, 1];
    const rate = [2, 1]; // units a ms
    const seen: number[] = [];
    for (let r = 0; r < 30; r++) {
      placeCuts(calls, speeds);
      seen.push(calls.balance!.cuts[1]!);
      measureSpeeds(calls, [0, 1].map((t) => (calls.balance!.cuts[t + 1]! - calls.balance!.cuts[t]!) / rate[t]!), speeds);
    }
    expect(seen[0], "equal parts first").toBe(48);
    expect(seen[1], "a step, not all the way").toBeLessThan(60);
    expect(seen.at(-1)).toBe(64);
    for (let r = 1; r < seen.length; r++) expect(seen[r]!).toBeGreaterThanOrEqual(seen[r - 1]!); // no overshoot
    // a thread 1000x slower: its part keeps a weight of 0.25 against the other's 2 (FLOOR), never empty
    for (let r = 0; r < 60; r++) {
      placeCuts(calls, speeds);
      measureSpeeds(calls, [calls.balance!.cuts[1]! / 100, (96 - calls.balance!.cuts[1]!) * 10], speeds); // 100 and 0.1 units a ms
    }
    placeCuts(calls, speeds);
    expectPartition(calls);
    expect(calls.balance!.cuts[1]).toBe(Math.round((96 * 2) / 2.25));
  });

  it("keeps the even cuts on a calm machine's noise, and goes back to them when the speeds even out", () => {
    const calls = fake(100, 1, 2), speeds = [1, 1];
    let seed = 3;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
    for (let r = 0; r < 200; r++) {
      placeCuts(calls, speeds);
      expect(calls.balance!.cuts).toEqual([0, 50, 100]);
      measureSpeeds(calls, [0.5 * (1 + 0.07 * (rnd() - 0.5)), 0.5 * (1 + 0.07 * (rnd() - 0.5))], speeds); // rates within 7 %
    }
    for (let r = 0; r < 10; r++) {
      placeCuts(calls, speeds);
      measureSpeeds(calls, [calls.balance!.cuts[1]! / 100, ((100 - calls.balance!.cuts[1]!) / 100) * 1.5], speeds); // thread 1 1.5x slower
    }
    expect(calls.balance!.cuts[1]).toBeGreaterThan(55);
    for (let r = 0; r < 30; r++) {
      placeCuts(calls, speeds);
      measureSpeeds(calls, [calls.balance!.cuts[1]! / 100, (100 - calls.balance!.cuts[1]!) / 100], speeds);
    }
    placeCuts(calls, speeds);
    expect(calls.balance!.cuts).toEqual([0, 50, 100]);
  });

  it("moves nothing on a run too short to time, where a new part would not fit, or without enough steps to move", () => {
    const calls = fake(40, 1, 2), speeds = [1, 1];
    measureSpeeds(calls, [0.02, 0.01], speeds);
    expect(speeds).toEqual([1, 1]);
    const none = fake(40, 1, 2, (a, b) => b - a > 19);
    expect(placeCuts(none, [1.5, 0.5])).toBe(false);
    expect(none.balance!.cuts).toEqual([0, 20, 40]);
    expect(placeCuts(fake(40, 1, 2), [1.5, 0.5])).toBe(true);
    expect(fake(3, 1, 2).balance, "3 units over 2 parts").toBeUndefined();
    expect(fake(24, 8, 2).balance, "3 steps of 8 over 2 parts").toBeUndefined();
    expect(() => setCuts(calls, [0, 41, 40])).toThrow(BackendError);
    expect(() => setCuts(fake(64, 8, 2), [0, 20, 64])).toThrow(BackendError);
  });
});

interface SplitCase {
  name: string;
  x: [number, number, number, number];
  w: [number, number, number, number];
  opts: ops.Conv2dOptions;
  split: string;
  packed?: boolean;
  res?: boolean;
  /** A max pool fused into the forward (f32_conv2d_maxpool_fwd: bands of pool rows). */
  pool?: ops.Pool2dOptions;
}

// one case of each split convCalls makes for one image (ops/conv.ts forwardSplit)
const SPLITS: SplitCase[] = [
  { name: "Winograd tiles, 28²×16 → 16, residual", x: [1, 28, 28, 16], w: [3, 3, 16, 16], opts: { padding: "same" }, split: "f32_conv2d_fwd_winograd", res: true },
  { name: "Winograd channels, 7²×64 → 128", x: [1, 7, 7, 64], w: [3, 3, 64, 128], opts: { padding: "same" }, split: "f32_conv2d_fwd_winograd" },
  { name: "direct rows, 57²×32 → 32 stride 2, residual", x: [1, 57, 57, 32], w: [3, 3, 32, 32], opts: { strides: 2, padding: "same" }, split: "f32_conv2d_fwd", res: true },
  { name: "direct rows, 7×7 stride 2 pad 3 (a stem), 3 → 16", x: [1, 64, 64, 3], w: [7, 7, 3, 16], opts: { strides: 2, padding: [3, 3, 3, 3], rounding: "floor" }, split: "f32_conv2d_fwd" },
  { name: "direct channels, 1×1 7²×256 → 512", x: [1, 7, 7, 256], w: [1, 1, 256, 512], opts: {}, split: "f32_conv2d_fwd", packed: true },
  { name: "depthwise channels, 7²×1024", x: [1, 7, 7, 1024], w: [3, 3, 1, 1024], opts: { padding: "same", groups: 1024 }, split: "f32_depthwise_conv2d_fwd" },
  { name: "depthwise rows, 56²×32", x: [1, 56, 56, 32], w: [3, 3, 1, 32], opts: { padding: "same", groups: 32 }, split: "f32_depthwise_conv2d_fwd" },
  // a part of at most 16 tiles with 256 channels or more takes the packed layout of V (PACKED_TILES, assembly/conv/winograd.ts), a larger one its rows
  { name: "Winograd tiles, packed and not, 20²×256 → 64", x: [1, 20, 20, 256], w: [3, 3, 256, 64], opts: { padding: "same" }, split: "f32_conv2d_fwd_winograd" },
  // one input channel to 6 outputs: 16 pixels of a row as the vector lanes (row16C6)
  { name: "direct rows, one channel to 6, 96² 5×5", x: [1, 96, 96, 1], w: [5, 5, 1, 6], opts: { padding: "same" }, split: "f32_conv2d_fwd" },
  // channels past the last multiple of 8 (1020 = 127 × 8 + 4) in the last part
  { name: "depthwise channels, 7²×1020", x: [1, 7, 7, 1020], w: [3, 3, 1, 1020], opts: { padding: "same", groups: 1020 }, split: "f32_depthwise_conv2d_fwd" },
  // a max pool fused in: bands of pool rows, each computing the conv rows its windows read (overlapping 3×3 windows, stride 2, padded: ResNet's stem)
  { name: "direct with a fused 3×3 stride-2 max pool, 7×7 stride 2 (a stem), 3 → 16", x: [1, 64, 64, 3], w: [7, 7, 3, 16], opts: { strides: 2, padding: [3, 3, 3, 3], rounding: "floor" }, split: "f32_conv2d_maxpool_fwd", pool: { kernel: 3, strides: 2, padding: 1, rounding: "floor" } },
  { name: "direct with a fused 2×2 max pool, one channel to 6, 96² 5×5", x: [1, 96, 96, 1], w: [5, 5, 1, 6], opts: { padding: "same" }, split: "f32_conv2d_maxpool_fwd", pool: { kernel: 2 } },
];

describe("balanced conv splits give one thread's bits wherever the cuts fall", () => {
  const backends: Backend[] = [];
  beforeAll(async () => {
    backends.push(await loadBackend("simd-mt", "option", 64, 2), await loadBackend("simd-mt", "option", 64, 3));
  });
  afterAll(async () => {
    await Promise.all(backends.map((b) => b.shutdown()));
  });

  it.each(SPLITS)("$name", (c) => {
    for (const be of backends) {
      const g = ops.conv2dGeometry(c.x, c.w, c.opts);
      const pg = c.pool ? ops.pool2dGeometry("maxPool2d", g.outShape, c.pool) : null;
      const xs = randomArray(c.x.reduce((a, v) => a * v), 3), ws = randomArray(c.w.reduce((a, v) => a * v), 4, 0.3), bs = randomArray(g.OC, 5);
      const x = Tensor.from(xs, c.x, be), w = Tensor.from(ws, c.w, be), b = Tensor.from(bs, [g.OC], be), y = Tensor.zeros(pg ? pg.outShape : g.outShape, be);
      const res = c.res ? Tensor.from(randomArray(y.size, 6), g.outShape, be) : null;
      ops.withScratchAlloc(be, (alloc) => {
        const geo = ops.convBlock(g), gp = alloc(geo.length * 4);
        be.heap.i32(gp, geo.length).set(geo);
        const packed = c.packed ? alloc(be.kernels.f32_conv2d_packed_floats(gp) * 4) : 0;
        const bufs = { x: x.ptr, y: y.ptr, w: w.ptr, packed, bias: b.ptr, act: ops.ACT_CODES.relu, res: res?.ptr ?? 0, pool: pg, training: false, dy: 0, dyAct: 0, dx: 0, dw: 0, db: 0 };
        const one = ops.convCalls(be, g, alloc, bufs, 1);
        const split = ops.convCalls(be, g, alloc, bufs) as BalancedCalls & ops.ConvCalls;
        be.run(one.pack);
        be.run(split.pack);
        const out = (calls: KernelCall[]) => {
          be.heap.f32(y.ptr, y.size).fill(Number.NaN);
          be.run(calls);
          return y.toArray();
        };
        const want = out(one.fwd);
        const fwd = split.fwd as BalancedCalls;
        expect(fwd.map((k) => k.fn), `${be.threads} threads`).toEqual(Array(be.threads).fill(c.split));
        const bal = fwd.balance!;
        expect(bal, `${be.threads} threads: balanced`).toBeDefined();
        // calls: fwd itself (Backend.run places its cuts by the pool's speeds first) or a copy
        // without the balance (it runs the cuts setCuts gave it)
        const check = (calls: KernelCall[], what: () => string) => {
          const got = out(calls), at = got.findIndex((v, i) => !Object.is(v, want[i]));
          expect(at < 0 ? "the same bits" : `${got[at]} at ${at}, one thread ${want[at]}`, `${be.threads} threads, ${what()}`).toBe("the same bits");
        };
        check(fwd.slice(), () => `cuts ${bal.cuts.join(" ")}`);
        const T = be.threads, steps = Math.ceil(bal.units / bal.align);
        let seed = 11;
        const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
        const tries: number[][] = T === 2
          ? Array.from({ length: steps - 1 }, (_, i) => [0, (i + 1) * bal.align, bal.units])
          : Array.from({ length: 12 }, () => {
            const a = 1 + Math.floor(rnd() * (steps - 2)), e = a + 1 + Math.floor(rnd() * (steps - a - 1));
            return [0, a * bal.align, e * bal.align, bal.units];
          });
        for (const cuts of tries) {
          if (!bal.fits(cuts[0]!, cuts[1]!) || !bal.fits(cuts.at(-2)!, cuts.at(-1)!)) continue; // (a band of only padding)
          setCuts(fwd, cuts);
          expect(bal.cuts).toEqual(cuts);
          check(fwd.slice(), () => `cuts ${cuts.join(" ")}`);
        }
        // cuts placed by the threads' own speeds, run after run; every thread reported a time for its part (a part of ≥ 1 MFLOP takes some)
        for (let r = 0; r < 20; r++) check(fwd, () => `run ${r}, cuts ${bal.cuts.join(" ")}`);
        expect(Array.from(be.pool!.busy).every((ms) => ms > 0), `busy ${Array.from(be.pool!.busy)}`).toBe(true);
      });
      [x, w, b, y, res].forEach((t) => t?.free());
    }
  });
});

describe("a model's predicts on two threads with the speeds set uneven give one thread's bits", () => {
  // a small residual net (direct bands of rows, Winograd by tiles with a fused residual and by
  // channels) and the zoo's MobileNetV2 (depthwise by rows and by channels, 1×1 convs by rows and by channels)
  const small = (seed: number) => {
    const inp = input([40, 40, 3]);
    let x = layers.conv2d({ filters: 16, kernelSize: 3, padding: "same", activation: "relu" }).apply(inp);
    x = layers.conv2d({ filters: 16, kernelSize: 3, strides: 2, padding: "same", activation: "relu" }).apply(x);
    const y = layers.conv2d({ filters: 16, kernelSize: 3, padding: "same" }).apply(layers.conv2d({ filters: 16, kernelSize: 3, padding: "same", activation: "relu" }).apply(x));
    x = layers.relu().apply(layers.add().apply(y, x));
    x = layers.conv2d({ filters: 128, kernelSize: 3, strides: 4, padding: "same", activation: "relu" }).apply(x);
    x = layers.conv2d({ filters: 128, kernelSize: 3, padding: "same", activation: "relu" }).apply(x);
    return model({ inputs: inp, outputs: layers.dense({ units: 10 }).apply(layers.globalAvgPool2d().apply(x)), seed });
  };
  it.each([
    ["a residual net", small, [40, 40, 3], ["f32_conv2d_fwd", "f32_conv2d_fwd_winograd"]],
    ["MobileNetV2", (seed: number) => zoo.mobilenetV2({ seed }), [224, 224, 3], ["f32_conv2d_fwd", "f32_depthwise_conv2d_fwd"]],
  ] as const)("%s", async (_, make, shape, kernels) => {
    const [one, two] = [await loadBackend("simd-mt", "option", 64, 1), await loadBackend("simd-mt", "option", 64, 2)];
    const x = randomArray(shape[0] * shape[1] * shape[2], 9);
    const want = withBackend(one, () => make(1)).predict(x);
    const m = withBackend(two, () => make(1));
    // which balanced splits ran, and which of them ran on cuts other than the even ones
    const ran = new Set<string>(), moved = new Set<string>(), run = two.run.bind(two);
    two.run = (calls) => {
      run(calls);
      if (!isBalanced(calls)) return;
      ran.add(calls[0]!.fn);
      if (calls.balance.cuts.some((c, i) => c !== calls.balance.even[i])) moved.add(calls[0]!.fn);
    };
    two.pool!.balances = true; // (a machine of one core would not balance 2 threads)
    for (const speeds of [[1, 1], [1.7, 0.3], [0.3, 1.7], [1.2, 0.8], [1, 1]]) {
      two.pool!.speeds.splice(0, 2, ...speeds);
      const got = m.predict(x), at = got.findIndex((v, i) => !Object.is(v, want[i]));
      expect(at < 0 ? "the same bits" : `${got[at]} at ${at}, one thread ${want[at]}`, `speeds ${speeds}`).toBe("the same bits");
    }
    expect([...moved].sort()).toEqual([...kernels]);
    expect([...ran].sort()).toEqual([...kernels]);
    await Promise.all([one.shutdown(), two.shutdown()]);
  });
});
