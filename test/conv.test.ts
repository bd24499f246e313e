import { describe, expect, it } from "vitest";
import { ConfigError, ShapeError, Tensor, getBackend, init, layers, loadBackend, loadModel, ops, sequential, type Backend } from "../src/index.js";
import { ACT_CODES } from "../src/ops/gemm.js";
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
  { x: [2, 6, 9, 12], k: [3, 3], oc: 12, opts: { groups: 12 } }, // depthwise 3×3, no padding: every pixel by rows
  { x: [1, 5, 4, 8], k: [3, 3], oc: 8, opts: { groups: 8, padding: 2 } }, // depthwise 3×3, two of padding: windows with one or two rows inside
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

// Every kernel a pass can run (ops/conv.convPaths chooses one by shape), forced through the one
// builder, against the float64 oracles: the small-channel shapes the implicit kernels are for
// (C 1, 3, 6, 8, 16, 32; OC 6, 8, 16, 32, 64 and odd counts), batch 1 and odd batches, padding,
// stride, dilation, groups, tap counts past a tile and channel panels of 1–8.
const PATH_CASES: Case[] = [
  ...CASES.filter((c) => (c.opts.groups ?? 1) < c.x[3] || c.x[3] === 1),
  { x: [3, 9, 7, 1], k: [5, 5], oc: 6, opts: { padding: "same" } }, // LeNet C1-like, odd batch
  { x: [1, 8, 8, 3], k: [3, 3], oc: 16, opts: { padding: "same" } },
  { x: [2, 7, 7, 6], k: [5, 5], oc: 16, opts: {} }, // LeNet C3-like
  { x: [1, 7, 7, 8], k: [3, 3], oc: 8, opts: { padding: 1, strides: 2 } },
  { x: [2, 5, 5, 16], k: [3, 3], oc: 32, opts: { padding: "same" } },
  { x: [1, 5, 5, 32], k: [3, 3], oc: 64, opts: { padding: "same" } },
  { x: [1, 9, 8, 4], k: [2, 3], oc: 12, opts: { dilations: 2, groups: 2, padding: [1, 0, 2, 1] } },
  { x: [3, 6, 7, 2], k: [3, 3], oc: 3, opts: { padding: 1 } }, // 18 taps: 8-tap groups and a 2-tap rest
  { x: [1, 6, 6, 1], k: [3, 3], oc: 1, opts: { strides: [2, 1], padding: [0, 1, 2, 0] } },
  { x: [2, 6, 6, 5], k: [3, 3], oc: 7, opts: { dilations: [1, 2], padding: "same" } },
  { x: [2, 3, 4, 2], k: [3, 3], oc: 5, opts: { padding: 3 } }, // tiles wholly in the padding: bias only
  { x: [1, 6, 9, 3], k: [2, 4], oc: 10, opts: { padding: [2, 1, 3, 2], dilations: [2, 1] } },
  { x: [2, 6, 5, 6], k: [3, 3], oc: 8, opts: { groups: 2, padding: [2, 0, 1, 2], dilations: [1, 2] } }, // 4 output channels a group
  { x: [1, 4, 5, 5], k: [3, 3], oc: 4, opts: { padding: 3 } }, // padding past the kernel's reach: dx rows and pixels no tap reaches
  { x: [3, 7, 9, 9], k: [5, 3], oc: 12, opts: { padding: "same" } }, // 4 + 5 channel blocks, pixel pairs and single pixels
  // the direct data gradient's 5-channel block and 6 channels as 3 + 3: alone, after a 4-channel block, per group
  { x: [2, 7, 6, 5], k: [5, 3], oc: 8, opts: { padding: [2, 1, 0, 1] } },
  { x: [1, 6, 7, 10], k: [3, 3], oc: 4, opts: { padding: "same" } },
  { x: [1, 6, 6, 12], k: [3, 3], oc: 8, opts: { groups: 2, padding: [0, 1, 2, 1] } },
  // the direct data gradient's images at once: 4 (a 2-channel block as one quad, wider blocks as two pairs), 2, 1
  { x: [7, 7, 6, 6], k: [5, 5], oc: 16, opts: {} }, // LeNet C3-like: 3 + 3 channels, two triples and the last image
  { x: [5, 6, 7, 6], k: [3, 3], oc: 8, opts: { padding: [2, 0, 1, 2] } }, // a triple and a pair
  { x: [4, 6, 6, 3], k: [3, 3], oc: 4, opts: { padding: "same" } }, // a 3-channel block: two pairs
  { x: [5, 6, 7, 2], k: [3, 3], oc: 4, opts: { padding: "same" } },
  { x: [6, 5, 6, 9], k: [3, 3], oc: 8, opts: { padding: [2, 0, 1, 2] } }, // 4 + 5 channel blocks
  { x: [4, 6, 6, 12], k: [3, 3], oc: 8, opts: { groups: 2, padding: [0, 1, 2, 1], dilations: [2, 1] } }, // 3 + 3 a group, a triple and the last image
  { x: [4, 5, 5, 1], k: [3, 3], oc: 4, opts: { padding: 1 } }, // one channel: quads
  // one input channel, 6 outputs: runs of 16 pixels of a row, the last ending at the row's end;
  // rows under 16 pixels by runs of 8 and tiles
  { x: [2, 12, 21, 1], k: [5, 5], oc: 6, opts: { padding: "same" } },
  { x: [2, 5, 12, 1], k: [3, 3], oc: 6, opts: { padding: "same" } },
  { x: [1, 4, 32, 1], k: [3, 3], oc: 6, opts: { padding: "same" } },
  // one input channel, output channels a multiple of 3: the filter gradient's taps of a kernel row as
  // lanes (3 kernel rows × 3 channels, then 2 or 1 rows), the columns past KW & ~3 by tile48
  { x: [2, 15, 11, 1], k: [7, 4], oc: 6, opts: { strides: [2, 1], padding: [3, 1, 2, 2], dilations: [2, 1] } }, // 4 output rows, 2 apart
  { x: [3, 8, 13, 1], k: [4, 9], oc: 15, opts: { padding: "same" } },
  { x: [1, 6, 8, 1], k: [2, 5], oc: 6, opts: { strides: [1, 3] } },
  { x: [2, 9, 12, 1], k: [3, 8], oc: 21, opts: {} }, // no column left to tile48; a last panel of 5; valid: the last load ends at x's end
  { x: [3, 5, 10, 1], k: [1, 7], oc: 30, opts: { padding: "same" } }, // 3 columns left to tile48; a last panel of 6
  // fewer than 4 taps a group (only the last, partial tile of the filter gradient), 8 output channels
  { x: [2, 5, 6, 3], k: [1, 1], oc: 8, opts: { padding: 1 } },
  { x: [1, 20, 19, 1], k: [3, 3], oc: 6, opts: { strides: [2, 1], dilations: [2, 1], padding: [1, 1, 2, 0], rounding: "floor" } },
  { x: [1, 10, 12, 1], k: [2, 4], oc: 6, opts: { dilations: [1, 2] } }, // column dilation: tiles only
];

const PATHS: { [K in "bwdFilter" | "bwdData"]: ops.ConvPaths[K][] } = { bwdFilter: ["implicit", "im2col", "winograd"], bwdData: ["implicit", "direct", "im2col"] };

describe.each(["simd", "relaxed", "debug"] as const)("every conv2d kernel path on the %s build", (build) => {
  it.each(PATH_CASES.map((c) => [caseName(c), c] as const))("%s", async (_n, c) => {
    const be = await backendFor(build);
    const { xs, ws, bs, x, w, b, g } = setup(be, c, 13);
    const p = refParams(g);
    const P = g.N * g.OH * g.OW;
    const y = ops.conv2d(x, w, b, { ...c.opts, activation: "relu" });
    expectClose(y.toArray(), refConvFwd(p, xs, ws, bs).map((v) => Math.max(v, 0)), 1e-5, 2e-6 * (g.KH * g.KW * g.C + 4), "forward");
    const dys = randomArray(P * g.OC, 7);
    const dy = Tensor.from(dys, g.outShape, be), dw = Tensor.zeros(w.shape, be), dx = Tensor.zeros(x.shape, be);
    const wantDw = refConvBwdFilter(p, xs, dys), wantDx = refConvBwdData(p, dys, ws);
    for (const bwdData of PATHS.bwdData) {
      if ((bwdData === "implicit" && !ops.implicitDataFits(g)) || (bwdData === "direct" && !ops.directDataFits(g))) {
        expect(() => ops.withScratchAlloc(be, (alloc) => ops.convCalls(be, g, alloc, { x: x.ptr, y: 0, w: w.ptr, packed: 0, bias: 0, act: 0, training: true, dy: dy.ptr, dyAct: 0, dx: dx.ptr, dw: 0, db: 0 }, 1, { bwdData }))).toThrow(ConfigError);
        continue;
      }
      be.heap.f32(dx.ptr, dx.size).fill(Number.NaN);
      ops.withScratchAlloc(be, (alloc) => be.run(ops.convCalls(be, g, alloc, {
        x: x.ptr, y: 0, w: w.ptr, packed: 0, bias: 0, act: 0, training: true, dy: dy.ptr, dyAct: 0, dx: dx.ptr, dw: 0, db: 0,
      }, 1, { bwdData }).bwdData));
      expectClose(dx.toArray(), wantDx, 1e-5, 2e-6 * (g.OC * g.KH * g.KW + 4), `dx ${bwdData}`);
    }
    for (const bwdFilter of PATHS.bwdFilter) {
      if (bwdFilter === "winograd" && !(ops.winogradFits(g) && g.KH === 3)) { // the Winograd filter gradient is 3×3 only
        expect(() => ops.withScratchAlloc(be, (alloc) => ops.convCalls(be, g, alloc, { x: x.ptr, y: 0, w: w.ptr, packed: 0, bias: 0, act: 0, training: true, dy: dy.ptr, dyAct: 0, dx: 0, dw: dw.ptr, db: 0 }, 1, { bwdFilter }))).toThrow(ConfigError);
        continue;
      }
      // NaN first: the kernels overwrite
      be.heap.f32(dw.ptr, dw.size).fill(Number.NaN);
      ops.withScratchAlloc(be, (alloc) => be.run(ops.convCalls(be, g, alloc, {
        x: x.ptr, y: 0, w: w.ptr, packed: 0, bias: 0, act: 0, training: true, dy: dy.ptr, dyAct: 0, dx: 0, dw: dw.ptr, db: 0,
      }, 1, { bwdFilter }).bwdFilter));
      expectClose(dw.toArray(), wantDw, 1e-5, 2e-6 * (P + 4), `dw ${bwdFilter}`);
    }
    [x, w, b, y, dy, dw, dx].forEach((t) => t.free());
  });
});

// The tilings that compute the same sums in the same order must give the same bits, not only values
// near the oracle's: the direct data gradient's images taken 4, 2 or 1 at a time, and the filter
// gradient's taps as lanes (one input channel, 6 outputs) against tile48's channel lanes (8 outputs).
describe.each(BUILDS)("conv2d kernels that tile differently give the same bits on the %s build", (build) => {
  const dataGrad = (be: Backend, g: ConvGeometry, dy: Tensor, w: Tensor, dx: Tensor) =>
    ops.withScratchAlloc(be, (alloc) => be.run(ops.convCalls(be, g, alloc, {
      x: 0, y: 0, w: w.ptr, packed: 0, bias: 0, act: 0, training: true, dy: dy.ptr, dyAct: 0, dx: dx.ptr, dw: 0, db: 0,
    }, 1, { bwdData: "direct" }).bwdData));
  it("data gradient (direct): 7 or 8 images at once (3 + 3 + 1, 3 + 3 + 2, 4 + 2 + 1) = each image alone", async () => {
    const be = await backendFor(build);
    for (const c of [{ x: [7, 14, 14, 6], k: [5, 5], oc: 16, opts: {} }, { x: [8, 6, 7, 6], k: [3, 3], oc: 8, opts: { padding: 1 } }, { x: [7, 6, 7, 2], k: [3, 3], oc: 4, opts: { padding: "same" } }] as Case[]) {
      const { w, g } = setup(be, c, 17);
      const per = g.OH * g.OW * g.OC, perX = g.H * g.W * g.C;
      const dys = randomArray(g.N * per, 19);
      const dy = Tensor.from(dys, g.outShape, be), dx = Tensor.zeros(c.x, be);
      dataGrad(be, g, dy, w, dx);
      const all = dx.toArray();
      const g1 = ops.conv2dGeometry([1, c.x[1], c.x[2], c.x[3]], w.shape as number[], c.opts);
      for (let n = 0; n < g.N; n++) {
        const dy1 = Tensor.from(dys.subarray(n * per, (n + 1) * per), g1.outShape, be), dx1 = Tensor.zeros([1, c.x[1], c.x[2], c.x[3]], be);
        dataGrad(be, g1, dy1, w, dx1);
        expect(Array.from(all.subarray(n * perX, (n + 1) * perX)), `${caseName(c)} image ${n}`).toEqual(Array.from(dx1.toArray()));
        [dy1, dx1].forEach((t) => t.free());
      }
      [w, dy, dx].forEach((t) => t.free());
    }
  });
  it("filter gradient: one input channel to 6 outputs (taps as lanes) = the first 6 of 8 outputs (channel lanes)", async () => {
    const be = await backendFor(build);
    for (const opts of [{ padding: "same" }, {}] as Conv2dOptions[]) {
      const xShape = [3, 12, 11, 1];
      const xs = randomArray(3 * 12 * 11, 23);
      const x = Tensor.from(xs, xShape, be);
      const g6 = ops.conv2dGeometry(xShape, [5, 5, 1, 6], opts), g8 = ops.conv2dGeometry(xShape, [5, 5, 1, 8], opts);
      const P = g6.N * g6.OH * g6.OW;
      const dy8s = randomArray(P * 8, 29), dy6s = new Float32Array(P * 6);
      for (let p = 0; p < P; p++) dy6s.set(dy8s.subarray(p * 8, p * 8 + 6), p * 6);
      const grads = [[g6, dy6s], [g8, dy8s]].map(([g, dys]) => {
        const gg = g as ConvGeometry;
        const dy = Tensor.from(dys as Float32Array, gg.outShape, be), dw = Tensor.zeros([5, 5, 1, gg.OC], be);
        ops.withScratchAlloc(be, (alloc) => be.run(ops.convCalls(be, gg, alloc, {
          x: x.ptr, y: 0, w: 0, packed: 0, bias: 0, act: 0, training: true, dy: dy.ptr, dyAct: 0, dx: 0, dw: dw.ptr, db: 0,
        }, 1, { bwdFilter: "implicit" }).bwdFilter));
        const out = dw.toArray();
        [dy, dw].forEach((t) => t.free());
        return out;
      });
      const first6 = Array.from({ length: 25 * 6 }, (_, i) => grads[1]![Math.floor(i / 6) * 8 + (i % 6)]!);
      expect(Array.from(grads[0]!), JSON.stringify(opts)).toEqual(first6);
      x.free();
    }
  });
});

describe.each(BUILDS)("data, filter and bias gradients through a 2×2 max pool's windows (pooledDy) on the %s build", (build) => {
  /** The conv's output gradient a 2×2, stride-2 max pool over y (a ReLU's output) passes back from dp: dp at each window's first maximum in scan order where it is > 0. */
  function throughPool(y: Float32Array, dp: Float32Array, g: ConvGeometry): Float64Array {
    const d = new Float64Array(y.length), OH2 = g.OH >> 1, OW2 = g.OW >> 1;
    for (let n = 0; n < g.N; n++) for (let i = 0; i < OH2; i++) for (let j = 0; j < OW2; j++) for (let c = 0; c < g.OC; c++) {
      const at = (r: number, q: number) => ((n * g.OH + 2 * i + r) * g.OW + 2 * j + q) * g.OC + c;
      let best = at(0, 0);
      for (const [r, q] of [[0, 1], [1, 0], [1, 1]] as const) if (y[at(r, q)]! > y[best]!) best = at(r, q);
      if (y[best]! > 0) d[best] = dp[((n * OH2 + i) * OW2 + j) * g.OC + c]!;
    }
    return d;
  }
  // LeNet-5's C1 and C3, strides and row dilation, an odd last row and column no window covers,
  // kernel rows of 1 to 10 vectors (KW·C 3, 5, 30, 39) and up to 7 kernel rows, 5 and 13 channels
  // out (a ragged last block of 4), padding on one side; integer-valued inputs, so that windows tie
  const CASES_P: [number[], number[], number, Conv2dOptions][] = [
    [[3, 28, 28, 1], [5, 5], 6, { padding: 2 }], [[4, 14, 14, 6], [5, 5], 16, {}],
    [[2, 13, 11, 13], [3, 3], 5, { padding: 1 }], [[2, 17, 12, 3], [3, 3], 8, { strides: 2, dilations: [2, 1], padding: [2, 0, 1, 1], rounding: "floor" }],
    [[1, 16, 9, 1], [7, 3], 4, { padding: [3, 3, 1, 1] }], [[3, 9, 10, 2], [2, 4], 7, { strides: [1, 2], padding: [0, 1, 0, 2], rounding: "floor" }],
  ];
  it.each(CASES_P.map((c) => [JSON.stringify(c), c] as const))("against float64 sums over the gradient the pool passes back (rows and columns no tap reads get 0): %s", async (_n, [xShape, k, oc, opts]) => {
    const be = await backendFor(build);
    const C = xShape[3]!, wShape = [k[0]!, k[1]!, C, oc];
    const ints = (n: number, seed: number, lo: number, hi: number) => randomArray(n, seed, 1).map((v) => Math.round(lo + ((v + 1) / 2) * (hi - lo)));
    const xs = ints(xShape.reduce((a, b) => a * b), 3, -2, 3), ws = ints(wShape.reduce((a, b) => a * b), 5, -1, 1), bs = ints(oc, 7, -1, 1);
    const x = Tensor.from(xs, xShape, be), w = Tensor.from(ws, wShape, be), b = Tensor.from(bs, [oc], be);
    const g = ops.conv2dGeometry(xShape, wShape, opts);
    expect(ops.pooledGradFits(be, g)).toBe(true);
    const y = ops.conv2d(x, w, b, { ...opts, activation: "relu" });
    const ys = y.toArray();
    const dps = randomArray(g.N * (g.OH >> 1) * (g.OW >> 1) * oc, 11);
    const dp = Tensor.from(dps, [g.N, g.OH >> 1, g.OW >> 1, oc], be), dw = Tensor.zeros(wShape, be), db = Tensor.zeros([oc], be);
    const dx = Tensor.from(new Float32Array(xs.length).fill(NaN), xShape, be); // every value written
    ops.withScratchAlloc(be, (alloc) => {
      const c = ops.convCalls(be, g, alloc, {
        x: x.ptr, y: y.ptr, w: w.ptr, packed: 0, bias: b.ptr, act: ACT_CODES.relu, training: true, dy: 0, dyAct: 0, dx: dx.ptr, dw: dw.ptr, db: db.ptr, reluApplied: true, pooledDy: dp.ptr,
      }, 1);
      expect(c.bwdFilter.map((q) => q.fn)).toEqual(["f32_conv2d_bwd_pooled"]);
      expect([c.actBwd, c.bwdData, c.biasBwd]).toEqual([[], [], []]); // the conv's dy is never read
      be.run(c.bwdFilter);
    });
    const d = throughPool(ys, dps, g);
    expect(d.some((v) => v !== 0) && d.filter((v) => v !== 0).length <= d.length / 4).toBe(true);
    const P = g.N * g.OH * g.OW;
    expectClose(dw.toArray(), refConvBwdFilter(refParams(g), xs, d), 1e-5, 2e-6 * (P / 4 + 4), "dw");
    const dbRef = new Float64Array(oc);
    d.forEach((v, i) => (dbRef[i % oc]! += v));
    expectClose(db.toArray(), dbRef, 1e-5, 2e-6 * (P / 4 + 4), "db");
    expectClose(dx.toArray(), refConvBwdData(refParams(g), d, ws), 1e-5, 2e-6 * (oc * g.KH * g.KW + 4), "dx");
    [x, w, b, y, dp, dw, db, dx].forEach((t) => t.free());
  });

  it("an infinite window gradient makes non-finite only the input positions under its maximum's taps (the lanes past a kernel row's 30 taps add nothing)", async () => {
    const be = await backendFor(build);
    const xShape = [1, 14, 14, 6], wShape = [5, 5, 6, 16];
    const x = Tensor.from(randomArray(14 * 14 * 6, 41), xShape, be), w = Tensor.from(randomArray(5 * 5 * 6 * 16, 43, 0.3), wShape, be);
    const g = ops.conv2dGeometry(xShape, wShape, {});
    const y = ops.conv2d(x, w, undefined, { activation: "relu" }), ys = y.toArray();
    // an open window (its maximum > 0) of channel 3 in the middle of the map, and its maximum's pixel
    const c = 3, [i, j] = [2, 2];
    let best = [0, 0], top = -Infinity;
    for (const [r, q] of [[0, 0], [0, 1], [1, 0], [1, 1]]) { const v = ys[((2 * i + r!) * 10 + 2 * j + q!) * 16 + c]!; if (v > top) { top = v; best = [r!, q!]; } }
    expect(top).toBeGreaterThan(0);
    const dps = new Float32Array(5 * 5 * 16);
    dps[(i * 5 + j) * 16 + c] = Infinity;
    const dp = Tensor.from(dps, [1, 5, 5, 16], be), dx = Tensor.zeros(xShape, be), dw = Tensor.zeros(wShape, be);
    ops.withScratchAlloc(be, (alloc) => be.run(ops.convCalls(be, g, alloc, {
      x: x.ptr, y: y.ptr, w: w.ptr, packed: 0, bias: 0, act: ACT_CODES.relu, training: true, dy: 0, dyAct: 0, dx: dx.ptr, dw: dw.ptr, db: 0, reluApplied: true, pooledDy: dp.ptr,
    }, 1).bwdFilter));
    const oh = 2 * i + best[0]!, ow = 2 * j + best[1]!, got = dx.toArray();
    for (let h = 0; h < 14; h++) for (let v = 0; v < 14; v++) for (let ch = 0; ch < 6; ch++) {
      const under = h >= oh && h < oh + 5 && v >= ow && v < ow + 5;
      if (!under) expect(Number.isFinite(got[(h * 14 + v) * 6 + ch]), `dx at ${h},${v},${ch}`).toBe(true);
    }
    [x, w, y, dp, dx, dw].forEach((t) => t.free());
  });

  it("image parts on three threads sum to one part's filter and bias gradients and write the same data gradient; a conv it does not fit is a ConfigError", async () => {
    const be3 = await loadBackend("simd-mt", "option", 16, 3);
    const xShape = [7, 14, 14, 6], wShape = [5, 5, 6, 16];
    const xs = randomArray(7 * 14 * 14 * 6, 13), ws = randomArray(5 * 5 * 6 * 16, 17, 0.3);
    const grads = [1, 3].map((limit) => {
      const x = Tensor.from(xs, xShape, be3), w = Tensor.from(ws, wShape, be3), g = ops.conv2dGeometry(xShape, wShape, {});
      const y = ops.conv2d(x, w, undefined, { activation: "relu" });
      const dp = Tensor.from(randomArray(7 * 5 * 5 * 16, 19), [7, 5, 5, 16], be3), dw = Tensor.zeros(wShape, be3), db = Tensor.zeros([16], be3), dx = Tensor.zeros(xShape, be3);
      ops.withScratchAlloc(be3, (alloc) => {
        const c = ops.convCalls(be3, g, alloc, {
          x: x.ptr, y: y.ptr, w: w.ptr, packed: 0, bias: 0, act: ACT_CODES.relu, training: true, dy: 0, dyAct: 0, dx: dx.ptr, dw: dw.ptr, db: db.ptr, reluApplied: true, pooledDy: dp.ptr,
        }, limit);
        expect(c.bwdFilter.length).toBe(limit);
        be3.run(c.bwdFilter);
        be3.runInTurn(c.reduce);
      });
      const out = [dw.toArray(), db.toArray(), dx.toArray()];
      [x, w, y, dp, dw, db, dx].forEach((t) => t.free());
      return out;
    });
    expectClose(grads[1]![0]!, grads[0]![0]!, 1e-5, 1e-5, "dw");
    expectClose(grads[1]![1]!, grads[0]![1]!, 1e-5, 1e-5, "db");
    expect(Array.from(grads[1]![2]!), "dx: each image's own, the same bits").toEqual(Array.from(grads[0]![2]!));
    const bad = (opts: Conv2dOptions, wShape: number[], act = ACT_CODES.relu) => () => ops.withScratchAlloc(be3, (alloc) => ops.convCalls(be3, ops.conv2dGeometry([2, 8, 8, 4], wShape, opts), alloc, {
      x: 8, y: 8, w: 8, packed: 0, bias: 0, act, training: true, dy: 8, dyAct: 0, dx: 0, dw: 8, db: 0, reluApplied: true, pooledDy: 8,
    }, 1));
    expect(bad({ groups: 2 }, [3, 3, 2, 4])).toThrow(ConfigError);
    expect(bad({ dilations: [1, 2] }, [3, 3, 4, 4])).toThrow(/column dilation 1/);
    expect(bad({}, [3, 3, 4, 3])).toThrow(/at least 4 output channels/);
    expect(bad({}, [3, 3, 4, 4], ACT_CODES.relu6)).toThrow(/its own ReLU/);
    await be3.shutdown();
  });
});

it("the data gradient's path by input channels per group: direct to 6 (LeNet's C3), implicit above", () => {
  const at = (C: number, k: number, padding: "same" | "valid", groups = 1) => ops.convPaths(ops.conv2dGeometry([64, 14, 14, C], [k, k, C / groups, 16], { padding, groups }), true).bwdData;
  expect(at(6, 5, "valid")).toBe("direct"); // lenet5's C3
  expect(at(5, 5, "valid")).toBe("direct");
  expect(at(4, 3, "same")).toBe("direct");
  expect(at(6, 3, "same")).toBe("direct");
  expect(at(8, 5, "valid")).toBe("implicit");
  expect(at(12, 5, "valid", 2)).toBe("direct"); // 6 a group
});

describe.each(BUILDS)("a one-channel conv with 6 outputs (runs of 16 or 8 pixels of a row in registers) on the %s build", (build) => {
  it.each([[1, 28, 28, 5, "same"], [3, 13, 19, 3, 1], [1, 17, 30, 5, 0], [2, 9, 12, 3, "same"], [1, 6, 32, 5, "same"]] as const)("x %ix%ix%i k %i padding %s: bias, residual and ReLU / ReLU6 against float64; split in bands of rows, the same bits", async (N, H, W, k, padding) => {
    const be = await backendFor(build);
    const c: Case = { x: [N, H, W, 1], k: [k, k], oc: 6, opts: { padding } };
    const { xs, ws, x, w, g } = setup(be, c, 21);
    const bs = randomArray(6, 22, 3), rs = randomArray(g.N * g.OH * g.OW * 6, 23, 4);
    const b = Tensor.from(bs, [6], be), r = Tensor.from(rs, g.outShape, be);
    const want = refConvFwd(refParams(g), xs, ws, bs).map((v, i) => v + rs[i]!);
    for (const [act, code] of [["relu", 1], ["relu6", 2]] as const) {
      const outs: Float32Array[] = [];
      for (const parts of [1, 2, 3]) {
        const y = Tensor.zeros(g.outShape, be);
        ops.withScratchAlloc(be, (alloc) => be.run(ops.convCalls(be, g, alloc, {
          x: x.ptr, y: y.ptr, w: w.ptr, packed: 0, bias: b.ptr, act: code, res: r.ptr, training: false, dy: 0, dyAct: 0, dx: 0, dw: 0, db: 0,
        }, parts).fwd));
        outs.push(y.toArray());
        y.free();
      }
      expectClose(outs[0]!, want.map((v) => refAct[act]!(v, 0)), 1e-5, 1e-4, act);
      for (const o of outs.slice(1)) expect(o).toEqual(outs[0]);
    }
    [x, w, b, r].forEach((t) => t.free());
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

// conv2dTranspose: the conv's backward-data pass as an op (and layer). Its geometry is that of the
// conv it transposes: forward = refConvBwdData, dx = refConvFwd of dy, dw = refConvBwdFilter with
// the conv's input (dy) and output (x) in their places.
describe("conv2dTranspose against the conv oracles", () => {
  interface TCase { x: [number, number, number, number]; k: [number, number]; filters: number; opts: import("../src/ops/conv.js").ConvTransposeOptions; out: [number, number] }
  const T_CASES: TCase[] = [
    { x: [1, 3, 3, 2], k: [3, 3], filters: 3, opts: { strides: 2 }, out: [7, 7] },
    { x: [2, 4, 5, 3], k: [3, 3], filters: 2, opts: { strides: 2, padding: 1, outputPadding: 1 }, out: [8, 10] },
    { x: [1, 4, 4, 4], k: [4, 4], filters: 3, opts: { strides: 2, padding: "same" }, out: [8, 8] },
    { x: [1, 5, 4, 2], k: [3, 2], filters: 4, opts: { strides: [2, 3], padding: [1, 0, 2, 1], outputPadding: [1, 2] }, out: [11, 10] },
    { x: [2, 5, 5, 3], k: [3, 3], filters: 5, opts: { dilations: 2, padding: 2 }, out: [5, 5] },
    { x: [1, 4, 4, 4], k: [3, 3], filters: 6, opts: { groups: 2, strides: 2 }, out: [9, 9] },
    { x: [2, 6, 6, 5], k: [1, 1], filters: 7, opts: {}, out: [6, 6] }, // pointwise: a plain gemm
    { x: [1, 5, 5, 6], k: [3, 3], filters: 6, opts: { groups: 6, strides: 2, padding: 1 }, out: [9, 9] }, // depthwise
    { x: [2, 5, 6, 6], k: [3, 3], filters: 6, opts: { groups: 6, padding: 1 }, out: [5, 6] }, // depthwise, stride 1 (a found bug: all zeros)
    { x: [1, 7, 7, 16], k: [5, 5], filters: 6, opts: { padding: 2 }, out: [7, 7] },
  ];
  const name = (c: TCase) => `x=${c.x.join("x")} k=${c.k.join("x")} filters=${c.filters} ${JSON.stringify(c.opts)}`;

  it.each(["simd", "debug"] as const)("forward, dx, dw, db on the %s build", async (build) => {
    const be = await backendFor(build);
    for (const c of T_CASES) {
      const groups = c.opts.groups ?? 1;
      const wShape = [c.k[0], c.k[1], c.filters / groups, c.x[3]];
      const xs = randomArray(c.x.reduce((a, b) => a * b), 3), ws = randomArray(wShape.reduce((a, b) => a * b), 4, 0.5), bs = randomArray(c.filters, 5);
      const g = ops.convTransposeGeometry(c.x, wShape, c.opts);
      expect([g.H, g.W], name(c)).toEqual(c.out);
      const p = refParams(g);
      const x = Tensor.from(xs, c.x, be), w = Tensor.from(ws, wShape, be), b = Tensor.from(bs, [c.filters], be);
      const y = ops.conv2dTranspose(x, w, b, c.opts);
      expect(y.shape).toEqual([c.x[0], ...c.out, c.filters]);
      const want = refConvBwdData(p, xs, ws).map((v, i) => v + bs[i % c.filters]!);
      expectClose(y.toArray(), want, 1e-5, 2e-6 * (g.OC * g.KH * g.KW + 4), `${name(c)} forward`);
      const dys = randomArray(y.size, 6);
      const dy = Tensor.from(dys, y.shape, be);
      const { dx, dw, db } = ops.conv2dTransposeBackward(x, w, dy, c.opts);
      expectClose(dx.toArray(), refConvFwd(p, dys, ws, null), 1e-5, 2e-6 * (g.KH * g.KW * g.C + 4), `${name(c)} dx`);
      expectClose(dw.toArray(), refConvBwdFilter(p, dys, xs), 1e-5, 2e-6 * (g.N * g.OH * g.OW + 4), `${name(c)} dw`);
      const dbRef = new Float64Array(c.filters);
      dys.forEach((v, i) => (dbRef[i % c.filters]! += v));
      expectClose(db.toArray(), dbRef, 1e-5, 2e-6 * (y.size / c.filters + 4), `${name(c)} db`);
      [x, w, b, y, dy, dx, dw, db].forEach((t) => t.free());
    }
  });

  it("as a layer: predict is the op, it saves and loads, its config is checked", async () => {
    await init({ build: "simd" });
    const m = sequential([layers.conv2dTranspose({ filters: 3, kernelSize: [3, 2], strides: 2, padding: [1, 0, 0, 1], outputPadding: [1, 0], name: "up" })], { inputShape: [4, 3, 2] });
    expect(m.outputShape).toEqual([9, 5, 3]);
    const w = m.getWeights(), xs = randomArray(2 * 4 * 3 * 2, 9);
    const be = getBackend();
    const x = Tensor.from(xs, [2, 4, 3, 2], be), k = Tensor.from(w[0]!.values, w[0]!.shape, be), b = Tensor.from(randomArray(3, 1), [3], be);
    m.setWeights([{ layer: "up", name: "bias", values: b.toArray() }]);
    const want = ops.conv2dTranspose(x, k, b, { strides: 2, padding: [1, 0, 0, 1], outputPadding: [1, 0] });
    expectClose(m.predict(xs), want.toArray(), 0, 0, "predict = op");
    const back = loadModel(m.save());
    expect(back.layers[0]!.config()).toEqual(m.layers[0]!.config());
    expectClose(back.predict(xs), want.toArray(), 0, 0, "loaded");
    [x, k, b, want].forEach((t) => t.free());
    m.free();
    back.free();
    expect(() => layers.conv2dTranspose({ filters: 3, kernelSize: 3, stride: 2 } as never)).toThrow(/conv2dTranspose "[^"]+": unknown option "stride"/);
    expect(() => layers.conv2dTranspose({ filters: 3, kernelSize: 3, groups: 2 })).toThrow(/2 groups must divide filters 3/);
    expect(() => sequential([layers.conv2dTranspose({ filters: 4, kernelSize: 3, groups: 2 })], { inputShape: [4, 4, 3] })).toThrow(/2 groups must divide the input channels 3/);
  });

  it("output sizes, and errors that name the numbers", () => {
    expect(() => ops.convTransposeGeometry([1, 4, 4, 2], [3, 3, 1, 2], { strides: 2, outputPadding: 2 })).toThrow(/outputPadding must be whole numbers >= 0 and below the strides 2x2, got 2/);
    expect(() => ops.convTransposeGeometry([1, 2, 2, 2], [3, 3, 1, 2], { padding: 3 })).toThrow(/padding 3\+3 × 3\+3 crops a 2x2 input under a 3x3 kernel with stride 1x1 to -2x-2/);
    expect(() => ops.convTransposeGeometry([1, 4, 4, 3], [3, 3, 1, 2], {})).toThrow(/weights \[3, 3, 1, 2\] take 2 input channels \(their last axis\), the input \[1, 4, 4, 3\] has 3/);
    expect(() => ops.convTransposeGeometry([1, 4, 4, 2], [3, 3, 1, 2], { padding: "same", outputPadding: 1, strides: 2 })).toThrow(/padding "same" .* takes no outputPadding/);
    expect(() => ops.convTransposeGeometry([1, 4, 4, 2], [3, 3, 1, 2], { pads: 1 } as never)).toThrow(ConfigError);
    expect(() => ops.convTransposeGeometry([4, 4, 2], [3, 3, 1, 2], {})).toThrow(ShapeError);
  });
});
