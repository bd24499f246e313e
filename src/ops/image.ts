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
 * per image at `flips`), split by images across the pool.
 */
export function warpAffineBatchCalls(be: Backend, n: number, H: number, W: number, C: number, src: number, mats: number, flips: number, fill: number, dst: number, OH: number, OW: number): KernelCall[] {
  const T = threadsFor(be, n * OH * OW * C * 16, n);
  return splitRange(n, T).map(([a, b]) => call("f32_warp_affine_batch",
    src + 4 * a * H * W * C, b - a, H, W, C, mats + 24 * a, flips + 4 * a, fill, dst + 4 * a * OH * OW * C, OH, OW));
}

/**
 * The warp matrix (6 numbers, for warpAffineCall) of a bilinear resize from H×W to OH×OW: the
 * output pixel centre x + 0.5 samples the source at (x + 0.5)·W/OW − 0.5 (and so for y).
 */
export function resizeMatrix(H: number, W: number, OH: number, OW: number): number[] {
  const sx = W / OW, sy = H / OH;
  return [sx, 0, 0.5 * sx - 0.5, 0, sy, 0.5 * sy - 0.5];
}
