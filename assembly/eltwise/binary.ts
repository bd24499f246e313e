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

/** dbias[(4·v + l) mod cols] += lane l of s, for the 4 lanes of vector column v. */
// @ts-ignore: decorator
@inline function scatterLanes(s: v128, v: i32, cols: i32, dbias: usize): void {
  const c = 4 * v;
  let p = dbias + f4(c % cols);
  store<f32>(p, load<f32>(p) + f32x4.extract_lane(s, 0));
  p = dbias + f4((c + 1) % cols);
  store<f32>(p, load<f32>(p) + f32x4.extract_lane(s, 1));
  p = dbias + f4((c + 2) % cols);
  store<f32>(p, load<f32>(p) + f32x4.extract_lane(s, 2));
  p = dbias + f4((c + 3) % cols);
  store<f32>(p, load<f32>(p) + f32x4.extract_lane(s, 3));
}

/** Sums nv (1..4, a constant at each call) vector columns v0.. of `blocks` rows `stride` bytes apart, then scatters them. */
// @ts-ignore: decorator
@inline function columnSums(p: usize, blocks: i32, stride: usize, nv: i32, v0: i32, cols: i32, dbias: usize): void {
  let s0 = f32x4.splat(0), s1 = s0, s2 = s0, s3 = s0;
  for (let b = 0; b < blocks; b++) {
    s0 = f32x4.add(s0, v128.load(p));
    if (nv > 1) s1 = f32x4.add(s1, v128.load(p, 16));
    if (nv > 2) s2 = f32x4.add(s2, v128.load(p, 32));
    if (nv > 3) s3 = f32x4.add(s3, v128.load(p, 48));
    p += stride;
  }
  scatterLanes(s0, v0, cols, dbias);
  if (nv > 1) scatterLanes(s1, v0 + 1, cols, dbias);
  if (nv > 2) scatterLanes(s2, v0 + 2, cols, dbias);
  if (nv > 3) scatterLanes(s3, v0 + 3, cols, dbias);
}

/**
 * dbias[c] = Σ_r dy[r, c] (overwrites dbias), for any cols: R = 4 / gcd(cols, 4) consecutive rows
 * are one block of cols·R floats, a whole number of vectors whose lanes always fall on the same
 * channels, so the blocks are summed as vector columns (four at a time, reading each row once)
 * and each lane is added to its channel at the end; the rows past the last whole block are added
 * one by one. Summation order: per vector column, blocks in order, then the leftover rows.
 */
export function f32_bias_bwd(dy: usize, rows: i32, cols: i32, dbias: usize): void {
  zero(dbias, cols);
  if (cols == 0) return;
  const R = (cols & 3) == 0 ? 1 : (cols & 1) == 0 ? 2 : 4;
  const width = cols * R, nvec = width >> 2, blocks = rows / R;
  const stride = f4(width);
  let v = 0;
  for (; v + 4 <= nvec; v += 4) columnSums(dy + f4(4 * v), blocks, stride, 4, v, cols, dbias);
  const left = nvec - v, p = dy + f4(4 * v);
  if (left == 3) columnSums(p, blocks, stride, 3, v, cols, dbias);
  else if (left == 2) columnSums(p, blocks, stride, 2, v, cols, dbias);
  else if (left == 1) columnSums(p, blocks, stride, 1, v, cols, dbias);
  for (let r = blocks * R; r < rows; r++) addTo(dbias, dy + f4(r * cols), cols);
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
