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

/**
 * max(v, 0) lane-wise: the values of f32x4.max(v, 0), and its bits on every lane that is not NaN
 * (−0 gives +0; a NaN stays NaN, its payload as the runtime's arithmetic leaves it), in two
 * instructions, where V8 spends about seven on f32x4.max's NaN and signed-zero rules: pmax(v, 0)
 * is v < 0 ? 0 : v (NaN and −0 stay), and adding +0 turns −0 into +0 and changes nothing else.
 */
// @ts-ignore: decorator
@inline export function relu(v: v128): v128 {
  return f32x4.add(f32x4.pmax(v, f32x4.splat(0)), f32x4.splat(0));
}

/** min(max(v, 0), 6) lane-wise with f32x4.min / max's values (bits on non-NaN lanes): relu, then pmin (6 < r ? 6 : r; NaN stays). */
// @ts-ignore: decorator
@inline export function relu6(v: v128): v128 {
  return f32x4.pmin(relu(v), f32x4.splat(6));
}

/** A fused activation on a vector: ReLU (max with 0), ReLU6 (then min with 6), or none (act 0). */
// @ts-ignore: decorator
@inline export function activate(v: v128, act: i32): v128 {
  if (act == ACT_RELU) return relu(v);
  if (act == ACT_RELU6) return relu6(v);
  return v;
}

/** The first n (0..4) floats at p in the low lanes, zeros above; never reads past p + 4n. */
// @ts-ignore: decorator
@inline export function loadPartial(p: usize, n: i32): v128 {
  if (n >= 4) return v128.load(p);
  if (n <= 0) return f32x4.splat(0);
  if (n == 1) return v128.load32_zero(p);
  const v = v128.load64_zero(p);
  return n == 2 ? v : f32x4.replace_lane(v, 2, load<f32>(p, 8));
}

/** Stores the low n (0..4) lanes of v at p. */
// @ts-ignore: decorator
@inline export function storePartial(p: usize, v: v128, n: i32): void {
  if (n >= 4) {
    v128.store(p, v);
    return;
  }
  if (n == 1) v128.store32_lane(p, v, 0);
  else if (n > 1) {
    v128.store64_lane(p, v, 0);
    if (n > 2) v128.store32_lane(p, v, 2, 8);
  }
}

/** dst[0..n) = src[0..n) floats: v128 moves for runs under `bulk` floats (memory.copy is a runtime call in V8), memory.copy for longer ones. */
// @ts-ignore: decorator
@inline export function copyRow(dst: usize, src: usize, n: i32, bulk: i32 = 256): void {
  if (n >= bulk) {
    memory.copy(dst, src, <usize>f4(n));
    return;
  }
  let i = 0;
  for (; i + 4 <= n; i += 4) v128.store(dst + f4(i), v128.load(src + f4(i)));
  for (; i < n; i++) store<f32>(dst + f4(i), load<f32>(src + f4(i)));
}
