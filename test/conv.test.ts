import { describe, expect, it } from "vitest";
import { ConfigError, ShapeError, Tensor, ops, type Backend } from "../src/index.js";
import type { Conv2dOptions, ConvGeometry } from "../src/ops/conv.js";
import { backendFor } from "./helpers/backends.js";
import { dot, expectClose, numericGrad, randomArray } from "./helpers/check.js";
import { refConvBwdData, refConvBwdFilter, refConvFwd, type RefConv } from "./ref/conv.js";
import { refAct } from "./ref/eltwise.js";

const BUILDS = ["simd", "relaxed"] as const;

function refParams(g: ConvGeometry): RefConv {
  return {
    N: g.N, H: g.H, W: g.W, C: g.C, OH: g.OH, OW: g.OW, OC: g.OC, KH: g.KH, KW: g.KW,
    SH: g.SH, SW: g.SW, DH: g.DH, DW: g.DW, PT: g.padTop, PL: g.padLeft, G: g.groups,
  };
}

interface Case {
  x: [number, number, number, number];
  k: [number, number];
  oc: number;
  opts: Conv2dOptions;
}

// stride / dilation / padding / groups combinations, odd channel counts, 1×1 and depthwise paths
const CASES: Case[] = [
  { x: [1, 5, 5, 1], k: [3, 3], oc: 1, opts: {} },
  { x: [2, 7, 6, 3], k: [3, 3], oc: 5, opts: { padding: 1 } },
  { x: [1, 9, 9, 4], k: [3, 3], oc: 9, opts: { strides: 2, padding: "same" } },
  { x: [2, 8, 7, 5], k: [5, 3], oc: 7, opts: { padding: [2, 1, 0, 3], rounding: "floor", strides: [1, 2] } },
  { x: [1, 11, 10, 3], k: [3, 3], oc: 8, opts: { dilations: 2, padding: "same" } },
  { x: [1, 12, 12, 2], k: [3, 2], oc: 3, opts: { dilations: [2, 3], strides: [3, 2], padding: [1, 2, 2, 1], rounding: "floor" } },
  { x: [2, 6, 6, 6], k: [3, 3], oc: 9, opts: { groups: 3, padding: 1 } },
  { x: [1, 7, 7, 8], k: [1, 1], oc: 17, opts: {} }, // pointwise: a plain gemm
  { x: [2, 9, 9, 16], k: [1, 1], oc: 12, opts: {} },
  { x: [1, 9, 9, 5], k: [1, 1], oc: 4, opts: { strides: 2 } }, // 1×1 strided: im2col path
  { x: [1, 6, 6, 3], k: [1, 1], oc: 2, opts: { padding: 1 } }, // 1×1 padded
  { x: [2, 9, 8, 13], k: [3, 3], oc: 13, opts: { groups: 13, padding: 1 } }, // depthwise, C = 13
  { x: [1, 10, 10, 8], k: [3, 3], oc: 8, opts: { groups: 8, strides: 2, padding: "same" } },
  { x: [1, 9, 9, 4], k: [5, 5], oc: 4, opts: { groups: 4, dilations: 2, padding: 4 } },
  { x: [1, 6, 7, 3], k: [3, 3], oc: 6, opts: { groups: 3, padding: 1 } }, // depthwise, multiplier 2
  { x: [2, 7, 6, 35], k: [3, 3], oc: 35, opts: { groups: 35, padding: 1 } }, // depthwise: 16-, 4-channel blocks and a tail
  { x: [1, 11, 11, 16], k: [3, 3], oc: 16, opts: { groups: 16, strides: 2, dilations: 2, padding: 2 } },
  { x: [1, 28, 28, 1], k: [5, 5], oc: 6, opts: {} }, // LeNet C1
  { x: [2, 8, 8, 2], k: [3, 3], oc: 5, opts: { strides: 3, rounding: "floor" } }, // unread input rows and columns
  { x: [2, 8, 7, 2], k: [3, 3], oc: 4, opts: { strides: 3, rounding: "ceil" } }, // windows past the bottom/right edge
  { x: [3, 5, 5, 12], k: [3, 3], oc: 12, opts: { groups: 2, padding: 1 } }, // 25 pixels: a partial tile per image
  { x: [1, 104, 100, 3], k: [3, 3], oc: 4, opts: { padding: 1 } }, // 10,400 output rows: crosses an im2col chunk (9,708 rows for K = 27)
];

function caseName(c: Case): string {
  return `x=${c.x.join("x")} k=${c.k.join("x")} oc=${c.oc} ${JSON.stringify(c.opts)}`;
}

function setup(be: Backend, c: Case, seed: number) {
  const groups = c.opts.groups ?? 1;
  const wShape = [c.k[0], c.k[1], c.x[3] / groups, c.oc];
  const xs = randomArray(c.x.reduce((a, b) => a * b), seed);
  const ws = randomArray(wShape.reduce((a, b) => a * b), seed + 1, 0.5);
  const bs = randomArray(c.oc, seed + 2);
  return {
    xs, ws, bs,
    x: Tensor.from(xs, c.x, be), w: Tensor.from(ws, wShape, be), b: Tensor.from(bs, [c.oc], be),
    g: ops.conv2dGeometry(c.x, wShape, c.opts),
  };
}

describe.each(BUILDS)("conv2d on the %s build", (build) => {
  it.each(CASES.map((c) => [caseName(c), c] as const))("forward, backward-data, backward-filter, bias: %s", async (_n, c) => {
    const be = await backendFor(build);
    const { xs, ws, bs, x, w, b, g } = setup(be, c, 11);
    const p = refParams(g);
    const K = g.KH * g.KW * (g.C / g.groups);
    const atol = 2e-6 * (K + 4);
    const y = ops.conv2d(x, w, b, c.opts);
    expect(y.shape).toEqual(g.outShape);
    expectClose(y.toArray(), refConvFwd(p, xs, ws, bs), 1e-5, atol, "forward");

    const dys = randomArray(y.size, 5);
    const dy = Tensor.from(dys, y.shape, be);
    const { dx, dw, db } = ops.conv2dBackward(x, w, dy, c.opts);
    const P = g.N * g.OH * g.OW;
    expectClose(dx.toArray(), refConvBwdData(p, dys, ws), 1e-5, 2e-6 * (g.OC * g.KH * g.KW + 4), "dx");
    expectClose(dw.toArray(), refConvBwdFilter(p, xs, dys), 1e-5, 2e-6 * (P + 4), "dw");
    const dbRef = new Float64Array(g.OC);
    dys.forEach((v, i) => (dbRef[i % g.OC]! += v));
    expectClose(db.toArray(), dbRef, 1e-5, 2e-6 * (P + 4), "db");
    [x, w, b, y, dy, dx, dw, db].forEach((t) => t.free());
  });

  it("fused ReLU and ReLU6 in the forward store (gemm and depthwise paths)", async () => {
    const be = await backendFor(build);
    for (const c of [CASES[1]!, CASES[11]!]) {
      for (const act of ["relu", "relu6"] as const) {
        const { xs, ws, x, w, g } = setup(be, c, 3);
        const bs = randomArray(c.oc, 4, 6); // large biases so ReLU6 clips
        const b = Tensor.from(bs, [c.oc], be);
        const y = ops.conv2d(x, w, b, { ...c.opts, activation: act });
        const want = refConvFwd(refParams(g), xs, ws, bs).map((v) => refAct[act]!(v, 0));
        expectClose(y.toArray(), want, 1e-5, 1e-4, `${act}`);
      }
    }
  });
});

describe("conv2d gradients against central differences of the float64 forward", () => {
  // L = Σ y ⊙ R. dL/dx and dL/dw from the kernels must match numeric derivatives of the oracle.
  const GRAD_CASES = [CASES[1]!, CASES[5]!, CASES[6]!, CASES[9]!, CASES[11]!, CASES[14]!];
  it.each(GRAD_CASES.map((c) => [caseName(c), c] as const))("%s", async (_n, c) => {
    const be = await backendFor("simd");
    const { xs, ws, bs, x, w, g } = setup(be, c, 21);
    const p = refParams(g);
    const R = randomArray(g.N * g.OH * g.OW * g.OC, 8);
    const dy = Tensor.from(R, g.outShape, be);
    const { dx, dw, db } = ops.conv2dBackward(x, w, dy, c.opts);
    const numDx = numericGrad((xx) => dot(refConvFwd(p, xx, ws, bs), R), xs);
    const numDw = numericGrad((ww) => dot(refConvFwd(p, xs, ww, bs), R), ws);
    const numDb = numericGrad((bb) => dot(refConvFwd(p, xs, ws, bb), R), bs);
    // relative error bound: 1e-4 of the gradient's scale
    const scale = (a: ArrayLike<number>) => Math.max(...Array.from(a, Math.abs));
    expectClose(dx.toArray(), numDx, 0, 1e-4 * scale(numDx), "dx");
    expectClose(dw.toArray(), numDw, 0, 1e-4 * scale(numDw), "dw");
    expectClose(db.toArray(), numDb, 0, 1e-4 * scale(numDb), "db");
  });
});

describe("conv2d shape inference and errors", async () => {
  const be = await backendFor("simd");
  it("a 3x3 kernel with stride 3 on a 7x7 input is a ShapeError naming the numbers", () => {
    const x = Tensor.zeros([1, 7, 7, 1], be), w = Tensor.zeros([3, 3, 1, 1], be);
    expect(() => ops.conv2d(x, w, undefined, { strides: 3, name: "c1" })).toThrow(ShapeError);
    expect(() => ops.conv2d(x, w, undefined, { strides: 3, name: "c1" })).toThrow(
      'conv2d "c1": a 3x3 kernel with stride 3 does not fit a 7x7 input ((7-3)/3+1 = 2.33 is not whole)',
    );
    // floor / ceil rounding are explicit choices
    expect(ops.conv2dGeometry([1, 7, 7, 1], [3, 3, 1, 1], { strides: 3, rounding: "floor" }).OH).toBe(2);
    expect(ops.conv2dGeometry([1, 7, 7, 1], [3, 3, 1, 1], { strides: 3, rounding: "ceil" }).OH).toBe(3);
  });

  it("output sizes follow (W − F + 2P)/S + 1 and TF 'same'", () => {
    expect(ops.conv2dGeometry([1, 32, 32, 3], [5, 5, 3, 10], { padding: 2 }).outShape).toEqual([1, 32, 32, 10]);
    expect(ops.conv2dGeometry([1, 227, 227, 3], [11, 11, 3, 96], { strides: 4 }).outShape).toEqual([1, 55, 55, 96]);
    expect(ops.conv2dGeometry([1, 224, 224, 3], [7, 7, 3, 64], { strides: 2, padding: 3, rounding: "floor" }).OH).toBe(112);
    const s = ops.conv2dGeometry([1, 7, 8, 1], [3, 3, 1, 1], { strides: 2, padding: "same" });
    expect([s.OH, s.OW, s.padTop, s.padBottom, s.padLeft, s.padRight]).toEqual([4, 4, 1, 1, 0, 1]);
  });

  it("channel, group, rank and option errors are typed and name the shapes", () => {
    expect(() => ops.conv2dGeometry([1, 8, 8, 3], [3, 3, 4, 8], { name: "c2" })).toThrow(
      'conv2d "c2": weights [3, 3, 4, 8] expect 4 input channels per group, but the input [1, 8, 8, 3] has 3 channels in 1 group (3 per group)',
    );
    expect(() => ops.conv2dGeometry([1, 8, 8, 6], [3, 3, 2, 8], { groups: 4 })).toThrow(/4 groups must divide both input channels 6 and output channels 8/);
    expect(() => ops.conv2dGeometry([8, 8, 3], [3, 3, 3, 8])).toThrow(/input must be NHWC \(rank 4\), got \[8, 8, 3\]/);
    expect(() => ops.conv2dGeometry([1, 2, 2, 1], [3, 3, 1, 1])).toThrow(/a 3x3 kernel does not fit a 2x2 input/);
    // @ts-expect-error: unknown option
    expect(() => ops.conv2dGeometry([1, 8, 8, 1], [3, 3, 1, 1], { stride: 2 })).toThrow(ConfigError);
    expect(() => ops.conv2dGeometry([1, 8, 8, 1], [3, 3, 1, 1], { strides: 0 })).toThrow(/strides must be whole numbers >= 1/);
    const x = Tensor.zeros([1, 5, 5, 1], be), w = Tensor.zeros([3, 3, 1, 2], be);
    expect(() => ops.conv2d(x, w, Tensor.zeros([3], be))).toThrow("conv2d: bias must have shape [2], got [3]");
    expect(() => ops.conv2dBackward(x, w, Tensor.zeros([1, 3, 3, 1], be))).toThrow(/dy must have the output shape \[1, 3, 3, 2\]/);
  });

  it("a failed call allocates nothing", () => {
    const x = Tensor.zeros([1, 7, 7, 1], be), w = Tensor.zeros([3, 3, 1, 1], be);
    const before = be.heap.stats().inUseBytes;
    expect(() => ops.conv2d(x, w, undefined, { strides: 3 })).toThrow(ShapeError);
    expect(be.heap.stats().inUseBytes).toBe(before);
  });
});
