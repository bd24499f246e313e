import { describe, expect, it } from "vitest";
import { ConfigError, ShapeError, Tensor, loadBackend, ops } from "../src/index.js";
import { argMaxCalls, concatCalls, permuteCalls } from "../src/ops/eltwise.js";
import type { ActivationName } from "../src/ops/eltwise.js";
import { backendFor } from "./helpers/backends.js";
import { dot, expectClose, numericGrad, randomArray } from "./helpers/check.js";
import { refAct, refSoftmax } from "./ref/eltwise.js";
import * as fovea from "../src/index.js";

const L = fovea.layers;

const BUILDS = ["simd", "relaxed"] as const;
const ACTS: [ActivationName, number | undefined][] = [
  ["relu", undefined], ["relu6", undefined], ["leakyRelu", 0.1], ["elu", 1], ["elu", 0.5], ["sigmoid", undefined], ["tanh", undefined],
];
const SIZES = [0, 1, 3, 4, 5, 7, 8, 9, 1001]; // SIMD body (4 lanes) and scalar tail

describe.each(BUILDS)("activations on the %s build", (build) => {
  it.each(ACTS)("%s (alpha %s): forward and backward at edge sizes", async (name, alpha) => {
    const be = await backendFor(build);
    for (const n of SIZES) {
      const xs = randomArray(n, n + 1, 8); // [-8, 8]
      if (n > 5) xs.set([0, 1e-5, -1e-5, 6, 88], 0);
      const x = Tensor.from(xs, [n], be);
      const y = ops.activation(name, x, alpha);
      const a = alpha ?? (name === "leakyRelu" ? 0.01 : 0);
      const want = Array.from(xs, (v) => refAct[name]!(v, a));
      expectClose(y.toArray(), want, 2e-6, 1e-7, `${name} fwd n=${n}`);
      // backward from y against the analytic derivative at x
      const dys = randomArray(n, 77);
      const dx = ops.activationBackward(name, y, Tensor.from(dys, [n], be), alpha).toArray();
      const h = 1e-6;
      const wantDx = Array.from(xs, (v, i) => (v === 0 ? NaN : dys[i]! * (refAct[name]!(v + h, a) - refAct[name]!(v - h, a)) / (2 * h)));
      // x = 0 is a kink for the ReLU family: skip it; elsewhere y carries the derivative
      const keep = (i: number) => xs[i] !== 0 && !(name === "relu6" && xs[i] === 6);
      expectClose(Array.from(dx).filter((_, i) => keep(i)), wantDx.filter((_, i) => keep(i)), 2e-4, 1e-5, `${name} bwd n=${n}`);
    }
  });

  it("ReLU and ReLU6 give max(x, 0) and min(max(x, 0), 6) bit for bit on zeros, NaN, infinities and subnormals: alone and fused", async () => {
    const be = await backendFor(build);
    const special = [-0, 0, NaN, -Infinity, Infinity, -1e-45, 1e-45, -1e-38, 5.999999, 6, 6.000001, -3, 3, 1e30, -1e30];
    // +0 where max gives +0 (−0 among them), NaN stays NaN
    const want = (name: "relu" | "relu6", v: number) => {
      const f = Math.fround(v);
      if (Number.isNaN(f)) return NaN;
      const r = f > 0 ? f : 0;
      return name === "relu6" ? Math.min(r, 6) : r;
    };
    const show = (v: number) => (Object.is(v, -0) ? "-0" : String(v));
    const same = (got: ArrayLike<number>, xs: number[], name: "relu" | "relu6", what: string) => {
      xs.forEach((v, i) => expect(Object.is(got[i], want(name, v)), `${what}: ${name}(${show(v)}) = ${show(got[i]!)}`).toBe(true));
    };
    const xs = Array.from({ length: 3 }, () => special).flat(); // the SIMD body and a scalar tail
    for (const name of ["relu", "relu6"] as const) {
      same(ops.activation(name, Tensor.from(xs, [xs.length], be)).toArray(), xs, name, "activation");
      // fused into a gemm's epilogue: x·1 + 0 for every x (one row of A per value, B = [1])
      const col = Tensor.from(xs, [xs.length, 1], be), one = Tensor.from([1], [1, 1], be);
      same(ops.gemm(col, one, { activation: name }).toArray(), xs, name, "gemm epilogue");
      // and into a 1×1 conv's and a depthwise conv's: one pixel per value (the -0 input gives +0·1 = +0 before the activation, as without fusion)
      const img = Tensor.from(xs, [1, 1, xs.length, 1], be);
      same(ops.conv2d(img, Tensor.from([1], [1, 1, 1, 1], be), undefined, { activation: name }).toArray(), xs, name, "conv epilogue");
      const chans = Tensor.from(xs, [1, 1, 1, xs.length], be);
      same(ops.conv2d(chans, Tensor.from(xs.map(() => 1), [1, 1, 1, xs.length], be), undefined, { groups: xs.length, activation: name }).toArray(), xs, name, "depthwise epilogue");
    }
  });

  it("sigmoid and tanh saturate cleanly and keep relative accuracy near 0", async () => {
    const be = await backendFor(build);
    const xs = [-200, -90, -30, -1e-3, -1e-6, 0, 1e-6, 1e-3, 30, 90, 200];
    const s = ops.activation("sigmoid", Tensor.from(xs, [xs.length], be)).toArray();
    const t = ops.activation("tanh", Tensor.from(xs, [xs.length], be)).toArray();
    expect(s.every((v) => v >= 0 && v <= 1)).toBe(true);
    expect(t.every((v) => v >= -1 && v <= 1)).toBe(true);
    expect(s[0]).toBeLessThan(1e-30);
    expect(s[10]).toBe(1);
    expect(t[0]).toBe(-1);
    expect(t[10]).toBe(1);
    expectClose([t[4]!, t[6]!, t[3]!], [-1e-6, 1e-6, Math.tanh(-1e-3)], 1e-6, 0, "tanh near 0");
  });

  it("softmax and log-softmax rows: forward, backward, stability", async () => {
    const be = await backendFor(build);
    for (const [rows, cols] of [[1, 1], [3, 4], [2, 5], [7, 10], [2, 1003]] as const) {
      const xs = randomArray(rows * cols, cols, 20);
      const x = Tensor.from(xs, [rows, cols], be);
      for (const log of [false, true]) {
        const y = log ? ops.logSoftmax(x) : ops.softmax(x);
        expectClose(y.toArray(), refSoftmax(xs, rows, cols, log), 1e-5, 1e-6, `${log ? "log" : ""}softmax ${rows}x${cols}`);
        const R = randomArray(rows * cols, 3);
        const dx = (log ? ops.logSoftmaxBackward(y, Tensor.from(R, y.shape, be)) : ops.softmaxBackward(y, Tensor.from(R, y.shape, be))).toArray();
        const num = numericGrad((xx) => dot(refSoftmax(xx, rows, cols, log), R), xs, 1e-5);
        expectClose(dx, num, 1e-3, 1e-5, `${log ? "log" : ""}softmax bwd ${rows}x${cols}`);
      }
    }
    // huge logits do not overflow
    const big = Tensor.from([1000, 999, -1000, 1000], [1, 4], be);
    expectClose(ops.softmax(big).toArray(), refSoftmax([1000, 999, -1000, 1000], 1, 4, false), 1e-6, 1e-7, "big");
    expectClose(ops.logSoftmax(big).toArray(), refSoftmax([1000, 999, -1000, 1000], 1, 4, true), 1e-6, 1e-4, "big log");
  });

  it("add, bias add and the bias gradient", async () => {
    const be = await backendFor(build);
    // the bias gradient sums blocks of 4 / gcd(cols, 4) rows as vectors: every cols mod 4, leftover rows, 1-4+ vector columns
    const shapes = [[1, 1], [3, 5], [6, 8], [5, 13], [0, 3], [7, 6], [9, 6], [11, 3], [4, 1], [6, 2], [13, 4], [5, 12], [7, 16], [3, 20], [9, 32], [5, 36], [3, 64], [10, 14], [6, 17]] as const;
    for (const [rows, cols] of shapes) {
      const xs = randomArray(rows * cols, 1), bs = randomArray(cols, 2), zs = randomArray(rows * cols, 3);
      const x = Tensor.from(xs, [rows, cols], be);
      expectClose(ops.add(x, Tensor.from(zs, [rows, cols], be)).toArray(), xs.map((v, i) => v + zs[i]!), 1e-7, 0);
      expectClose(ops.biasAdd(x, Tensor.from(bs, [cols], be)).toArray(), xs.map((v, i) => v + bs[i % cols]!), 1e-7, 0);
      const db = new Float64Array(cols);
      xs.forEach((v, i) => (db[i % cols]! += v));
      expectClose(ops.biasAddBackward(x).toArray(), db, 1e-6, 1e-6);
    }
  });
});

describe("elementwise errors", async () => {
  const be = await backendFor("simd");
  it("typed errors for bad shapes and options", () => {
    const a = Tensor.zeros([2, 3], be);
    expect(() => ops.add(a, Tensor.zeros([3, 2], be))).toThrow(ShapeError);
    expect(() => ops.add(a, Tensor.zeros([3, 2], be))).toThrow("add: shapes [2, 3] and [3, 2] differ");
    expect(() => ops.biasAdd(a, Tensor.zeros([2], be))).toThrow("biasAdd: bias must have shape [3] for input [2, 3], got [2]");
    // @ts-expect-error: not an activation
    expect(() => ops.activation("swish", a)).toThrow(ConfigError);
    expect(() => ops.activation("relu", a, 0.2)).toThrow(/takes no alpha/);
    expect(() => ops.activation("leakyRelu", a, -0.2)).toThrow(/alpha must be finite and >= 0/);
  });
});

/** y[b][i_{p0}]…[i_{p(k-1)}] = x[b][i0]…[i(k-1)], index by index. */
function refPermute(x: Float32Array, batch: number, d: number[], p: number[]): Float32Array {
  const y = new Float32Array(x.length), n = d.reduce((a, b) => a * b, 1), e = p.map((a) => d[a]!);
  const idx = d.map(() => 0);
  for (let i = 0; i < n; i++) {
    let o = 0;
    for (let k = 0; k < p.length; k++) o = o * e[k]! + idx[p[k]!]!;
    for (let b = 0; b < batch; b++) y[b * n + o] = x[b * n + i]!;
    for (let k = d.length - 1; k >= 0 && ++idx[k]! === d[k]; k--) idx[k] = 0;
  }
  return y;
}
/** permuteCalls' forward and backward on `be`, against the index-by-index reference; returns the forward's part count. */
function checkPermute(be: import("../src/index.js").Backend, batch: number, d: number[], p: number[]): number {
  const n = batch * d.reduce((a, b) => a * b, 1);
  const xs = Float32Array.from({ length: n }, (_, i) => i + 0.5);
  const [x, y, dx] = [0, 1, 2].map(() => be.heap.alloc(4 * Math.max(n, 1)));
  try {
    be.heap.f32(x!, n).set(xs);
    be.heap.f32(y!, n).fill(NaN);
    be.heap.f32(dx!, n).fill(NaN);
    const c = permuteCalls(be, batch, d, p, { x: x!, y: y!, dy: y!, dx: dx! });
    be.run(c.fwd);
    const want = refPermute(xs, batch, d, p), got = be.heap.f32(y!, n);
    expect(want.findIndex((v, i) => !Object.is(v, got[i])), `perm ${p} of ${batch}×[${d}] on ${be.threads} thread(s): first wrong output`).toBe(-1);
    be.run(c.bwd);
    const back = be.heap.f32(dx!, n);
    expect(xs.findIndex((v, i) => !Object.is(v, back[i])), `perm ${p} of ${batch}×[${d}]: its inverse`).toBe(-1);
    return c.fwd.length;
  } finally {
    for (const q of [x, y, dx]) be.heap.free(q!);
  }
}

describe("permute (each example's three axes reordered)", () => {
  const PERMS: [number, number, number][] = [[0, 1, 2], [0, 2, 1], [1, 0, 2], [1, 2, 0], [2, 0, 1], [2, 1, 0]];
  it.each(BUILDS)("every permutation at edge sizes (4 × 4 blocks, 1-3 leftover rows and columns, bands of 32 rows) on the %s build", async (build) => {
    const be = await backendFor(build);
    const sizes = [1, 2, 3, 4, 5, 7, 9, 33, 37];
    for (const p of PERMS) {
      for (const d0 of sizes) for (const d1 of [1, 3, 4, 6]) for (const d2 of sizes) checkPermute(be, d0 === 33 ? 2 : 1, [d0, d1, d2], p);
    }
  });

  it("splits across threads by examples, or by the output's first axis for one image (NCHW 3×224×224 → NHWC): every output written, the inverse exact", async () => {
    const [one, two, three] = await Promise.all([1, 2, 3].map((t) => loadBackend("simd-mt", "option", 16, t)));
    for (const p of PERMS) {
      for (const [batch, d] of [[1, [3, 224, 224]], [1, [5, 131, 197]], [3, [3, 91, 157]], [2, [7, 100, 99]]] as [number, [number, number, number]][]) {
        expect(checkPermute(one!, batch, d, p)).toBe(1);
        const parts = d[p[0]]! >= 3 || batch >= 3 ? 3 : 2;
        expect(checkPermute(two!, batch, d, p), `perm ${p} of ${batch}×[${d}] on 2 threads`).toBe(2);
        expect(checkPermute(three!, batch, d, p), `perm ${p} of ${batch}×[${d}] on 3 threads`).toBe(parts);
      }
    }
    await Promise.all([one, two, three].map((b) => b!.shutdown()));
  });
});

describe("permute of one to six axes (merged, then f32_permute3 or f32_permute6)", () => {
  const perms = (k: number): number[][] => (k === 1 ? [[0]] : perms(k - 1).flatMap((q) => Array.from({ length: k }, (_, i) => [...q.slice(0, i), k - 1, ...q.slice(i)])));

  it.each(BUILDS)("every permutation of 4 and 5 axes, random ones of 1–6, sizes 1–7 (axes of one value, rows copied, 2-D transposes, value by value) on the %s build", async (build) => {
    const be = await backendFor(build);
    let seed = 7;
    const rnd = (m: number) => ((seed = (seed * 1103515245 + 12345) % 2147483648), seed % m);
    for (const k of [4, 5]) {
      for (const p of perms(k)) checkPermute(be, 1 + rnd(2), Array.from({ length: k }, () => 1 + rnd(5)), p);
    }
    for (let t = 0; t < 300; t++) {
      const k = 1 + rnd(6), all = perms(k), p = all[rnd(all.length)]!;
      checkPermute(be, 1 + rnd(3), Array.from({ length: k }, () => [1, 2, 3, 4, 5, 7][rnd(6)]!), p);
    }
    // PixelShuffle's six axes as PyTorch exports them ([C, r, r, H, W] → [C, H, r, W, r]) and a 2-D transpose past 32 rows
    checkPermute(be, 2, [3, 2, 2, 5, 6], [0, 3, 1, 4, 2]);
    checkPermute(be, 1, [37, 41], [1, 0]);
  });

  it("splits across threads by examples, or by the output's leading axes for one example: every output written, the inverse exact", async () => {
    const [one, two, three] = await Promise.all([1, 2, 3].map((t) => loadBackend("simd-mt", "option", 16, t)));
    for (const [batch, d, p] of [[1, [16, 2, 2, 56, 56], [0, 3, 1, 4, 2]], [1, [56, 56, 2, 2, 16], [0, 2, 1, 3, 4]], [1, [300, 700], [1, 0]], [4, [8, 8, 8, 64], [3, 2, 1, 0]]] as [number, number[], number[]][]) {
      expect(checkPermute(one!, batch, d, p)).toBe(1);
      expect(checkPermute(two!, batch, d, p), `perm ${p} of ${batch}×[${d}] on 2 threads`).toBe(2);
      expect(checkPermute(three!, batch, d, p), `perm ${p} of ${batch}×[${d}] on 3 threads`).toBe(3);
    }
    await Promise.all([one, two, three].map((b) => b!.shutdown()));
  });
});

describe("argMax (the index of each row's largest value)", () => {
  /** numpy's argmax (NaN the largest, the first of equal ones), or of the reversed row for the last. */
  function ref(row: number[], last: boolean): number {
    const r = last ? [...row].reverse() : row;
    let at = 0;
    for (let j = 1; j < r.length; j++) if (!Number.isNaN(r[at]!) && (Number.isNaN(r[j]!) || r[j]! > r[at]!)) at = j;
    return last ? row.length - 1 - at : at;
  }

  it("ties, NaN, ±Inf and -0 at every position, first or last, on 1–3 threads; the backward writes zeros", async () => {
    const bes = await Promise.all([1, 2, 3].map((t) => loadBackend("simd-mt", "option", 16, t)));
    let seed = 3;
    const rnd = (m: number) => ((seed = (seed * 1103515245 + 12345) % 2147483648), seed % m);
    const pool = [0, -0, 1, -1, 2, 2, Infinity, -Infinity, NaN, 0.5];
    for (const [rows, cols] of [[1, 1], [7, 1], [5, 3], [40, 10], [3000, 21], [1, 1000]] as [number, number][]) {
      const xs = Float32Array.from({ length: rows * cols }, () => pool[rnd(pool.length)]!);
      for (const last of [false, true]) {
        const want = Array.from({ length: rows }, (_, r) => ref(Array.from(xs.subarray(r * cols, (r + 1) * cols)), last));
        for (const be of bes) {
          const [x, y, dx] = [rows * cols, rows, rows * cols].map((n) => be!.heap.alloc(4 * n));
          try {
            be!.heap.f32(x!, rows * cols).set(xs);
            be!.heap.f32(dx!, rows * cols).fill(NaN);
            const c = argMaxCalls(be!, rows, cols, last, { x: x!, y: y!, dx: dx! });
            be!.run(c.fwd);
            expect(Array.from(be!.heap.f32(y!, rows)), `${rows}×${cols}, last ${last}, ${be!.threads} thread(s)`).toEqual(want);
            be!.run(c.bwd);
            expect(be!.heap.f32(dx!, rows * cols).every((v) => Object.is(v, 0))).toBe(true);
          } finally {
            for (const p of [x, y, dx]) be!.heap.free(p!);
          }
        }
      }
    }
    await Promise.all(bes.map((b) => b!.shutdown()));
  });

  it("as a layer: [H, W, C] → [H, W, 1] (a class map), a vector → [1]; saves and loads; a bad option is a ConfigError", async () => {
    await fovea.init({ build: "simd" });
    const m = fovea.sequential([L.conv2d({ filters: 4, kernelSize: 3, padding: "same" }), L.argMax({ selectLast: true })], { inputShape: [5, 6, 2], seed: 2 });
    expect(m.outputShape).toEqual([5, 6, 1]);
    const x = Float32Array.from({ length: 60 }, (_, i) => Math.sin(i));
    const y = m.predict(x), again = fovea.loadModel(m.save());
    expect(Array.from(again.predict(x))).toEqual(Array.from(y));
    expect(y.every((v) => Number.isInteger(v) && v >= 0 && v < 4)).toBe(true);
    m.free();
    again.free();
    const v = fovea.sequential([L.argMax()], { inputShape: [7] });
    expect(v.outputShape).toEqual([1]);
    expect(Array.from(v.predict(Float32Array.of(3, 9, 1, 9, -2, 0, 4)))).toEqual([1]);
    v.free();
    // @ts-expect-error: not an option
    expect(() => L.argMax({ axis: 1 })).toThrow(/argMax "argMax_\d+": unknown option "axis"/);
    // @ts-expect-error: not a boolean
    expect(() => L.argMax({ selectLast: 1 })).toThrow("selectLast must be true or false, got 1");
  });
});

describe("concat (rows of several inputs side by side) in parts", () => {
  it("each part's program copies its rows of every input both ways: the same bits on 1, 2 and 3 threads, parts by rows where the copies are long (an inception block's 28²×256 and 14²×512 at batch 1: each value read and written)", async () => {
    const bes = await Promise.all([1, 2, 3].map((t) => loadBackend("simd-mt", "option", 16, t)));
    for (const [rows, widths] of [[784, [64, 128, 32, 32]], [196, [128, 256, 64, 64]], [5, [3, 1, 6]], [1000, [7, 13]]] as [number, number[]][]) {
      const out = widths.reduce((a, b) => a + b, 0);
      const ins = widths.map((c, i) => Float32Array.from({ length: rows * c }, (_, j) => i * 1e6 + j + 0.25));
      const want = new Float32Array(rows * out);
      for (let r = 0; r < rows; r++) { let off = 0; widths.forEach((c, i) => { want.set(ins[i]!.subarray(r * c, (r + 1) * c), r * out + off); off += c; }); }
      for (const be of bes) {
        const xs = ins.map((v) => { const p = be.heap.alloc(4 * v.length); be.heap.f32(p, v.length).set(v); return p; });
        const dxs = widths.map((c) => be.heap.alloc(4 * rows * c)), y = be.heap.alloc(4 * rows * out);
        be.heap.f32(y, rows * out).fill(NaN);
        dxs.forEach((p, i) => be.heap.f32(p, rows * widths[i]!).fill(NaN));
        const c = concatCalls(be, rows, widths, xs, y, y, dxs);
        expect(c.fwd.length, `${rows} rows on ${be.threads} threads: parts`).toBe(2 * rows * out * 8 >= 1e6 ? be.threads : 1);
        be.runPrograms(c.fwd);
        const got = be.heap.f32(y, rows * out);
        expect(want.findIndex((v, i) => !Object.is(v, got[i])), `${rows} rows on ${be.threads} threads: first wrong output`).toBe(-1);
        be.runPrograms(c.bwd); // dy = y: each input's rows come back
        ins.forEach((v, i) => { const back = be.heap.f32(dxs[i]!, v.length); expect(v.findIndex((u, j) => !Object.is(u, back[j])), `input ${i} back`).toBe(-1); });
        [...xs, ...dxs, y].forEach((p) => be.heap.free(p));
      }
    }
    await Promise.all(bes.map((b) => b.shutdown()));
  });
});
