// Vector transcendental functions (Cephes single-precision algorithms, f32x4).

// @ts-ignore: decorator
@inline function poly(x: v128, c: f32, acc: v128): v128 {
  return f32x4.add(f32x4.mul(acc, x), f32x4.splat(c));
}

/**
 * exp(x) lane-wise, relative error < 2e-7 on [-87, 88]; inputs are clamped to
 * [-87.33, 88.72], so exp(-inf) gives ~1e-38 (not 0) and exp(+inf) gives FLT_MAX-range values.
 * NaN lanes give NaN.
 */
// @ts-ignore: decorator
@inline export function expv(x: v128): v128 {
  const isnan = f32x4.ne(x, x);
  // pmin / pmax: min / max's values on every non-NaN lane in one instruction each (NaN lanes are put back below)
  x = f32x4.pmin(f32x4.pmax(x, f32x4.splat(-87.33654)), f32x4.splat(88.72283));
  const n = f32x4.nearest(f32x4.mul(x, f32x4.splat(1.44269504088896341)));
  let r = f32x4.sub(x, f32x4.mul(n, f32x4.splat(0.693359375)));
  r = f32x4.sub(r, f32x4.mul(n, f32x4.splat(-2.12194440e-4)));
  let p = f32x4.splat(1.9875691500e-4);
  p = poly(r, 1.3981999507e-3, p);
  p = poly(r, 8.3334519073e-3, p);
  p = poly(r, 4.1665795894e-2, p);
  p = poly(r, 1.6666665459e-1, p);
  p = poly(r, 5.0000001201e-1, p);
  const r2 = f32x4.mul(r, r);
  const e = f32x4.add(f32x4.add(f32x4.mul(p, r2), r), f32x4.splat(1));
  // 2^n in two steps so n = 128 (x near 88.7) does not overflow the exponent field
  const ni = i32x4.trunc_sat_f32x4_s(n);
  const half = i32x4.shr_s(ni, 1);
  const s1 = i32x4.shl(i32x4.add(half, i32x4.splat(127)), 23);
  const s2 = i32x4.shl(i32x4.add(i32x4.sub(ni, half), i32x4.splat(127)), 23);
  const out = f32x4.mul(f32x4.mul(e, s1), s2);
  return v128.bitselect(x, out, isnan);
}

/** tanh(x) lane-wise: a polynomial for |x| < 0.625 (good relative accuracy near 0), else 1 − 2/(e^{2|x|}+1). */
// @ts-ignore: decorator
@inline export function tanhv(x: v128): v128 {
  const ax = f32x4.abs(x);
  const z = f32x4.mul(x, x);
  let p = f32x4.splat(-5.70498872745e-3);
  p = poly(z, 2.06390887954e-2, p);
  p = poly(z, -5.37397155531e-2, p);
  p = poly(z, 1.33314422036e-1, p);
  p = poly(z, -3.33332819422e-1, p);
  const small = f32x4.add(f32x4.mul(f32x4.mul(p, z), x), x);
  const e = expv(f32x4.add(ax, ax));
  let big = f32x4.sub(f32x4.splat(1), f32x4.div(f32x4.splat(2), f32x4.add(e, f32x4.splat(1))));
  big = v128.or(big, v128.and(x, f32x4.splat(-0.0))); // copy the sign of x
  return v128.bitselect(small, big, f32x4.lt(ax, f32x4.splat(0.625)));
}

/**
 * log(x) lane-wise (Cephes logf): x = m·2^e with m in [√½, √2), the polynomial on m − 1, e·ln 2
 * added in two parts. Relative error < 2e-7 for normal x > 0; log(0) = −∞, log(∞) = ∞, NaN for
 * x < 0 and NaN; subnormal inputs are taken as 0 (−∞).
 */
// @ts-ignore: decorator
@inline export function logv(x: v128): v128 {
  const bits = x;
  let e = f32x4.convert_i32x4_s(i32x4.sub(i32x4.shr_u(bits, 23), i32x4.splat(126)));
  let m = v128.or(v128.and(bits, i32x4.splat(0x007fffff)), i32x4.splat(0x3f000000)); // [0.5, 1)
  const small = f32x4.lt(m, f32x4.splat(0.707106781186547524));
  e = f32x4.sub(e, v128.and(small, f32x4.splat(1)));
  m = v128.bitselect(f32x4.add(m, m), m, small);
  const t = f32x4.sub(m, f32x4.splat(1));
  const z = f32x4.mul(t, t);
  let p = f32x4.splat(7.0376836292e-2);
  p = poly(t, -1.1514610310e-1, p);
  p = poly(t, 1.1676998740e-1, p);
  p = poly(t, -1.2420140846e-1, p);
  p = poly(t, 1.4249322787e-1, p);
  p = poly(t, -1.6668057665e-1, p);
  p = poly(t, 2.0000714765e-1, p);
  p = poly(t, -2.4999993993e-1, p);
  p = poly(t, 3.3333331174e-1, p);
  let y = f32x4.mul(f32x4.mul(p, t), z);
  y = f32x4.add(y, f32x4.mul(e, f32x4.splat(-2.12194440e-4)));
  y = f32x4.sub(y, f32x4.mul(z, f32x4.splat(0.5)));
  let r = f32x4.add(f32x4.add(t, y), f32x4.mul(e, f32x4.splat(0.693359375)));
  // the edges: below the normal range (0, subnormal) −∞, ∞ itself, negative and NaN inputs NaN
  r = v128.bitselect(f32x4.splat(-Infinity), r, f32x4.lt(x, f32x4.splat(1.17549435e-38)));
  r = v128.bitselect(x, r, f32x4.eq(x, f32x4.splat(Infinity)));
  return v128.bitselect(f32x4.splat(NaN), r, v128.or(f32x4.lt(x, f32x4.splat(0)), f32x4.ne(x, x)));
}

/**
 * log(1 + u) lane-wise for u in [0, 1] (softplus's tail): logv(w) for w = 1 + u, then Goldberg's
 * correction log(w)·u/(w − 1), so a small u keeps its relative accuracy (w − 1 is exact here);
 * u = 0 gives 0. Relative error < 3e-7.
 */
// @ts-ignore: decorator
@inline export function log1pv(u: v128): v128 {
  const w = f32x4.add(f32x4.splat(1), u);
  const wm1 = f32x4.sub(w, f32x4.splat(1));
  return v128.bitselect(u, f32x4.mul(logv(w), f32x4.div(u, wm1)), f32x4.eq(wm1, f32x4.splat(0)));
}
