import { describe, expect, it } from "vitest";
import { backendFor } from "./helpers/backends.js";
import { dot, expectClose, numericGrad, randomArray } from "./helpers/check.js";
import { Mem } from "./helpers/mem.js";
import { batchNormTrainCalls, channelAffine, lrnCalls } from "../src/ops/norm.js";
import { maxoutCalls, mulCall } from "../src/ops/eltwise.js";
import { refBatchNorm, refLrn } from "./ref/norm.js";

describe.each(["simd", "relaxed"] as const)("normalisation kernels on the %s build", (build) => {
  // C 6, 3, 5: a channel pattern of 12, 12, 20 floats (3-5 vectors); rows·C not a whole number of patterns
  it.each([[6, 5], [32, 8], [3, 1], [7, 6], [9, 3], [11, 5], [4, 16], [2, 1]])("batch norm (rows %i, C %i): forward, saved statistics, backward vs central differences", async (rows, C) => {
    const be = await backendFor(build);
    const mem = new Mem(be);
    const x = randomArray(rows * C, rows + C, 2), gamma = randomArray(C, 2), beta = randomArray(C, 3), R = randomArray(rows * C, 4);
    const eps = 1e-3;
    const X = mem.f32(x), Gm = mem.f32(gamma), Bt = mem.f32(beta), Y = mem.f32(rows * C), Mn = mem.f32(C), Is = mem.f32(C);
    const DX = mem.f32(rows * C), DG = mem.f32(C), DB = mem.f32(C);
    const bn = batchNormTrainCalls(be.kernels, rows, C, eps, { x: X, y: Y, gamma: Gm, beta: Bt, mean: Mn, invstd: Is, dy: mem.f32(R), dx: DX, dgamma: DG, dbeta: DB });
    be.run(bn.fwd);
    expectClose(mem.read(Y, rows * C), refBatchNorm(x, rows, C, gamma, beta, eps), 1e-4, 1e-5, "y");
    be.run(bn.bwd);
    expectClose(mem.read(DX, rows * C), numericGrad((xx) => dot(refBatchNorm(xx, rows, C, gamma, beta, eps), R), x), 1e-3, 1e-4, "dx");
    expectClose(mem.read(DG, C), numericGrad((gg) => dot(refBatchNorm(x, rows, C, gg, beta, eps), R), gamma), 1e-3, 1e-4, "dgamma");
    expectClose(mem.read(DB, C), numericGrad((bb) => dot(refBatchNorm(x, rows, C, gamma, bb, eps), R), beta), 1e-3, 1e-4, "dbeta");
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
