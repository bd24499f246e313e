// Activations, forward and backward, lane-wise over n floats. Forward may run in place (y = x).
// Every backward takes the forward OUTPUT y (so the forward can overwrite its input):
// that is exact for ReLU, ReLU6, leaky ReLU and ELU with alpha >= 0 (y > 0 ⇔ x > 0), and the
// usual form for sigmoid and tanh. dx may alias dy.
import { f4, relu, relu6 } from "../common/simd";
import { expv, tanhv } from "../common/math";

const RELU = 0, RELU6 = 1, LEAKY = 2, ELU = 3, SIGMOID = 4, TANH = 5;

/** Forward of activation `op` on 4 lanes. `op` is a constant at every call site, so this folds away. */
// @ts-ignore: decorator
@inline function fwd(op: i32, v: v128, a: f32): v128 {
  const zero = f32x4.splat(0);
  switch (op) {
    case RELU: return relu(v);
    case RELU6: return relu6(v);
    case LEAKY: return v128.bitselect(v, f32x4.mul(v, f32x4.splat(a)), f32x4.gt(v, zero));
    case ELU: return v128.bitselect(v, f32x4.mul(f32x4.splat(a), f32x4.sub(expv(f32x4.pmin(v, zero)), f32x4.splat(1))), f32x4.gt(v, zero));
    case SIGMOID: return f32x4.div(f32x4.splat(1), f32x4.add(f32x4.splat(1), expv(f32x4.neg(v))));
    default: return tanhv(v);
  }
}

/** Backward of activation `op` on 4 lanes, from the forward output y and the incoming gradient g. */
// @ts-ignore: decorator
@inline function bwd(op: i32, y: v128, g: v128, a: f32): v128 {
  const zero = f32x4.splat(0);
  switch (op) {
    case RELU: return v128.and(g, f32x4.gt(y, zero));
    case RELU6: return v128.and(g, v128.and(f32x4.gt(y, zero), f32x4.lt(y, f32x4.splat(6))));
    case LEAKY: return v128.bitselect(g, f32x4.mul(g, f32x4.splat(a)), f32x4.gt(y, zero));
    case ELU: return v128.bitselect(g, f32x4.mul(g, f32x4.add(y, f32x4.splat(a))), f32x4.gt(y, zero));
    case SIGMOID: return f32x4.mul(g, f32x4.mul(y, f32x4.sub(f32x4.splat(1), y)));
    default: return f32x4.mul(g, f32x4.sub(f32x4.splat(1), f32x4.mul(y, y)));
  }
}

// @ts-ignore: decorator
@inline function map1(op: i32, x: usize, y: usize, n: i32, a: f32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) v128.store(y + f4(i), fwd(op, v128.load(x + f4(i)), a));
  for (; i < n; i++) v128.store32_lane(y + f4(i), fwd(op, v128.load32_zero(x + f4(i)), a), 0);
}

// @ts-ignore: decorator
@inline function map2(op: i32, y: usize, dy: usize, dx: usize, n: i32, a: f32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) v128.store(dx + f4(i), bwd(op, v128.load(y + f4(i)), v128.load(dy + f4(i)), a));
  for (; i < n; i++) {
    v128.store32_lane(dx + f4(i), bwd(op, v128.load32_zero(y + f4(i)), v128.load32_zero(dy + f4(i)), a), 0);
  }
}

/** y = max(x, 0). */
export function f32_relu_fwd(x: usize, y: usize, n: i32): void {
  map1(RELU, x, y, n, 0);
}
/** dx = dy where y > 0, else 0 (the subgradient at 0 is 0). */
export function f32_relu_bwd(y: usize, dy: usize, dx: usize, n: i32): void {
  map2(RELU, y, dy, dx, n, 0);
}

/** y = min(max(x, 0), 6). */
export function f32_relu6_fwd(x: usize, y: usize, n: i32): void {
  map1(RELU6, x, y, n, 0);
}
/** dx = dy where 0 < y < 6, else 0. */
export function f32_relu6_bwd(y: usize, dy: usize, dx: usize, n: i32): void {
  map2(RELU6, y, dy, dx, n, 0);
}

/** y = x for x > 0, alpha·x otherwise (alpha >= 0). */
export function f32_leaky_relu_fwd(x: usize, y: usize, n: i32, alpha: f32): void {
  map1(LEAKY, x, y, n, alpha);
}
/** dx = dy for y > 0, alpha·dy otherwise. */
export function f32_leaky_relu_bwd(y: usize, dy: usize, dx: usize, n: i32, alpha: f32): void {
  map2(LEAKY, y, dy, dx, n, alpha);
}

/** y = x for x > 0, alpha·(eˣ − 1) otherwise (alpha >= 0). */
export function f32_elu_fwd(x: usize, y: usize, n: i32, alpha: f32): void {
  map1(ELU, x, y, n, alpha);
}
/** dx = dy for y > 0, dy·(y + alpha) otherwise (= dy·alpha·eˣ). */
export function f32_elu_bwd(y: usize, dy: usize, dx: usize, n: i32, alpha: f32): void {
  map2(ELU, y, dy, dx, n, alpha);
}

/** y = 1 / (1 + e⁻ˣ). */
export function f32_sigmoid_fwd(x: usize, y: usize, n: i32): void {
  map1(SIGMOID, x, y, n, 0);
}
/** dx = dy · y · (1 − y). */
export function f32_sigmoid_bwd(y: usize, dy: usize, dx: usize, n: i32): void {
  map2(SIGMOID, y, dy, dx, n, 0);
}

/** y = tanh(x). */
export function f32_tanh_fwd(x: usize, y: usize, n: i32): void {
  map1(TANH, x, y, n, 0);
}
/** dx = dy · (1 − y²). */
export function f32_tanh_bwd(y: usize, dy: usize, dx: usize, n: i32): void {
  map2(TANH, y, dy, dx, n, 0);
}
