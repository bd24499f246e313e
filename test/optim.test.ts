// Every optimiser's update kernel against a float64 reference, step by step (10 steps with
// changing gradients); Adam in the paper's bias-corrected form.
import { describe, expect, it } from "vitest";
import * as fovea from "../src/index.js";
import type { Backend } from "../src/index.js";
import { adadeltaUpdate, adagradUpdate, adamUpdate, averageCall, claimLines, momentumUpdate, regularizeCall, rmspropUpdate, sgdUpdate, sumSquaresCall } from "../src/ops/optim.js";
import { invoke, type KernelCall } from "../src/runtime/calls.js";
import { backendFor } from "./helpers/backends.js";
import { expectClose, randomArray } from "./helpers/check.js";
import { Mem } from "./helpers/mem.js";
import { refStep, type OptState } from "./ref/optim.js";

const n = 37;
const HP: Record<string, Record<string, number>> = {
  sgd: { lr: 0.1 },
  momentum: { lr: 0.05, mu: 0.9 },
  nesterov: { lr: 0.05, mu: 0.9 },
  momentum_pytorch: { lr: 0.05, mu: 0.9 },
  nesterov_pytorch: { lr: 0.05, mu: 0.9 },
  adagrad: { lr: 0.1, eps: 1e-7 },
  rmsprop: { lr: 0.01, rho: 0.9, eps: 1e-7 },
  adadelta: { lr: 1, rho: 0.95, eps: 1e-6 },
  adam: { lr: 0.01, b1: 0.9, b2: 0.999, eps: 1e-8, wd: 0 },
  adamw: { lr: 0.01, b1: 0.9, b2: 0.999, eps: 1e-8, wd: 0.01 },
};
const STATE: Record<string, string[]> = {
  sgd: [], momentum: ["v"], nesterov: ["v"], momentum_pytorch: ["v"], nesterov_pytorch: ["v"], adagrad: ["h"], rmsprop: ["h"], adadelta: ["eg", "edx"], adam: ["m", "v"], adamw: ["m", "v"],
};

function kernelStep(be: Backend, kind: string, W: number, G: number, S: Record<string, number>, hp: Record<string, number>, t: number): void {
  const run = (c: KernelCall) => be.run([c]);
  switch (kind) {
    case "sgd": return run(sgdUpdate(n, 0, W, G, hp.lr!));
    case "momentum": return run(momentumUpdate(n, 0, W, G, S.v!, hp.lr!, hp.mu!, false));
    case "nesterov": return run(momentumUpdate(n, 0, W, G, S.v!, hp.lr!, hp.mu!, true));
    case "momentum_pytorch": return run(momentumUpdate(n, 0, W, G, S.v!, hp.lr!, hp.mu!, false, true));
    case "nesterov_pytorch": return run(momentumUpdate(n, 0, W, G, S.v!, hp.lr!, hp.mu!, true, true));
    case "adagrad": return run(adagradUpdate(n, 0, W, G, S.h!, hp.lr!, hp.eps!));
    case "rmsprop": return run(rmspropUpdate(n, 0, W, G, S.h!, hp.lr!, hp.rho!, hp.eps!));
    case "adadelta": return run(adadeltaUpdate(n, 0, W, G, S.eg!, S.edx!, hp.lr!, hp.rho!, hp.eps!));
    default: return run(adamUpdate(n, 0, W, G, S.m!, S.v!, hp.lr!, hp.b1!, hp.b2!, hp.eps!, t, hp.wd!));
  }
}

describe.each(["simd", "relaxed"] as const)("optimiser updates on the %s build", (build) => {
  it.each(Object.keys(HP))("%s matches the float64 update rule for 10 steps", async (kind) => {
    const be = await backendFor(build);
    const mem = new Mem(be);
    const w0 = randomArray(n, 1);
    const wRef = Float64Array.from(w0);
    const W = mem.f32(w0), G = mem.f32(n);
    const S: Record<string, number> = {}, st: OptState = {};
    for (const s of STATE[kind]!) {
      S[s] = mem.f32(n);
      st[s] = new Float64Array(n);
    }
    for (let t = 1; t <= 10; t++) {
      const g = randomArray(n, 100 + t);
      be.heap.f32(G, n).set(g);
      // a rate that changes from step to step, as a schedule's: where it enters the update shows
      const hp = { ...HP[kind]!, lr: HP[kind]!.lr! * (0.4 + 0.15 * t) };
      kernelStep(be, kind, W, G, S, hp, t);
      refStep(kind, wRef, g, st, hp, t);
      expectClose(mem.read(W, n), wRef, 1e-5, 1e-6, `${kind} step ${t}`);
    }
    mem.freeAll();
  });

  it("momentum and Nesterov, in Keras's form and PyTorch's: the four-lane loop and the one-lane tail compute the same float32 formula, bit for bit", async () => {
    const be = await backendFor(build);
    const mem = new Mem(be);
    const f = Math.fround, lr = f(0.05), mu = f(0.9);
    for (const torch of [false, true]) for (const nesterov of [false, true]) {
      const w = randomArray(n, 7), g = randomArray(n, 8), v = randomArray(n, 9);
      const W = mem.f32(w), G = mem.f32(g), V = mem.f32(v);
      be.run([momentumUpdate(n, 0, W, G, V, lr, mu, nesterov, torch)]);
      // Keras's form: v ← μv − lr·g, w ← w + v (+ μv − lr·g); PyTorch's: v ← μv + g, w ← w − lr·v (lr·(g + μv))
      const vi = Array.from(v, (x, i) => (torch ? f(f(mu * x) + g[i]!) : f(f(mu * x) - f(lr * g[i]!))));
      const wi = Array.from(w, (x, i) => (torch ? f(x - f(lr * (nesterov ? f(g[i]! + f(mu * vi[i]!)) : vi[i]!))) : f(x + (nesterov ? f(f(mu * vi[i]!) - f(lr * g[i]!)) : vi[i]!))));
      expect(Array.from(mem.read(V, n)), `v, nesterov ${nesterov}, PyTorch's form ${torch}`).toEqual(vi);
      expect(Array.from(mem.read(W, n)), `w, nesterov ${nesterov}, PyTorch's form ${torch}`).toEqual(wi);
    }
    mem.freeAll();
  });

  it("Adam, AdamW, Adagrad, RMSProp and Adadelta: the four-lane loop and the one-lane tail compute the same float32 formula, bit for bit", async () => {
    const be = await backendFor(build);
    const mem = new Mem(be);
    // each rule in float32, operation by operation in the kernels' order (Math.fround after each: a
    // float32 sum, product, quotient or square root of float32 values, rounded from float64, is the
    // correctly rounded float32 one). 403 values: 100 four-lane blocks and a tail of 3, and each
    // rule run again one value a call (all through the tail). Weights and states small, so that
    // each term of a rule reaches the result's bits; zeros, −0 and zero gradients in blocks and tail
    const N = 403, f = Math.fround, sq = (x: number) => f(Math.sqrt(x));
    const w = randomArray(N, 21, 1e-3), g = randomArray(N, 22), s1 = randomArray(N, 23, 1e-3).map(Math.abs), s2 = randomArray(N, 24, 1e-4).map(Math.abs);
    for (let i = 0; i < N; i += 7) s1[i] = 0;
    for (let i = 3; i < N; i += 11) s2[i] = 0;
    for (let i = 5; i < N; i += 13) g[i] = 0;
    w[0] = -0;
    w[6] = 0;
    w[401] = -0;
    g[402] = 0;
    const t = 1;
    // AdamW's decay lr·wd·w reaches the bits of w − lr·wd·w only where lr·wd is near 1: there lr 1.3, wd 0.55, w ~ 10
    const wBig = randomArray(N, 25, 10);
    wBig[0] = -0;
    wBig[401] = 0;
    type Case = { name: string; w: Float32Array; state: Float32Array[]; call: (n: number, o: number, W: number, G: number, S: number[]) => KernelCall; expect: () => number[][] };
    const cases: Case[] = [];
    for (const wd of [0, 0.55]) {
      const w0 = wd ? wBig : w;
      const [lr, b1, b2, eps] = [wd ? 1.3 : 0.01, 0.9, 0.999, 1e-8];
      const LR = f(lr), B1 = f(b1), B2 = f(b2), EPS = f(eps), C1 = f(1 - b1 ** t), C2 = f(1 - b2 ** t), WD = f(wd);
      const m0 = s1.map((x, i) => (i % 2 ? x : -x));
      cases.push({
        name: wd ? "adamw" : "adam", w: w0, state: [m0, s2],
        call: (n, o, W, G, [M, V]) => adamUpdate(n, o, W, G, M!, V!, lr, b1, b2, eps, t, wd),
        expect: () => {
          const m = m0.map((x, i) => f(f(B1 * x) + f(f(1 - B1) * g[i]!)));
          const v = s2.map((x, i) => f(f(B2 * x) + f(f(f(1 - B2) * g[i]!) * g[i]!)));
          const out = Array.from(w0, (x, i) => {
            const wi = WD !== 0 ? f(x - f(f(LR * WD) * x)) : x;
            return f(wi - f(f(LR * f(m[i]! / C1)) / f(sq(f(v[i]! / C2)) + EPS)));
          });
          return [out, Array.from(m), Array.from(v)];
        },
      });
    }
    {
      const LR = f(0.1), EPS = f(1e-7);
      cases.push({
        name: "adagrad", w, state: [s1],
        call: (n, o, W, G, [H]) => adagradUpdate(n, o, W, G, H!, 0.1, 1e-7),
        expect: () => {
          const h = s1.map((x, i) => f(x + f(g[i]! * g[i]!)));
          return [Array.from(w, (x, i) => f(x - f(f(LR * g[i]!) / f(sq(h[i]!) + EPS)))), Array.from(h)];
        },
      });
    }
    {
      const LR = f(0.01), RHO = f(0.9), EPS = f(1e-7);
      cases.push({
        name: "rmsprop", w, state: [s1],
        call: (n, o, W, G, [H]) => rmspropUpdate(n, o, W, G, H!, 0.01, 0.9, 1e-7),
        expect: () => {
          const h = s1.map((x, i) => f(f(RHO * x) + f(f(f(1 - RHO) * g[i]!) * g[i]!)));
          return [Array.from(w, (x, i) => f(x - f(f(LR * g[i]!) / f(sq(h[i]!) + EPS)))), Array.from(h)];
        },
      });
    }
    {
      const LR = f(0.3), RHO = f(0.95), EPS = f(1e-6);
      cases.push({
        name: "adadelta", w, state: [s1, s2],
        call: (n, o, W, G, [EG, EDX]) => adadeltaUpdate(n, o, W, G, EG!, EDX!, 0.3, 0.95, 1e-6),
        expect: () => {
          const eg = s1.map((x, i) => f(f(RHO * x) + f(f(f(1 - RHO) * g[i]!) * g[i]!)));
          const d = Array.from(g, (gi, i) => f(f(-sq(f(s2[i]! + EPS)) / sq(f(eg[i]! + EPS))) * gi));
          const edx = Array.from(s2, (x, i) => f(f(RHO * x) + f(f(f(1 - RHO) * d[i]!) * d[i]!)));
          return [Array.from(w, (x, i) => f(x + f(LR * d[i]!))), Array.from(eg), edx];
        },
      });
    }
    for (const c of cases) {
      const [wOut, ...states] = c.expect();
      for (const oneByOne of [false, true]) {
        const W = mem.f32(c.w), G = mem.f32(g), S = c.state.map((s) => mem.f32(s));
        if (oneByOne) for (let i = 0; i < N; i++) be.run([c.call(1, 4 * i, W, G, S)]);
        else be.run([c.call(N, 0, W, G, S)]);
        const how = oneByOne ? "one value a call" : `${N} values in one call`;
        expect(Array.from(mem.read(W, N)), `${c.name}, ${how}: w`).toEqual(wOut);
        states.forEach((s, k) => expect(Array.from(mem.read(S[k]!, N)), `${c.name}, ${how}: state ${k}`).toEqual(s));
      }
    }
    mem.freeAll();
  });

  it("the moving average (ema): avg += (1 − a)·(w − avg) in float32, lanes and tail alike; exact where avg = w", async () => {
    const be = await backendFor(build);
    const mem = new Mem(be);
    const f = Math.fround, b = f(1 - 0.99);
    const w = randomArray(n, 11), avg = randomArray(n, 12);
    const W = mem.f32(w), A = mem.f32(avg);
    be.run([averageCall(n, W, A, 0.99)]);
    expect(Array.from(mem.read(A, n))).toEqual(Array.from(avg, (x, i) => f(x + f(b * f(w[i]! - x)))));
    // values that stay put: their average stays them, bit for bit, step after step
    const k = mem.f32(Float32Array.from([28, 3, 0.1, 784, -1e-7, 3.4e38, 0])), ka = mem.f32(Float32Array.from([28, 3, 0.1, 784, -1e-7, 3.4e38, 0]));
    for (let t = 1; t <= 50; t++) be.run([averageCall(7, k, ka, Math.min(0.999, (1 + t) / (10 + t)))]);
    expect(mem.read(ka, 7)).toEqual(Float32Array.from([28, 3, 0.1, 784, -1e-7, 3.4e38, 0]));
    mem.freeAll();
  });

  it("regularisation adds l2·w + l1·sign(w); sum of squares is exact in f64", async () => {
    const be = await backendFor(build);
    const mem = new Mem(be);
    const w = randomArray(n, 3);
    w[0] = 0;
    const g = randomArray(n, 4);
    const W = mem.f32(w), G = mem.f32(g);
    be.run([regularizeCall(n, W, G, 0.01, 0.1)]);
    expectClose(mem.read(G, n), Array.from(g, (v, i) => v + 0.1 * w[i]! + 0.01 * Math.sign(w[i]!)), 1e-6, 1e-7);
    const big = randomArray(10_001, 5);
    const ss = Array.from(big).reduce((a, v) => a + v * v, 0);
    expect(invoke(be.kernels, sumSquaresCall(big.length, mem.f32(big)))! / ss).toBeCloseTo(1, 6);
    mem.freeAll();
  });

  it("claiming lines before an update leaves every byte as it was (NaN payloads, −0, subnormals), at any start and length", async () => {
    const be = await backendFor(build);
    const mem = new Mem(be);
    const bits = Uint32Array.from({ length: 200 }, (_, i) => [0x7fc01234, 0xffa00001, 0x80000000, 0x00000001, 0x7f800000][i % 5]! ^ (i << 7));
    const P = mem.f32(200);
    be.heap.u8(P, 800).set(new Uint8Array(bits.buffer));
    for (const [o, len] of [[0, 200], [1, 15], [3, 1], [17, 0], [5, 130], [199, 1]] as const) {
      be.run([claimLines(len, o, P)]);
      expect(Buffer.compare(Buffer.from(be.heap.u8(P, 800)), Buffer.from(bits.buffer)), `values [${o}, ${o + len})`).toBe(0);
    }
    mem.freeAll();
  });
});

describe("an optimiser's programs between steps", () => {
  // Optimizer.programs keeps what it built and, while the backend, the cut and the parameters stay,
  // makes only the update and average calls anew: the programs it gives must be those built anew
  it.each([
    ["sgd", () => fovea.train.sgd({ lr: 0.1 })],
    ["nesterov", () => fovea.train.sgd({ lr: 0.1, momentum: 0.9, nesterov: true })],
    ["adam with ema", () => fovea.train.adam({ lr: 0.01, ema: 0.9 })],
    ["adamw", () => fovea.train.adamw({ lr: 0.01 })],
    ["adagrad", () => fovea.train.adagrad({ lr: 0.1 })],
    ["rmsprop with ema", () => fovea.train.rmsprop({ lr: 0.01, ema: 0.99 })],
    ["adadelta", () => fovea.train.adadelta({ lr: 1 })],
  ] as const)("%s: the programs kept are those built anew, step after step (learning rate, step count, averages, L1 / L2, frozen layers, cuts)", async (_name, make) => {
    const be = await backendFor("relaxed");
    const L = fovea.layers;
    const m = fovea.withBackend(be, () => fovea.sequential([L.dense({ units: 5, activation: "relu", name: "a" }), L.batchNorm({ name: "bn" }), L.dense({ units: 3, name: "b" })], { inputShape: [6], seed: 1 }));
    const opt = make();
    m.compile({ loss: "mse", optimizer: opt, batchSize: 4 });
    m.trainOnBatch(randomArray(24, 1), randomArray(12, 2)); // gradients, state and averages exist
    const calls = (ps: readonly (readonly KernelCall[])[]) => ps.map((p) => p.map((c) => [c.fn, ...c.args]));
    let last: readonly (readonly KernelCall[])[] | null = null, kept = 0;
    for (let step = 1; step <= 12; step++) {
      if (step === 7) m.freeze(["a"]);
      if (step === 10) m.unfreeze();
      const params = m.params, parts = step <= 4 ? 2 : undefined;
      const decay = step >= 3 ? new Map([[params[0]!, [0.01, 0.001] as const]]) : undefined;
      const lr = 0.1 / step;
      const got = opt.programs(be, params, lr, decay, parts);
      if (got === last) kept++;
      Reflect.set(opt, "built", null); // built anew, as without a kept one
      const fresh = opt.programs(be, params, lr, decay, parts);
      expect(fresh, "a fresh build, not the kept programs").not.toBe(got);
      expect(calls(got), `step ${step}`).toEqual(calls(fresh));
      last = fresh;
      be.runPrograms(fresh);
      opt.counted();
    }
    // kept at every step but where the cut (1: the training step's was 1 slice on this one-thread backend; 5),
    // the L1 / L2 terms (3) or the frozen layers (7, 10) changed
    expect(kept).toBe(7);
    m.free();
  });
});
