// Elementwise product (dropout masks), strided row copies (channel concat / split), maxout.
import { f4 } from "../common/simd";
import { zero } from "./binary";

/** out[i] = a[i] · b[i]. Dropout forward and backward (b = the scaled keep mask). out may alias a. */
export function f32_mul_fwd(a: usize, b: usize, out: usize, n: i32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) v128.store(out + f4(i), f32x4.mul(v128.load(a + f4(i)), v128.load(b + f4(i))));
  for (; i < n; i++) store<f32>(out + f4(i), load<f32>(a + f4(i)) * load<f32>(b + f4(i)));
}

/**
 * dst[r·dstStride + j] = src[r·srcStride + j] (add = 0) or += (add = 1), j < cols, r < rows.
 * Channel concat copies each input's channels into its slice of the output; the backward
 * copies the slices back out (add = 1 where a gradient already holds a contribution).
 */
export function f32_copy_rows(src: usize, srcStride: i32, dst: usize, dstStride: i32, rows: i32, cols: i32, add: i32): void {
  for (let r = 0; r < rows; r++) {
    const s = src + f4(r * srcStride), d = dst + f4(r * dstStride);
    let j = 0;
    if (add) {
      for (; j + 4 <= cols; j += 4) v128.store(d + f4(j), f32x4.add(v128.load(d + f4(j)), v128.load(s + f4(j))));
      for (; j < cols; j++) store<f32>(d + f4(j), load<f32>(d + f4(j)) + load<f32>(s + f4(j)));
    } else {
      for (; j + 4 <= cols; j += 4) v128.store(d + f4(j), v128.load(s + f4(j)));
      for (; j < cols; j++) store<f32>(d + f4(j), load<f32>(s + f4(j)));
    }
  }
}

/**
 * Maxout over groups of k consecutive channels: y[r, i] = max_{j < k} x[r, i·k + j] (C = out·k);
 * argmax[r, i] receives the flat index into x of the first maximum.
 */
export function f32_maxout_fwd(x: usize, rows: i32, out: i32, k: i32, y: usize, argmax: usize): void {
  for (let r = 0; r < rows; r++) {
    for (let i = 0; i < out; i++) {
      let at = (r * out + i) * k;
      let best = load<f32>(x + f4(at));
      for (let j = 1; j < k; j++) {
        const v = load<f32>(x + f4((r * out + i) * k + j));
        if (v > best) {
          best = v;
          at = (r * out + i) * k + j;
        }
      }
      store<f32>(y + f4(r * out + i), best);
      store<i32>(argmax + f4(r * out + i), at);
    }
  }
}

/** Maxout gradient: dx = 0, dx[argmax[i]] = dy[i]. Overwrites dx (rows·out·k floats). */
export function f32_maxout_bwd(dy: usize, argmax: usize, rows: i32, out: i32, k: i32, dx: usize): void {
  zero(dx, rows * out * k);
  for (let i = 0; i < rows * out; i++) store<f32>(dx + f4(load<i32>(argmax + f4(i))), load<f32>(dy + f4(i)));
}

// @ts-ignore: decorator
@inline function axisDim(a: i32, d0: i32, d1: i32, d2: i32): i32 {
  return a == 0 ? d0 : a == 1 ? d1 : d2;
}

// @ts-ignore: decorator
@inline function axisStride(a: i32, d1: i32, d2: i32): i32 {
  return a == 0 ? d1 * d2 : a == 1 ? d2 : 1;
}

/**
 * Permutes the axes of `batch` examples of shape [d0, d1, d2]: y[b][i_{p0}][i_{p1}][i_{p2}] =
 * x[b][i0][i1][i2], i.e. output axis k is input axis p_k (e.g. p = 1, 2, 0 turns CHW into HWC).
 * The inverse permutation is the gradient.
 */
export function f32_permute3(x: usize, batch: i32, d0: i32, d1: i32, d2: i32, p0: i32, p1: i32, p2: i32, y: usize): void {
  const n = d0 * d1 * d2;
  // output axis k runs over input axis p_k: its extent and its input stride
  const e0 = axisDim(p0, d0, d1, d2), e1 = axisDim(p1, d0, d1, d2), e2 = axisDim(p2, d0, d1, d2);
  const t0 = axisStride(p0, d1, d2), t1 = axisStride(p1, d1, d2), t2 = axisStride(p2, d1, d2);
  for (let b = 0; b < batch; b++) {
    const xb = x + f4(b * n), yb = y + f4(b * n);
    let o = 0;
    for (let i = 0; i < e0; i++) {
      for (let j = 0; j < e1; j++) {
        const base = i * t0 + j * t1;
        for (let k = 0; k < e2; k++) store<f32>(yb + f4(o++), load<f32>(xb + f4(base + k * t2)));
      }
    }
  }
}
