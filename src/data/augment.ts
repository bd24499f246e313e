// On-the-fly augmentation of a batch: random affine distortions (rotation, scale, shear, shift —
// LeCun's distorted MNIST is of this kind) and horizontal flips, the warp running as a wasm kernel,
// in place or (fit, through stage) straight into the model's input. Labels and shapes are unchanged.
import { warpAffineBatchCalls, warpAffineRangeCall } from "../ops/image.js";
import type { InputMaker, InputStager } from "../model/plan.js";
import { checkOptionKeys, ConfigError, show, checkBoolean, checkBackend } from "../errors.js";
import { formatShape } from "../tensor.js";
import { checkExampleShape } from "./dataset.js";
import type { Backend } from "../runtime/backend.js";
import type { Rng } from "../rng.js";

export interface AugmentOptions {
  /** Max rotation in degrees (uniform in ±). */
  rotation?: number;
  /** Max relative scale change (e.g. 0.1: 0.9–1.1). */
  scale?: number;
  /** Max shear (x += shear·y). */
  shear?: number;
  /** Max shift in pixels. */
  shift?: number;
  /** Mirror left-right with probability 0.5. */
  flip?: boolean;
  /** Value outside the source image. Default 0. */
  fill?: number;
}

/**
 * Warps `count` examples of x in place; free() returns its wasm buffers (it reallocates if called
 * again). stage() draws the same distortions (the same rng calls, in the same order) and copies
 * the examples into wasm memory, unwarped: the InputMaker it returns gives the warp calls of
 * examples [a, b), each written at its place in a batch at `dst` (valid until the next call). That
 * is how fit() warps a batch straight into the model's input, in line with the forward pass.
 */
export type Augmenter = ((x: Float32Array, count: number, rng: Rng) => void) & InputStager & { free(): void };

/** An augmenter for examples of shape [H, W, C], running on `be`. */
export function augmenter(be: Backend, shape: [number, number, number], options: AugmentOptions): Augmenter {
  checkBackend("augment", be);
  checkExampleShape("augment", shape);
  checkOptionKeys("augment", options, ["rotation", "scale", "shear", "shift", "flip", "fill"]);
  for (const k of ["rotation", "scale", "shear", "shift"] as const) {
    const v = options[k];
    if (v !== undefined && !(Number.isFinite(v) && v >= 0)) throw new ConfigError(`augment: ${k} must be >= 0, got ${v}`);
  }
  checkBoolean("augment", "flip", options.flip);
  if (options.fill !== undefined && !(typeof options.fill === "number" && Number.isFinite(options.fill))) throw new ConfigError(`augment: fill must be a finite number, got ${show(options.fill)}`);
  const [H, W, C] = shape, per = H * W * C;
  const { rotation = 0, scale = 0, shear = 0, shift = 0, flip = false, fill = 0 } = options;
  // the batch goes into wasm memory once and is warped there (split by images across the pool);
  // the in-place call copies the result back. The buffers grow with the largest batch seen.
  let cap = 0, src = 0, mats = 0, flips = 0, dstCap = 0, dst = 0;
  const release = () => {
    for (const p of [src, mats, flips, dst]) if (p) be.heap.free(p);
    cap = src = mats = flips = dstCap = dst = 0;
  };
  const stage = (x: Float32Array, count: number, rng: Rng): InputMaker => {
    if (!(Number.isInteger(count) && count >= 1 && count * per <= x.length)) {
      throw new ConfigError(`augment: count must be a whole number of examples from 1 to the ${Math.floor(x.length / per)} of ${formatShape([H, W, C])} in x (${x.length} values), got ${count}`);
    }
    if (count > cap) {
      for (const p of [src, mats, flips]) if (p) be.heap.free(p);
      src = mats = flips = cap = 0;
      src = be.heap.alloc(count * per * 4);
      mats = be.heap.alloc(count * 24);
      flips = be.heap.alloc(count * 4);
      cap = count;
    }
    const m = be.heap.f32(mats, count * 6), fl = be.heap.i32(flips, count);
    const cx = (W - 1) / 2, cy = (H - 1) / 2;
    for (let i = 0; i < count; i++) {
      const a = ((rng.uniform() * 2 - 1) * rotation * Math.PI) / 180;
      const s = 1 + (rng.uniform() * 2 - 1) * scale, sh = (rng.uniform() * 2 - 1) * shear;
      const tx = (rng.uniform() * 2 - 1) * shift, ty = (rng.uniform() * 2 - 1) * shift;
      fl[i] = flip && rng.uniform() < 0.5 ? 1 : 0;
      // output → source: inverse of (rotate·scale·shear about the centre, then shift)
      const cos = Math.cos(a) / s, sin = Math.sin(a) / s;
      const m0 = cos, m1 = sin + cos * sh, m3 = -sin, m4 = cos - sin * sh;
      m.set([m0, m1, cx - m0 * (cx + tx) - m1 * (cy + ty), m3, m4, cy - m3 * (cx + tx) - m4 * (cy + ty)], i * 6);
    }
    be.heap.f32(src, count * per).set(x.subarray(0, count * per));
    const [s0, m0, f0] = [src, mats, flips];
    return (a, b, out) => [warpAffineRangeCall(a, b, H, W, C, s0, m0, f0, fill, out, H, W)];
  };
  const run = (x: Float32Array, count: number, rng: Rng) => {
    stage(x, count, rng);
    if (count > dstCap) {
      if (dst) be.heap.free(dst);
      dst = dstCap = 0; // a failed alloc leaves no stale size behind
      dst = be.heap.alloc(count * per * 4);
      dstCap = count;
    }
    be.run(warpAffineBatchCalls(be, count, H, W, C, src, mats, flips, fill, dst, H, W));
    x.set(be.heap.f32(dst, count * per));
  };
  return Object.assign(run, { free: release, backend: be, shape: [H, W, C] as const, stage });
}
