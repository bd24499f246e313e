// norm: batch normalisation (training statistics, inference affine, folding into a conv), local
// response normalisation and the per-channel affine, as kernel calls over buffers in wasm memory.
// Channels are the last axis (NHWC); `rows` = values / C.
import { ConfigError } from "../errors.js";
import type { Heap } from "../runtime/memory.js";
import { call, type KernelCall } from "../runtime/calls.js";
import type { Backend } from "../runtime/backend.js";
import { geometryBlock, splitRange, threadsFor } from "./split.js";
import { poolBlock, twoByTwo, type PoolGeometry } from "./pool.js";

export interface NormCalls { fwd: KernelCall[]; bwd: KernelCall[] }

/**
 * A pass in steps, run in order: `parts`, one program per part at the same time (program t on
 * thread t, Backend.runPrograms), or `combine`, one call on the calling thread that reads what
 * every part wrote. A sliced training plan (model/plan.ts) runs the parts of a norm whose parts
 * are its slices inside the slices' programs.
 */
export type Step = { parts: KernelCall[][] } | { combine: KernelCall };
export type Steps = Step[];

export interface BatchNormCalls { fwd: Steps; bwd: Steps }

/**
 * A training batch norm's per-channel patterns (L = f32_batchnorm_period(C) floats each, channel c
 * at every j ≡ c mod C): the batch mean, and the output's affine y = (x − mean)·scale + shift.
 * The forward's steps write them; a max pool that normalises its input itself reads them.
 */
export interface BatchNormPatterns { mean: number; scale: number; shift: number }

/** Room for a batch norm's patterns over C channels. */
export function batchNormPatterns(be: Backend, alloc: (bytes: number) => number, C: number): BatchNormPatterns {
  const L = be.kernels.f32_batchnorm_period(C);
  return { mean: alloc(L * 4), scale: alloc(L * 4), shift: alloc(L * 4) };
}

/**
 * Batch norm in training: y = γ·(x − μ_B)/√(σ²_B + ε) + β with the batch's statistics (saved in
 * mean / invstd for the backward, which writes dx, dγ and dβ together: dx must be a buffer).
 * The rows split into parts — `parts` (row ranges, e.g. a sliced plan's slices) or one per thread
 * — that start on whole channel periods (f32_batchnorm_period): forward, the parts' moments (one
 * pass over x) → the mean, invstd and the affine (the patterns) → the parts' outputs (none with
 * `poolApplies`: a max pool after the norm applies the patterns itself, and y is never written);
 * backward, the parts' sums of dy and dy·(x − μ) → dγ, dβ and dx's affine → the parts' dx. With
 * `poolGrad` (and poolApplies: the pool over the norm's output, through a ReLU, 2×2 windows with
 * stride 2) the backward reads the pool's dy instead of the norm's, which the pool's backward then
 * need not write (f32_batchnorm_pool_bwd_*: the same values). `alloc` gives the per-part sums and
 * the backward's patterns (memory that lives as long as the calls).
 */
export function batchNormTrainCalls(be: Backend, alloc: (bytes: number) => number, rows: number, C: number, eps: number, p: {
  x: number; y: number; gamma: number; beta: number; mean: number; invstd: number; dy: number; dx: number; dgamma: number; dbeta: number;
  /** The batch's biased variance per channel (C floats), for the moving statistics; absent: not written. */
  variance?: number;
  /** Where the patterns go (default: allocated here). */
  pats?: BatchNormPatterns;
  poolApplies?: boolean;
  poolGrad?: { geometry: PoolGeometry; dy: number; codes: number };
  /** The parts' row ranges (each starting on a multiple of batchNormPartRows(C) rows); default: split for the backend's threads. */
  parts?: readonly (readonly [number, number])[];
}): BatchNormCalls {
  const per = batchNormPartRows(be, C); // a part starts on a multiple of `per` rows
  // cost per value: 8 for the plain passes; a backward from the pool's dy (the norm's dy made in
  // scratch from the pool's tap codes, in both of its passes) weighs 3x that, so
  // lenet5Bn's C3 norm (6,400 rows × 16) splits; the forward's passes share the split
  const parts = p.parts ?? splitRange(rows, threadsFor(be, (p.poolGrad ? 24 : 8) * rows * C, Math.floor(rows / per)), per);
  if (parts.length === 0 || parts.some(([r0, r1], t) => r0 % per !== 0 || r1 < r0 || (t === 0 ? r0 !== 0 : r0 !== parts[t - 1]![1]) || (t === parts.length - 1 && r1 !== rows))) {
    throw new ConfigError(`batch norm over ${rows}x${C}: its parts ${JSON.stringify(parts)} must cover the rows in order, each starting on a multiple of ${per} rows`);
  }
  const P = parts.length;
  // each part's sums at its own stride (no cache line shared between threads)
  const S = be.kernels.f32_batchnorm_part_stride(C), SM = be.kernels.f32_batchnorm_moments_stride(C), L = per * C;
  const moments = alloc(P * SM * 4), accs = alloc(P * S * 4), accs2 = alloc(P * S * 4), zeros = alloc(L * 4);
  const pat = () => alloc(L * 4);
  const A = pat(), B = pat(), K = pat();
  const { mean: meanPat, scale, shift } = p.pats ?? batchNormPatterns(be, alloc, C);
  be.heap.f32(zeros, L).fill(0);
  const each = (f: (r0: number, n: number, t: number) => KernelCall) => ({ parts: parts.map(([r0, r1], t) => [f(r0, (r1 - r0) * C, t)]) });
  const at = (ptr: number, r0: number) => ptr + 4 * r0 * C;
  const fwd: Steps = [
    each((r0, n, t) => call("f32_batchnorm_part_moments", at(p.x, r0), n, C, moments + 4 * t * SM)),
    { combine: call("f32_batchnorm_fwd_stats", moments, P, C, eps, p.gamma, p.beta, p.mean, p.invstd, p.variance ?? 0, meanPat, scale, shift) },
    ...(p.poolApplies ? [] : [each((r0, n) => call("f32_batchnorm_part_apply", at(p.x, r0), meanPat, scale, 0, 0, 0, shift, n, C, at(p.y, r0)))]),
  ];
  const pg = p.poolGrad;
  if (pg && !(p.poolApplies && twoByTwo(pg.geometry) && pg.geometry.N * pg.geometry.H * pg.geometry.W === rows && pg.geometry.C === C && pg.codes > 0)) {
    throw new ConfigError(`batch norm over ${rows}x${C}: its backward from a pool's gradient needs the pool to apply the norm, 2x2 windows with stride 2 over its whole output, 4 channels or more and the pool's tap codes`);
  }
  // the norm's dy: its own buffer, or made from the pool's dy window row by window row
  const geo = pg && p.dy ? geometryBlock(alloc, be, poolBlock(pg.geometry)) : 0;
  const scratch = geo ? parts.map(() => alloc(be.kernels.f32_batchnorm_pool_bwd_scratch_bytes(geo))) : [];
  const bwd: Steps = !p.dy ? [] : [
    each((r0, n, t) => geo
      ? call("f32_batchnorm_pool_bwd_sums", geo, p.x, pg!.dy, pg!.codes, meanPat, r0, r0 + n / C, accs + 4 * t * S, accs2 + 4 * t * S, scratch[t]!)
      : call("f32_batchnorm_part_sums_bwd", at(p.dy, r0), at(p.x, r0), meanPat, n, C, accs + 4 * t * S, accs2 + 4 * t * S)),
    { combine: call("f32_batchnorm_bwd_affine", accs, accs2, P, rows, C, p.gamma, p.invstd, p.dgamma, p.dbeta, A, B, K) },
    each((r0, n, t) => geo
      ? call("f32_batchnorm_pool_bwd_apply", geo, p.x, pg!.dy, pg!.codes, meanPat, A, B, K, r0, r0 + n / C, p.dx, scratch[t]!)
      : call("f32_batchnorm_part_apply", at(p.dy, r0), zeros, A, at(p.x, r0), meanPat, B, K, n, C, at(p.dx, r0))),
  ];
  return { fwd, bwd };
}

/** A batch norm's parts start on multiples of this many rows: one channel period (f32_batchnorm_period(C) / C rows). */
export const batchNormPartRows = (be: Backend, C: number) => be.kernels.f32_batchnorm_period(C) / C;

/** Runs steps in order (each step's parts at the same time). */
export function runSteps(be: Backend, steps: Steps): void {
  for (const s of steps) "parts" in s ? be.runPrograms(s.parts) : be.runInTurn([s.combine]);
}

/** y = x·scale + shift per channel. */
export const channelAffine = (x: number, rows: number, C: number, scale: number, shift: number, y: number) =>
  call("f32_channel_affine", x, rows, C, scale, shift, y);

/**
 * Batch norm at inference as one affine per channel: s = γ/√(σ² + ε), t = β − μ·s, written to
 * `scale` and `shift` (the one place this formula lives: the layer and conv folding use it).
 */
export function batchNormAffine(h: Heap, C: number, eps: number, gamma: number, beta: number, mean: number, variance: number, scale: number, shift: number): void {
  batchNormScaleShift(h.f32(gamma, C), h.f32(beta, C), h.f32(mean, C), h.f32(variance, C), eps, h.f32(scale, C), h.f32(shift, C));
}

/** The same on arrays: scale[c] = γ/√(σ² + ε), shift[c] = β − μ·scale[c] (for formats and peers that fold on the host). */
export function batchNormScaleShift(gamma: ArrayLike<number>, beta: ArrayLike<number>, mean: ArrayLike<number>, variance: ArrayLike<number>, eps: number, scale: Float32Array, shift: Float32Array): void {
  for (let c = 0; c < scale.length; c++) {
    scale[c] = gamma[c]! / Math.sqrt(variance[c]! + eps);
    shift[c] = beta[c]! - mean[c]! * scale[c]!;
  }
}

/**
 * Folding a batch norm (scale s, shift t) into the layer before it, whose weights have C output
 * channels last (HWIO conv kernels, [in, out] dense): W' = W·s per output channel, b' = b·s + t
 * (t alone without a bias). `zeros` holds C zeros.
 */
export function foldCalls(C: number, w: number, wSize: number, bias: number, scale: number, shift: number, zeros: number, outW: number, outBias: number): KernelCall[] {
  return [
    channelAffine(w, wSize / C, C, scale, zeros, outW),
    bias ? channelAffine(bias, 1, C, scale, shift, outBias) : call("f32_copy_rows", shift, C, outBias, C, 1, C, 0),
  ];
}

/** The running statistics after a training batch: m ← μ·m + (1 − μ)·batch (variance unbiased). */
export function updateMovingStats(h: Heap, C: number, rows: number, momentum: number, mean: number, variance: number, movingMean: number, movingVar: number): void {
  const bm = h.f32(mean, C), bv = h.f32(variance, C), mm = h.f32(movingMean, C), mv = h.f32(movingVar, C);
  const bessel = rows > 1 ? rows / (rows - 1) : 1;
  for (let c = 0; c < C; c++) {
    mm[c] = momentum * mm[c]! + (1 - momentum) * bm[c]!;
    mv[c] = momentum * mv[c]! + (1 - momentum) * (bv[c]! * bessel);
  }
}

/** Local response normalisation across channels; s keeps k + α/n·Σx² for the backward. */
export function lrnCalls(rows: number, C: number, size: number, alpha: number, beta: number, k: number, p: { x: number; y: number; s: number; dy: number; dx: number }): NormCalls {
  return {
    fwd: [call("f32_lrn_fwd", p.x, rows, C, size, alpha, beta, k, p.y, p.s)],
    bwd: p.dx ? [call("f32_lrn_bwd", p.x, p.dy, p.s, rows, C, size, alpha, beta, p.dx)] : [],
  };
}

/**
 * Layer normalisation over the last axis (rows × C): y = (x − μ)/√(σ² + ε)·γ + β per row, the rows'
 * μ and 1/√(σ² + ε) kept in mean / rstd (rows floats each) for the backward, which writes dx, dγ
 * and dβ (0: not wanted). The forward splits by rows across the pool; the backward runs as one call
 * (its parameter gradients sum over every row).
 */
export function layerNormCalls(be: Backend, rows: number, C: number, eps: number, p: {
  x: number; y: number; gamma: number; beta: number; mean: number; rstd: number; dy: number; dx: number; dgamma: number; dbeta: number;
}): NormCalls {
  const parts = splitRange(rows, threadsFor(be, 8 * rows * C, rows));
  return {
    fwd: parts.map(([a, b]) => call("f32_layer_norm_fwd", p.x + 4 * a * C, b - a, C, eps, p.gamma, p.beta, p.y + 4 * a * C, p.mean + 4 * a, p.rstd + 4 * a)),
    bwd: p.dx || p.dgamma || p.dbeta ? [call("f32_layer_norm_bwd", p.x, p.dy, rows, C, p.gamma, p.mean, p.rstd, p.dx, p.dgamma, p.dbeta)] : [],
  };
}
