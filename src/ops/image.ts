// image: geometric transforms of NHWC images as kernel calls (augmentation, resizing).
import type { Backend } from "../runtime/backend.js";
import { call, type KernelCall } from "../runtime/calls.js";
import { splitRange, threadsFor } from "./split.js";

/**
 * Bilinear warp of one H×W×C image into OH×OW×C: output pixel (x, y) samples the source at
 * (m0·x + m1·y + m2, m3·x + m4·y + m5) (mat: 6 f32), `fill` outside it; flip mirrors the output.
 */
export const warpAffineCall = (src: number, H: number, W: number, C: number, mat: number, fill: number, flip: boolean, dst: number, OH: number, OW: number) =>
  call("f32_warp_affine", src, H, W, C, mat, fill, flip ? 1 : 0, dst, OH, OW);

/**
 * n warps of H×W×C images into OH×OW×C (matrices: 6 f32 per image at `mats`, flip flags: one i32
 * per image at `flips`), split by images across the pool. A value costs about what a gemm does in
 * 200 flops (one channel: 0.41 ms a batch of 64 28×28 images on one thread of this project's
 * machine, ~8 ns a value, its taps loaded lane by lane), which is what the split is asked for.
 */
export function warpAffineBatchCalls(be: Backend, n: number, H: number, W: number, C: number, src: number, mats: number, flips: number, fill: number, dst: number, OH: number, OW: number): KernelCall[] {
  const T = threadsFor(be, n * OH * OW * C * 200, n);
  return splitRange(n, T).map(([a, b]) => warpAffineRangeCall(a, b, H, W, C, src, mats, flips, fill, dst, OH, OW));
}

/** The warps of images [a, b) of such a batch (warpAffineBatchCalls), one call: each image's source, matrix, flag and output at its place. */
export const warpAffineRangeCall = (a: number, b: number, H: number, W: number, C: number, src: number, mats: number, flips: number, fill: number, dst: number, OH: number, OW: number) =>
  call("f32_warp_affine_batch", src + 4 * a * H * W * C, b - a, H, W, C, mats + 24 * a, flips + 4 * a, fill, dst + 4 * a * OH * OW * C, OH, OW);

/**
 * The warp matrix (6 numbers, for warpAffineCall) of a bilinear resize from H×W to OH×OW: the
 * output pixel centre x + 0.5 samples the source at (x + 0.5)·W/OW − 0.5 (and so for y).
 */
export function resizeMatrix(H: number, W: number, OH: number, OW: number): number[] {
  const sx = W / OW, sy = H / OH;
  return [sx, 0, 0.5 * sx - 0.5, 0, sy, 0.5 * sy - 0.5];
}

/**
 * A separable linear resize of `batch` NHWC images [H, W, C] → [OH, OW, C]: out = Rh · x · Rwᵀ per
 * channel, with Rh [OH, H] and Rw [OW, W] (the interpolation weights) in memory. Forward: one
 * product per image over its rows (Rh · x as [H, W·C], into tmp [OH, W·C]), then one per output row
 * (Rw · tmp[oh] as [W, C]), then `add` (an [OH, OW, C] image, when not 0: tf_crop_and_resize's value
 * outside the image) added to each. Backward: dtmp[oh] = Rwᵀ · dy[oh], dx = Rhᵀ · dtmp (tmp reused).
 * The products take only the nonzero weights (f32_weighted_rows): an Inf or NaN pixel reaches only
 * the outputs interpolated from it, as in onnxruntime and PyTorch. In turn.
 */
export function resizeCalls(be: Backend, batch: number, H: number, W: number, C: number, OH: number, OW: number, rh: number, rw: number, tmp: number,
  p: { x: number; y: number; dy: number; dx: number; add?: number }): { fwd: KernelCall[]; bwd: KernelCall[]; inTurn: true } {
  const fwd: KernelCall[] = [], bwd: KernelCall[] = [];
  // rows of L values weighed by R (M × K) or, transposed, by Rᵀ: only the nonzero weights (f32_weighted_rows)
  const rows = (transposed: boolean, M: number, K: number, R: number, x: number, L: number, y: number): KernelCall =>
    call("f32_weighted_rows", M, K, R, transposed ? 1 : K, transposed ? M : 1, x, L, L, y, L);
  for (let n = 0; n < batch; n++) {
    const x = p.x + n * H * W * C * 4, y = p.y + n * OH * OW * C * 4, t = tmp + n * OH * W * C * 4;
    fwd.push(rows(false, OH, H, rh, x, W * C, t));
    for (let o = 0; o < OH; o++) fwd.push(rows(false, OW, W, rw, t + o * W * C * 4, C, y + o * OW * C * 4));
    if (p.add) fwd.push(call("f32_axpby", OH * OW * C, 1, p.add, 1, y));
    if (p.dx) {
      const dy = p.dy + n * OH * OW * C * 4;
      for (let o = 0; o < OH; o++) bwd.push(rows(true, W, OW, rw, dy + o * OW * C * 4, C, t + o * W * C * 4));
      bwd.push(rows(true, H, OH, rh, t, W * C, p.dx + n * H * W * C * 4));
    }
  }
  return { fwd, bwd, inTurn: true };
}

/**
 * Pads `batch` NHWC images [H, W, C] by [top, bottom, left, right] into [OH, OW, C]: "constant"
 * (from `fill`, OW·C floats holding the value), "edge" (the nearest border pixel) or "reflect" (the
 * mirror image without repeating the border; pads below the size). Forward: the fill, the interior
 * rows, the left and right columns from interior columns, then the top and bottom rows from output
 * rows (corners as numpy pads one axis after the other). Backward in reverse: each copied pad row or
 * column adds its gradient into dy at its source, then dx is the interior of dy (dy is overwritten).
 * In turn.
 */
export function padCalls(batch: number, H: number, W: number, C: number, pads: [number, number, number, number], mode: "constant" | "edge" | "reflect", fill: number,
  p: { x: number; y: number; dy: number; dx: number }): { fwd: KernelCall[]; bwd: KernelCall[]; inTurn: true } {
  const [t, b, l, r] = pads, OH = H + t + b, OW = W + l + r, row = OW * C, edge = mode === "edge";
  // output column / row a pad position copies (its source in the unpadded image, shifted into the output)
  const colSrc = (j: number, left: boolean) => l + (left ? (edge ? 0 : l - j) : edge ? W - 1 : W - 2 - j);
  const rowSrc = (i: number, top: boolean) => t + (top ? (edge ? 0 : t - i) : edge ? H - 1 : H - 2 - i);
  const fwd: KernelCall[] = [], bwd: KernelCall[] = [];
  for (let e = 0; e < batch; e++) {
    const y = p.y + e * OH * row * 4, at = (h: number, w: number) => y + (h * OW + w) * C * 4;
    if (mode === "constant") fwd.push(call("f32_copy_rows", fill, 0, y, row, OH, row, 0));
    fwd.push(call("f32_copy_rows", p.x + e * H * W * C * 4, W * C, at(t, l), row, H, W * C, 0));
    // [source, destination] of every copied pad column (H rows of C) and row (OW·C), in order
    const cols: [number, number][] = [], rows: [number, number][] = [];
    if (mode !== "constant") {
      for (let j = 0; j < l; j++) cols.push([colSrc(j, true), j]);
      for (let j = 0; j < r; j++) cols.push([colSrc(j, false), l + W + j]);
      for (let i = 0; i < t; i++) rows.push([rowSrc(i, true), i]);
      for (let i = 0; i < b; i++) rows.push([rowSrc(i, false), t + H + i]);
    }
    for (const [s, d] of cols) fwd.push(call("f32_copy_rows", at(t, s), row, at(t, d), row, H, C, 0));
    for (const [s, d] of rows) fwd.push(call("f32_copy_rows", at(s, 0), 0, at(d, 0), 0, 1, row, 0));
    if (!p.dx) continue;
    const dy = p.dy + e * OH * row * 4, dat = (h: number, w: number) => dy + (h * OW + w) * C * 4;
    for (const [s, d] of [...rows].reverse()) bwd.push(call("f32_copy_rows", dat(d, 0), 0, dat(s, 0), 0, 1, row, 1));
    for (const [s, d] of [...cols].reverse()) bwd.push(call("f32_copy_rows", dat(t, d), row, dat(t, s), row, H, C, 1));
    bwd.push(call("f32_copy_rows", dat(t, l), row, p.dx + e * H * W * C * 4, W * C, H, W * C, 0));
  }
  return { fwd, bwd, inTurn: true };
}
