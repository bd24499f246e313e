// Elementwise binary ops and bias: add, bias add (per column), bias gradient (column sums).
import { f4 } from "../common/simd";

/**
 * out[i] = a[i] + b[i] for i in [0, n). Elementwise add (residual add), float32.
 * Gradient: dA = dOut, dB = dOut (no kernel needed).
 * Pointers are byte addresses of f32 arrays; `out` may alias `a` or `b`. n >= 0.
 */
export function f32_add_fwd(a: usize, b: usize, out: usize, n: i32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    v128.store(out + f4(i), f32x4.add(v128.load(a + f4(i)), v128.load(b + f4(i))));
  }
  for (; i < n; i++) {
    store<f32>(out + f4(i), load<f32>(a + f4(i)) + load<f32>(b + f4(i)));
  }
}

/** dst[i] += src[i], i in [0, n). Internal helper (col2im, gradient accumulation). */
export function addTo(dst: usize, src: usize, n: i32): void {
  f32_add_fwd(dst, src, dst, n);
}

/** dst[i] = 0, i in [0, n). */
export function zero(dst: usize, n: i32): void {
  memory.fill(dst, 0, <u32>f4(n));
}

/**
 * y[r, c] = x[r, c] + bias[c] for a rows×cols row-major matrix (NHWC: rows = pixels, cols =
 * channels). y may alias x. Gradient: dx = dy, dbias = f32_bias_bwd(dy).
 */
export function f32_bias_add_fwd(x: usize, bias: usize, y: usize, rows: i32, cols: i32): void {
  for (let r = 0; r < rows; r++) {
    const xr = x + f4(r * cols), yr = y + f4(r * cols);
    let c = 0;
    for (; c + 4 <= cols; c += 4) v128.store(yr + f4(c), f32x4.add(v128.load(xr + f4(c)), v128.load(bias + f4(c))));
    for (; c < cols; c++) store<f32>(yr + f4(c), load<f32>(xr + f4(c)) + load<f32>(bias + f4(c)));
  }
}

/** dbias[c] = Σ_r dy[r, c] (overwrites dbias). Rows are summed in order. */
export function f32_bias_bwd(dy: usize, rows: i32, cols: i32, dbias: usize): void {
  zero(dbias, cols);
  for (let r = 0; r < rows; r++) addTo(dbias, dy + f4(r * cols), cols);
}

/** y[i] = alpha · x[i] + beta · y[i] (beta = 0 does not read y). Scaling, SGD-style updates. */
export function f32_axpby(n: i32, alpha: f32, x: usize, beta: f32, y: usize): void {
  const va = f32x4.splat(alpha), vb = f32x4.splat(beta);
  let i = 0;
  if (beta == 0) {
    for (; i + 4 <= n; i += 4) v128.store(y + f4(i), f32x4.mul(va, v128.load(x + f4(i))));
    for (; i < n; i++) store<f32>(y + f4(i), alpha * load<f32>(x + f4(i)));
  } else {
    for (; i + 4 <= n; i += 4) {
      v128.store(y + f4(i), f32x4.add(f32x4.mul(va, v128.load(x + f4(i))), f32x4.mul(vb, v128.load(y + f4(i)))));
    }
    for (; i < n; i++) store<f32>(y + f4(i), alpha * load<f32>(x + f4(i)) + beta * load<f32>(y + f4(i)));
  }
}
