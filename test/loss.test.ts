import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { backendFor } from "./helpers/backends.js";
import { expectClose, numericGrad, randomArray } from "./helpers/check.js";
import { Mem } from "./helpers/mem.js";
import { refHinge, refMse, refSelectedHuber, refSigmoidXent, refSoftmaxXent } from "./ref/loss.js";

describe.each(["simd", "relaxed"] as const)("loss kernels on the %s build", (build) => {
  const rows = 5, cols = 7;
  const labels = [3, 0, 6, 2, 2];

  it("softmax cross-entropy: value, gradient (central differences), probabilities, huge logits", async () => {
    const be = await backendFor(build);
    const mem = new Mem(be);
    const z = randomArray(rows * cols, 1, 4);
    const Z = mem.f32(z), L = mem.i32(rows), D = mem.f32(rows * cols), P = mem.f32(rows * cols);
    be.heap.i32(L, rows).set(labels);
    const loss = be.kernels.f32_softmax_xent(Z, L, rows, cols, 1 / rows, D, P, 0);
    expect(loss).toBeCloseTo(refSoftmaxXent(z, labels, rows, cols), 5);
    expectClose(mem.read(D, rows * cols), numericGrad((zz) => refSoftmaxXent(zz, labels, rows, cols) / rows, z), 1e-4, 1e-6, "dlogits");
    const probs = mem.read(P, rows * cols);
    for (let r = 0; r < rows; r++) expect(probs.subarray(r * cols, (r + 1) * cols).reduce((a, b) => a + b)).toBeCloseTo(1, 6);
    const big = mem.f32([1000, -1000, 999]), L1 = mem.i32(1);
    be.heap.i32(L1, 1)[0] = 2;
    expect(be.kernels.f32_softmax_xent(big, L1, 1, 3, 1, mem.f32(3), 0, 0)).toBeCloseTo(1 + Math.log1p(Math.exp(-1)), 5); // log(1 + e^-1 + e^-2000) − (999 − 1000)
    // finite logits 4e38 apart (their difference overflows float32): PyTorch's loss is 0 for the
    // largest's label (it was NaN: 0·(−Inf)); the others' the exact 4e38 (float32's inf), the
    // gradient p − q finite either way, with label smoothing too
    const huge = mem.f32([2e38, -2e38, 0]), D3 = mem.f32(3);
    for (const [label, eps, want] of [[0, 0, 0], [1, 0, 4e38], [2, 0, 2e38], [0, 0.1, (0.1 / 3) * (4e38 + 2e38)]] as const) {
      be.heap.i32(L1, 1)[0] = label;
      const v = be.kernels.f32_softmax_xent(huge, L1, 1, 3, 1, D3, 0, eps);
      if (want === 0) expect(v).toBe(0);
      else expect(v / want).toBeCloseTo(1, 6);
      expect(mem.read(D3, 3).every(Number.isFinite), `label ${label}, ε ${eps}`).toBe(true);
    }
    mem.freeAll();
  });

  it("softmax cross-entropy with label smoothing: PyTorch's CrossEntropyLoss(label_smoothing) loss and gradient", async () => {
    const be = await backendFor(build);
    const mem = new Mem(be);
    const fx = JSON.parse(readFileSync(new URL("./fixtures/label-smoothing-pytorch.json", import.meta.url), "utf8")) as {
      cases: { rows: number; cols: number; eps: number; logits: number[]; labels: number[]; loss: number; grad: number[] }[];
    };
    for (const c of fx.cases) {
      const Z = mem.f32(c.logits), L = mem.i32(c.rows), D = mem.f32(c.rows * c.cols);
      be.heap.i32(L, c.rows).set(c.labels);
      const loss = be.kernels.f32_softmax_xent(Z, L, c.rows, c.cols, 1 / c.rows, D, 0, c.eps) / c.rows;
      expect(Math.abs(loss - c.loss) / Math.max(1, Math.abs(c.loss)), `loss, ε ${c.eps}`).toBeLessThan(1e-5);
      expectClose(mem.read(D, c.rows * c.cols), c.grad, 1e-5, 1e-6, `dlogits, ε ${c.eps}`);
    }
    mem.freeAll();
  });

  it("multiclass hinge (ConvNetJS svm): value and gradient", async () => {
    const be = await backendFor(build);
    const mem = new Mem(be);
    const s = randomArray(rows * cols, 2, 2);
    const S = mem.f32(s), L = mem.i32(rows), D = mem.f32(rows * cols);
    be.heap.i32(L, rows).set(labels);
    const loss = be.kernels.f32_hinge(S, L, rows, cols, 1, 0.5, D);
    expect(loss).toBeCloseTo(refHinge(s, labels, rows, cols, 1), 5);
    expectClose(mem.read(D, rows * cols), numericGrad((ss) => 0.5 * refHinge(ss, labels, rows, cols, 1), s, 1e-5), 1e-4, 1e-5, "dscores");
    mem.freeAll();
  });

  it("mean squared error and sigmoid binary cross-entropy: values and gradients", async () => {
    const be = await backendFor(build);
    const mem = new Mem(be);
    const n = 13;
    const p = randomArray(n, 3, 3), t = randomArray(n, 4), t01 = Float32Array.from(randomArray(n, 5), (v) => (v + 1) / 2);
    const D = mem.f32(n);
    expect(be.kernels.f32_mse(mem.f32(p), mem.f32(t), n, 1 / n, D)).toBeCloseTo(refMse(p, t), 5);
    expectClose(mem.read(D, n), numericGrad((pp) => refMse(pp, t) / n, p), 1e-4, 1e-6, "dmse");
    const D2 = mem.f32(n);
    expect(be.kernels.f32_sigmoid_xent(mem.f32(p), mem.f32(t01), n, 1, D2)).toBeCloseTo(refSigmoidXent(p, t01), 5);
    expectClose(mem.read(D2, n), numericGrad((pp) => refSigmoidXent(pp, t01), p), 1e-4, 1e-6, "dbce");
    // stable for large |z|
    const D3 = mem.f32(2);
    const l = be.kernels.f32_sigmoid_xent(mem.f32([100, -100]), mem.f32([0, 1]), 2, 1, D3);
    expect(l).toBeCloseTo(200, 3);
    expect(Array.from(mem.read(D3, 2))).toEqual([1, -1]);
    mem.freeAll();
  });

  it("selected-output Huber and ½e² (Q-learning's TD error): values, gradients, zero off the selected outputs", async () => {
    const be = await backendFor(build);
    const mem = new Mem(be);
    // errors on both sides of δ = 1, and every column selected somewhere
    const q = randomArray(rows * cols, 6, 3);
    const pairs = [3, 0.5, 0, -2, 6, 4, 2, 0.1, 5, -0.3];
    for (const delta of [1, Infinity]) {
      const D = mem.f32(rows * cols);
      be.heap.f32(D, rows * cols).fill(7); // every entry is written
      const loss = be.kernels.f32_selected_huber(mem.f32(q), mem.f32(pairs), rows, cols, delta, 1 / rows, D);
      expect(loss).toBeCloseTo(refSelectedHuber(q, pairs, rows, cols, delta), 5);
      const want = numericGrad((qq) => refSelectedHuber(qq, pairs, rows, cols, delta) / rows, q, 1e-5);
      expectClose(mem.read(D, rows * cols), want, 1e-4, 1e-6, `dq (δ = ${delta})`);
      for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) if (c !== pairs[2 * r]) expect(mem.read(D, rows * cols)[r * cols + c]).toBe(0);
    }
    mem.freeAll();
  });
});

