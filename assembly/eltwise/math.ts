// Elementwise math of imported graphs, forward and backward: erf, GELU (x·Φ(x), the exact form),
// square root, softplus, softsign, exp, log, floor / ceil / round / sign, and the binary ops add / sub / mul / div / pow / equal / idiv / mod / fmod / max / min / the comparisons with numpy broadcasting (each operand
// read through its own strides, 0 along the axes it is broadcast over) and the strided sum that
// reduces a gradient back to a broadcast operand's shape.
import { f4, relu } from "../common/simd";
import { expv, log1pv, logv } from "../common/math";

const ADD = 0, SUB = 1, MUL = 2, DIV = 3, POW = 4, EQUAL = 5, MAX = 6, MIN = 7, LESS = 8, GREATER = 9, LESS_EQUAL = 10, GREATER_EQUAL = 11, IDIV = 12, MOD = 13, FMOD = 14;

/**
 * erfc(x) lane-wise (Numerical Recipes' Chebyshev fit, fractional error < 1.2e-7 in exact
 * arithmetic for every x): t = 1/(1 + |x|/2), erfc(|x|) = t·exp(−x² − 1.26551223 + t·P(t)),
 * erfc(x) = 2 − erfc(|x|) for x < 0. Accurate relative to erfc itself, also in its tails.
 */
// @ts-ignore: decorator
@inline function erfcv(x: v128): v128 {
  const z = f32x4.abs(x);
  const t = f32x4.div(f32x4.splat(1), f32x4.add(f32x4.splat(1), f32x4.mul(f32x4.splat(0.5), z)));
  let p = f32x4.splat(0.17087277);
  p = f32x4.add(f32x4.mul(p, t), f32x4.splat(-0.82215223));
  p = f32x4.add(f32x4.mul(p, t), f32x4.splat(1.48851587));
  p = f32x4.add(f32x4.mul(p, t), f32x4.splat(-1.13520398));
  p = f32x4.add(f32x4.mul(p, t), f32x4.splat(0.27886807));
  p = f32x4.add(f32x4.mul(p, t), f32x4.splat(-0.18628806));
  p = f32x4.add(f32x4.mul(p, t), f32x4.splat(0.09678418));
  p = f32x4.add(f32x4.mul(p, t), f32x4.splat(0.37409196));
  p = f32x4.add(f32x4.mul(p, t), f32x4.splat(1.00002368));
  const e = f32x4.add(f32x4.sub(f32x4.mul(p, t), f32x4.mul(z, z)), f32x4.splat(-1.26551223));
  const r = f32x4.mul(t, expv(e));
  return v128.bitselect(f32x4.sub(f32x4.splat(2), r), r, f32x4.lt(x, f32x4.splat(0)));
}

/**
 * erf(x) lane-wise: the Taylor series x·Σ_{n≤6} (−x²)ⁿ/(n!(2n+1))·2/√π for |x| < 0.5 (truncation
 * < 1e-9 relative), 1 − erfc(x) beyond (sign kept). NaN gives NaN.
 */
// @ts-ignore: decorator
@inline function erfv(x: v128): v128 {
  const z = f32x4.mul(x, x);
  let p = f32x4.splat(<f32>(1.1283791670955126 / 9360.0));
  p = f32x4.add(f32x4.mul(p, z), f32x4.splat(<f32>(-1.1283791670955126 / 1320.0)));
  p = f32x4.add(f32x4.mul(p, z), f32x4.splat(<f32>(1.1283791670955126 / 216.0)));
  p = f32x4.add(f32x4.mul(p, z), f32x4.splat(<f32>(-1.1283791670955126 / 42.0)));
  p = f32x4.add(f32x4.mul(p, z), f32x4.splat(<f32>(1.1283791670955126 / 10.0)));
  p = f32x4.add(f32x4.mul(p, z), f32x4.splat(<f32>(-1.1283791670955126 / 3.0)));
  p = f32x4.add(f32x4.mul(p, z), f32x4.splat(<f32>1.1283791670955126));
  const small = f32x4.mul(p, x);
  const big = f32x4.sub(f32x4.splat(1), erfcv(x)); // for x < 0: 1 − (2 − erfc|x|) = −erf|x|
  return v128.bitselect(small, big, f32x4.lt(f32x4.abs(x), f32x4.splat(0.5)));
}

const GELU = 0, GELU_BWD = 1, ERF = 2, ERF_BWD = 3, SQRT = 4, SQRT_BWD = 5, SOFTPLUS = 6, SOFTPLUS_BWD = 7, SOFTSIGN = 8, SOFTSIGN_BWD = 9, EXP = 10, EXP_BWD = 11, LOG = 12, LOG_BWD = 13, FLOOR = 14, CEIL = 15, ROUND = 16, SIGN = 17;

/** One of the maps above on 4 lanes (`op` is a constant at every call site). */
// @ts-ignore: decorator
@inline function map(op: i32, v: v128, g: v128): v128 {
  const h = f32x4.splat(0.5);
  switch (op) {
    // x·Φ(x) = x·erfc(−x/√2)/2: no cancellation for negative x
    case GELU: return f32x4.mul(f32x4.mul(h, v), erfcv(f32x4.mul(v, f32x4.splat(-0.70710678118654752))));
    // d/dx x·Φ(x) = Φ(x) + x·φ(x), φ(x) = exp(−x²/2)/√(2π)
    case GELU_BWD: {
      const cdf = f32x4.mul(h, erfcv(f32x4.mul(v, f32x4.splat(-0.70710678118654752))));
      const pdf = f32x4.mul(f32x4.splat(0.39894228040143268), expv(f32x4.mul(f32x4.splat(-0.5), f32x4.mul(v, v))));
      return f32x4.mul(g, f32x4.add(cdf, f32x4.mul(v, pdf)));
    }
    case ERF: return erfv(v);
    // d/dx erf(x) = 2/√π·exp(−x²)
    case ERF_BWD: return f32x4.mul(g, f32x4.mul(f32x4.splat(1.1283791670955126), expv(f32x4.neg(f32x4.mul(v, v)))));
    case SQRT: return f32x4.sqrt(v);
    // log(1 + eˣ) = max(x, 0) + log(1 + e^−|x|): no overflow, no cancellation
    case SOFTPLUS: return f32x4.add(relu(v), log1pv(expv(f32x4.neg(f32x4.abs(v)))));
    // d/dx = sigmoid(x) = 1 / (1 + e^−x)
    case SOFTPLUS_BWD: return f32x4.div(g, f32x4.add(f32x4.splat(1), expv(f32x4.neg(v))));
    // past the range expv clamps to: +∞ above (e^88.73 overflows float32), 0 below e^−87.34 (below the normal floats: PyTorch's are subnormal there)
    case EXP: return v128.bitselect(f32x4.splat(Infinity), v128.andnot(expv(v), f32x4.lt(v, f32x4.splat(-87.33654))), f32x4.gt(v, f32x4.splat(88.72283)));
    // from the output y = eˣ: dx = dy·y
    case EXP_BWD: return f32x4.mul(g, v);
    case LOG: return logv(v);
    // from the input: dx = dy / x
    case LOG_BWD: return f32x4.div(g, v);
    case FLOOR: return f32x4.floor(v);
    case CEIL: return f32x4.ceil(v);
    // halves to even (ONNX's Round, numpy's)
    case ROUND: return f32x4.nearest(v);
    // −1, 0 or 1 (NaN stays NaN)
    case SIGN: return v128.bitselect(v, f32x4.sub(v128.and(f32x4.gt(v, f32x4.splat(0)), f32x4.splat(1)), v128.and(f32x4.lt(v, f32x4.splat(0)), f32x4.splat(1))), f32x4.ne(v, v));
    case SOFTSIGN: return f32x4.div(v, f32x4.add(f32x4.splat(1), f32x4.abs(v)));
    // d/dx x / (1 + |x|) = 1 / (1 + |x|)²
    case SOFTSIGN_BWD: {
      const d = f32x4.add(f32x4.splat(1), f32x4.abs(v));
      return f32x4.div(g, f32x4.mul(d, d));
    }
    // from the output y = √x: dx = dy / (2y)
    default: return f32x4.div(g, f32x4.add(v, v));
  }
}

// @ts-ignore: decorator
@inline function run(op: i32, x: usize, g: usize, y: usize, n: i32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) v128.store(y + f4(i), map(op, v128.load(x + f4(i)), g ? v128.load(g + f4(i)) : f32x4.splat(0)));
  for (; i < n; i++) v128.store32_lane(y + f4(i), map(op, v128.load32_zero(x + f4(i)), g ? v128.load32_zero(g + f4(i)) : f32x4.splat(0)), 0);
}

/** y = GELU(x) = x·Φ(x) = x·(1 + erf(x/√2))/2 (the exact form, not the tanh approximation). y may alias x. */
export function f32_gelu_fwd(x: usize, y: usize, n: i32): void {
  run(GELU, x, 0, y, n);
}
/** dx = dy·(Φ(x) + x·φ(x)), from the forward INPUT x. dx may alias dy. */
export function f32_gelu_bwd(x: usize, dy: usize, dx: usize, n: i32): void {
  run(GELU_BWD, x, dy, dx, n);
}

/** y = erf(x) (absolute error < 2e-7, relative error < 1e-6 for |x| < 0.5). y may alias x. */
export function f32_erf_fwd(x: usize, y: usize, n: i32): void {
  run(ERF, x, 0, y, n);
}
/** dx = dy·2/√π·exp(−x²), from the forward INPUT x. dx may alias dy. */
export function f32_erf_bwd(x: usize, dy: usize, dx: usize, n: i32): void {
  run(ERF_BWD, x, dy, dx, n);
}

/** y = √x (correctly rounded; NaN for x < 0). y may alias x. */
export function f32_sqrt_fwd(x: usize, y: usize, n: i32): void {
  run(SQRT, x, 0, y, n);
}
/** dx = dy / (2y), from the forward OUTPUT y (∞ at y = 0). dx may alias dy. */
export function f32_sqrt_bwd(y: usize, dy: usize, dx: usize, n: i32): void {
  run(SQRT_BWD, y, dy, dx, n);
}

/** y = softplus(x) = log(1 + eˣ) (relative error < 1e-6). y may alias x. */
export function f32_softplus_fwd(x: usize, y: usize, n: i32): void {
  run(SOFTPLUS, x, 0, y, n);
}
/** dx = dy·sigmoid(x), from the forward INPUT x. dx may alias dy. */
export function f32_softplus_bwd(x: usize, dy: usize, dx: usize, n: i32): void {
  run(SOFTPLUS_BWD, x, dy, dx, n);
}

/** y = softsign(x) = x / (1 + |x|). y may alias x. */
export function f32_softsign_fwd(x: usize, y: usize, n: i32): void {
  run(SOFTSIGN, x, 0, y, n);
}
/** dx = dy / (1 + |x|)², from the forward INPUT x. dx may alias dy. */
export function f32_softsign_bwd(x: usize, dy: usize, dx: usize, n: i32): void {
  run(SOFTSIGN_BWD, x, dy, dx, n);
}

/** y = eˣ (see expv: relative error < 2e-7); +∞ past 88.72 (where float32 overflows), 0 below −87.34 (where it has only subnormals), NaN for NaN. y may alias x. */
export function f32_exp_fwd(x: usize, y: usize, n: i32): void {
  run(EXP, x, 0, y, n);
}
/** dx = dy·y, from the forward OUTPUT y. dx may alias dy. */
export function f32_exp_bwd(y: usize, dy: usize, dx: usize, n: i32): void {
  run(EXP_BWD, y, dy, dx, n);
}
/** y = ln x (see logv; −∞ at 0, NaN below). y may alias x. */
export function f32_log_fwd(x: usize, y: usize, n: i32): void {
  run(LOG, x, 0, y, n);
}
/** dx = dy / x, from the forward INPUT x. dx may alias dy. */
export function f32_log_bwd(x: usize, dy: usize, dx: usize, n: i32): void {
  run(LOG_BWD, x, dy, dx, n);
}
/** y = ⌊x⌋ (a step: its gradient is zero). y may alias x. */
export function f32_floor_fwd(x: usize, y: usize, n: i32): void {
  run(FLOOR, x, 0, y, n);
}
/** y = ⌈x⌉ (gradient zero). y may alias x. */
export function f32_ceil_fwd(x: usize, y: usize, n: i32): void {
  run(CEIL, x, 0, y, n);
}
/** y = x rounded to the nearest whole number, halves to even (gradient zero). y may alias x. */
export function f32_round_fwd(x: usize, y: usize, n: i32): void {
  run(ROUND, x, 0, y, n);
}
/** y = sign(x): −1, 0 or 1, NaN for NaN (gradient zero). y may alias x. */
export function f32_sign_fwd(x: usize, y: usize, n: i32): void {
  run(SIGN, x, 0, y, n);
}

// ---- binary ops with broadcasting ----

// @ts-ignore: decorator
@inline function bin(op: i32, p: f32, q: f32): f32 {
  switch (op) {
    case ADD: return p + q;
    case SUB: return p - q;
    case MUL: return p * q;
    case DIV: return p / q;
    case EQUAL: return p == q ? <f32>1 : <f32>0;
    case MAX: return max<f32>(p, q); // f32.max: NaN if either is
    case MIN: return min<f32>(p, q);
    case LESS: return p < q ? <f32>1 : <f32>0;
    case GREATER: return p > q ? <f32>1 : <f32>0;
    case LESS_EQUAL: return p <= q ? <f32>1 : <f32>0;
    case GREATER_EQUAL: return p >= q ? <f32>1 : <f32>0;
    // in float64: the quotient of two float32 values is then never rounded onto the next integer
    case IDIV: return q == 0 ? <f32>0 : <f32>Math.trunc(<f64>p / <f64>q);
    // f64's % is C's fmod, exact (the remainder of two float32 values is one); mod takes the divisor's sign
    case FMOD: return <f32>(<f64>p % <f64>q);
    case MOD: {
      if (q == 0) return 0;
      const r = <f64>p % <f64>q;
      return <f32>(r != 0 && (r < 0) != (q < 0) ? r + <f64>q : r);
    }
    // 1 to any power is 1, NaN and ±∞ too (C's and IEEE's pow, onnxruntime's, PyTorch's)
    default: return p == 1 ? <f32>1 : <f32>Math.pow(<f64>p, <f64>q);
  }
}

// @ts-ignore: decorator
@inline function binv(op: i32, p: v128, q: v128): v128 {
  switch (op) {
    case ADD: return f32x4.add(p, q);
    case SUB: return f32x4.sub(p, q);
    case MUL: return f32x4.mul(p, q);
    case EQUAL: return v128.and(f32x4.eq(p, q), f32x4.splat(1));
    case MAX: return f32x4.max(p, q); // NaN in either lane gives NaN
    case MIN: return f32x4.min(p, q);
    case LESS: return v128.and(f32x4.lt(p, q), f32x4.splat(1));
    case GREATER: return v128.and(f32x4.gt(p, q), f32x4.splat(1));
    case LESS_EQUAL: return v128.and(f32x4.le(p, q), f32x4.splat(1));
    case GREATER_EQUAL: return v128.and(f32x4.ge(p, q), f32x4.splat(1));
    default: return f32x4.div(p, q);
  }
}

/**
 * y[i, j, k] = a[i·sa0 + j·sa1 + k·sa2] op b[i·sb0 + j·sb1 + k·sb2] for i < n0, j < n1, k < n2;
 * y is dense (n0·n1·n2 floats). A stride of 0 broadcasts that operand along the axis. Pow in
 * float64, rounded once to float32; idiv (integer division) is trunc(a / b) in float64, 0 where b = 0;
 * fmod is C's fmod (the remainder of trunc(a / b), the sign of a; NaN where b = 0) and mod Python's
 * % (the remainder of floor(a / b), the sign of b; 0 where b = 0, as numpy's integer %), both
 * computed exactly and rounded once to float32.
 */
// @ts-ignore: decorator
@inline function binaryFwd(op: i32, a: usize, b: usize, y: usize, n0: i32, n1: i32, n2: i32, sa0: i32, sa1: i32, sa2: i32, sb0: i32, sb1: i32, sb2: i32): void {
  let o = 0;
  for (let i = 0; i < n0; i++) {
    for (let j = 0; j < n1; j++) {
      const pa = a + f4(i * sa0 + j * sa1), pb = b + f4(i * sb0 + j * sb1), py = y + f4(o);
      let k = 0;
      if (op != POW && op < IDIV) {
        if (sa2 == 1 && sb2 == 1) for (; k + 4 <= n2; k += 4) v128.store(py + f4(k), binv(op, v128.load(pa + f4(k)), v128.load(pb + f4(k))));
        else if (sa2 == 1 && sb2 == 0) {
          const q = v128.load32_splat(pb);
          for (; k + 4 <= n2; k += 4) v128.store(py + f4(k), binv(op, v128.load(pa + f4(k)), q));
        } else if (sa2 == 0 && sb2 == 1) {
          const p = v128.load32_splat(pa);
          for (; k + 4 <= n2; k += 4) v128.store(py + f4(k), binv(op, p, v128.load(pb + f4(k))));
        }
      }
      for (; k < n2; k++) store<f32>(py + f4(k), bin(op, load<f32>(pa + f4(k * sa2)), load<f32>(pb + f4(k * sb2))));
      o += n2;
    }
  }
}

/**
 * The gradients of y = a op b through the same strides: ga = dy·∂y/∂a and gb = dy·∂y/∂b, both dense
 * like y (either pointer 0: not wanted). add: dy, dy; sub: dy, −dy; mul: dy·b, dy·a; div: dy/b,
 * −dy·a/b²; pow: dy·b·a^(b−1), dy·y·ln a (0 where a = 0, NaN where a < 0); max / min: dy to the
 * operand taken, halved between equal ones (PyTorch's maximum / minimum); the comparisons, idiv (steps): 0, 0;
 * mod: dy, −dy·floor(a/b), fmod: dy, −dy·trunc(a/b) (PyTorch's remainder and fmod; 0, 0 where b = 0).
 */
// @ts-ignore: decorator
@inline function binaryBwd(op: i32, a: usize, b: usize, y: usize, dy: usize, ga: usize, gb: usize, n0: i32, n1: i32, n2: i32, sa0: i32, sa1: i32, sa2: i32, sb0: i32, sb1: i32, sb2: i32): void {
  let o = 0;
  for (let i = 0; i < n0; i++) {
    for (let j = 0; j < n1; j++) {
      const pa = a + f4(i * sa0 + j * sa1), pb = b + f4(i * sb0 + j * sb1);
      for (let k = 0; k < n2; k++) {
        const g = load<f32>(dy + f4(o + k)), p = load<f32>(pa + f4(k * sa2)), q = load<f32>(pb + f4(k * sb2));
        let da: f32 = g, db: f32 = g;
        if (op == EQUAL || (op >= LESS && op <= IDIV)) { da = 0; db = 0; } // the comparisons and idiv
        else if (op == MOD || op == FMOD) {
          if (q == 0) da = 0;
          const k = <f64>p / <f64>q;
          db = q == 0 ? <f32>0 : <f32>(-<f64>g * (op == MOD ? Math.floor(k) : Math.trunc(k)));
        }
        else if (op == MAX || op == MIN) {
          const first = op == MAX ? p > q : p < q;
          if (p == q) { da = g * 0.5; db = g * 0.5; }
          else if (first) db = 0;
          else da = 0;
        }
        else if (op == SUB) db = -g;
        else if (op == MUL) { da = g * q; db = g * p; }
        else if (op == DIV) { da = g / q; db = -g * p / (q * q); }
        else if (op == POW) {
          da = <f32>(<f64>g * <f64>q * Math.pow(<f64>p, <f64>q - 1));
          db = p == 0 ? <f32>0 : <f32>(<f64>g * <f64>load<f32>(y + f4(o + k)) * Math.log(<f64>p));
        }
        if (ga) store<f32>(ga + f4(o + k), da);
        if (gb) store<f32>(gb + f4(o + k), db);
      }
      o += n2;
    }
  }
}

/** y = a + b, broadcast through strides (see binaryFwd). */
export function f32_binary_fwd_add(a: usize, b: usize, y: usize, n0: i32, n1: i32, n2: i32, sa0: i32, sa1: i32, sa2: i32, sb0: i32, sb1: i32, sb2: i32): void {
  binaryFwd(ADD, a, b, y, n0, n1, n2, sa0, sa1, sa2, sb0, sb1, sb2);
}
/** y = a − b, broadcast through strides. */
export function f32_binary_fwd_sub(a: usize, b: usize, y: usize, n0: i32, n1: i32, n2: i32, sa0: i32, sa1: i32, sa2: i32, sb0: i32, sb1: i32, sb2: i32): void {
  binaryFwd(SUB, a, b, y, n0, n1, n2, sa0, sa1, sa2, sb0, sb1, sb2);
}
/** y = a · b, broadcast through strides. */
export function f32_binary_fwd_mul(a: usize, b: usize, y: usize, n0: i32, n1: i32, n2: i32, sa0: i32, sa1: i32, sa2: i32, sb0: i32, sb1: i32, sb2: i32): void {
  binaryFwd(MUL, a, b, y, n0, n1, n2, sa0, sa1, sa2, sb0, sb1, sb2);
}
/** y = a / b (IEEE: ±∞ or NaN for b = 0), broadcast through strides. */
export function f32_binary_fwd_div(a: usize, b: usize, y: usize, n0: i32, n1: i32, n2: i32, sa0: i32, sa1: i32, sa2: i32, sb0: i32, sb1: i32, sb2: i32): void {
  binaryFwd(DIV, a, b, y, n0, n1, n2, sa0, sa1, sa2, sb0, sb1, sb2);
}
/** y = a^b (Math.pow in float64, rounded to float32), broadcast through strides. */
export function f32_binary_fwd_pow(a: usize, b: usize, y: usize, n0: i32, n1: i32, n2: i32, sa0: i32, sa1: i32, sa2: i32, sb0: i32, sb1: i32, sb2: i32): void {
  binaryFwd(POW, a, b, y, n0, n1, n2, sa0, sa1, sa2, sb0, sb1, sb2);
}

/** y = 1 where a = b, else 0 (NaN equals nothing), broadcast through strides. */
export function f32_binary_fwd_equal(a: usize, b: usize, y: usize, n0: i32, n1: i32, n2: i32, sa0: i32, sa1: i32, sa2: i32, sb0: i32, sb1: i32, sb2: i32): void {
  binaryFwd(EQUAL, a, b, y, n0, n1, n2, sa0, sa1, sa2, sb0, sb1, sb2);
}
/** Gradients of equal: zero (a step function). */
export function f32_binary_bwd_equal(a: usize, b: usize, y: usize, dy: usize, ga: usize, gb: usize, n0: i32, n1: i32, n2: i32, sa0: i32, sa1: i32, sa2: i32, sb0: i32, sb1: i32, sb2: i32): void {
  binaryBwd(EQUAL, a, b, y, dy, ga, gb, n0, n1, n2, sa0, sa1, sa2, sb0, sb1, sb2);
}

/** y = max(a, b) (NaN if either is), broadcast through strides. */
export function f32_binary_fwd_max(a: usize, b: usize, y: usize, n0: i32, n1: i32, n2: i32, sa0: i32, sa1: i32, sa2: i32, sb0: i32, sb1: i32, sb2: i32): void {
  binaryFwd(MAX, a, b, y, n0, n1, n2, sa0, sa1, sa2, sb0, sb1, sb2);
}
/** Gradients of max (see binaryBwd). */
export function f32_binary_bwd_max(a: usize, b: usize, y: usize, dy: usize, ga: usize, gb: usize, n0: i32, n1: i32, n2: i32, sa0: i32, sa1: i32, sa2: i32, sb0: i32, sb1: i32, sb2: i32): void {
  binaryBwd(MAX, a, b, y, dy, ga, gb, n0, n1, n2, sa0, sa1, sa2, sb0, sb1, sb2);
}
/** y = min(a, b) (NaN if either is), broadcast through strides. */
export function f32_binary_fwd_min(a: usize, b: usize, y: usize, n0: i32, n1: i32, n2: i32, sa0: i32, sa1: i32, sa2: i32, sb0: i32, sb1: i32, sb2: i32): void {
  binaryFwd(MIN, a, b, y, n0, n1, n2, sa0, sa1, sa2, sb0, sb1, sb2);
}
/** Gradients of min (see binaryBwd). */
export function f32_binary_bwd_min(a: usize, b: usize, y: usize, dy: usize, ga: usize, gb: usize, n0: i32, n1: i32, n2: i32, sa0: i32, sa1: i32, sa2: i32, sb0: i32, sb1: i32, sb2: i32): void {
  binaryBwd(MIN, a, b, y, dy, ga, gb, n0, n1, n2, sa0, sa1, sa2, sb0, sb1, sb2);
}
/** y = 1 where a < b, else 0, broadcast through strides. */
export function f32_binary_fwd_less(a: usize, b: usize, y: usize, n0: i32, n1: i32, n2: i32, sa0: i32, sa1: i32, sa2: i32, sb0: i32, sb1: i32, sb2: i32): void {
  binaryFwd(LESS, a, b, y, n0, n1, n2, sa0, sa1, sa2, sb0, sb1, sb2);
}
/** Gradients of less (see binaryBwd). */
export function f32_binary_bwd_less(a: usize, b: usize, y: usize, dy: usize, ga: usize, gb: usize, n0: i32, n1: i32, n2: i32, sa0: i32, sa1: i32, sa2: i32, sb0: i32, sb1: i32, sb2: i32): void {
  binaryBwd(LESS, a, b, y, dy, ga, gb, n0, n1, n2, sa0, sa1, sa2, sb0, sb1, sb2);
}
/** y = 1 where a > b, else 0, broadcast through strides. */
export function f32_binary_fwd_greater(a: usize, b: usize, y: usize, n0: i32, n1: i32, n2: i32, sa0: i32, sa1: i32, sa2: i32, sb0: i32, sb1: i32, sb2: i32): void {
  binaryFwd(GREATER, a, b, y, n0, n1, n2, sa0, sa1, sa2, sb0, sb1, sb2);
}
/** Gradients of greater (see binaryBwd). */
export function f32_binary_bwd_greater(a: usize, b: usize, y: usize, dy: usize, ga: usize, gb: usize, n0: i32, n1: i32, n2: i32, sa0: i32, sa1: i32, sa2: i32, sb0: i32, sb1: i32, sb2: i32): void {
  binaryBwd(GREATER, a, b, y, dy, ga, gb, n0, n1, n2, sa0, sa1, sa2, sb0, sb1, sb2);
}
/** y = 1 where a ≤ b, else 0, broadcast through strides. */
export function f32_binary_fwd_lessOrEqual(a: usize, b: usize, y: usize, n0: i32, n1: i32, n2: i32, sa0: i32, sa1: i32, sa2: i32, sb0: i32, sb1: i32, sb2: i32): void {
  binaryFwd(LESS_EQUAL, a, b, y, n0, n1, n2, sa0, sa1, sa2, sb0, sb1, sb2);
}
/** Gradients of lessOrEqual (see binaryBwd). */
export function f32_binary_bwd_lessOrEqual(a: usize, b: usize, y: usize, dy: usize, ga: usize, gb: usize, n0: i32, n1: i32, n2: i32, sa0: i32, sa1: i32, sa2: i32, sb0: i32, sb1: i32, sb2: i32): void {
  binaryBwd(LESS_EQUAL, a, b, y, dy, ga, gb, n0, n1, n2, sa0, sa1, sa2, sb0, sb1, sb2);
}
/** y = 1 where a ≥ b, else 0, broadcast through strides. */
export function f32_binary_fwd_greaterOrEqual(a: usize, b: usize, y: usize, n0: i32, n1: i32, n2: i32, sa0: i32, sa1: i32, sa2: i32, sb0: i32, sb1: i32, sb2: i32): void {
  binaryFwd(GREATER_EQUAL, a, b, y, n0, n1, n2, sa0, sa1, sa2, sb0, sb1, sb2);
}
/** Gradients of greaterOrEqual (see binaryBwd). */
export function f32_binary_bwd_greaterOrEqual(a: usize, b: usize, y: usize, dy: usize, ga: usize, gb: usize, n0: i32, n1: i32, n2: i32, sa0: i32, sa1: i32, sa2: i32, sb0: i32, sb1: i32, sb2: i32): void {
  binaryBwd(GREATER_EQUAL, a, b, y, dy, ga, gb, n0, n1, n2, sa0, sa1, sa2, sb0, sb1, sb2);
}
/**
 * y = trunc(a / b): integer division as ONNX's Div of integer tensors (toward zero), in float64 so
 * integers up to 2^24 (exact in float32) divide exactly; 0 where b = 0 (numpy's integer division by
 * zero), broadcast through strides.
 */
export function f32_binary_fwd_idiv(a: usize, b: usize, y: usize, n0: i32, n1: i32, n2: i32, sa0: i32, sa1: i32, sa2: i32, sb0: i32, sb1: i32, sb2: i32): void {
  binaryFwd(IDIV, a, b, y, n0, n1, n2, sa0, sa1, sa2, sb0, sb1, sb2);
}
/** Gradients of idiv: zero (a step function). */
export function f32_binary_bwd_idiv(a: usize, b: usize, y: usize, dy: usize, ga: usize, gb: usize, n0: i32, n1: i32, n2: i32, sa0: i32, sa1: i32, sa2: i32, sb0: i32, sb1: i32, sb2: i32): void {
  binaryBwd(IDIV, a, b, y, dy, ga, gb, n0, n1, n2, sa0, sa1, sa2, sb0, sb1, sb2);
}

/** y = a mod b, the remainder of floor(a / b) with b's sign (Python's %, ONNX's Mod with fmod 0; 0 where b = 0), broadcast through strides. */
export function f32_binary_fwd_mod(a: usize, b: usize, y: usize, n0: i32, n1: i32, n2: i32, sa0: i32, sa1: i32, sa2: i32, sb0: i32, sb1: i32, sb2: i32): void {
  binaryFwd(MOD, a, b, y, n0, n1, n2, sa0, sa1, sa2, sb0, sb1, sb2);
}
/** Gradients of mod (see binaryBwd). */
export function f32_binary_bwd_mod(a: usize, b: usize, y: usize, dy: usize, ga: usize, gb: usize, n0: i32, n1: i32, n2: i32, sa0: i32, sa1: i32, sa2: i32, sb0: i32, sb1: i32, sb2: i32): void {
  binaryBwd(MOD, a, b, y, dy, ga, gb, n0, n1, n2, sa0, sa1, sa2, sb0, sb1, sb2);
}
/** y = fmod(a, b), the remainder of trunc(a / b) with a's sign (C's fmod, ONNX's Mod with fmod 1; NaN where b = 0), broadcast through strides. */
export function f32_binary_fwd_fmod(a: usize, b: usize, y: usize, n0: i32, n1: i32, n2: i32, sa0: i32, sa1: i32, sa2: i32, sb0: i32, sb1: i32, sb2: i32): void {
  binaryFwd(FMOD, a, b, y, n0, n1, n2, sa0, sa1, sa2, sb0, sb1, sb2);
}
/** Gradients of fmod (see binaryBwd). */
export function f32_binary_bwd_fmod(a: usize, b: usize, y: usize, dy: usize, ga: usize, gb: usize, n0: i32, n1: i32, n2: i32, sa0: i32, sa1: i32, sa2: i32, sb0: i32, sb1: i32, sb2: i32): void {
  binaryBwd(FMOD, a, b, y, dy, ga, gb, n0, n1, n2, sa0, sa1, sa2, sb0, sb1, sb2);
}

/** Gradients of add (see binaryBwd). */
export function f32_binary_bwd_add(a: usize, b: usize, y: usize, dy: usize, ga: usize, gb: usize, n0: i32, n1: i32, n2: i32, sa0: i32, sa1: i32, sa2: i32, sb0: i32, sb1: i32, sb2: i32): void {
  binaryBwd(ADD, a, b, y, dy, ga, gb, n0, n1, n2, sa0, sa1, sa2, sb0, sb1, sb2);
}
/** Gradients of sub. */
export function f32_binary_bwd_sub(a: usize, b: usize, y: usize, dy: usize, ga: usize, gb: usize, n0: i32, n1: i32, n2: i32, sa0: i32, sa1: i32, sa2: i32, sb0: i32, sb1: i32, sb2: i32): void {
  binaryBwd(SUB, a, b, y, dy, ga, gb, n0, n1, n2, sa0, sa1, sa2, sb0, sb1, sb2);
}
/** Gradients of mul. */
export function f32_binary_bwd_mul(a: usize, b: usize, y: usize, dy: usize, ga: usize, gb: usize, n0: i32, n1: i32, n2: i32, sa0: i32, sa1: i32, sa2: i32, sb0: i32, sb1: i32, sb2: i32): void {
  binaryBwd(MUL, a, b, y, dy, ga, gb, n0, n1, n2, sa0, sa1, sa2, sb0, sb1, sb2);
}
/** Gradients of div. */
export function f32_binary_bwd_div(a: usize, b: usize, y: usize, dy: usize, ga: usize, gb: usize, n0: i32, n1: i32, n2: i32, sa0: i32, sa1: i32, sa2: i32, sb0: i32, sb1: i32, sb2: i32): void {
  binaryBwd(DIV, a, b, y, dy, ga, gb, n0, n1, n2, sa0, sa1, sa2, sb0, sb1, sb2);
}
/** Gradients of pow (reads the forward output y). */
export function f32_binary_bwd_pow(a: usize, b: usize, y: usize, dy: usize, ga: usize, gb: usize, n0: i32, n1: i32, n2: i32, sa0: i32, sa1: i32, sa2: i32, sb0: i32, sb1: i32, sb2: i32): void {
  binaryBwd(POW, a, b, y, dy, ga, gb, n0, n1, n2, sa0, sa1, sa2, sb0, sb1, sb2);
}

/**
 * dst[i·s0 + j·s1 + k·s2] += src[(i·n1 + j)·n2 + k] for i < n0, j < n1, k < n2 (src dense): the sum
 * of a broadcast operand's gradient over the axes it was broadcast along (stride 0). With
 * `clear` ≠ 0, dst's first `clear` floats are zeroed first. Summation in order of src.
 */
export function f32_sum_strided(src: usize, n0: i32, n1: i32, n2: i32, dst: usize, s0: i32, s1: i32, s2: i32, clear: i32): void {
  if (clear > 0) memory.fill(dst, 0, <u32>f4(clear));
  let o = 0;
  for (let i = 0; i < n0; i++) {
    for (let j = 0; j < n1; j++) {
      const pd = dst + f4(i * s0 + j * s1);
      for (let k = 0; k < n2; k++) {
        const p = pd + f4(k * s2);
        store<f32>(p, load<f32>(p) + load<f32>(src + f4(o + k)));
      }
      o += n2;
    }
  }
}

// ---- casts to narrow float types and back (the values a Cast to them keeps) ----

/**
 * y = x rounded to the nearest float16 (ties to even; below 2⁻¹⁴ to a multiple of 2⁻²⁴, the half
 * subnormals; |x| ≥ 65520 to ±∞; NaN stays NaN), as a float32 (every float16 is one exactly). y may
 * alias x. Gradient: the straight-through dy (as PyTorch's cast).
 */
export function f32_cast_f16_fwd(x: usize, y: usize, n: i32): void {
  for (let i = 0; i < n; i++) {
    const b = load<u32>(x + f4(i)), sign = b & 0x80000000, a = b & 0x7fffffff;
    let r: u32;
    if (a >= 0x7f800000) r = b; // ±∞, NaN
    else if (a >= 0x477ff000) r = sign | 0x7f800000; // 65520 and above round past 65504
    else if (a < 0x38800000) {
      // a half subnormal: the nearest multiple of 2⁻²⁴ (exact in f64, ties to even)
      const q = nearest<f64>(<f64>reinterpret<f32>(a) * 16777216.0);
      r = sign | reinterpret<u32>(<f32>(q * 5.9604644775390625e-8));
    } else r = sign | ((a + 0xfff + ((a >> 13) & 1)) & 0xffffe000); // 10 mantissa bits, ties to even
    store<u32>(y + f4(i), r);
  }
}

/**
 * y = x with its low 16 bits cleared: the bfloat16 ONNX 1.12's reference Cast makes (truncation,
 * its backend tests' data; NaN stays NaN), as a float32. y may alias x. Gradient: the straight-through dy.
 */
export function f32_cast_bf16_fwd(x: usize, y: usize, n: i32): void {
  for (let i = 0; i < n; i++) {
    const b = load<u32>(x + f4(i));
    // a NaN whose payload sits in the low bits keeps a mantissa bit
    store<u32>(y + f4(i), (b & 0x7fffffff) > 0x7f800000 ? (b & 0xffff0000) | 0x00400000 : b & 0xffff0000);
  }
}

// ---- where: a choice between two tensors by a condition, all three broadcast ----

/**
 * y[i, j, k] = c ≠ 0 ? a : b, each of c, a, b read through its own strides (0 along the axes it is
 * broadcast over); y dense (n0·n1·n2 floats). NaN conditions choose a (NaN ≠ 0).
 */
export function f32_where_fwd(c: usize, a: usize, b: usize, y: usize, n0: i32, n1: i32, n2: i32, sc0: i32, sc1: i32, sc2: i32, sa0: i32, sa1: i32, sa2: i32, sb0: i32, sb1: i32, sb2: i32): void {
  let o = 0;
  for (let i = 0; i < n0; i++) {
    for (let j = 0; j < n1; j++) {
      const pc = c + f4(i * sc0 + j * sc1), pa = a + f4(i * sa0 + j * sa1), pb = b + f4(i * sb0 + j * sb1);
      for (let k = 0; k < n2; k++) store<f32>(y + f4(o + k), load<f32>(pc + f4(k * sc2)) != 0 ? load<f32>(pa + f4(k * sa2)) : load<f32>(pb + f4(k * sb2)));
      o += n2;
    }
  }
}

/** The gradients of where, dense like y (either pointer 0: not wanted): ga = c ≠ 0 ? dy : 0, gb = c ≠ 0 ? 0 : dy. */
export function f32_where_bwd(c: usize, dy: usize, ga: usize, gb: usize, n0: i32, n1: i32, n2: i32, sc0: i32, sc1: i32, sc2: i32): void {
  let o = 0;
  for (let i = 0; i < n0; i++) {
    for (let j = 0; j < n1; j++) {
      const pc = c + f4(i * sc0 + j * sc1);
      for (let k = 0; k < n2; k++) {
        const g = load<f32>(dy + f4(o + k)), on = load<f32>(pc + f4(k * sc2)) != 0;
        if (ga) store<f32>(ga + f4(o + k), on ? g : <f32>0);
        if (gb) store<f32>(gb + f4(o + k), on ? <f32>0 : g);
      }
      o += n2;
    }
  }
}
