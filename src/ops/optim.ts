// optim: the update kernels of assembly/optim as calls, and how an update splits across the pool.
// Every builder covers values [off, off + n) of one parameter: `o` is the byte offset 4·off into
// w, g and each state buffer.
import type { Backend } from "../runtime/backend.js";
import { call, type KernelCall } from "../runtime/calls.js";
import { splitRange } from "./split.js";

/** An update on its own (applyGradients) splits across the pool from this many values in all; in a sliced plan's gradient sum every parameter is cut (paramCut). */
export const PARALLEL_UPDATE = 1 << 16;

/** What paramCut reads of a parameter (a ParamBuffer): its values and its shape. */
export interface Cuttable { size: number; spec: { shape: readonly number[] } }

/**
 * A parameter cut in `parts` ranges (fewer where it is small): the cut of a sliced training
 * plan's gradient sum (Plan), thread u summing — or computing (Layer.wholeBatchGrads) — range u of
 * every parameter, and of the update run right after it in the same program (`parts` below).
 * Ranges start at whole rows of a parameter of rank 2 or more (a row: its last axis), so that a
 * range of a dense kernel [in, out] is whole rows of its gradient's gemm (any rows: a row of a
 * product has the same bits whatever rows it is computed with), and at multiples of 4 values (the
 * fewest rows that are: 4 / gcd(row, 4)).
 */
export const paramCut = (p: Cuttable, parts: number): [number, number][] => {
  const shape = p.spec.shape, row = shape.length >= 2 ? shape[shape.length - 1]! : 1;
  return splitRange(p.size, parts, row * (row % 4 === 0 ? 1 : row % 2 === 0 ? 2 : 4));
};

/**
 * One dispatch updating several parameters: their values laid end to end and cut into one equal
 * range per thread (PARALLEL_UPDATE values or more in all; else every update on the calling
 * thread), each thread's program the slices of the parameters its range covers (a slice: one
 * call, or calls run in order on the same values — the regularisation, then the update). The
 * kernels work value by value, so any cut gives the same values as one call per parameter.
 * Given `parts`: `parts` programs, each parameter cut by paramCut.
 */
export function updateAllPrograms(be: Backend, params: readonly Cuttable[], slice: (k: number, n: number, o: number) => KernelCall | KernelCall[], parts?: number): KernelCall[][] {
  if (parts !== undefined) {
    // each parameter cut in `parts` by paramCut: program u, range u of every parameter
    const programs: KernelCall[][] = Array.from({ length: parts }, () => []);
    params.forEach((p, k) => paramCut(p, parts).forEach(([lo, hi], u) => programs[u]!.push(...[slice(k, hi - lo, 4 * lo)].flat())));
    return programs;
  }
  const sizes = params.map((p) => p.size), total = sizes.reduce((a, b) => a + b, 0);
  if (be.threads < 2 || total < PARALLEL_UPDATE) return [sizes.flatMap((n, k) => slice(k, n, 0))];
  return splitRange(total, be.threads, 4).map(([a, b]) => {
    const program: KernelCall[] = [];
    let start = 0;
    sizes.forEach((n, k) => {
      const lo = Math.max(a, start), hi = Math.min(b, start + n);
      if (hi > lo) program.push(...[slice(k, hi - lo, 4 * (lo - start))].flat());
      start += n;
    });
    return program;
  });
}

/** The calls updating a parameter of `size` values: one, or one slice per thread for large ones (Backend.run: call i on thread i). */
export function updateCalls(be: Backend, size: number, slice: (n: number, o: number) => KernelCall): KernelCall[] {
  return updateAllPrograms(be, [{ size, spec: { shape: [size] } }], (_k, n, o) => slice(n, o)).flat();
}

/**
 * Makes the 64-byte lines of the n values at byte o of w this thread's before an update writes them,
 * one store a line (f32_claim_lines): the weights' lines other threads read since the last update
 * come back in many overlapping trips instead of a few at a time. The values are left as they are.
 */
export const claimLines = (n: number, o: number, w: number) => call("f32_claim_lines", n, w + o);

export const sgdUpdate = (n: number, o: number, w: number, g: number, lr: number) => call("f32_sgd_update", n, w + o, g + o, lr);

export const momentumUpdate = (n: number, o: number, w: number, g: number, v: number, lr: number, mu: number, nesterov: boolean, torch = false) =>
  call("f32_momentum_update", n, w + o, g + o, v + o, lr, mu, (nesterov ? 1 : 0) | (torch ? 2 : 0));

/** Adam (AdamW with wd > 0) at step t: the bias corrections 1 − β^t are computed here. */
export const adamUpdate = (n: number, o: number, w: number, g: number, m: number, v: number, lr: number, b1: number, b2: number, eps: number, t: number, wd: number) =>
  call("f32_adam_update", n, w + o, g + o, m + o, v + o, lr, b1, b2, eps, 1 - b1 ** t, 1 - b2 ** t, wd);

export const adagradUpdate = (n: number, o: number, w: number, g: number, h: number, lr: number, eps: number) =>
  call("f32_adagrad_update", n, w + o, g + o, h + o, lr, eps);

export const rmspropUpdate = (n: number, o: number, w: number, g: number, h: number, lr: number, rho: number, eps: number) =>
  call("f32_rmsprop_update", n, w + o, g + o, h + o, lr, rho, eps);

export const adadeltaUpdate = (n: number, o: number, w: number, g: number, eg: number, edx: number, lr: number, rho: number, eps: number) =>
  call("f32_adadelta_update", n, w + o, g + o, eg + o, edx + o, lr, rho, eps);

/** avg ← a·avg + (1 − a)·w, as avg += (1 − a)·(w − avg): a moving average of a parameter's values (the optimisers' `ema`), exact where avg = w. */
export const averageCall = (n: number, w: number, avg: number, a: number) => call("f32_average", n, w, avg, 1 - a);

/** g += l1·sign(w) + l2·w (L1 / L2 / elastic net on one parameter). */
export const regularizeCall = (n: number, w: number, g: number, l1: number, l2: number) => call("f32_regularize", n, w, g, l1, l2);

/** Σ g² of one parameter's gradient (the kernel returns it), for global-norm clipping. */
export const sumSquaresCall = (n: number, g: number) => call("f32_sum_squares", n, g);

/** g ← factor·g. */
export const scaleCall = (n: number, factor: number, g: number) => call("f32_axpby", n, factor, g, 0, g);
