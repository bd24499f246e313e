// norm: batch normalisation (training statistics, inference affine, folding into a conv), local
// response normalisation and the per-channel affine, as kernel calls over buffers in wasm memory.
// Channels are the last axis (NHWC); `rows` = values / C.
import type { Heap } from "../runtime/memory.js";
import { call, type KernelCall } from "../runtime/calls.js";
import type { Kernels } from "../runtime/generated/kernels.js";

export interface NormCalls { fwd: KernelCall[]; bwd: KernelCall[] }

/** Scratch bytes of the training batch-norm kernels for C channels (a plan asks for them when it is laid out). */
export const batchNormScratchBytes = (k: Kernels, C: number) => 4 * k.f32_batchnorm_scratch_floats(C);

/**
 * Batch norm in training: y = γ·(x − μ_B)/√(σ²_B + ε) + β with the batch's statistics (saved in
 * mean / invstd for the backward, which writes dx, dγ and dβ together: dx must be a buffer).
 */
export function batchNormTrainCalls(k: Kernels, rows: number, C: number, eps: number, p: {
  x: number; y: number; gamma: number; beta: number; mean: number; invstd: number; dy: number; dx: number; dgamma: number; dbeta: number;
}): NormCalls {
  // both kernels keep their per-channel patterns and sums in the running thread's scratch
  const scratchBytes = batchNormScratchBytes(k, C);
  return {
    fwd: [{ ...call("f32_batchnorm_fwd", p.x, rows, C, p.gamma, p.beta, eps, p.y, p.mean, p.invstd, 0), scratchBytes }],
    bwd: p.dy ? [{ ...call("f32_batchnorm_bwd", p.x, p.dy, rows, C, p.gamma, p.mean, p.invstd, p.dx, p.dgamma, p.dbeta, 0), scratchBytes }] : [],
  };
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
export function updateMovingStats(h: Heap, C: number, rows: number, eps: number, momentum: number, mean: number, invstd: number, movingMean: number, movingVar: number): void {
  const bm = h.f32(mean, C), inv = h.f32(invstd, C), mm = h.f32(movingMean, C), mv = h.f32(movingVar, C);
  const bessel = rows > 1 ? rows / (rows - 1) : 1;
  for (let c = 0; c < C; c++) {
    const v = (1 / (inv[c]! * inv[c]!) - eps) * bessel;
    mm[c] = momentum * mm[c]! + (1 - momentum) * bm[c]!;
    mv[c] = momentum * mv[c]! + (1 - momentum) * Math.max(v, 0);
  }
}

/** Local response normalisation across channels; s keeps k + α/n·Σx² for the backward. */
export function lrnCalls(rows: number, C: number, size: number, alpha: number, beta: number, k: number, p: { x: number; y: number; s: number; dy: number; dx: number }): NormCalls {
  return {
    fwd: [call("f32_lrn_fwd", p.x, rows, C, size, alpha, beta, k, p.y, p.s)],
    bwd: p.dx ? [call("f32_lrn_bwd", p.x, p.dy, p.s, rows, C, size, alpha, beta, p.dx)] : [],
  };
}
