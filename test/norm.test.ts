import { describe, expect, it } from "vitest";
import * as fovea from "../src/index.js";
import { backendFor } from "./helpers/backends.js";
import { dot, expectClose, numericGrad, randomArray } from "./helpers/check.js";
import { Mem } from "./helpers/mem.js";
import { batchNormTrainCalls, channelAffine, lrnCalls, runSteps } from "../src/ops/norm.js";
import { maxoutCalls, mulCall } from "../src/ops/eltwise.js";
import { refBatchNorm, refLrn } from "./ref/norm.js";

describe.each(["simd", "relaxed"] as const)("normalisation kernels on the %s build", (build) => {
  // C 6, 3, 5, 20, 36: a channel pattern of 12, 12, 20, 20, 36 floats (3-9 vectors: the sums take
  // four at a time); rows·C not a whole number of patterns
  it.each([[6, 5], [32, 8], [3, 1], [7, 6], [9, 3], [11, 5], [4, 16], [2, 1], [7, 20], [5, 36]])("batch norm (rows %i, C %i): forward, saved statistics, backward vs central differences", async (rows, C) => {
    const be = await backendFor(build);
    const mem = new Mem(be);
    const x = randomArray(rows * C, rows + C, 2), gamma = randomArray(C, 2), beta = randomArray(C, 3), R = randomArray(rows * C, 4);
    const eps = 1e-3;
    const X = mem.f32(x), Gm = mem.f32(gamma), Bt = mem.f32(beta), Y = mem.f32(rows * C), Mn = mem.f32(C), Is = mem.f32(C);
    const DX = mem.f32(rows * C), DG = mem.f32(C), DB = mem.f32(C);
    const bn = batchNormTrainCalls(be, (bytes) => mem.f32(bytes / 4), rows, C, eps, { x: X, y: Y, gamma: Gm, beta: Bt, mean: Mn, invstd: Is, dy: mem.f32(R), dx: DX, dgamma: DG, dbeta: DB });
    runSteps(be, bn.fwd);
    expectClose(mem.read(Y, rows * C), refBatchNorm(x, rows, C, gamma, beta, eps), 1e-4, 1e-5, "y");
    runSteps(be, bn.bwd);
    expectClose(mem.read(DX, rows * C), numericGrad((xx) => dot(refBatchNorm(xx, rows, C, gamma, beta, eps), R), x), 1e-3, 1e-4, "dx");
    expectClose(mem.read(DG, C), numericGrad((gg) => dot(refBatchNorm(x, rows, C, gg, beta, eps), R), gamma), 1e-3, 1e-4, "dgamma");
    expectClose(mem.read(DB, C), numericGrad((bb) => dot(refBatchNorm(x, rows, C, gamma, bb, eps), R), beta), 1e-3, 1e-4, "dbeta");
    mem.freeAll();
  });

  it.each([[25_001, 6], [9_000, 16], [40_003, 5]])("batch norm split across 2 and 3 threads (rows %i, C %i: parts on whole channel periods) equals one thread", async (rows, C) => {
    const x = randomArray(rows * C, 7, 2), gamma = randomArray(C, 8), beta = randomArray(C, 9), R = randomArray(rows * C, 10);
    const outs: Float32Array[][] = [];
    for (const threads of [1, 2, 3]) {
      const be = await fovea.loadBackend(`${build}-mt`, "option", 64, threads);
      const mem = new Mem(be);
      const X = mem.f32(x), Y = mem.f32(rows * C), Mn = mem.f32(C), Is = mem.f32(C), DX = mem.f32(rows * C), DG = mem.f32(C), DB = mem.f32(C);
      const bn = batchNormTrainCalls(be, (bytes) => mem.f32(bytes / 4), rows, C, 1e-3, { x: X, y: Y, gamma: mem.f32(gamma), beta: mem.f32(beta), mean: Mn, invstd: Is, dy: mem.f32(R), dx: DX, dgamma: DG, dbeta: DB });
      expect("parts" in bn.fwd[0]! && bn.fwd[0].parts.length, `${threads} threads: parts`).toBe(threads);
      runSteps(be, bn.fwd);
      runSteps(be, bn.bwd);
      outs.push([Y, DX, DG, DB, Mn, Is].map((p, i) => mem.read(p, i < 2 ? rows * C : C)));
      mem.freeAll();
      await be.shutdown();
    }
    expectClose(outs[0]![0]!, refBatchNorm(x, rows, C, gamma, beta, 1e-3), 1e-3, 1e-4, "y, one thread, vs float64");
    // dbeta = Σ dy, dgamma = Σ dy·x̂ per channel in float64: the backward's sums run over many
    // chunks of the map here (addSumsBwd)
    const mean = new Float64Array(C), sq = new Float64Array(C), db = new Float64Array(C), dg = new Float64Array(C);
    for (let i = 0; i < rows * C; i++) mean[i % C]! += x[i]! / rows;
    for (let i = 0; i < rows * C; i++) sq[i % C]! += (x[i]! - mean[i % C]!) ** 2 / rows;
    for (let i = 0; i < rows * C; i++) {
      db[i % C]! += R[i]!;
      dg[i % C]! += (R[i]! * (x[i]! - mean[i % C]!)) / Math.sqrt(sq[i % C]! + 1e-3);
    }
    expectClose(outs[0]![3]!, db, 1e-4, 1e-3, "dbeta, one thread, vs float64");
    expectClose(outs[0]![2]!, dg, 1e-4, 1e-3, "dgamma, one thread, vs float64");
    for (const o of outs.slice(1)) o.forEach((v, i) => expectClose(v, outs[0]![i]!, 1e-4, 1e-5, `output ${i}`));
  });

  it("batch norm of a channel whose mean is large against its spread (1e4 + N(0, 1)): y and dx as exact as the float64 reference allows", async () => {
    const be = await backendFor(build);
    const mem = new Mem(be);
    const rows = 513, C = 6;
    const x = randomArray(rows * C, 11).map((v) => 1e4 + v), gamma = randomArray(C, 12), beta = randomArray(C, 13), R = randomArray(rows * C, 14);
    const X = mem.f32(x), Y = mem.f32(rows * C), DX = mem.f32(rows * C), DG = mem.f32(C), DB = mem.f32(C);
    const bn = batchNormTrainCalls(be, (bytes) => mem.f32(bytes / 4), rows, C, 1e-5, { x: X, y: Y, gamma: mem.f32(gamma), beta: mem.f32(beta), mean: mem.f32(C), invstd: mem.f32(C), dy: mem.f32(R), dx: DX, dgamma: DG, dbeta: DB });
    runSteps(be, bn.fwd);
    runSteps(be, bn.bwd);
    // float32 x holds 1e4 + v to 1e-3: the reference sees the same stored values
    const xs = Array.from(mem.read(X, rows * C));
    expectClose(mem.read(Y, rows * C), refBatchNorm(xs, rows, C, gamma, beta, 1e-5), 1e-3, 2e-3, "y");
    expectClose(mem.read(DX, rows * C), numericGrad((xx) => dot(refBatchNorm(xx, rows, C, gamma, beta, 1e-5), R), xs, 1e-2), 2e-2, 2e-3, "dx");
    mem.freeAll();
  });

  // the forward's statistics against float64: a first row far from the mean (a pivot would lose
  // the variance to cancellation), a mean 1e4 times the spread, a channel of one constant value,
  // blocks of 32 periods and a partial last period, parts of other sizes (one empty)
  it.each([
    ["an outlier first row", 1000, 6, (r: number, c: number, v: number) => (r === 0 ? 1e4 : v)],
    ["a mean 1e4 times the spread", 2049, 5, (_r: number, _c: number, v: number) => 1e4 + v],
    ["channels of different scales, one constant", 777, 16, (_r: number, c: number, v: number) => (c === 3 ? 2.5 : v * 10 ** (c % 5 - 2) + c)],
    ["a few rows", 3, 7, (_r: number, _c: number, v: number) => v],
  ])("batch norm moments (%s; rows %i, C %i) in 1, 2 and 4 parts: mean and variance as float64 gives them", async (_what, rows, C, f) => {
    const be = await backendFor(build);
    const mem = new Mem(be);
    const u = randomArray(rows * C, rows + C);
    const x = Float32Array.from(u, (v, i) => f(Math.floor(i / C), i % C, v));
    const per = be.kernels.f32_batchnorm_period(C) / C;
    for (const P of [1, 2, 4]) {
      // part boundaries on periods; of 4 parts the third is empty
      const cut = (q: number) => Math.floor((rows * q) / per) * per;
      const bounds = P === 1 ? [0, rows] : P === 2 ? [0, cut(0.5), rows] : [0, cut(0.25), cut(0.6), cut(0.6), rows];
      const parts = bounds.slice(1).map((b, t) => [bounds[t]!, b] as [number, number]);
      const Mn = mem.f32(C), Is = mem.f32(C);
      const bn = batchNormTrainCalls(be, (bytes) => mem.f32(bytes / 4), rows, C, 0, { x: mem.f32(x), y: mem.f32(rows * C), gamma: mem.f32(new Float32Array(C).fill(1)), beta: mem.f32(C), mean: Mn, invstd: Is, dy: 0, dx: 0, dgamma: 0, dbeta: 0, parts });
      runSteps(be, bn.fwd);
      for (let c = 0; c < C; c++) {
        let m = 0, v = 0;
        for (let r = 0; r < rows; r++) m += x[r * C + c]!;
        m /= rows;
        for (let r = 0; r < rows; r++) v += (x[r * C + c]! - m) ** 2;
        v /= rows;
        const mean = mem.read(Mn, C)[c]!, is = mem.read(Is, C)[c]!;
        expect(Math.abs(mean - m), `${P} parts, channel ${c}: mean ${mean} vs ${m}`).toBeLessThanOrEqual(1e-6 * Math.abs(m) + 1e-6 * Math.sqrt(v) + 1e-30);
        if (v === 0) expect(is, `${P} parts, channel ${c}: a constant channel`).toBe(Infinity);
        else expect(Math.abs(1 / (is * is) - v), `${P} parts, channel ${c}: variance ${1 / (is * is)} vs ${v}`).toBeLessThanOrEqual(2e-6 * v);
      }
    }
    mem.freeAll();
  });

  it("the moving variance of a batch whose variance is far below epsilon (6e-9 against 1e-3): the batch's own, not 1/invstd² − ε (1.4% off)", async () => {
    const be = await backendFor(build);
    const m = fovea.withBackend(be, () => fovea.sequential([fovea.layers.batchNorm({ momentum: 0, epsilon: 1e-3, name: "bn" })], { inputShape: [3], seed: 1 }));
    m.compile({ batchSize: 8, loss: "mse", optimizer: fovea.train.sgd({ lr: 0.01 }) });
    const x = Float32Array.from({ length: 8 * 3 }, (_, i) => 1 + 1e-4 * Math.sin(i * 1.7) * (1 + (i % 3)));
    m.trainOnBatch(x, new Float32Array(8 * 3));
    const got = m.getWeights().find((w) => w.name === "movingVariance")!.values;
    for (let c = 0; c < 3; c++) {
      const v = Array.from({ length: 8 }, (_, r) => x[r * 3 + c]!), mean = v.reduce((a, b) => a + b, 0) / 8;
      const unbiased = v.reduce((a, b) => a + (b - mean) ** 2, 0) / 7; // momentum 0: the batch's, Bessel-corrected, as PyTorch's
      expect(Math.abs(got[c]! - unbiased) / unbiased, `channel ${c}: ${got[c]} against ${unbiased}`).toBeLessThan(1e-4);
    }
    m.free();
  });

  it("batch norm parts that do not cover the rows in order on whole periods are a ConfigError", async () => {
    const be = await backendFor(build);
    const mem = new Mem(be);
    const at = () => mem.f32(64);
    for (const parts of [[], [[0, 3]], [[0, 4], [5, 8]], [[0, 3], [3, 8]], [[4, 8], [0, 4]]] as [number, number][][]) {
      expect(() => batchNormTrainCalls(be, (bytes) => mem.f32(bytes / 4), 8, 5, 1e-5, { x: at(), y: at(), gamma: at(), beta: at(), mean: at(), invstd: at(), dy: 0, dx: 0, dgamma: 0, dbeta: 0, parts }), JSON.stringify(parts)).toThrow(fovea.ConfigError);
    }
    mem.freeAll();
  });

  it("channel affine (inference batch norm)", async () => {
    const be = await backendFor(build);
    const mem = new Mem(be);
    const x = randomArray(7 * 9, 1), sc = randomArray(9, 2), sh = randomArray(9, 3);
    const Y = mem.f32(63);
    be.run([channelAffine(mem.f32(x), 7, 9, mem.f32(sc), mem.f32(sh), Y)]);
    expectClose(mem.read(Y, 63), Array.from(x, (v, i) => v * sc[i % 9]! + sh[i % 9]!), 1e-6, 1e-7);
    mem.freeAll();
  });

  it.each([[5, 1], [3, 4], [4, 2]])("LRN across channels (size %i, rows %i): forward and backward", async (size, rows) => {
    const be = await backendFor(build);
    const mem = new Mem(be);
    const C = 7, [alpha, beta, k] = [1e-1, 0.75, 2];
    const x = randomArray(rows * C, size, 3), R = randomArray(rows * C, 9);
    const X = mem.f32(x), Y = mem.f32(rows * C), S = mem.f32(rows * C), DX = mem.f32(rows * C);
    const lrn = lrnCalls(rows, C, size, alpha, beta, k, { x: X, y: Y, s: S, dy: mem.f32(R), dx: DX });
    be.run(lrn.fwd);
    expectClose(mem.read(Y, rows * C), refLrn(x, rows, C, size, alpha, beta, k), 1e-5, 1e-6, "y");
    be.run(lrn.bwd);
    expectClose(mem.read(DX, rows * C), numericGrad((xx) => dot(refLrn(xx, rows, C, size, alpha, beta, k), R), x), 1e-4, 1e-5, "dx");
    mem.freeAll();
  });

  it("maxout, strided row copies and the elementwise product", async () => {
    const be = await backendFor(build);
    const mem = new Mem(be);
    const rows = 3, out = 4, k = 3;
    const x = randomArray(rows * out * k, 7);
    const Y = mem.f32(rows * out), A = mem.i32(rows * out), X = mem.f32(x);
    const R = randomArray(rows * out, 8);
    const DX = mem.f32(rows * out * k);
    const mo = maxoutCalls(rows, out, k, { x: X, y: Y, argmax: A, dy: mem.f32(R), dx: DX });
    be.run(mo.fwd);
    const want = Array.from({ length: rows * out }, (_, i) => Math.max(...Array.from(x.subarray(i * k, i * k + k))));
    expect(Array.from(mem.read(Y, rows * out))).toEqual(want.map(Math.fround));
    be.run(mo.bwd);
    const f = (xx: Float64Array) => dot(Array.from({ length: rows * out }, (_, i) => Math.max(...xx.subarray(i * k, i * k + k))), R);
    expectClose(mem.read(DX, rows * out * k), numericGrad(f, x, 1e-6), 1e-6, 1e-6, "maxout dx");
    // copy rows: a 3-column slice of a 5-wide matrix into a 7-wide one at column 2, then add it back
    const src = randomArray(4 * 5, 9);
    const D = mem.f32(4 * 7);
    be.kernels.f32_copy_rows(mem.f32(src) + 4, 5, D + 8, 7, 4, 3, 0);
    const d = mem.read(D, 28);
    for (let r = 0; r < 4; r++) for (let j = 0; j < 7; j++) expect(d[r * 7 + j]).toBe(j >= 2 && j < 5 ? src[r * 5 + 1 + (j - 2)] : 0);
    be.kernels.f32_copy_rows(D + 8, 7, D + 8, 7, 4, 3, 1);
    expect(mem.read(D, 28)[9]).toBe(Math.fround(2 * src[5 + 1]!)); // row 1, column 2 held src[1][1]
    const a = randomArray(9, 1), b = randomArray(9, 2), O = mem.f32(9);
    be.run([mulCall(mem.f32(a), mem.f32(b), O, 9)]);
    expect(Array.from(mem.read(O, 9))).toEqual(Array.from(a, (v, i) => Math.fround(v * b[i]!)));
    mem.freeAll();
  });
});
