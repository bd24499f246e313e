import { describe, expect, it } from "vitest";
import { ConfigError, ShapeError, Tensor, ops } from "../src/index.js";
import type { Pool2dOptions, Pool3dOptions, PoolGeometry } from "../src/ops/pool.js";
import { backendFor } from "./helpers/backends.js";
import { dot, expectClose, numericGrad, randomArray } from "./helpers/check.js";
import { refAvgPool, refAvgPoolBwd, refMaxPool, refMaxPoolBwd, type RefPool } from "./ref/pool.js";

const BUILDS = ["simd", "relaxed"] as const;

function refParams(g: PoolGeometry): RefPool {
  return {
    N: g.N, H: g.H, W: g.W, C: g.C, OH: g.OH, OW: g.OW, KH: g.KH, KW: g.KW, SH: g.SH, SW: g.SW,
    PT: g.padTop, PB: g.padBottom, PL: g.padLeft, PR: g.padRight, countIncludePad: g.countIncludePad, DH: g.DH, DW: g.DW,
    D: g.D, OD: g.OD, KD: g.KD, SD: g.SD, PF: g.padFront, PK: g.padBack, DD: g.DD,
  };
}

const CASES: { x: [number, number, number, number]; opts: Pool2dOptions }[] = [
  { x: [1, 4, 4, 1], opts: { kernel: 2 } },
  { x: [2, 7, 7, 3], opts: { kernel: 2, rounding: "ceil" } },
  { x: [1, 7, 7, 5], opts: { kernel: 2, padding: "same" } },
  { x: [2, 9, 8, 9], opts: { kernel: 3, strides: 2, padding: 1, rounding: "floor" } },
  { x: [1, 8, 9, 4], opts: { kernel: 3, strides: 2, padding: 1, rounding: "ceil", countIncludePad: true } },
  { x: [1, 10, 10, 7], opts: { kernel: [3, 2], strides: [1, 2], padding: [1, 0, 0, 1], countIncludePad: true, rounding: "floor" } },
  { x: [2, 6, 6, 16], opts: { kernel: 3, strides: 1, padding: 1 } }, // overlapping windows
  { x: [1, 5, 5, 1], opts: { kernel: 5 } },
  // 2×2 stride 2 inside the input (the unrolled path): C = 4, 6 (a ragged tail block), 8, 13; odd sizes floor away a row / column
  { x: [3, 6, 8, 4], opts: { kernel: 2 } },
  { x: [2, 28, 28, 6], opts: { kernel: 2 } },
  { x: [1, 7, 9, 8], opts: { kernel: 2, rounding: "floor" } },
  { x: [2, 5, 4, 13], opts: { kernel: 2, rounding: "floor" } },
  { x: [1, 4, 6, 3], opts: { kernel: 2 } }, // fewer than 4 channels: the general path
];
const names = CASES.map((c) => [`x=${c.x.join("x")} ${JSON.stringify(c.opts)}`, c] as const);

// dilated max pooling (taps (kernel − 1)·dilation + 1 apart): ceil mode, padding, a window whose
// first taps fall in the padding, C = 1, 4, 6, 9 (SIMD blocks, the ragged tail, the scalar path)
const DILATED: { x: [number, number, number, number]; opts: Pool2dOptions }[] = [
  { x: [1, 4, 4, 1], opts: { kernel: 2, strides: 1, dilations: 2 } },
  { x: [2, 9, 8, 4], opts: { kernel: 3, strides: 2, dilations: 2, padding: 1, rounding: "ceil" } },
  { x: [1, 10, 11, 6], opts: { kernel: [2, 3], strides: [3, 1], dilations: [3, 2], padding: [1, 0, 2, 1], rounding: "floor" } },
  { x: [2, 8, 8, 9], opts: { kernel: 2, strides: 2, dilations: [1, 3], rounding: "ceil" } },
  { x: [1, 5, 5, 3], opts: { kernel: 3, strides: 1, dilations: 2, padding: 2 } },
];
// 3-D pooling (NDHWC): ceil mode, asymmetric padding, count_include_pad, dilation (max), windows
// one slice deep, C = 1, 3, 4, 5, 8 (the scalar path, SIMD blocks, the ragged tail)
const CASES3D: { x: [number, number, number, number, number]; opts: Pool3dOptions; max?: true }[] = [
  { x: [1, 4, 4, 4, 1], opts: { kernel: 2 } },
  { x: [2, 5, 6, 7, 3], opts: { kernel: [2, 3, 2], strides: [1, 2, 2], padding: [1, 1, 0], rounding: "ceil" } },
  { x: [1, 6, 5, 4, 5], opts: { kernel: 3, strides: 2, padding: [1, 0, 1, 1, 0, 1], countIncludePad: true, rounding: "floor" } },
  { x: [2, 3, 6, 6, 8], opts: { kernel: [1, 2, 2], rounding: "floor" } }, // one slice deep, 2×2 stride 2: the unrolled path per slice
  { x: [1, 7, 5, 6, 4], opts: { kernel: 2, strides: 1, padding: "same" } },
  { x: [1, 7, 6, 5, 3], opts: { kernel: 2, strides: [2, 1, 2], dilations: [3, 2, 1], padding: 1, rounding: "ceil" }, max: true },
];
const names3d = CASES3D.map((c) => [`x=${c.x.join("x")} ${JSON.stringify(c.opts)}`, c] as const);
const dilatedNames = DILATED.map((c) => [`x=${c.x.join("x")} ${JSON.stringify(c.opts)}`, c] as const);

describe.each(BUILDS)("pooling on the %s build", (build) => {
  it.each(names)("max and average, forward and backward: %s", async (_n, c) => {
    const be = await backendFor(build);
    const xs = randomArray(c.x.reduce((a, b) => a * b), 3);
    const x = Tensor.from(xs, c.x, be);
    const g = ops.pool2dGeometry("maxPool2d", c.x, c.opts);
    const p = refParams(g);
    const mp = ops.maxPool2d(x, c.opts);
    const ref = refMaxPool(p, xs);
    expect(mp.y.shape).toEqual(g.outShape);
    expect(Array.from(mp.y.toArray())).toEqual(Array.from(ref.y, Math.fround));
    expect(Array.from(mp.argmax)).toEqual(Array.from(ref.argmax));
    const dys = randomArray(mp.y.size, 4);
    const dy = Tensor.from(dys, mp.y.shape, be);
    const want = refMaxPoolBwd(p, xs, dys);
    expectClose(ops.maxPool2dBackward(x, dy, c.opts, mp).toArray(), want, 1e-6, 1e-6, "max bwd (argmax)");
    expectClose(ops.maxPool2dBackward(x, dy, c.opts).toArray(), want, 1e-6, 1e-6, "max bwd (recompute)");

    const y = ops.avgPool2d(x, c.opts);
    expectClose(y.toArray(), refAvgPool(p, xs), 1e-6, 1e-6, "avg fwd");
    expectClose(ops.avgPool2dBackward(x.shape, dy, c.opts).toArray(), refAvgPoolBwd(p, dys), 1e-6, 1e-6, "avg bwd");
    mp.free();
  });

  it.each(dilatedNames)("dilated max pooling, forward and backward: %s", async (_n, c) => {
    const be = await backendFor(build);
    const xs = randomArray(c.x.reduce((a, b) => a * b), 3);
    const x = Tensor.from(xs, c.x, be);
    const g = ops.pool2dGeometry("maxPool2d", c.x, c.opts);
    const p = refParams(g);
    const mp = ops.maxPool2d(x, c.opts);
    const ref = refMaxPool(p, xs);
    expect(mp.y.shape).toEqual(g.outShape);
    expect(Array.from(mp.y.toArray())).toEqual(Array.from(ref.y, Math.fround));
    expect(Array.from(mp.argmax)).toEqual(Array.from(ref.argmax));
    const dys = randomArray(mp.y.size, 4);
    const dy = Tensor.from(dys, mp.y.shape, be);
    const want = refMaxPoolBwd(p, xs, dys);
    expectClose(ops.maxPool2dBackward(x, dy, c.opts, mp).toArray(), want, 1e-6, 1e-6, "max bwd (argmax)");
    expectClose(ops.maxPool2dBackward(x, dy, c.opts).toArray(), want, 1e-6, 1e-6, "max bwd (recompute)");
    mp.free();
  });

  it.each([...names.slice(0, 8), ...dilatedNames])("max-pool indices (ONNX's positions in the example, row- and column-major): %s", async (_n, c) => {
    const be = await backendFor(build);
    const xs = randomArray(c.x.reduce((a, b) => a * b), 3);
    const x = Tensor.from(xs, c.x, be);
    const g = ops.pool2dGeometry("maxPool2d", c.x, c.opts);
    const { argmax } = refMaxPool(refParams(g), xs);
    // NHWC flat index → (n, h, w, c) → c·H·W + h·W + w (row) or c·H·W + w·H + h (column)
    const pos = (at: number, column: boolean) => {
      const ch = at % g.C, p = Math.floor(at / g.C), w = p % g.W, h = Math.floor(p / g.W) % g.H;
      return ch * g.H * g.W + (column ? w * g.H + h : h * g.W + w);
    };
    for (const order of ["row", "column"] as const) {
      const got = ops.maxPool2dIndices(x, c.opts, order);
      expect(got.shape).toEqual(g.outShape);
      expect(Array.from(got.toArray())).toEqual(Array.from(argmax, (a) => pos(a, order === "column")));
      got.free();
    }
  });

  it.each(names3d)("3-D max and average, forward and backward: %s", async (_n, c) => {
    const be = await backendFor(build);
    const xs = randomArray(c.x.reduce((a, b) => a * b), 3);
    const x = Tensor.from(xs, c.x, be);
    const g = ops.pool3dGeometry("maxPool3d", c.x, c.opts);
    const p = refParams(g);
    const mp = ops.maxPool3d(x, c.opts);
    const ref = refMaxPool(p, xs);
    expect(mp.y.shape).toEqual(g.outShape);
    expect(Array.from(mp.y.toArray())).toEqual(Array.from(ref.y, Math.fround));
    expect(Array.from(mp.argmax)).toEqual(Array.from(ref.argmax));
    const dys = randomArray(mp.y.size, 4);
    const dy = Tensor.from(dys, mp.y.shape, be);
    const want = refMaxPoolBwd(p, xs, dys);
    expectClose(ops.maxPool3dBackward(x, dy, c.opts, mp).toArray(), want, 1e-6, 1e-6, "max bwd (argmax)");
    expectClose(ops.maxPool3dBackward(x, dy, c.opts).toArray(), want, 1e-6, 1e-6, "max bwd (recompute)");
    mp.free();
    if (c.max) return;
    const y = ops.avgPool3d(x, c.opts);
    expectClose(y.toArray(), refAvgPool(p, xs), 1e-6, 1e-6, "avg fwd");
    expectClose(ops.avgPool3dBackward(x.shape, dy, c.opts).toArray(), refAvgPoolBwd(p, dys), 1e-6, 1e-6, "avg bwd");
  });

  it("max ties go to the first maximum in scan order", async () => {
    const be = await backendFor(build);
    // 2x2 windows of equal values over 5 channels (SIMD lanes and the scalar tail)
    const x = Tensor.from(new Float32Array(1 * 2 * 2 * 5).fill(1), [1, 2, 2, 5], be);
    const mp = ops.maxPool2d(x, { kernel: 2 });
    expect(Array.from(mp.argmax)).toEqual([0, 1, 2, 3, 4]);
    const dx = ops.maxPool2dBackward(x, Tensor.from([1, 2, 3, 4, 5], [1, 1, 1, 5], be), { kernel: 2 });
    expect(Array.from(dx.toArray())).toEqual([1, 2, 3, 4, 5, ...new Array(15).fill(0)]);
  });

  it.each([1, 3, 4, 5])("NaN wins a window only as its first tap, whatever the channels (C %i): forward, argmax and the recomputed backward agree", async (C) => {
    const be = await backendFor(build);
    // two 3×1 windows per channel: [NaN, 1, 2] and [1, NaN, 2]
    const col = [NaN, 1, 2, 1, NaN, 2];
    const xs = new Float32Array(6 * C).map((_, i) => col[Math.floor(i / C)]!);
    const x = Tensor.from(xs, [1, 6, 1, C], be);
    const mp = ops.maxPool2d(x, { kernel: [3, 1], strides: [3, 1] });
    const y = mp.y.toArray();
    for (let c = 0; c < C; c++) {
      expect(Number.isNaN(y[c]), `channel ${c}: the first window's NaN first tap`).toBe(true);
      expect(y[C + c], `channel ${c}: a later NaN never wins`).toBe(2);
      expect(mp.argmax[c]).toBe(c);
      expect(mp.argmax[C + c]).toBe(5 * C + c);
    }
    // the backward without the forward's argmax recomputes the same taps
    const dy = Tensor.from(new Float32Array(2 * C).fill(1), [1, 2, 1, C], be);
    const dx = ops.maxPool2dBackward(x, dy, { kernel: [3, 1], strides: [3, 1] }).toArray();
    expect(Array.from(dx)).toEqual(Array.from(xs, (_, i) => (Math.floor(i / C) === 0 || Math.floor(i / C) === 5 ? 1 : 0)));
  });

  it("global average and global max pooling, forward and backward", async () => {
    const be = await backendFor(build);
    for (const shape of [[2, 3, 5, 9], [1, 7, 7, 4], [3, 1, 1, 1]] as [number, number, number, number][]) {
      const [N, H, W, C] = shape;
      const xs = randomArray(N * H * W * C, 9);
      const x = Tensor.from(xs, shape, be);
      const avg = new Float64Array(N * C), mx = new Float64Array(N * C).fill(-Infinity), arg = new Int32Array(N * C);
      for (let n = 0; n < N; n++) for (let p = 0; p < H * W; p++) for (let c = 0; c < C; c++) {
        const i = (n * H * W + p) * C + c;
        avg[n * C + c]! += xs[i]! / (H * W);
        if (xs[i]! > mx[n * C + c]!) { mx[n * C + c] = xs[i]!; arg[n * C + c] = i; }
      }
      expectClose(ops.globalAvgPool(x).toArray(), avg, 1e-6, 1e-6, "gap");
      const gm = ops.globalMaxPool(x);
      expect(Array.from(gm.y.toArray())).toEqual(Array.from(mx, Math.fround));
      expect(Array.from(gm.argmax)).toEqual(Array.from(arg));
      const dys = randomArray(N * C, 2);
      const dy = Tensor.from(dys, [N, C], be);
      const dAvg = new Float64Array(N * H * W * C), dMax = new Float64Array(N * H * W * C);
      for (let i = 0; i < dAvg.length; i++) dAvg[i] = dys[Math.floor(i / (H * W * C)) * C + (i % C)]! / (H * W);
      arg.forEach((t, j) => (dMax[t] = dys[j]!));
      expectClose(ops.globalAvgPoolBackward(shape, dy).toArray(), dAvg, 1e-6, 1e-7, "gap bwd");
      expectClose(ops.globalMaxPoolBackward(shape, dy, gm).toArray(), dMax, 0, 0, "gmp bwd");
      // and against central differences of the float64 forward (values are distinct, so the max is stable)
      const gapF = (xx: Float64Array) => {
        let s = 0;
        for (let i = 0; i < xx.length; i++) s += (xx[i]! / (H * W)) * dys[Math.floor(i / (H * W * C)) * C + (i % C)]!;
        return s;
      };
      const gmpF = (xx: Float64Array) => {
        let s = 0;
        for (let n = 0; n < N; n++) for (let c = 0; c < C; c++) {
          let m = -Infinity;
          for (let q = 0; q < H * W; q++) m = Math.max(m, xx[(n * H * W + q) * C + c]!);
          s += m * dys[n * C + c]!;
        }
        return s;
      };
      expectClose(ops.globalAvgPoolBackward(shape, dy).toArray(), numericGrad(gapF, xs), 0, 1e-6, "gap numeric");
      expectClose(ops.globalMaxPoolBackward(shape, dy, gm).toArray(), numericGrad(gmpF, xs, 1e-6), 0, 1e-6, "gmp numeric");
    }
  });
});

describe("pooling gradients against central differences", () => {
  it.each(names.slice(1, 6))("average pooling: %s", async (_n, c) => {
    const be = await backendFor("simd");
    const g = ops.pool2dGeometry("avgPool2d", c.x, c.opts);
    const p = refParams(g);
    const xs = randomArray(c.x.reduce((a, b) => a * b), 5);
    const R = randomArray(g.N * g.OH * g.OW * g.C, 6);
    const got = ops.avgPool2dBackward(c.x, Tensor.from(R, g.outShape, be), c.opts).toArray();
    expectClose(got, numericGrad((xx) => dot(refAvgPool(p, xx), R), xs), 0, 1e-6, "avg");
  });

  it.each(names.slice(1, 6))("max pooling (distinct values, away from ties): %s", async (_n, c) => {
    const be = await backendFor("simd");
    const g = ops.pool2dGeometry("maxPool2d", c.x, c.opts);
    const p = refParams(g);
    const n = c.x.reduce((a, b) => a * b);
    // a permutation of well-separated values: the max of a window is unique and stable under ±h
    const xs = Float32Array.from({ length: n }, (_, i) => ((i * 7919) % n) / n);
    const R = randomArray(g.N * g.OH * g.OW * g.C, 6);
    const x = Tensor.from(xs, c.x, be);
    const got = ops.maxPool2dBackward(x, Tensor.from(R, g.outShape, be), c.opts).toArray();
    expectClose(got, numericGrad((xx) => dot(refMaxPool(p, xx).y, R), xs, 1e-5), 0, 1e-6, "max");
  });
});

describe("3-D pooling gradients against central differences", () => {
  it.each(names3d)("%s", async (_n, c) => {
    const be = await backendFor("simd");
    const g = ops.pool3dGeometry("maxPool3d", c.x, c.opts);
    const p = refParams(g);
    const n = c.x.reduce((a, b) => a * b);
    const xs = Float32Array.from({ length: n }, (_, i) => ((i * 7919) % n) / n);
    const R = randomArray(g.outShape.reduce((a, b) => a * b), 6);
    const x = Tensor.from(xs, c.x, be);
    expectClose(ops.maxPool3dBackward(x, Tensor.from(R, g.outShape, be), c.opts).toArray(), numericGrad((xx) => dot(refMaxPool(p, xx).y, R), xs, 1e-5), 0, 1e-6, "max");
    if (c.max) return;
    expectClose(ops.avgPool3dBackward(c.x, Tensor.from(R, g.outShape, be), c.opts).toArray(), numericGrad((xx) => dot(refAvgPool(p, xx), R), xs), 0, 1e-6, "avg");
  });

  it("shape errors name the numbers", () => {
    expect(ops.pool3dGeometry("maxPool3d", [1, 5, 6, 7, 2], { kernel: [2, 3, 2], strides: [1, 2, 2], padding: [1, 1, 0], rounding: "ceil" }).outShape).toEqual([1, 6, 4, 4, 2]);
    expect(() => ops.pool3dGeometry("avgPool3d", [1, 5, 5, 5, 1], { kernel: 2, name: "p" })).toThrow(/avgPool3d "p": a 2x2x2 kernel with stride 2 does not fit a 5x5x5 input \(\(5-2\)\/2\+1 = 2.50 is not whole\)/);
    expect(() => ops.pool3dGeometry("avgPool3d", [5, 5, 5, 1], { kernel: 2 })).toThrow(/rank 5/);
    expect(() => ops.pool3dGeometry("avgPool3d", [1, 5, 5, 5, 1], { kernel: [2, 2] as unknown as number })).toThrow(/kernel must be whole numbers >= 1 \(a number or \[d, h, w\]\)/);
    expect(() => ops.pool3dGeometry("avgPool3d", [1, 4, 4, 4, 1], { kernel: 2, dilations: 2 })).toThrow(ConfigError);
    expect(() => ops.pool3dGeometry("maxPool3d", [1, 4, 4, 4, 1], { kernel: 2, padding: [2, 0, 0] })).toThrow(/must be smaller than the 2x2x2 window/);
  });
});

describe("dilated max-pooling gradients against central differences", () => {
  it.each(dilatedNames)("%s", async (_n, c) => {
    const be = await backendFor("simd");
    const g = ops.pool2dGeometry("maxPool2d", c.x, c.opts);
    const p = refParams(g);
    const n = c.x.reduce((a, b) => a * b);
    const xs = Float32Array.from({ length: n }, (_, i) => ((i * 7919) % n) / n);
    const R = randomArray(g.N * g.OH * g.OW * g.C, 6);
    const x = Tensor.from(xs, c.x, be);
    const got = ops.maxPool2dBackward(x, Tensor.from(R, g.outShape, be), c.opts).toArray();
    expectClose(got, numericGrad((xx) => dot(refMaxPool(p, xx).y, R), xs, 1e-5), 0, 1e-6, "max");
  });
});

describe("pooling shape inference and errors", () => {
  it("indices: positions past 2^24 in an example are a ShapeError (float32 would round them)", () => {
    const g = ops.pool2dGeometry("maxPool2d", [1, 4096, 4097, 1], { kernel: 2, rounding: "floor" });
    expect(() => ops.checkIndices("maxPool2dIndices \"i\"", g, false)).toThrow('maxPool2dIndices "i": an example of 1x4096x4097 = 16781312 values has positions above 2^24 = 16777216, which float32 outputs do not hold exactly');
    expect(() => ops.checkIndices("i", ops.pool2dGeometry("maxPool2d", [1, 4096, 4096, 1], { kernel: 2 }), false)).not.toThrow();
  });

  it("dilation: the window spans (k − 1)·d + 1 pixels; a window of taps only in the padding is a ShapeError; average pooling refuses it", () => {
    // PyTorch: floor((7 + 2·1 − 2·(3 − 1) − 1)/2 + 1) = 3; ceil mode 4 (the last window starts at 5 < 7 + 1)
    expect(ops.pool2dGeometry("maxPool2d", [1, 7, 7, 1], { kernel: 3, strides: 2, dilations: 2, padding: 1, rounding: "floor" }).OH).toBe(3);
    expect(ops.pool2dGeometry("maxPool2d", [1, 8, 8, 1], { kernel: 3, strides: 2, dilations: 2, padding: 1, rounding: "ceil" }).OH).toBe(4);
    expect(() => ops.pool2dGeometry("maxPool2d", [1, 4, 4, 1], { kernel: 2, dilations: 2, strides: 1, name: "p" })).not.toThrow();
    expect(() => ops.pool2dGeometry("maxPool2d", [1, 3, 3, 1], { kernel: 3, dilations: 2, name: "p" })).toThrow(/maxPool2d "p": a 3x3 kernel \(dilation 2, effective 5\) does not fit a 3x3 input/);
    // taps −1 and 1 of a 1-row input: neither is a row
    expect(() => ops.pool2dGeometry("maxPool2d", [1, 1, 4, 1], { kernel: 2, dilations: 2, padding: 1, strides: 1, rounding: "floor", name: "p" })).toThrow(
      /maxPool2d "p": window 0 along the rows \(taps -1, 1, … 1\) holds no input row of 1 \(padding 1\+1, dilation 2\)/);
    expect(() => ops.pool2dGeometry("avgPool2d", [1, 8, 8, 1], { kernel: 2, dilations: 2 })).toThrow(ConfigError);
    expect(() => ops.pool2dGeometry("maxPool2d", [1, 8, 8, 1], { kernel: 2, dilations: 0 })).toThrow(/dilations must be whole numbers >= 1/);
  });

  it("ceil mode keeps the partial window; exact mode refuses it", () => {
    expect(ops.pool2dGeometry("maxPool2d", [1, 7, 7, 1], { kernel: 2, rounding: "ceil" }).outShape).toEqual([1, 4, 4, 1]);
    expect(ops.pool2dGeometry("maxPool2d", [1, 7, 7, 1], { kernel: 2, rounding: "floor" }).outShape).toEqual([1, 3, 3, 1]);
    expect(() => ops.pool2dGeometry("maxPool2d", [1, 7, 7, 1], { kernel: 2, name: "p1" })).toThrow(
      'maxPool2d "p1": a 2x2 kernel with stride 2 does not fit a 7x7 input ((7-2)/2+1 = 3.50 is not whole)',
    );
    // PyTorch's rule: the last window must start inside the input or the leading padding
    expect(ops.pool2dGeometry("maxPool2d", [1, 5, 5, 1], { kernel: 2, strides: 2, padding: 1, rounding: "ceil" }).OH).toBe(3);
    expect(ops.pool2dGeometry("maxPool2d", [1, 112, 112, 1], { kernel: 3, strides: 2, padding: 1, rounding: "floor" }).OH).toBe(56);
  });

  it("bad options are typed errors", () => {
    expect(() => ops.pool2dGeometry("maxPool2d", [1, 8, 8, 1], { kernel: 2, padding: 2 })).toThrow(ShapeError);
    // @ts-expect-error: unknown option
    expect(() => ops.pool2dGeometry("maxPool2d", [1, 8, 8, 1], { kernel: 2, ceil: true })).toThrow(ConfigError);
    // @ts-expect-error: kernel is required
    expect(() => ops.pool2dGeometry("avgPool2d", [1, 8, 8, 1], {})).toThrow(/kernel is required/);
    expect(() => ops.pool2dGeometry("avgPool2d", [8, 8, 1], { kernel: 2 })).toThrow(/rank 4/);
  });
});
