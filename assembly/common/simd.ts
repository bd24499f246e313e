// @inline SIMD helpers shared by every kernel family.
// One source serves the `simd` and `relaxed` builds: ASC_FEATURE_RELAXED_SIMD is a
// compile-time constant, so the branch not taken is never compiled.

import { ACT_RELU, ACT_RELU6 } from "./geometry";

/** a * b + c, lane-wise. One fused `f32x4.relaxed_madd` on the relaxed build, mul + add otherwise. */
// @ts-ignore: decorator
@inline export function madd(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) {
    return f32x4.relaxed_madd(a, b, c);
  } else {
    return f32x4.add(f32x4.mul(a, b), c);
  }
}

/** Byte offset of f32 element i. */
// @ts-ignore: decorator
@inline export function f4(i: i32): usize {
  return <usize>i << 2;
}

/** A fused activation on a vector: ReLU (max with 0), ReLU6 (then min with 6), or none (act 0). */
// @ts-ignore: decorator
@inline export function activate(v: v128, act: i32): v128 {
  if (act == ACT_RELU) return f32x4.max(v, f32x4.splat(0));
  if (act == ACT_RELU6) return f32x4.min(f32x4.max(v, f32x4.splat(0)), f32x4.splat(6));
  return v;
}
