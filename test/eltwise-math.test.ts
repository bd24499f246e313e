// The elementwise math of imported graphs (erf, GELU, √, softplus, softsign, exp, log, the steps, add / sub / mul / div / pow with numpy
// broadcasting) and layer normalisation, against float64 oracles (test/ref/eltwise.ts) at edge sizes
// (SIMD body and scalar tail) and edge values, forward and backward, through the ops/ builders.
import { describe, expect, it } from "vitest";
import { Tensor } from "../src/index.js";
import { activationCalls, binaryCalls, broadcastShape, whereCalls, type BinaryOp } from "../src/ops/eltwise.js";
import { layerNormCalls } from "../src/ops/norm.js";
import type { Backend } from "../src/runtime/backend.js";
import { backendFor } from "./helpers/backends.js";
import { dot, expectClose, numericGrad, randomArray } from "./helpers/check.js";
import { refErf, refFloat16, refGelu, refLayerNorm } from "./ref/eltwise.js";

const SIZES = [1, 3, 4, 5, 7, 8, 9, 1001];
const EDGES = [0, 1e-6, -1e-6, 1e-3, -1e-3, 0.49, -0.49, 0.5, -0.5, 0.51, -0.51, 1, -1, 2.9, -3, 4, -4, 6, -6, 10, -10, 30, -30];

const unary = {
  erf: { f: refErf, d: (x: number) => (2 / Math.sqrt(Math.PI)) * Math.exp(-x * x), rtol: 1e-6, atol: 2e-7 },
  gelu: { f: refGelu, d: (x: number) => 0.5 * (1 + refErf(x / Math.SQRT2)) + (x * Math.exp(-x * x / 2)) / Math.sqrt(2 * Math.PI), rtol: 1e-6, atol: 1e-7 },
  sqrt: { f: Math.sqrt, d: (x: number) => 1 / (2 * Math.sqrt(x)), rtol: 1e-7, atol: 0 },
  softplus: { f: (x: number) => Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x))), d: (x: number) => 1 / (1 + Math.exp(-x)), rtol: 1e-6, atol: 0 },
  softsign: { f: (x: number) => x / (1 + Math.abs(x)), d: (x: number) => 1 / (1 + Math.abs(x)) ** 2, rtol: 2e-7, atol: 0 },
  exp: { f: Math.exp, d: Math.exp, rtol: 3e-7, atol: 0 },
  log: { f: Math.log, d: (x: number) => 1 / x, rtol: 3e-7, atol: 1e-7 },
  floor: { f: Math.floor, d: () => 0, rtol: 0, atol: 0 },
  ceil: { f: Math.ceil, d: () => 0, rtol: 0, atol: 0 },
  // halves to even
  round: { f: (x: number) => (Math.abs(x % 1) === 0.5 ? 2 * Math.round(x / 2) : Math.round(x)), d: () => 0, rtol: 0, atol: 0 },
  sign: { f: Math.sign, d: () => 0, rtol: 0, atol: 0 },
} as const;

const f32 = (be: Backend, v: ArrayLike<number>) => Tensor.from(Float32Array.from(v), [Math.max(v.length, 1)], be);

describe.each(["simd", "relaxed"] as const)("elementwise math on the %s build", (build) => {
  it.each(Object.keys(unary) as (keyof typeof unary)[])("%s: forward and backward against float64 at edge sizes and values", async (name) => {
    const be = await backendFor(build);
    const u = unary[name];
    for (const n of [...SIZES, EDGES.length]) {
      const xs = n === EDGES.length ? Float32Array.from(EDGES) : randomArray(n, n + 3, 6);
      if (name === "log") xs.forEach((v, i) => (xs[i] = Math.abs(v) * (i % 3 === 0 ? 1e4 : 1) + (i % 5 === 1 ? 1e-30 : 1e-3)));
      if (name === "round" && n === EDGES.length) xs.set([0.5, -0.5, 1.5, 2.5, -2.5, 0.4999999701976776].slice(0, n));
      if (name === "sqrt") xs.forEach((v, i) => (xs[i] = Math.abs(v) * (i % 3 === 0 ? 1e4 : 1) + (i === 1 ? 0 : 1e-30)));
      const x = f32(be, xs), y = Tensor.zeros([n], be), dy = f32(be, randomArray(n, 7)), dx = Tensor.zeros([n], be);
      const c = activationCalls(name, 0, n, 0, { x: x.ptr, y: y.ptr, dy: dy.ptr, dx: dx.ptr });
      be.run(c.fwd);
      expectClose(y.toArray(), Array.from(xs, u.f), u.rtol, u.atol, `${name} forward n=${n}`);
      be.run(c.bwd);
      const g = dy.toArray();
      const keep = (i: number) => !(name === "sqrt" && xs[i] === 0);
      expectClose(Array.from(dx.toArray()).filter((_, i) => keep(i)), Array.from(xs, (v, i) => g[i]! * u.d(v)).filter((_, i) => keep(i)), 2e-6, 1e-7, `${name} backward n=${n}`);
    }
  });

  it("exp past float32's range: +∞ above 88.72, 0 below −87.34 (PyTorch's subnormals there, within 1.2e-38), NaN for NaN; 1 to any power is 1", async () => {
    const be = await backendFor(build);
    const xs = [88, 89, 100, 1000, Infinity, -87, -88, -104, -1000, -Infinity, NaN, 0]; // (expv: within 2e-7 on [−87, 88])
    const x = f32(be, xs), y = Tensor.zeros([xs.length], be);
    be.run(activationCalls("exp", 0, xs.length, 0, { x: x.ptr, y: y.ptr, dy: 0, dx: 0 }).fwd);
    const got = y.toArray(), want = xs.map((v) => Math.fround(Math.exp(v)));
    got.forEach((v, i) => {
      if (!Number.isFinite(want[i]!) || Number.isNaN(want[i]!)) expect(v, `exp(${xs[i]})`).toBe(want[i]);
      else if (want[i]! < 1.2e-38) expect(v, `exp(${xs[i]})`).toBeLessThanOrEqual(1.2e-38);
      else expect(Math.abs(v - want[i]!) / want[i]!, `exp(${xs[i]})`).toBeLessThan(3e-7);
    });
    const q = [Infinity, -Infinity, NaN, 0, 2.5];
    const a = f32(be, q.map(() => 1)), b = f32(be, q), p = Tensor.zeros([q.length], be);
    be.runInTurn(binaryCalls("pow", 1, [q.length], [q.length], true, true, { a: a.ptr, b: b.ptr, y: p.ptr, dy: 0, da: 0, db: 0, ta: 0, tb: 0 }).fwd);
    expect(Array.from(p.toArray())).toEqual([1, 1, 1, 1, 1]);
  });

  it("casts to float16 (nearest, ties to even, subnormals, overflow) and bfloat16 (truncated); the gradient passes straight through", async () => {
    const be = await backendFor(build);
    const edges = [0, -0, 1, -1, 65504, 65519.99, 65520, -65520, 1e6, 2 ** -14, 2 ** -24, 2 ** -25, 3 * 2 ** -25, 2 ** -26, 1 + 2 ** -11, 1 + 3 * 2 ** -11,
      -(1 + 2 ** -11), 2 ** -14 - 2 ** -25, 0.1, 1 / 3, Infinity, -Infinity, NaN];
    for (const xs of [Float32Array.from(edges), randomArray(1001, 5, 70000), randomArray(9, 6, 1e-5)]) {
      const n = xs.length, x = f32(be, xs), y = Tensor.zeros([n], be), dyv = randomArray(n, 8), dy = f32(be, dyv), dx = Tensor.zeros([n], be);
      const half = activationCalls("toFloat16", 0, n, 0, { x: x.ptr, y: y.ptr, dy: dy.ptr, dx: dx.ptr });
      be.run(half.fwd);
      be.run(half.bwd);
      const got = Array.from(y.toArray()), want = Array.from(xs, refFloat16);
      got.forEach((v, i) => expect(Object.is(v, want[i]) || v === want[i], `float16(${xs[i]}) = ${v}, expected ${want[i]}`).toBe(true));
      expect(Array.from(dx.toArray())).toEqual(Array.from(dyv));
      be.run(activationCalls("toBfloat16", 0, n, 0, { x: x.ptr, y: y.ptr, dy: 0, dx: 0 }).fwd);
      const bits = new Uint32Array(xs.buffer.slice(0));
      const wantB = Array.from(new Float32Array(bits.map((b) => b & 0xffff0000).buffer));
      Array.from(y.toArray()).forEach((v, i) => expect(Number.isNaN(xs[i]!) ? Number.isNaN(v) : Object.is(v, wantB[i]), `bfloat16(${xs[i]}) = ${v}`).toBe(true));
    }
  });

  it("erf and GELU: the limits and NaN", async () => {
    const be = await backendFor(build);
    const xs = [Infinity, -Infinity, NaN, 1e30, -1e30];
    for (const name of ["erf", "gelu"] as const) {
      const x = f32(be, xs), y = Tensor.zeros([xs.length], be);
      be.run(activationCalls(name, 0, xs.length, 0, { x: x.ptr, y: y.ptr, dy: 0, dx: 0 }).fwd);
      const got = Array.from(y.toArray());
      if (name === "erf") expect(got.slice(0, 2)).toEqual([1, -1]);
      else expect(got[0]).toBe(Infinity);
      expect(Number.isNaN(got[2]!)).toBe(true);
      expect(Math.abs(name === "erf" ? got[4]! + 1 : got[4]!)).toBeLessThan(1e-30);
    }
  });

  // [batch, a's shape, b's shape, whether b is a constant (one tensor for the whole batch)]
  const SHAPES: [number, number[], number[], boolean][] = [
    [2, [3, 4], [3, 4], false], [3, [2, 5], [5], false], [2, [3, 1], [1, 4], false], [2, [2, 1, 5], [3, 1], false],
    [1, [7], [1], false], [2, [2, 3, 9], [2, 1, 9], true], [2, [5], [5], true], [3, [4, 1, 3], [1], true], [2, [1], [2, 3], false],
  ];
  const OPS: Record<BinaryOp, { f: (p: number, q: number) => number; da: (p: number, q: number) => number; db: (p: number, q: number) => number }> = {
    add: { f: (p, q) => p + q, da: () => 1, db: () => 1 },
    sub: { f: (p, q) => p - q, da: () => 1, db: () => -1 },
    mul: { f: (p, q) => p * q, da: (_, q) => q, db: (p) => p },
    div: { f: (p, q) => p / q, da: (_, q) => 1 / q, db: (p, q) => -p / (q * q) },
    pow: { f: (p, q) => p ** q, da: (p, q) => q * p ** (q - 1), db: (p, q) => p ** q * Math.log(p) },
    equal: { f: (p, q) => (p === q ? 1 : 0), da: () => 0, db: () => 0 },
    // max / min: the gradient to the operand taken, halved between equal ones (PyTorch's)
    max: { f: Math.max, da: (p, q) => (p > q ? 1 : p === q ? 0.5 : 0), db: (p, q) => (q > p ? 1 : p === q ? 0.5 : 0) },
    min: { f: Math.min, da: (p, q) => (p < q ? 1 : p === q ? 0.5 : 0), db: (p, q) => (q < p ? 1 : p === q ? 0.5 : 0) },
    less: { f: (p, q) => +(p < q), da: () => 0, db: () => 0 },
    greater: { f: (p, q) => +(p > q), da: () => 0, db: () => 0 },
    lessOrEqual: { f: (p, q) => +(p <= q), da: () => 0, db: () => 0 },
    greaterOrEqual: { f: (p, q) => +(p >= q), da: () => 0, db: () => 0 },
    // integer division toward zero, 0 for a divisor of 0 (numpy's integer division by zero)
    idiv: { f: (p, q) => (q === 0 ? 0 : Math.trunc(p / q)), da: () => 0, db: () => 0 },
    // Python's % (floor, the divisor's sign; 0 for a divisor of 0, numpy's integer %) and C's fmod
    // (trunc, the dividend's sign; NaN for 0), written from those definitions; PyTorch's gradients
    mod: { f: (p, q) => (q === 0 ? 0 : p - Math.floor(p / q) * q), da: (_, q) => (q === 0 ? 0 : 1), db: (p, q) => (q === 0 ? 0 : -Math.floor(p / q)) },
    fmod: { f: (p, q) => (q === 0 ? NaN : p - Math.trunc(p / q) * q), da: (_, q) => (q === 0 ? 0 : 1), db: (p, q) => (q === 0 ? 0 : -Math.trunc(p / q)) },
  };
  const whole = (op: BinaryOp) => op !== "add" && op !== "sub" && op !== "mul" && op !== "div" && op !== "pow"; // values that meet

  it.each(Object.keys(OPS) as BinaryOp[])("%s with broadcasting: forward and both gradients against float64", async (op) => {
    const be = await backendFor(build);
    for (const [batch, as, bs, constB] of SHAPES) {
      const out = broadcastShape(as, bs)!, size = (s: number[]) => s.reduce((p, q) => p * q, 1);
      const na = batch * size(as), nb = (constB ? 1 : batch) * size(bs), no = batch * size(out);
      // pow: a base in [0.5, 2.5], an exponent in [-2, 2]; div: a divisor away from 0
      // equal, the comparisons, max and min: whole numbers in [-2, 2], so that some meet
      // idiv, mod, fmod: whole numbers in [-20, 20] by whole numbers in [-4, 4] (0 among them); mod
      // and fmod also of fractions (quarters, exact in float32) by fractions of either sign
      const ints = op === "idiv" || ((op === "mod" || op === "fmod") && batch % 2 === 1);
      const quarters = (v: number) => Math.round(4 * v) / 4;
      const av = Array.from(randomArray(na, na + 11), (v) => (op === "pow" ? 1.5 + v : ints ? Math.round(20 * v) : op === "mod" || op === "fmod" ? quarters(10 * v) : whole(op) ? Math.round(2 * v) : 2 * v));
      const bv = Array.from(randomArray(nb, nb + 5), (v) => (op === "div" ? Math.sign(v || 1) * (0.5 + Math.abs(v)) : ints ? Math.round(4 * v) : op === "mod" || op === "fmod" ? quarters(3 * v) : whole(op) ? Math.round(2 * v) : 2 * v));
      const a = f32(be, av), b = f32(be, bv), y = Tensor.zeros([no], be), dyv = randomArray(no, 3), dy = f32(be, dyv);
      const da = Tensor.zeros([na], be), db = constB ? null : Tensor.zeros([nb], be), ta = Tensor.zeros([no], be), tb = Tensor.zeros([no], be);
      const c = binaryCalls(op, batch, as, bs, true, !constB, { a: a.ptr, b: b.ptr, y: y.ptr, dy: dy.ptr, da: da.ptr, db: db?.ptr ?? 0, ta: ta.ptr, tb: tb.ptr });
      be.runInTurn(c.fwd);
      be.runInTurn(c.bwd);
      // float64: every output index's a and b index (numpy broadcasting, the batch axis first)
      const full = [batch, ...out], rank = full.length;
      const idx = (o: number, shape: number[], hasBatch: boolean) => {
        const s = [hasBatch ? batch : 1, ...Array<number>(out.length - shape.length).fill(1), ...shape];
        let at = 0, rest = o;
        const digits: number[] = [];
        for (let i = rank - 1; i >= 0; i--) {
          digits[i] = rest % full[i]!;
          rest = Math.floor(rest / full[i]!);
        }
        for (let i = 0; i < rank; i++) at = at * s[i]! + (s[i] === 1 ? 0 : digits[i]!);
        return at;
      };
      const want = new Float64Array(no), wda = new Float64Array(na), wdb = new Float64Array(nb);
      for (let o = 0; o < no; o++) {
        const p = av[idx(o, as, true)]!, q = bv[idx(o, bs, !constB)]!;
        want[o] = OPS[op].f(p, q);
        const ia = idx(o, as, true), ib = idx(o, bs, !constB);
        wda[ia] = wda[ia]! + dyv[o]! * OPS[op].da(p, q);
        wdb[ib] = wdb[ib]! + dyv[o]! * OPS[op].db(p, q);
      }
      const what = `${op} batch ${batch} [${as}] · [${bs}]${constB ? " (constant)" : ""}`;
      expectClose(y.toArray(), want, 2e-6, 1e-7, `${what} forward`);
      expectClose(da.toArray(), wda, 1e-5, 1e-6, `${what} da`);
      if (db) expectClose(db.toArray(), wdb, 1e-5, 1e-6, `${what} db`);
    }
  });

  it("where: the choice by a condition, the three broadcast, and the gradients of both choices", async () => {
    const be = await backendFor(build);
    const size = (s: number[]) => s.reduce((p, q) => p * q, 1);
    for (const [batch, cs, as, bs] of [[2, [3, 4], [3, 4], [3, 4]], [3, [4, 1], [1, 5], [5]], [2, [1], [2, 3], [2, 1]], [1, [9], [9], [1]]] as [number, number[], number[], number[]][]) {
      const out = broadcastShape(cs, broadcastShape(as, bs)!)!, no = batch * size(out);
      const cv = Array.from(randomArray(batch * size(cs), 3), (v) => (v > 0 ? 1 : v < -0.5 ? NaN : 0)), av = randomArray(batch * size(as), 4), bv = randomArray(batch * size(bs), 5);
      const t = (v: ArrayLike<number>) => f32(be, v);
      const c = t(cv), a = t(av), b = t(bv), y = Tensor.zeros([no], be), dyv = randomArray(no, 6), dy = t(dyv);
      const da = Tensor.zeros([av.length], be), db = Tensor.zeros([bv.length], be), ta = Tensor.zeros([no], be), tb = Tensor.zeros([no], be);
      const calls = whereCalls(batch, cs, as, bs, { c: c.ptr, a: a.ptr, b: b.ptr, y: y.ptr, dy: dy.ptr, da: da.ptr, db: db.ptr, ta: ta.ptr, tb: tb.ptr });
      be.runInTurn(calls.fwd);
      be.runInTurn(calls.bwd);
      // float64: each output index's index in an operand (numpy broadcasting, every operand with its batch)
      const full = [batch, ...out];
      const at = (o: number, shape: number[]) => {
        const sh = [batch, ...Array<number>(out.length - shape.length).fill(1), ...shape];
        let i = 0, rest = o;
        const dig: number[] = [];
        for (let k = full.length - 1; k >= 0; k--) { dig[k] = rest % full[k]!; rest = Math.floor(rest / full[k]!); }
        for (let k = 0; k < full.length; k++) i = i * sh[k]! + (sh[k] === 1 ? 0 : dig[k]!);
        return i;
      };
      const want = new Float64Array(no), wda = new Float64Array(av.length), wdb = new Float64Array(bv.length);
      for (let o = 0; o < no; o++) {
        const on = cv[at(o, cs)] !== 0, ia = at(o, as), ib = at(o, bs); // NaN ≠ 0 chooses a
        want[o] = on ? av[ia]! : bv[ib]!;
        if (on) wda[ia] = wda[ia]! + dyv[o]!;
        else wdb[ib] = wdb[ib]! + dyv[o]!;
      }
      expect(Array.from(y.toArray())).toEqual(Array.from(want, Math.fround));
      expectClose(da.toArray(), wda, 1e-6, 1e-7, `where [${cs}] [${as}] [${bs}] da`);
      expectClose(db.toArray(), wdb, 1e-6, 1e-7, `where [${cs}] [${as}] [${bs}] db`);
    }
  });

  it("layer norm: forward and the gradients of x, γ and β at edge sizes, and a large mean", async () => {
    const be = await backendFor(build);
    for (const [rows, C, offset] of [[1, 1, 0], [2, 3, 0], [3, 4, 0], [2, 5, 0], [4, 8, 0], [3, 9, 0], [2, 33, 0], [5, 96, 0], [3, 7, 1000]] as const) {
      const xv = Array.from(randomArray(rows * C, rows * 7 + C, 3), (v) => v + offset), gv = Array.from(randomArray(C, C + 1), (v) => 1 + 0.5 * v), bv = randomArray(C, C + 2);
      const eps = 1e-5;
      const t = (v: ArrayLike<number>) => f32(be, v);
      const x = t(xv), gamma = t(gv), beta = t(bv), y = Tensor.zeros([rows * C], be), mean = Tensor.zeros([rows], be), rstd = Tensor.zeros([rows], be);
      const R = randomArray(rows * C, 9), dy = t(R), dx = Tensor.zeros([rows * C], be), dg = Tensor.zeros([C], be), dbeta = Tensor.zeros([C], be);
      const c = layerNormCalls(be, rows, C, eps, { x: x.ptr, y: y.ptr, gamma: gamma.ptr, beta: beta.ptr, mean: mean.ptr, rstd: rstd.ptr, dy: dy.ptr, dx: dx.ptr, dgamma: dg.ptr, dbeta: dbeta.ptr });
      be.run(c.fwd);
      be.run(c.bwd);
      const what = `layer norm ${rows}×${C}${offset ? ` + ${offset}` : ""}`;
      expectClose(y.toArray(), refLayerNorm(xv, rows, C, eps, gv, bv), offset ? 1e-3 : 1e-5, offset ? 1e-3 : 1e-6, `${what} forward`);
      const loss = (xx: ArrayLike<number>, gg: ArrayLike<number>, bb: ArrayLike<number>) => dot(refLayerNorm(xx, rows, C, eps, gg, bb), R);
      // C = 1: the output is β whatever x is (the gradient of x is 0)
      expectClose(dx.toArray(), numericGrad((v) => loss(v, gv, bv), xv, 1e-4), offset ? 1e-2 : 1e-3, offset ? 1e-2 : 1e-4, `${what} dx`);
      expectClose(dg.toArray(), numericGrad((v) => loss(xv, v, bv), gv, 1e-4), 1e-3, 1e-4, `${what} dγ`);
      expectClose(dbeta.toArray(), numericGrad((v) => loss(xv, gv, v), bv, 1e-4), 1e-3, 1e-4, `${what} dβ`);
    }
  });
});
