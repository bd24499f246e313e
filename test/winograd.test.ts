// Winograd conv F(m×m, 3×3) and F(4×4, 5×5) (assembly/conv/winograd.ts, winograd-filter.ts), forward, data and filter
// gradients, against a float64 conv written here (not fovea's output), through the one call builder (ops.convCalls
// with the path forced), on every build: an edge sweep per tile size m = 2, 4, 6 — output sizes
// that are not multiples of the tile, padding 0/1/2 and uneven, C and OC not multiples of 4 (and
// OC past one 64-channel block), batches 1–3, bias with each fused activation, enough tiles to
// fill several tile blocks — and the split across threads (bit-identical to one thread); the same
// for 5×5 filters with F(4×4, 5×5) (forward and data gradient; the filter gradient is 3×3 only).
//
// Error measure: max |y − y₆₄| / max |y₆₄| over the output. Measured on this sweep (worst case the
// 203-channel one; simd and relaxed builds alike): F(2) 5.3e-7 forward, 3.6e-7 data gradient (the
// direct kernels' level); F(4) 1.3e-5 and 7.0e-6; F(6) 2.3e-5 and 1.2e-5 (the transforms' larger
// coefficients cost precision). Bounds asserted: F(2) 1.5e-6, F(4) 2.5e-5, F(6) 5e-5. F(4×4, 5×5)
// (the points of F(6×6, 3×3)) on its sweep: BOUND5 below, with what it measured.
import { beforeAll, describe, expect, it } from "vitest";
import * as fovea from "../src/index.js";
import { ConfigError, Tensor, ops, type Backend } from "../src/index.js";
import type { ConvGeometry } from "../src/ops/conv.js";
import { paramIndex } from "../src/runtime/calls.js";
import { backendFor } from "./helpers/backends.js";
import { randomArray } from "./helpers/check.js";

const TILES = [2, 4, 6] as const;
const BOUND: Record<(typeof TILES)[number], number> = { 2: 1.5e-6, 4: 2.5e-5, 6: 5e-5 };
const ACTS = ["none", "relu", "relu6"] as const;

/** y = act(bias + Σ x[n, oh − PT + kh, ow − PL + kw, c] · w[kh, kw, c, oc]) in float64. */
function refForward(g: ConvGeometry, x: Float32Array, w: Float32Array, b: Float32Array, act: string): Float64Array {
  const { N, H, W, C, OH, OW, OC, KH, KW, padTop: PT, padLeft: PL } = g;
  const y = new Float64Array(N * OH * OW * OC);
  for (let n = 0; n < N; n++) for (let oh = 0; oh < OH; oh++) for (let ow = 0; ow < OW; ow++) for (let oc = 0; oc < OC; oc++) {
    let s = b[oc]!;
    for (let kh = 0; kh < KH; kh++) {
      const ih = oh - PT + kh;
      if (ih < 0 || ih >= H) continue;
      for (let kw = 0; kw < KW; kw++) {
        const iw = ow - PL + kw;
        if (iw < 0 || iw >= W) continue;
        for (let c = 0; c < C; c++) s += x[((n * H + ih) * W + iw) * C + c]! * w[((kh * KW + kw) * C + c) * OC + oc]!;
      }
    }
    y[((n * OH + oh) * OW + ow) * OC + oc] = act === "relu" ? Math.max(s, 0) : act === "relu6" ? Math.min(Math.max(s, 0), 6) : s;
  }
  return y;
}

/** dx[n, ih, iw, c] = Σ over the outputs (oh, ow) = (ih + PT − kh, iw + PL − kw) inside dy of Σ_oc dy · w[kh, kw, c, oc], in float64. */
function refData(g: ConvGeometry, dy: Float32Array, w: Float32Array): Float64Array {
  const { N, H, W, C, OH, OW, OC, KH, KW, padTop: PT, padLeft: PL } = g;
  const dx = new Float64Array(N * H * W * C);
  for (let n = 0; n < N; n++) for (let ih = 0; ih < H; ih++) for (let iw = 0; iw < W; iw++) for (let c = 0; c < C; c++) {
    let s = 0;
    for (let kh = 0; kh < KH; kh++) {
      const oh = ih + PT - kh;
      if (oh < 0 || oh >= OH) continue;
      for (let kw = 0; kw < KW; kw++) {
        const ow = iw + PL - kw;
        if (ow < 0 || ow >= OW) continue;
        for (let oc = 0; oc < OC; oc++) s += dy[((n * OH + oh) * OW + ow) * OC + oc]! * w[((kh * KW + kw) * C + c) * OC + oc]!;
      }
    }
    dx[((n * H + ih) * W + iw) * C + c] = s;
  }
  return dx;
}

/** dw[kh, kw, c, oc] = Σ over the outputs (n, oh, ow) of x[n, oh − PT + kh, ow − PL + kw, c] (zero outside x) · dy, in float64. */
function refFilter(g: ConvGeometry, x: Float32Array, dy: Float32Array): Float64Array {
  const { N, H, W, C, OH, OW, OC, padTop: PT, padLeft: PL } = g;
  const dw = new Float64Array(9 * C * OC);
  for (let n = 0; n < N; n++) for (let oh = 0; oh < OH; oh++) for (let ow = 0; ow < OW; ow++) for (let kh = 0; kh < 3; kh++) {
    const ih = oh - PT + kh;
    if (ih < 0 || ih >= H) continue;
    for (let kw = 0; kw < 3; kw++) {
      const iw = ow - PL + kw;
      if (iw < 0 || iw >= W) continue;
      for (let c = 0; c < C; c++) {
        const xv = x[((n * H + ih) * W + iw) * C + c]!, d = ((kh * 3 + kw) * C + c) * OC, e = ((n * OH + oh) * OW + ow) * OC;
        for (let oc = 0; oc < OC; oc++) dw[d + oc] = dw[d + oc]! + xv * dy[e + oc]!;
      }
    }
  }
  return dw;
}

/** max |got − want| / max |want|; NaN anywhere is Infinity. */
function relError(got: ArrayLike<number>, want: ArrayLike<number>): number {
  let d = 0, s = 1e-30;
  for (let i = 0; i < want.length; i++) {
    const e = Math.abs(got[i]! - want[i]!);
    d = Number.isNaN(e) ? Infinity : Math.max(d, e);
    s = Math.max(s, Math.abs(want[i]!));
  }
  return d / s;
}

interface Case { N: number; H: number; W: number; C: number; OC: number; pad: number | [number, number, number, number] }

// sizes around the tiles (1, m − 1, m, m + 1, 2m + 1 outputs per axis for some m), paddings 0/1/2
// and uneven ones, channel counts 1, 3, 5, 9, 17 (not multiples of 4) and 70 output channels
// (two 64-channel blocks, the second partial); the last case has more tiles than one block holds
const CASES: Case[] = [
  { N: 1, H: 3, W: 3, C: 1, OC: 1, pad: 0 }, // one output pixel
  { N: 2, H: 5, W: 4, C: 3, OC: 5, pad: 1 },
  { N: 3, H: 7, W: 9, C: 5, OC: 3, pad: 0 },
  { N: 1, H: 8, W: 8, C: 4, OC: 8, pad: 1 },
  { N: 2, H: 6, W: 11, C: 9, OC: 17, pad: 2 },
  { N: 1, H: 13, W: 10, C: 17, OC: 9, pad: [0, 2, 1, 0] },
  { N: 2, H: 9, W: 7, C: 6, OC: 70, pad: 1 },
  { N: 1, H: 4, W: 14, C: 16, OC: 12, pad: [2, 1, 0, 2] },
  { N: 3, H: 15, W: 15, C: 3, OC: 4, pad: 1 },
  { N: 1, H: 4, W: 6, C: 9, OC: 10, pad: 3 }, // the data gradient's padding 2 − 3 < 0: windows start inside dy
];
const BIG: Case = { N: 2, H: 26, W: 23, C: 203, OC: 66, pad: 1 }; // 2 × 7 × 6 tiles of 4: several blocks of 24
// Forward and data gradient: a call of at most 16 tiles (PACKED_TILES, assembly/conv/winograd.ts) with at least 256
// channels (PACKED_CHANNELS) takes the packed layout of V (tested below), the sweep's its rows; this one has 17 tiles of F(4) and of F(6).
const PAST_PACKED: Case = { N: 17, H: 4, W: 4, C: 5, OC: 9, pad: 1 };

const name = (c: Case) => `${c.N}x${c.H}x${c.W}x${c.C} → ${c.OC} pad ${JSON.stringify(c.pad)}`;

function buffers(be: Backend, c: Case, seed: number, k = 3) {
  const g = ops.conv2dGeometry([c.N, c.H, c.W, c.C], [k, k, c.C, c.OC], { padding: c.pad });
  const xs = randomArray(c.N * c.H * c.W * c.C, seed), ws = randomArray(k * k * c.C * c.OC, seed + 1, 0.5), bs = randomArray(c.OC, seed + 2, 2);
  const dys = randomArray(g.N * g.OH * g.OW * g.OC, seed + 3);
  const t = {
    x: Tensor.from(xs, [c.N, c.H, c.W, c.C], be), w: Tensor.from(ws, [k, k, c.C, c.OC], be), b: Tensor.from(bs, [c.OC], be),
    dy: Tensor.from(dys, g.outShape, be), y: Tensor.zeros(g.outShape, be), dx: Tensor.zeros([c.N, c.H, c.W, c.C], be),
  };
  return { g, xs, ws, bs, dys, t, free: () => Object.values(t).forEach((v) => v.free()) };
}

/** The forward and the data gradient by convCalls with the paths forced; returns y and dx. */
function runWinograd(be: Backend, g: ConvGeometry, t: ReturnType<typeof buffers>["t"], tile: ops.ConvPaths["tile"], act: number, limit = be.threads, split: ops.ConvPaths["split"] = "tiles") {
  be.heap.f32(t.y.ptr, t.y.size).fill(Number.NaN); // the kernels overwrite
  be.heap.f32(t.dx.ptr, t.dx.size).fill(Number.NaN);
  ops.withScratchAlloc(be, (alloc) => {
    const paths = { fwd: "winograd", bwdData: "winograd", tile, split } as const;
    const f = ops.convCalls(be, g, alloc, { x: t.x.ptr, y: t.y.ptr, w: t.w.ptr, packed: 0, bias: t.b.ptr, act, training: false, dy: 0, dyAct: 0, dx: 0, dw: 0, db: 0 }, limit, paths);
    // (the data gradient of the conv without its activation: dy is the pre-activation gradient)
    const d = ops.convCalls(be, g, alloc, { x: t.x.ptr, y: 0, w: t.w.ptr, packed: 0, bias: 0, act: 0, training: true, dy: t.dy.ptr, dyAct: 0, dx: t.dx.ptr, dw: 0, db: 0 }, limit, paths);
    expect([...f.pack, ...f.fwd, ...d.pack, ...d.bwdData].map((k) => k.fn)).toEqual([
      "f32_conv2d_pack_winograd", ...f.fwd.map(() => "f32_conv2d_fwd_winograd"), "f32_conv2d_pack_winograd_data", ...d.bwdData.map(() => "f32_conv2d_bwd_data_winograd"),
    ]);
    be.run(f.pack);
    be.run(f.fwd);
    be.run(d.pack);
    be.run(d.bwdData);
  });
  return { y: t.y.toArray(), dx: t.dx.toArray() };
}

describe.each(["relaxed", "simd", "debug"] as const)("Winograd conv on the %s build against float64", (build) => {
  for (const tile of TILES) {
    it(`F(${tile}x${tile}, 3x3): forward with bias and activation, data gradient; max relative error < ${BOUND[tile]}`, async () => {
      const be = await backendFor(build);
      let worstY = 0, worstDx = 0;
      for (const [i, c] of [...CASES, ...(build === "debug" ? [] : [BIG]), PAST_PACKED].entries()) {
        const { g, xs, ws, bs, dys, t, free } = buffers(be, c, 17 + i);
        const act = ACTS[i % 3]!;
        const { y, dx } = runWinograd(be, g, t, tile, ops.ACT_CODES[act]);
        const ey = relError(y, refForward(g, xs, ws, bs, act)), ed = relError(dx, refData(g, dys, ws));
        expect(ey, `${name(c)} ${act} forward`).toBeLessThan(BOUND[tile]);
        expect(ed, `${name(c)} data gradient`).toBeLessThan(BOUND[tile]);
        worstY = Math.max(worstY, ey);
        worstDx = Math.max(worstDx, ed);
        free();
      }
      console.log(`winograd ${build} F(${tile}): max relative error forward ${worstY.toExponential(2)}, data gradient ${worstDx.toExponential(2)}`);
    });
  }
});

// F(4×4, 5×5): the same sweep around its tiles and paddings (0–4: "same" is 2, a data gradient's
// padding 4 − PT), channel counts 1–17 and 70, and LeNet's C3 (14² × 6 → 16 "valid": a last group of
// 2 channels, read as whole vectors with the lanes past C cleared); BIG5 fills several tile blocks.
const CASES5: Case[] = [
  { N: 1, H: 5, W: 5, C: 1, OC: 1, pad: 0 }, // one output pixel
  { N: 2, H: 7, W: 6, C: 3, OC: 5, pad: 1 },
  { N: 3, H: 9, W: 12, C: 5, OC: 3, pad: 2 },
  { N: 2, H: 14, W: 14, C: 6, OC: 16, pad: 0 }, // LeNet's C3
  { N: 1, H: 11, W: 13, C: 9, OC: 17, pad: [0, 2, 1, 3] },
  { N: 2, H: 8, W: 8, C: 17, OC: 70, pad: 2 },
  { N: 1, H: 6, W: 9, C: 4, OC: 8, pad: 4 }, // the data gradient's padding 4 − 4 = 0
  { N: 1, H: 5, W: 7, C: 9, OC: 10, pad: 5 }, // the data gradient's padding 4 − 5 < 0: windows start inside dy
];
const BIG5: Case = { N: 2, H: 22, W: 19, C: 67, OC: 40, pad: 2 };
/** Measured on this sweep (relaxed, simd, debug builds): forward 2.7e-5, 3.0e-5, 7.6e-6; data gradient 5.7e-6, 7.8e-6, 7.8e-6. */
const BOUND5 = 5e-5;

describe.each(["relaxed", "simd", "debug"] as const)("Winograd F(4x4, 5x5) on the %s build against float64", (build) => {
  it(`forward with bias and activation, data gradient; max relative error < ${BOUND5}`, async () => {
    const be = await backendFor(build);
    let worstY = 0, worstDx = 0;
    for (const [i, c] of [...CASES5, ...(build === "debug" ? [] : [BIG5])].entries()) {
      const { g, xs, ws, bs, dys, t, free } = buffers(be, c, 61 + i, 5);
      const act = ACTS[i % 3]!;
      const { y, dx } = runWinograd(be, g, t, 4, ops.ACT_CODES[act]);
      const ey = relError(y, refForward(g, xs, ws, bs, act)), ed = relError(dx, refData(g, dys, ws));
      expect(ey, `${name(c)} ${act} forward`).toBeLessThan(BOUND5);
      expect(ed, `${name(c)} data gradient`).toBeLessThan(BOUND5);
      worstY = Math.max(worstY, ey);
      worstDx = Math.max(worstDx, ed);
      free();
    }
    console.log(`winograd ${build} F(4x4, 5x5): max relative error forward ${worstY.toExponential(2)}, data gradient ${worstDx.toExponential(2)}`);
  });
});

// The packed layout of V (at most PACKED_TILES = 16 tiles in a call, at least 256 channels) against the rows: the same
// products in the same order, so an image alone (4 or 16 tiles: packed) gives the bits it gets in a batch of 5 (20 or 80
// tiles: rows), forward (257 channels: a last group of one) and data gradient (256), on the FMA build and the other; and
// packed V in several blocks of tiles (TB 12 < 16 tiles of F(6)).
describe.each(["relaxed", "simd"] as const)("Winograd's packed V on the %s build", (build) => {
  it.each(TILES.map((m) => [m] as const))("F(%i): an image alone (packed) gives the bits it gets in a batch of 5 (rows)", async (tile) => {
    const be = await backendFor(build);
    const one = buffers(be, { N: 1, H: 8, W: 8, C: 257, OC: 256, pad: 1 }, 41), five = buffers(be, { N: 5, H: 8, W: 8, C: 257, OC: 256, pad: 1 }, 41);
    const n = 8 * 8 * 257, m = 8 * 8 * 256;
    // the same first image, weights, bias and dy (randomArray is one sequence from its seed)
    expect(five.xs.subarray(0, n)).toEqual(one.xs);
    expect(five.dys.subarray(0, m)).toEqual(one.dys);
    const a = runWinograd(be, one.g, one.t, tile, 1), b = runWinograd(be, five.g, five.t, tile, 1);
    expect(Array.from(b.y.subarray(0, m))).toEqual(Array.from(a.y));
    expect(Array.from(b.dx.subarray(0, n))).toEqual(Array.from(a.dx));
    one.free();
    five.free();
  });

  it("F(6): 16 tiles of 512 channels, packed in blocks of 12 and 4 tiles, within the bound of float64", async () => {
    const be = await backendFor(build);
    const c: Case = { N: 1, H: 20, W: 20, C: 512, OC: 8, pad: 1 };
    const { g, xs, ws, bs, dys, t, free } = buffers(be, c, 43);
    const { y, dx } = runWinograd(be, g, t, 6, 0);
    expect(relError(y, refForward(g, xs, ws, bs, "none"))).toBeLessThan(BOUND[6]);
    expect(relError(dx, refData(g, dys, ws))).toBeLessThan(BOUND[6]);
    free();
  });
});

/** The filter gradient by convCalls with the Winograd path forced (tile m: F(2) for 2, F(4) otherwise), split in `limit` parts by images. */
function runFilter(be: Backend, g: ConvGeometry, t: ReturnType<typeof buffers>["t"], tile: 2 | 4 | 6, limit = be.threads): Float32Array {
  const dw = Tensor.zeros([3, 3, g.C, g.OC], be);
  be.heap.f32(dw.ptr, dw.size).fill(Number.NaN); // the kernel overwrites
  ops.withScratchAlloc(be, (alloc) => {
    const c = ops.convCalls(be, g, alloc, { x: t.x.ptr, y: 0, w: t.w.ptr, packed: 0, bias: 0, act: 0, training: true, dy: t.dy.ptr, dyAct: 0, dx: 0, dw: dw.ptr, db: 0 }, limit, { bwdFilter: "winograd", tile });
    expect(c.bwdFilter.map((k) => k.fn)).toEqual(c.bwdFilter.map(() => "f32_conv2d_bwd_filter_winograd"));
    be.run(c.bwdFilter);
    be.runInTurn(c.reduce);
  });
  const out = dw.toArray();
  dw.free();
  return out;
}

// The filter gradient (assembly/conv/winograd-filter.ts) on the same sweep, F(2) and F(4) (a tile
// of 6 takes F(4)). Measured (relaxed, simd and debug builds): F(2) 5.5e-7, F(4) 3.2e-6. Bounds:
// those of the forward.
describe.each(["relaxed", "simd", "debug"] as const)("Winograd filter gradient on the %s build against float64", (build) => {
  for (const tile of [2, 4] as const) {
    it(`F(${tile}x${tile}, 3x3): dw over every tile of every image; max relative error < ${BOUND[tile]}`, async () => {
      const be = await backendFor(build);
      let worst = 0;
      for (const [i, c] of [...CASES, ...(build === "debug" ? [] : [BIG])].entries()) {
        const { g, xs, dys, t, free } = buffers(be, c, 31 + i);
        const e = relError(runFilter(be, g, t, tile), refFilter(g, xs, dys));
        expect(e, `${name(c)} filter gradient`).toBeLessThan(BOUND[tile]);
        worst = Math.max(worst, e);
        free();
      }
      console.log(`winograd ${build} F(${tile}) filter gradient: max relative error ${worst.toExponential(2)}`);
    });
  }
});

describe("Winograd conv across threads", () => {
  const threaded: Backend[] = [];
  beforeAll(async () => {
    threaded.push(await fovea.loadBackend("simd-mt", "option", 16, 3));
  });
  it.each(TILES.map((m) => [m] as const))("F(%i): 1, 2 and 3 parts give the same bits (ranges of tiles or of output channels where the images are fewer than the parts, else images)", (tile) => {
    const be = threaded[0]!;
    const cases = [
      { N: 1, H: 45, W: 20, C: 19, OC: 21, pad: 1 },
      { N: 1, H: 7, W: 7, C: 40, OC: 70, pad: 1 },
      { N: 2, H: 13, W: 11, C: 16, OC: 25, pad: 1 }, // 3 parts of 2 images: ranges of tiles that cross from one image to the next (asserted below)
      { N: 3, H: 30, W: 17, C: 8, OC: 9, pad: [2, 0, 1, 1] as [number, number, number, number] },
    ];
    for (const c of cases) {
      const { g, t, free } = buffers(be, c, 5);
      const runs = (["tiles", "channels"] as const).flatMap((split) => [1, 2, 3].map((limit) => runWinograd(be, g, t, tile, 1, limit, split)));
      for (const r of runs.slice(1)) {
        expect(Array.from(r.y)).toEqual(Array.from(runs[0]!.y));
        expect(Array.from(r.dx)).toEqual(Array.from(runs[0]!.dx));
      }
      free();
    }
  });

  it("F(4x4, 5x5): 1, 2 and 3 parts give the same bits", () => {
    const be = threaded[0]!;
    for (const c of [{ N: 1, H: 30, W: 21, C: 6, OC: 16, pad: 2 }, { N: 2, H: 14, W: 14, C: 6, OC: 20, pad: 0 }, { N: 1, H: 8, W: 8, C: 24, OC: 40, pad: 2 }]) {
      const { g, t, free } = buffers(be, c, 6, 5);
      const runs = (["tiles", "channels"] as const).flatMap((split) => [1, 2, 3].map((limit) => runWinograd(be, g, t, 4, 1, limit, split)));
      for (const r of runs.slice(1)) {
        expect(Array.from(r.y)).toEqual(Array.from(runs[0]!.y));
        expect(Array.from(r.dx)).toEqual(Array.from(runs[0]!.dx));
      }
      free();
    }
  });

  it.each([2, 4] as const)("F(%i) filter gradient: split by images into 1, 2 and 3 parts whose filters are added, within the bound of float64", (tile) => {
    const be = threaded[0]!;
    const c: Case = { N: 3, H: 11, W: 10, C: 12, OC: 20, pad: [1, 2, 0, 1] };
    const { g, xs, dys, t, free } = buffers(be, c, 9);
    const want = refFilter(g, xs, dys);
    for (const limit of [1, 2, 3]) expect(relError(runFilter(be, g, t, tile, limit), want), `${limit} parts`).toBeLessThan(BOUND[tile]);
    free();
  });

  it("the filter gradient's rule counts a thread's share of the images: 16 tiles of 4x4 in the batch take Winograd, 8 a part do not", () => {
    const be = threaded[0]!;
    const g = ops.conv2dGeometry([4, 8, 8, 32], [3, 3, 32, 32], { padding: 1 }); // 4 tiles an image
    expect(ops.convPaths(g, true).bwdFilter).toBe("winograd");
    const fns = (limit: number) => ops.withScratchAlloc(be, (alloc) => ops.convCalls(be, g, alloc, {
      x: 16, y: 0, w: 48, packed: 0, bias: 0, act: 0, training: true, dy: 32, dyAct: 0, dx: 0, dw: 64, db: 0,
    }, limit).bwdFilter.map((c) => c.fn));
    expect(fns(1)).toEqual(["f32_conv2d_bwd_filter_winograd"]);
    expect(fns(2)).toEqual(["f32_conv2d_bwd_filter_implicit", "f32_conv2d_bwd_filter_implicit"]);
  });

  it("at batch 1 the channel split makes one call per thread, each over its range of 8-channel panels, the last taking the rest", () => {
    const be = threaded[0]!;
    const g = ops.conv2dGeometry([1, 7, 7, 96], [3, 3, 96, 70], { padding: 1 }); // enough work to split
    const fwd = ops.withScratchAlloc(be, (alloc) => ops.convCalls(be, g, alloc, {
      x: 16, y: 32, w: 48, packed: 0, bias: 0, act: 0, training: false, dy: 0, dyAct: 0, dx: 0, dw: 0, db: 0,
    }, 3, { fwd: "winograd", tile: 4, split: "channels" }).fwd);
    const at = (name: string) => paramIndex("f32_conv2d_fwd_winograd", name);
    expect(fwd.map((c) => [c.args[at("oc0")], c.args[at("oc1")]])).toEqual([[0, 24], [24, 48], [48, 70]]);
  });

  it("with fewer images than parts the tile split makes one call per thread over a range of tiles numbered across the images", () => {
    const be = threaded[0]!;
    const g = ops.conv2dGeometry([2, 13, 11, 16], [3, 3, 16, 25], { padding: 1 }); // F(4): 4 × 3 tiles an image
    const fwd = ops.withScratchAlloc(be, (alloc) => ops.convCalls(be, g, alloc, {
      x: 16, y: 32, w: 48, packed: 0, bias: 0, act: 0, training: false, dy: 0, dyAct: 0, dx: 0, dw: 0, db: 0,
    }, 3, { fwd: "winograd", tile: 4, split: "tiles" }).fwd);
    const at = (name: string) => paramIndex("f32_conv2d_fwd_winograd", name);
    expect(fwd.map((c) => [c.args[at("tile0")], c.args[at("tile1")], c.args[at("oc0")], c.args[at("oc1")]])).toEqual([[0, 8, 0, 25], [8, 16, 0, 25], [16, 24, 0, 25]]);
  });
});

describe("Winograd paths in the builder", () => {
  it("a geometry the kernels do not take is a ConfigError, before anything runs", async () => {
    const be = await backendFor("simd");
    const bad: [number[], number[], ops.Conv2dOptions][] = [
      [[1, 9, 9, 4], [3, 3, 4, 4], { strides: 2 }],
      [[1, 8, 8, 4], [3, 3, 4, 4], { dilations: 2 }],
      [[1, 8, 8, 4], [7, 7, 4, 4], { padding: 3 }],
      [[1, 8, 8, 4], [3, 5, 4, 4], {}],
      [[1, 8, 8, 4], [3, 3, 2, 4], { groups: 2 }],
      [[1, 9, 9, 4], [5, 5, 4, 4], { strides: 2 }],
    ];
    for (const [xs, ws, o] of bad) {
      const g = ops.conv2dGeometry(xs, ws, o);
      for (const paths of [{ fwd: "winograd" }, { bwdData: "winograd" }, { bwdFilter: "winograd" }] as const) {
        expect(() => ops.withScratchAlloc(be, (alloc) => ops.convCalls(be, g, alloc, {
          x: 0, y: 16, w: 0, packed: 0, bias: 0, act: 0, training: true, dy: 0, dyAct: 0, dx: 16, dw: 0, db: 0,
        }, 1, paths))).toThrow(ConfigError);
      }
    }
    const g = ops.conv2dGeometry([1, 8, 8, 4], [3, 3, 4, 4], {});
    expect(() => ops.withScratchAlloc(be, (alloc) => ops.convCalls(be, g, alloc, {
      x: 0, y: 16, w: 0, packed: 0, bias: 0, act: 0, training: false, dy: 0, dyAct: 0, dx: 0, dw: 0, db: 0,
    }, 1, { fwd: "winograd", tile: 3 as never }))).toThrow(/tile of a 3x3 kernel must be 2, 4, 6; got 3/);
    // 5×5: F(4×4) only, and no Winograd filter gradient
    const g5 = ops.conv2dGeometry([1, 8, 8, 4], [5, 5, 4, 4], { padding: 2 });
    const build5 = (paths: Partial<ops.ConvPaths>) => ops.withScratchAlloc(be, (alloc) => ops.convCalls(be, g5, alloc, {
      x: 0, y: 16, w: 0, packed: 0, bias: 0, act: 0, training: true, dy: 0, dyAct: 0, dx: 16, dw: 16, db: 0,
    }, 1, paths));
    expect(() => build5({ fwd: "winograd", tile: 2 })).toThrow(/tile of a 5x5 kernel must be 4; got 2/);
    expect(() => build5({ bwdFilter: "winograd" })).toThrow(/filter gradient needs a 3x3 kernel/);
    expect(build5({ fwd: "winograd", bwdData: "winograd", tile: 4 }).fwd.map((c) => c.fn)).toEqual(["f32_conv2d_fwd_winograd"]);
    // bands of rows are the direct forward's split, ranges of tiles the Winograd one's
    for (const [paths, msg] of [[{ fwd: "winograd", split: "rows" }, /winograd forward does not split by rows/], [{ fwd: "direct", split: "tiles" }, /direct forward does not split by tiles/]] as const) {
      expect(() => ops.withScratchAlloc(be, (alloc) => ops.convCalls(be, g, alloc, {
        x: 0, y: 16, w: 0, packed: 0, bias: 0, act: 0, training: false, dy: 0, dyAct: 0, dx: 0, dw: 0, db: 0,
      }, 1, paths))).toThrow(msg);
    }
  });
});

describe("Winograd convs in models", () => {
  beforeAll(async () => {
    await fovea.init({ build: "simd" });
  });
  const { layers: L } = fovea;

  it("convPaths takes them for the wide 3x3 convs of the model (forward and data gradient)", () => {
    const g = ops.conv2dGeometry([4, 6, 6, 16], [3, 3, 16, 32], { padding: "same" });
    expect(ops.convPaths(g)).toMatchObject({ fwd: "winograd", bwdData: "winograd" });
    expect(ops.convPaths(ops.conv2dGeometry([4, 6, 6, 3], [3, 3, 3, 32], { padding: "same" })).fwd).toBe("direct");
  });

  it("5x5 convs take F(4x4, 5x5) from 3 input and 4 output channels at every batch size; the data gradient also where dy is not padded out to a larger map", () => {
    const paths = (x: number[], c: number, oc: number, padding: ops.Padding) => ops.convPaths(ops.conv2dGeometry(x, [5, 5, c, oc], { padding }));
    expect(paths([64, 14, 14, 6], 6, 16, "valid")).toMatchObject({ fwd: "winograd", tile: 4, bwdData: "direct" }); // LeNet's C3: 576 tiles; its data gradient pads dy by 4
    expect(paths([1, 14, 14, 6], 6, 16, "valid").fwd).toBe("winograd"); // every batch size alike
    expect(paths([64, 28, 28, 1], 1, 6, "same").fwd).toBe("direct"); // LeNet's C1
    expect(paths([64, 28, 28, 2], 2, 16, "same").fwd).toBe("direct");
    expect(paths([1, 32, 32, 3], 3, 16, "same")).toMatchObject({ fwd: "winograd", bwdData: "direct" }); // 64 tiles; the data gradient reads 16 channels, writes 3
    expect(paths([1, 8, 8, 20], 20, 20, "same")).toMatchObject({ fwd: "winograd", bwdData: "winograd" }); // 4 tiles
    expect(paths([64, 28, 28, 6], 6, 16, "same").bwdData).toBe("winograd");
    // training: the forward from 16 input channels (LeNet's C3 stays direct: the main job's rounding)
    const train = (x: number[], c: number, oc: number) => ops.convPaths(ops.conv2dGeometry(x, [5, 5, c, oc], { padding: "same" }), true).fwd;
    expect(train([64, 14, 14, 6], 6, 16)).toBe("direct");
    expect(train([64, 16, 16, 16], 16, 20)).toBe("winograd");
  });

  it("training takes them only where a step's pixels pay for transforming the filters every step (8 images of 7² at 512 channels)", () => {
    const at = (n: number) => ops.convPaths(ops.conv2dGeometry([n, 7, 7, 512], [3, 3, 512, 512], { padding: "same" }), true);
    expect(at(4)).toMatchObject({ fwd: "direct", bwdData: "implicit" });
    expect(at(8)).toMatchObject({ fwd: "winograd", bwdData: "winograd" });
    expect(ops.convPaths(ops.conv2dGeometry([4, 7, 7, 512], [3, 3, 512, 512], { padding: "same" })).fwd).toBe("winograd"); // inference: once per weight version
  });

  it("gradient check through two Winograd convs (the transforms follow weights changed in place, without a new weight version)", () => {
    const m = fovea.sequential([
      L.conv2d({ filters: 32, kernelSize: 3, padding: "same" }), L.tanh(),
      L.conv2d({ filters: 16, kernelSize: 3, padding: 1 }), L.sigmoid(), L.flatten(), L.dense({ units: 3 }), L.softmax(),
    ], { inputShape: [20, 20, 16], seed: 5 });
    m.compile({ batchSize: 3, loss: "softmaxCrossEntropy", optimizer: fovea.train.sgd() });
    // one image's 20² pixels pay for the per-step transforms: Winograd however the batch is sliced
    expect(ops.convPaths(ops.conv2dGeometry([1, 20, 20, 16], [3, 3, 16, 32], { padding: "same" }), true)).toMatchObject({ fwd: "winograd", bwdData: "winograd", bwdFilter: "winograd" });
    const x = randomArray(3 * 20 * 20 * 16, 8);
    const r = fovea.train.gradCheck(m, x, [0, 2, 1], { h: 1e-2, samples: 12 });
    for (const p of r.params) expect(p.relError < 1e-2 || p.absError < 1e-5, `${p.layer}.${p.param}: ${p.relError}`).toBe(true);
    m.free();
  });

  it("gradient check through a 5x5 Winograd conv (forward and data gradient F(4x4, 5x5))", () => {
    const m = fovea.sequential([
      L.conv2d({ filters: 16, kernelSize: 3, padding: "same" }), L.tanh(),
      L.conv2d({ filters: 16, kernelSize: 5, padding: "same" }), L.sigmoid(), L.flatten(), L.dense({ units: 3 }), L.softmax(),
    ], { inputShape: [20, 20, 4], seed: 6 });
    m.compile({ batchSize: 2, loss: "softmaxCrossEntropy", optimizer: fovea.train.sgd() });
    // one image's 20² pixels pay for the per-step transforms: Winograd however the batch is sliced
    expect(ops.convPaths(ops.conv2dGeometry([1, 20, 20, 16], [5, 5, 16, 16], { padding: "same" }), true)).toMatchObject({ fwd: "winograd", bwdData: "winograd", tile: 4 });
    const x = randomArray(2 * 20 * 20 * 4, 9);
    const r = fovea.train.gradCheck(m, x, [0, 2], { h: 1e-2, samples: 12 });
    for (const p of r.params) expect(p.relError < 1e-2 || p.absError < 1e-5, `${p.layer}.${p.param}: ${p.relError}`).toBe(true);
    m.free();
  });

  it("conv2dTranspose (a conv's data gradient as an op) keeps the gemm-based kernels and matches float64", async () => {
    const be = await backendFor("simd");
    const xs = randomArray(2 * 6 * 6 * 16, 1), ws = randomArray(9 * 12 * 16, 2, 0.5);
    const x = Tensor.from(xs, [2, 6, 6, 16], be), w = Tensor.from(ws, [3, 3, 12, 16], be);
    const g = ops.convTransposeGeometry(x.shape, w.shape, {});
    expect(ops.convPaths(g).bwdData).toBe("winograd"); // what the conv itself would take
    const y = ops.conv2dTranspose(x, w);
    expect(relError(y.toArray(), refData(g, xs, ws))).toBeLessThan(1e-6);
    [x, w, y].forEach((t) => t.free());
  });

  it("predict follows setWeights (the inference plan transforms the filters again)", () => {
    const m = fovea.sequential([L.conv2d({ filters: 20, kernelSize: 3, padding: 1, activation: "relu", name: "c" })], { inputShape: [9, 7, 30], seed: 2 });
    const x = randomArray(2 * 9 * 7 * 30, 3);
    const g = ops.conv2dGeometry([2, 9, 7, 30], [3, 3, 30, 20], { padding: 1 });
    expect(ops.convPaths(g).fwd).toBe("winograd");
    for (const seed of [4, 5]) {
      const w = randomArray(9 * 30 * 20, seed, 0.3), b = randomArray(20, seed + 1);
      m.setWeights([{ layer: "c", name: "kernel", values: w }, { layer: "c", name: "bias", values: b }]);
      expect(relError(m.predict(x), refForward(g, x, w, b, "relu"))).toBeLessThan(BOUND[ops.convPaths(g).tile]);
    }
    m.free();
  });
});
