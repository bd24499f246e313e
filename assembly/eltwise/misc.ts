// Elementwise product (dropout masks), strided row copies (channel concat / split), maxout, and
// permutes of three axes (row copies and strided 2-D transposes) and of four to six, argmax.
import { copyRow, f4, storePartial } from "../common/simd";
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

/**
 * y[c·ys + r] = x[r·xs + c] for rows r < R and columns c in [c0, c1): a strided 2-D transpose, by
 * 4 × 4 blocks transposed in registers (1–3 leftover rows as a block with zero rows, stored
 * partly), in bands of 32 rows so that a band's columns come from lines already cached.
 */
function transpose2(x: usize, xs: i32, y: usize, ys: i32, R: i32, c0: i32, c1: i32): void {
  const c4 = c0 + ((c1 - c0) & ~3);
  for (let rb = 0; rb < R; rb += 32) {
    const re = min(R, rb + 32), r4 = rb + ((re - rb) & ~3), left = re - r4;
    for (let c = c0; c < c4; c += 4) {
      for (let r = rb; r < re; r += 4) {
        const n = r < r4 ? 4 : left;
        const s = x + f4(r * xs + c), z = f32x4.splat(0);
        const a = v128.load(s), b = n > 1 ? v128.load(s + f4(xs)) : z;
        const e = n > 2 ? v128.load(s + f4(2 * xs)) : z, g = n > 3 ? v128.load(s + f4(3 * xs)) : z;
        const t0 = v128.shuffle<f32>(a, b, 0, 4, 1, 5), t1 = v128.shuffle<f32>(e, g, 0, 4, 1, 5);
        const u0 = v128.shuffle<f32>(a, b, 2, 6, 3, 7), u1 = v128.shuffle<f32>(e, g, 2, 6, 3, 7);
        const d = y + f4(c * ys + r);
        storePartial(d, v128.shuffle<f32>(t0, t1, 0, 1, 4, 5), n);
        storePartial(d + f4(ys), v128.shuffle<f32>(t0, t1, 2, 3, 6, 7), n);
        storePartial(d + f4(2 * ys), v128.shuffle<f32>(u0, u1, 0, 1, 4, 5), n);
        storePartial(d + f4(3 * ys), v128.shuffle<f32>(u0, u1, 2, 3, 6, 7), n);
      }
    }
    for (let c = c4; c < c1; c++) {
      for (let r = rb; r < re; r++) store<f32>(y + f4(c * ys + r), load<f32>(x + f4(r * xs + c)));
    }
  }
}

/**
 * Permutes the axes of `batch` examples of shape [d0, d1, d2]: y[b][i_{p0}][i_{p1}][i_{p2}] =
 * x[b][i0][i1][i2], i.e. output axis k is input axis p_k (e.g. p = 1, 2, 0 turns CHW into HWC).
 * The inverse permutation is the gradient. Only the outputs whose first index is in [a0, a1)
 * are written (of every example): a part of a split. Every permutation is row copies or strided
 * 2-D transposes (transpose2).
 */
export function f32_permute3(x: usize, batch: i32, d0: i32, d1: i32, d2: i32, p0: i32, p1: i32, p2: i32, y: usize, a0: i32, a1: i32): void {
  const n = d0 * d1 * d2;
  for (let b = 0; b < batch; b++) {
    const xb = x + f4(b * n), yb = y + f4(b * n);
    if (p0 == 0 && p1 == 1) { // identity: rows a0..a1 of d1·d2
      copyRow(yb + f4(a0 * d1 * d2), xb + f4(a0 * d1 * d2), (a1 - a0) * d1 * d2);
    } else if (p0 == 0) { // (0, 2, 1): each [d1][d2] transposed
      for (let i = a0; i < a1; i++) transpose2(xb + f4(i * d1 * d2), d2, yb + f4(i * d1 * d2), d1, d1, 0, d2);
    } else if (p0 == 1 && p1 == 0) { // (1, 0, 2): rows of d2 reordered
      for (let i = a0; i < a1; i++) {
        for (let j = 0; j < d0; j++) copyRow(yb + f4((i * d0 + j) * d2), xb + f4((j * d1 + i) * d2), d2);
      }
    } else if (p0 == 1) { // (1, 2, 0): [d0][d1·d2] transposed
      transpose2(xb, d1 * d2, yb, d0, d0, a0 * d2, a1 * d2);
    } else if (p1 == 0) { // (2, 0, 1): [d0·d1][d2] transposed
      transpose2(xb, d2, yb, d0 * d1, d0 * d1, a0, a1);
    } else { // (2, 1, 0): for each i1, [d0][d2] (rows d1·d2 apart) transposed into rows d1·d0 apart
      for (let i = 0; i < d1; i++) transpose2(xb + f4(i * d2), d1 * d2, yb + f4(i * d0), d1 * d0, d0, a0, a1);
    }
  }
}

/** The k-th of six values (k < 6): the permute's dims and strides indexed by an axis number. */
@inline function pick6(k: i32, a: i32, b: i32, c: i32, d: i32, e: i32, f: i32): i32 {
  return k == 0 ? a : k == 1 ? b : k == 2 ? c : k == 3 ? d : k == 4 ? e : f;
}

/**
 * Each of `batch` examples [d0, …, d5] with its axes reordered: output axis k is input axis
 * p_k = (code >> 3k) & 7. The output's first four axes, flattened, are cut into [o0, o1): each
 * such index writes its o4 × o5 block of the output — rows copied where the last output axis is
 * the input's last (p5 = 5), a strided 2-D transpose where the input's last axis is the output's
 * fifth, else value by value. The caller merges axes that stay next to each other and drops axes
 * of one value (so no two output axes next to each other are input axes next to each other).
 */
export function f32_permute6(x: usize, batch: i32, d0: i32, d1: i32, d2: i32, d3: i32, d4: i32, d5: i32, code: i32, y: usize, o0: i32, o1: i32): void {
  const s5 = 1, s4 = d5, s3 = d4 * d5, s2 = d3 * s3, s1 = d2 * s2, s0 = d1 * s1, n = d0 * s0;
  const p0 = code & 7, p1 = (code >> 3) & 7, p2 = (code >> 6) & 7, p3 = (code >> 9) & 7, p4 = (code >> 12) & 7, p5 = (code >> 15) & 7;
  const e1 = pick6(p1, d0, d1, d2, d3, d4, d5), e2 = pick6(p2, d0, d1, d2, d3, d4, d5), e3 = pick6(p3, d0, d1, d2, d3, d4, d5);
  const e4 = pick6(p4, d0, d1, d2, d3, d4, d5), e5 = pick6(p5, d0, d1, d2, d3, d4, d5);
  const r0 = pick6(p0, s0, s1, s2, s3, s4, s5), r1 = pick6(p1, s0, s1, s2, s3, s4, s5), r2 = pick6(p2, s0, s1, s2, s3, s4, s5);
  const r3 = pick6(p3, s0, s1, s2, s3, s4, s5), r4 = pick6(p4, s0, s1, s2, s3, s4, s5), r5 = pick6(p5, s0, s1, s2, s3, s4, s5);
  const inner = e4 * e5;
  for (let b = 0; b < batch; b++) {
    const xb = x + f4(b * n), yb = y + f4(b * n);
    for (let o = o0; o < o1; o++) {
      let t = o;
      const i3 = t % e3;
      t /= e3;
      const i2 = t % e2;
      t /= e2;
      const i1 = t % e1, i0 = t / e1;
      const src = xb + f4(i0 * r0 + i1 * r1 + i2 * r2 + i3 * r3), dst = yb + f4(o * inner);
      if (r5 == 1) {
        for (let i4 = 0; i4 < e4; i4++) copyRow(dst + f4(i4 * e5), src + f4(i4 * r4), e5);
      } else if (r4 == 1) {
        transpose2(src, r5, dst, e5, e5, 0, e4);
      } else {
        for (let i4 = 0; i4 < e4; i4++) {
          for (let i5 = 0; i5 < e5; i5++) store<f32>(dst + f4(i4 * e5 + i5), load<f32>(src + f4(i4 * r4 + i5 * r5)));
        }
      }
    }
  }
}

/**
 * y[r] = the index, as a float, of the largest of row r's `cols` values (x[r·cols …]): the first
 * of equal ones, or the last (last = 1); NaN is larger than any number, as numpy's argmax has it.
 */
export function f32_argmax_fwd(x: usize, rows: i32, cols: i32, last: i32, y: usize): void {
  const later = last != 0;
  for (let r = 0; r < rows; r++) {
    const s = x + f4(r * cols);
    let best = load<f32>(s), at = 0;
    for (let j = 1; j < cols; j++) {
      const v = load<f32>(s + f4(j));
      const wins = isNaN<f32>(best) ? later && isNaN<f32>(v) : isNaN<f32>(v) || v > best || (later && v == best);
      if (wins) {
        best = v;
        at = j;
      }
    }
    store<f32>(y + f4(r), <f32>at);
  }
}

/** dx = 0 (n floats): the gradient of a layer whose outputs are piecewise constant (argMax). */
export function f32_zero(dx: usize, n: i32): void {
  zero(dx, n);
}
