// How work splits across the thread pool. Each function returns the kernel calls for one op,
// one per thread (or a single call when the work is too small or does not split); layers build
// them once per plan and the backend runs them. Splits never change a summation order except
// the filter gradients, whose per-thread partial sums are added at the end (bwdFilterReduce).
import type { Backend } from "../runtime/backend.js";
import type { Call } from "../runtime/pool.js";
import { convBlock, type ConvGeometry } from "./conv.js";
import { poolBlock, type PoolGeometry } from "./pool.js";

import { MIN_PARALLEL_FLOPS } from "../runtime/pool-layout.js";

/** [start, end) ranges covering [0, n) in `parts` nearly equal pieces, starts aligned to `align`. */
export function splitRange(n: number, parts: number, align = 1): [number, number][] {
  const out: [number, number][] = [];
  let start = 0;
  for (let t = 0; t < parts && start < n; t++) {
    let end = t === parts - 1 ? n : Math.round((n * (t + 1)) / parts / align) * align;
    end = Math.min(n, Math.max(end, start + align));
    out.push([start, end]);
    start = end;
  }
  if (out.length && out[out.length - 1]![1] < n) out[out.length - 1]![1] = n;
  return out;
}

const threadsFor = (be: Backend, flops: number, units: number) => (flops < MIN_PARALLEL_FLOPS ? 1 : Math.max(1, Math.min(be.threads, units)));

/** gemm split by rows of C. Arguments as f32_gemm's, scratch filled in per thread. */
export function gemmCalls(be: Backend, transA: number, transB: number, M: number, N: number, K: number, alpha: number,
  A: number, lda: number, B: number, ldb: number, beta: number, C: number, ldc: number, bias: number, act: number): Call[] {
  // every part keeps >= 4 rows: fewer rows take the matrix-vector path, whose summation order differs
  const T = threadsFor(be, 2 * M * N * K, Math.floor(M / 4));
  const sb = be.kernels.f32_gemm_scratch_bytes();
  return splitRange(M, T, 4).map(([m0, m1]) => ({
    fn: "f32_gemm", scratchArg: 15, scratchBytes: sb,
    args: [transA, transB, m1 - m0, N, K, alpha, A + 4 * (transA ? m0 : m0 * lda), lda, B, ldb, beta, C + 4 * m0 * ldc, ldc, bias, act, 0],
  }));
}

/** A conv/pool geometry restricted to images [n0, n1) and output rows [r0, r1) (the latter for one image). */
interface Part { N: number; H: number; OH: number; PT: number; xOff: number; yOff: number; hpDelta: number }

function parts(N: number, H: number, W: number, C: number, OH: number, OW: number, OC: number, SH: number, PT: number, reach: number, T: number): Part[] {
  if (N >= T) {
    return splitRange(N, T).map(([a, b]) => ({ N: b - a, H, OH, PT, xOff: a * H * W * C, yOff: a * OH * OW * OC, hpDelta: 0 }));
  }
  if (N !== 1) return [{ N, H, OH, PT, xOff: 0, yOff: 0, hpDelta: 0 }];
  // one image: bands of output rows, each reading just the input rows its windows reach
  const out: Part[] = [];
  for (const [r0, r1] of splitRange(OH, T)) {
    const o = r0 * SH - PT;
    const first = Math.max(o, 0), last = Math.min(H - 1, (r1 - 1) * SH - PT + reach - 1);
    if (last < first) return [{ N, H, OH, PT, xOff: 0, yOff: 0, hpDelta: 0 }]; // a band of pure padding: do not split
    out.push({ N: 1, H: last - first + 1, OH: r1 - r0, PT: first - o, xOff: first * W * C, yOff: r0 * OW * OC, hpDelta: first });
  }
  return out;
}

function geometryBlock(alloc: (bytes: number) => number, be: Backend, fields: number[]): number {
  const p = alloc(fields.length * 4);
  be.heap.i32(p, fields.length).set(fields);
  return p;
}

export interface ConvSplit {
  fwd: Call[];
  /** bwd-data calls (split by images only: bands of rows would write overlapping input rows). */
  bwdData: Call[];
  /** bwd-filter calls; thread t > 0 writes a partial sum into partial[t - 1], added by bwdFilterReduce. */
  bwdFilter: Call[];
  partial: number[];
}

/**
 * Calls for a conv2d (gemm-based or depthwise) over the plan's buffers. `x, y, dy, dx, w, dw`
 * are the plan's pointers (dx may be 0); packed/bias as for f32_conv2d_fwd.
 */
export function convCalls(be: Backend, g: ConvGeometry, alloc: (bytes: number) => number, p: {
  x: number; y: number; w: number; packed: number; bias: number; act: number; dy: number; dx: number; dw: number; training: boolean;
}): ConvSplit {
  const flops = 2 * g.N * g.OH * g.OW * g.OC * g.KH * g.KW * (g.C / g.groups);
  const T = threadsFor(be, flops, Math.max(g.N, g.OH));
  const reach = (g.KH - 1) * g.DH + 1;
  const fwdParts = parts(g.N, g.H, g.W, g.C, g.OH, g.OW, g.OC, g.SH, g.padTop, reach, T);
  const block = (q: Part) => geometryBlock(alloc, be, convBlock({ ...g, N: q.N, H: q.H, OH: q.OH, padTop: q.PT }));
  const scratch = (geo: number) => (g.depthwise ? 0 : be.kernels.f32_conv2d_scratch_bytes(geo));
  const fwd: Call[] = fwdParts.map((q) => {
    const geo = block(q);
    return g.depthwise
      ? { fn: "f32_depthwise_conv2d_fwd", args: [geo, p.x + 4 * q.xOff, p.w, p.bias, p.act, p.y + 4 * q.yOff] }
      : { fn: "f32_conv2d_fwd", args: [geo, p.x + 4 * q.xOff, p.w, p.packed, p.bias, p.act, p.y + 4 * q.yOff, 0], scratchArg: 7, scratchBytes: scratch(geo) };
  });
  const empty: ConvSplit = { fwd, bwdData: [], bwdFilter: [], partial: [] };
  if (!p.training) return empty;
  const imgParts = g.N >= 2 && T > 1 ? parts(g.N, g.H, g.W, g.C, g.OH, g.OW, g.OC, g.SH, g.padTop, reach, Math.min(T, g.N)) : [{ N: g.N, H: g.H, OH: g.OH, PT: g.padTop, xOff: 0, yOff: 0, hpDelta: 0 }];
  const wSize = g.KH * g.KW * (g.C / g.groups) * g.OC;
  const partial = imgParts.slice(1).map(() => alloc(wSize * 4));
  const bwdData: Call[] = [], bwdFilter: Call[] = [];
  imgParts.forEach((q, t) => {
    const geo = block(q);
    const dw = t === 0 ? p.dw : partial[t - 1]!;
    if (g.depthwise) {
      if (p.dx) bwdData.push({ fn: "f32_depthwise_conv2d_bwd_data", args: [geo, p.dy + 4 * q.yOff, p.w, p.dx + 4 * q.xOff] });
      bwdFilter.push({ fn: "f32_depthwise_conv2d_bwd_filter", args: [geo, p.x + 4 * q.xOff, p.dy + 4 * q.yOff, dw] });
    } else {
      const sb = scratch(geo);
      if (p.dx) bwdData.push({ fn: "f32_conv2d_bwd_data", args: [geo, p.dy + 4 * q.yOff, p.w, p.dx + 4 * q.xOff, 0], scratchArg: 4, scratchBytes: sb });
      bwdFilter.push({ fn: "f32_conv2d_bwd_filter", args: [geo, p.x + 4 * q.xOff, p.dy + 4 * q.yOff, dw, 0], scratchArg: 4, scratchBytes: sb });
    }
  });
  return { fwd, bwdData, bwdFilter, partial };
}

/** Adds the per-thread partial filter gradients into dw. */
export function bwdFilterReduce(be: Backend, split: ConvSplit, dw: number, size: number): void {
  for (const p of split.partial) be.kernels.f32_add_fwd(dw, p, dw, size);
}

export interface PoolSplit {
  fwd: Call[];
  bwd: Call[];
}

/** Calls for max/avg pooling: forward by images or row bands, backward by images. */
export function poolCalls(be: Backend, kind: "max" | "avg", g: PoolGeometry, alloc: (bytes: number) => number, p: {
  x: number; y: number; argmax: number; dy: number; dx: number; training: boolean;
}): PoolSplit {
  const work = g.N * g.OH * g.OW * g.C * g.KH * g.KW;
  const T = threadsFor(be, work * 8, Math.max(g.N, g.OH)); // pooling is memory-bound: weigh its work up
  // field 13 (the padded height that count_include_pad clips to) must keep its distance from the
  // band's top: H + pad_bottom + PT' − (first input row of the band)
  const block = (q: Part) => geometryBlock(alloc, be, poolBlock({ ...g, N: q.N, H: q.H, OH: q.OH, padTop: q.PT }).map((v, i) => (i === 13 ? g.H + g.padBottom + q.PT - q.hpDelta : v)));
  const mk = (q: Part, fwd: boolean): Call => {
    const geo = block(q);
    // argmax indices are flat indices into the part's x: the backward uses the same parts
    if (fwd) return kind === "max"
      ? { fn: "f32_maxpool2d_fwd", args: [geo, p.x + 4 * q.xOff, p.y + 4 * q.yOff, p.argmax ? p.argmax + 4 * q.yOff : 0] }
      : { fn: "f32_avgpool2d_fwd", args: [geo, p.x + 4 * q.xOff, p.y + 4 * q.yOff] };
    return kind === "max"
      ? { fn: "f32_maxpool2d_bwd", args: [geo, p.dy + 4 * q.yOff, p.argmax + 4 * q.yOff, p.dx + 4 * q.xOff] }
      : { fn: "f32_avgpool2d_bwd", args: [geo, p.dy + 4 * q.yOff, p.dx + 4 * q.xOff] };
  };
  // training keeps argmax per image part, so forward and backward split the same way: by images
  const fwdParts = p.training
    ? (g.N >= 2 && T > 1 ? parts(g.N, g.H, g.W, g.C, g.OH, g.OW, g.C, g.SH, g.padTop, g.KH, Math.min(T, g.N)) : [whole(g)])
    : parts(g.N, g.H, g.W, g.C, g.OH, g.OW, g.C, g.SH, g.padTop, g.KH, T);
  return { fwd: fwdParts.map((q) => mk(q, true)), bwd: p.training && p.dx ? fwdParts.map((q) => mk(q, false)) : [] };
}

function whole(g: PoolGeometry): Part {
  return { N: g.N, H: g.H, OH: g.OH, PT: g.padTop, xOff: 0, yOff: 0, hpDelta: 0 };
}
