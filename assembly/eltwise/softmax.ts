// Row softmax and log-softmax over a rows×cols row-major matrix (one distribution per row).
import { f4 } from "../common/simd";
import { expv } from "../common/math";

function rowMax(x: usize, cols: i32): f32 {
  let m = f32x4.splat(-Infinity);
  let c = 0;
  for (; c + 4 <= cols; c += 4) m = f32x4.max(m, v128.load(x + f4(c)));
  let s = max(max(f32x4.extract_lane(m, 0), f32x4.extract_lane(m, 1)), max(f32x4.extract_lane(m, 2), f32x4.extract_lane(m, 3)));
  for (; c < cols; c++) s = max(s, load<f32>(x + f4(c)));
  return s;
}

/** y[c] = exp(x[c] − shift), returns Σ y (sum kept in f32 lanes, then added in f64). */
function expShifted(x: usize, y: usize, cols: i32, shift: f32): f64 {
  const vs = f32x4.splat(shift);
  let acc = f32x4.splat(0);
  let c = 0;
  for (; c + 4 <= cols; c += 4) {
    const e = expv(f32x4.sub(v128.load(x + f4(c)), vs));
    v128.store(y + f4(c), e);
    acc = f32x4.add(acc, e);
  }
  let sum: f64 = <f64>f32x4.extract_lane(acc, 0) + <f64>f32x4.extract_lane(acc, 1) +
    <f64>f32x4.extract_lane(acc, 2) + <f64>f32x4.extract_lane(acc, 3);
  for (; c < cols; c++) {
    const e = f32x4.extract_lane(expv(f32x4.splat(load<f32>(x + f4(c)) - shift)), 0);
    store<f32>(y + f4(c), e);
    sum += e;
  }
  return sum;
}

function dot(a: usize, b: usize, cols: i32): f64 {
  let acc = f32x4.splat(0);
  let c = 0;
  for (; c + 4 <= cols; c += 4) acc = f32x4.add(acc, f32x4.mul(v128.load(a + f4(c)), v128.load(b + f4(c))));
  let s: f64 = <f64>f32x4.extract_lane(acc, 0) + <f64>f32x4.extract_lane(acc, 1) +
    <f64>f32x4.extract_lane(acc, 2) + <f64>f32x4.extract_lane(acc, 3);
  for (; c < cols; c++) s += <f64>(load<f32>(a + f4(c)) * load<f32>(b + f4(c)));
  return s;
}

/** y = softmax(x) per row: exp(x − max) / Σ exp(x − max). Stable for any finite x. y may alias x. */
export function f32_softmax_fwd(x: usize, y: usize, rows: i32, cols: i32): void {
  for (let r = 0; r < rows; r++) {
    const xr = x + f4(r * cols), yr = y + f4(r * cols);
    const m = rowMax(xr, cols);
    const inv = f32x4.splat(<f32>(1.0 / expShifted(xr, yr, cols, m)));
    let c = 0;
    for (; c + 4 <= cols; c += 4) v128.store(yr + f4(c), f32x4.mul(v128.load(yr + f4(c)), inv));
    for (; c < cols; c++) store<f32>(yr + f4(c), load<f32>(yr + f4(c)) * f32x4.extract_lane(inv, 0));
  }
}

/** dx = y ⊙ (dy − Σ_c dy·y) per row (softmax Jacobian-vector product). dx may alias dy. */
export function f32_softmax_bwd(y: usize, dy: usize, dx: usize, rows: i32, cols: i32): void {
  for (let r = 0; r < rows; r++) {
    const yr = y + f4(r * cols), gr = dy + f4(r * cols), dr = dx + f4(r * cols);
    const s = f32x4.splat(<f32>dot(gr, yr, cols));
    let c = 0;
    for (; c + 4 <= cols; c += 4) {
      v128.store(dr + f4(c), f32x4.mul(v128.load(yr + f4(c)), f32x4.sub(v128.load(gr + f4(c)), s)));
    }
    for (; c < cols; c++) {
      store<f32>(dr + f4(c), load<f32>(yr + f4(c)) * (load<f32>(gr + f4(c)) - f32x4.extract_lane(s, 0)));
    }
  }
}

/** y = x − max − log Σ exp(x − max) per row. y may alias x (y is used as scratch for the exps). */
export function f32_log_softmax_fwd(x: usize, y: usize, rows: i32, cols: i32): void {
  for (let r = 0; r < rows; r++) {
    const xr = x + f4(r * cols), yr = y + f4(r * cols);
    const m = rowMax(xr, cols);
    // the exps go to y first; x is read again below, so only compute them if y does not alias x
    let lse: f32;
    if (xr == yr) {
      let s: f64 = 0;
      for (let c = 0; c < cols; c++) s += <f64>f32x4.extract_lane(expv(f32x4.splat(load<f32>(xr + f4(c)) - m)), 0);
      lse = m + <f32>Math.log(s);
    } else {
      lse = m + <f32>Math.log(expShifted(xr, yr, cols, m));
    }
    const vl = f32x4.splat(lse);
    let c = 0;
    for (; c + 4 <= cols; c += 4) v128.store(yr + f4(c), f32x4.sub(v128.load(xr + f4(c)), vl));
    for (; c < cols; c++) store<f32>(yr + f4(c), load<f32>(xr + f4(c)) - lse);
  }
}

/** dx = dy − exp(y) · Σ_c dy per row (log-softmax Jacobian-vector product). dx may alias dy. */
export function f32_log_softmax_bwd(y: usize, dy: usize, dx: usize, rows: i32, cols: i32): void {
  for (let r = 0; r < rows; r++) {
    const yr = y + f4(r * cols), gr = dy + f4(r * cols), dr = dx + f4(r * cols);
    let s: f64 = 0;
    for (let c = 0; c < cols; c++) s += <f64>load<f32>(gr + f4(c));
    const vs = f32x4.splat(<f32>s);
    let c = 0;
    for (; c + 4 <= cols; c += 4) {
      v128.store(dr + f4(c), f32x4.sub(v128.load(gr + f4(c)), f32x4.mul(expv(v128.load(yr + f4(c))), vs)));
    }
    for (; c < cols; c++) {
      const e = f32x4.extract_lane(expv(f32x4.splat(load<f32>(yr + f4(c)))), 0);
      store<f32>(dr + f4(c), load<f32>(gr + f4(c)) - e * <f32>s);
    }
  }
}
