// @inline SIMD helpers shared by every kernel family.
// One source serves the `simd` and `relaxed` builds: ASC_FEATURE_RELAXED_SIMD is a
// compile-time constant, so the branch not taken is never compiled.

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
