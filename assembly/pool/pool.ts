// 2-D pooling on NHWC activations, SIMD across channels. Geometry block: common/geometry.ts
// (POOL_*). Output (oh, ow) covers input rows ih in [oh·SH − PT, oh·SH − PT + KH) and likewise
// for columns, clipped to the input; the host guarantees every window holds at least one input
// pixel (the ceil-mode rule that the last window must start inside the input or left padding).

import { f4 } from "../common/simd";
import {
  geo, POOL_N, POOL_H, POOL_W, POOL_C, POOL_OH, POOL_OW, POOL_KH, POOL_KW, POOL_SH, POOL_SW,
  POOL_PT, POOL_PL, POOL_COUNT_PAD, POOL_HP, POOL_WP,
} from "../common/geometry";
import { zero } from "../eltwise/binary";

/**
 * Max pooling: y[n,oh,ow,c] = max over the window of x[n,ih,iw,c]. If argmax != 0 it receives,
 * per output element, the flat index into x of the maximum. Ties: the first maximum in scan
 * order (window rows top to bottom, then columns left to right) wins; NaN never wins.
 */
export function f32_maxpool2d_fwd(g: usize, x: usize, y: usize, argmax: usize): void {
  if (argmax != 0) maxpoolFwd(g, x, y, argmax, true);
  else maxpoolFwd(g, x, y, 0, false);
}

/** Max (and, if keep, argmax) of 4 channels over a rows × cols window starting at flat index `at`. */
// @ts-ignore: decorator
@inline function maxBlock(x: usize, y: usize, argmax: usize, keep: bool, at0: i32, o: i32, rows: i32, cols: i32, rowStep: i32, C: i32): void {
  const lane = i32x4(0, 1, 2, 3);
  // the first tap seeds the maximum; taps step by pointer (no index arithmetic per tap)
  let best = v128.load(x + f4(at0));
  let idx = i32x4.add(i32x4.splat(at0), lane);
  let rowAt = at0;
  for (let r = 0; r < rows; r++, rowAt += rowStep) {
    let at = rowAt;
    for (let q = 0; q < cols; q++, at += C) {
      const v = v128.load(x + f4(at));
      const gt = f32x4.gt(v, best);
      best = v128.bitselect(v, best, gt);
      if (keep) idx = v128.bitselect(i32x4.add(i32x4.splat(at), lane), idx, gt);
    }
  }
  v128.store(y + f4(o), best);
  if (keep) v128.store(argmax + f4(o), idx);
}

/** maxBlock for a whole 2×2 window: the four taps at `at`, `at + C`, `at + W·C`, `at + W·C + C`, in scan order. */
// @ts-ignore: decorator
@inline function maxBlock2x2(x: usize, y: usize, argmax: usize, keep: bool, at: i32, o: i32, rowStep: i32, C: i32): void {
  const lane = i32x4(0, 1, 2, 3);
  const p = x + f4(at), q = p + f4(rowStep);
  let best = v128.load(p);
  let idx = i32x4.add(i32x4.splat(at), lane);
  const v1 = v128.load(p + f4(C)), v2 = v128.load(q), v3 = v128.load(q + f4(C));
  let gt = f32x4.gt(v1, best);
  best = v128.bitselect(v1, best, gt);
  if (keep) idx = v128.bitselect(i32x4.add(i32x4.splat(at + C), lane), idx, gt);
  gt = f32x4.gt(v2, best);
  best = v128.bitselect(v2, best, gt);
  if (keep) idx = v128.bitselect(i32x4.add(i32x4.splat(at + rowStep), lane), idx, gt);
  gt = f32x4.gt(v3, best);
  best = v128.bitselect(v3, best, gt);
  if (keep) idx = v128.bitselect(i32x4.add(i32x4.splat(at + rowStep + C), lane), idx, gt);
  v128.store(y + f4(o), best);
  if (keep) v128.store(argmax + f4(o), idx);
}

/** The max-pool forward, specialised at compile time for keeping argmax or not. */
// @ts-ignore: decorator
@inline function maxpoolFwd(g: usize, x: usize, y: usize, argmax: usize, keep: bool): void {
  const N = geo(g, POOL_N), H = geo(g, POOL_H), W = geo(g, POOL_W), C = geo(g, POOL_C);
  const OH = geo(g, POOL_OH), OW = geo(g, POOL_OW), KH = geo(g, POOL_KH), KW = geo(g, POOL_KW);
  const SH = geo(g, POOL_SH), SW = geo(g, POOL_SW), PT = geo(g, POOL_PT), PL = geo(g, POOL_PL);
  if (KH == 2 && KW == 2 && SH == 2 && SW == 2 && PT == 0 && PL == 0 && 2 * OH <= H && 2 * OW <= W && C >= 4) {
    // 2×2 windows with stride 2, all inside the input (the common case): no clipping, the four taps unrolled
    const rowStep = W * C;
    for (let n = 0; n < N; n++) {
      for (let oh = 0; oh < OH; oh++) {
        let at = ((n * H + 2 * oh) * W) * C, o = ((n * OH + oh) * OW) * C;
        for (let ow = 0; ow < OW; ow++, at += 2 * C, o += C) {
          let c = 0;
          for (; c + 4 <= C; c += 4) maxBlock2x2(x, y, argmax, keep, at + c, o + c, rowStep, C);
          // a ragged tail of 1-3 channels: one more block ending at C (the overlap recomputes equal values)
          if (c < C) maxBlock2x2(x, y, argmax, keep, at + C - 4, o + C - 4, rowStep, C);
        }
      }
    }
    return;
  }
  for (let n = 0; n < N; n++) {
    for (let oh = 0; oh < OH; oh++) {
      const h0 = max(oh * SH - PT, 0), h1 = min(oh * SH - PT + KH, H);
      for (let ow = 0; ow < OW; ow++) {
        const w0 = max(ow * SW - PL, 0), w1 = min(ow * SW - PL + KW, W);
        const o = ((n * OH + oh) * OW + ow) * C;
        const first = ((n * H + h0) * W + w0) * C;
        const rowStep = W * C;
        let c = 0;
        for (; c + 4 <= C; c += 4) maxBlock(x, y, argmax, keep, first + c, o + c, h1 - h0, w1 - w0, rowStep, C);
        // a ragged tail of 1-3 channels: one more block ending at C (the overlap recomputes equal values)
        if (c < C && C >= 4) {
          maxBlock(x, y, argmax, keep, first + C - 4, o + C - 4, h1 - h0, w1 - w0, rowStep, C);
          c = C;
        }
        for (; c < C; c++) {
          const idx = windowArgmax(x, n, H, W, C, c, h0, h1, w0, w1);
          store<f32>(y + f4(o + c), load<f32>(x + f4(idx)));
          if (keep) store<i32>(argmax + f4(o + c), idx);
        }
      }
    }
  }
}

/** Flat index of the first maximum of channel c over the window rows [h0, h1) × columns [w0, w1). */
// @ts-ignore: decorator
@inline function windowArgmax(x: usize, n: i32, H: i32, W: i32, C: i32, c: i32, h0: i32, h1: i32, w0: i32, w1: i32): i32 {
  let best: f32 = -Infinity;
  let idx = ((n * H + h0) * W + w0) * C + c;
  for (let ih = h0; ih < h1; ih++) {
    for (let iw = w0; iw < w1; iw++) {
      const at = ((n * H + ih) * W + iw) * C + c;
      const v = load<f32>(x + f4(at));
      if (v > best) {
        best = v;
        idx = at;
      }
    }
  }
  return idx;
}

/**
 * Max-pool gradient from the forward's argmax: dx = 0, then dx[argmax[i]] += dy[i] for each
 * output element i (overlapping windows add up). Overwrites dx.
 */
export function f32_maxpool2d_bwd(g: usize, dy: usize, argmax: usize, dx: usize): void {
  zero(dx, geo(g, POOL_N) * geo(g, POOL_H) * geo(g, POOL_W) * geo(g, POOL_C));
  const total = geo(g, POOL_N) * geo(g, POOL_OH) * geo(g, POOL_OW) * geo(g, POOL_C);
  for (let i = 0; i < total; i++) {
    const at = dx + f4(load<i32>(argmax + f4(i)));
    store<f32>(at, load<f32>(at) + load<f32>(dy + f4(i)));
  }
}

/**
 * The gradient through a ReLU and the max pool after it, in one pass: dx = 0, then
 * dx[argmax[i]] += dy[i] for each output element i whose maximum x[argmax[i]] > 0 (x: the pool's
 * input, the ReLU's output). Equal, bit for bit, to f32_maxpool2d_bwd followed by f32_relu_bwd
 * (dx·[x > 0]): the same sums in the same order, +0 where masked. Overwrites dx.
 */
export function f32_maxpool2d_bwd_relu(g: usize, dy: usize, argmax: usize, x: usize, dx: usize): void {
  zero(dx, geo(g, POOL_N) * geo(g, POOL_H) * geo(g, POOL_W) * geo(g, POOL_C));
  const total = geo(g, POOL_N) * geo(g, POOL_OH) * geo(g, POOL_OW) * geo(g, POOL_C);
  for (let i = 0; i < total; i++) {
    const a = f4(load<i32>(argmax + f4(i)));
    if (load<f32>(x + a) > 0) store<f32>(dx + a, load<f32>(dx + a) + load<f32>(dy + f4(i)));
  }
}

/** Max-pool gradient without stored indices: recomputes the argmax from x with the forward's tie rule. */
export function f32_maxpool2d_bwd_recompute(g: usize, x: usize, dy: usize, dx: usize): void {
  const N = geo(g, POOL_N), H = geo(g, POOL_H), W = geo(g, POOL_W), C = geo(g, POOL_C);
  const OH = geo(g, POOL_OH), OW = geo(g, POOL_OW), KH = geo(g, POOL_KH), KW = geo(g, POOL_KW);
  const SH = geo(g, POOL_SH), SW = geo(g, POOL_SW), PT = geo(g, POOL_PT), PL = geo(g, POOL_PL);
  zero(dx, N * H * W * C);
  for (let n = 0; n < N; n++) {
    for (let oh = 0; oh < OH; oh++) {
      const h0 = max(oh * SH - PT, 0), h1 = min(oh * SH - PT + KH, H);
      for (let ow = 0; ow < OW; ow++) {
        const w0 = max(ow * SW - PL, 0), w1 = min(ow * SW - PL + KW, W);
        const o = ((n * OH + oh) * OW + ow) * C;
        for (let c = 0; c < C; c++) {
          const p = dx + f4(windowArgmax(x, n, H, W, C, c, h0, h1, w0, w1));
          store<f32>(p, load<f32>(p) + load<f32>(dy + f4(o + c)));
        }
      }
    }
  }
}

/** Divisor of window (oh, ow): the clipped window, or with count_include_pad the window clipped to the padded input. */
// @ts-ignore: decorator
@inline function divisor(g: usize, oh: i32, ow: i32, h0: i32, h1: i32, w0: i32, w1: i32): f32 {
  if (geo(g, POOL_COUNT_PAD) != 0) {
    const s0 = oh * geo(g, POOL_SH) - geo(g, POOL_PT), t0 = ow * geo(g, POOL_SW) - geo(g, POOL_PL);
    const s1 = min(s0 + geo(g, POOL_KH), geo(g, POOL_HP) - geo(g, POOL_PT));
    const t1 = min(t0 + geo(g, POOL_KW), geo(g, POOL_WP) - geo(g, POOL_PL));
    return <f32>((s1 - s0) * (t1 - t0));
  }
  return <f32>((h1 - h0) * (w1 - w0));
}

/**
 * Average pooling: y = (Σ over the clipped window of x) / divisor, where the divisor is the number
 * of input pixels in the window, or (count_include_pad) the window clipped to the padded input.
 */
export function f32_avgpool2d_fwd(g: usize, x: usize, y: usize): void {
  const N = geo(g, POOL_N), H = geo(g, POOL_H), W = geo(g, POOL_W), C = geo(g, POOL_C);
  const OH = geo(g, POOL_OH), OW = geo(g, POOL_OW), KH = geo(g, POOL_KH), KW = geo(g, POOL_KW);
  const SH = geo(g, POOL_SH), SW = geo(g, POOL_SW), PT = geo(g, POOL_PT), PL = geo(g, POOL_PL);
  for (let n = 0; n < N; n++) {
    for (let oh = 0; oh < OH; oh++) {
      const h0 = max(oh * SH - PT, 0), h1 = min(oh * SH - PT + KH, H);
      for (let ow = 0; ow < OW; ow++) {
        const w0 = max(ow * SW - PL, 0), w1 = min(ow * SW - PL + KW, W);
        const inv: f32 = 1 / divisor(g, oh, ow, h0, h1, w0, w1);
        const o = y + f4(((n * OH + oh) * OW + ow) * C);
        let c = 0;
        for (; c + 4 <= C; c += 4) {
          let s = f32x4.splat(0);
          for (let ih = h0; ih < h1; ih++) {
            for (let iw = w0; iw < w1; iw++) s = f32x4.add(s, v128.load(x + f4(((n * H + ih) * W + iw) * C + c)));
          }
          v128.store(o + f4(c), f32x4.mul(s, f32x4.splat(inv)));
        }
        for (; c < C; c++) {
          let s: f32 = 0;
          for (let ih = h0; ih < h1; ih++) {
            for (let iw = w0; iw < w1; iw++) s += load<f32>(x + f4(((n * H + ih) * W + iw) * C + c));
          }
          store<f32>(o + f4(c), s * inv);
        }
      }
    }
  }
}

/** Average-pool gradient: each input pixel of a window gets dy / divisor. Overwrites dx. */
export function f32_avgpool2d_bwd(g: usize, dy: usize, dx: usize): void {
  const N = geo(g, POOL_N), H = geo(g, POOL_H), W = geo(g, POOL_W), C = geo(g, POOL_C);
  const OH = geo(g, POOL_OH), OW = geo(g, POOL_OW), KH = geo(g, POOL_KH), KW = geo(g, POOL_KW);
  const SH = geo(g, POOL_SH), SW = geo(g, POOL_SW), PT = geo(g, POOL_PT), PL = geo(g, POOL_PL);
  zero(dx, N * H * W * C);
  for (let n = 0; n < N; n++) {
    for (let oh = 0; oh < OH; oh++) {
      const h0 = max(oh * SH - PT, 0), h1 = min(oh * SH - PT + KH, H);
      for (let ow = 0; ow < OW; ow++) {
        const w0 = max(ow * SW - PL, 0), w1 = min(ow * SW - PL + KW, W);
        const inv: f32 = 1 / divisor(g, oh, ow, h0, h1, w0, w1);
        const gsrc = dy + f4(((n * OH + oh) * OW + ow) * C);
        for (let ih = h0; ih < h1; ih++) {
          for (let iw = w0; iw < w1; iw++) {
            const d = dx + f4(((n * H + ih) * W + iw) * C);
            let c = 0;
            for (; c + 4 <= C; c += 4) {
              v128.store(d + f4(c), madd4(v128.load(gsrc + f4(c)), inv, v128.load(d + f4(c))));
            }
            for (; c < C; c++) store<f32>(d + f4(c), load<f32>(d + f4(c)) + load<f32>(gsrc + f4(c)) * inv);
          }
        }
      }
    }
  }
}

// @ts-ignore: decorator
@inline function madd4(a: v128, s: f32, acc: v128): v128 {
  return f32x4.add(acc, f32x4.mul(a, f32x4.splat(s)));
}

/** Global average pooling: y[n, c] = mean over the HW pixels of x[n, ·, c]. */
export function f32_global_avgpool_fwd(x: usize, N: i32, HW: i32, C: i32, y: usize): void {
  const inv: f32 = 1 / <f32>HW;
  for (let n = 0; n < N; n++) {
    const yo = y + f4(n * C);
    zero(yo, C);
    for (let p = 0; p < HW; p++) {
      const xs = x + f4((n * HW + p) * C);
      let c = 0;
      for (; c + 4 <= C; c += 4) v128.store(yo + f4(c), f32x4.add(v128.load(yo + f4(c)), v128.load(xs + f4(c))));
      for (; c < C; c++) store<f32>(yo + f4(c), load<f32>(yo + f4(c)) + load<f32>(xs + f4(c)));
    }
    let c = 0;
    for (; c + 4 <= C; c += 4) v128.store(yo + f4(c), f32x4.mul(v128.load(yo + f4(c)), f32x4.splat(inv)));
    for (; c < C; c++) store<f32>(yo + f4(c), load<f32>(yo + f4(c)) * inv);
  }
}

/** Global average-pool gradient: dx[n, p, c] = dy[n, c] / HW. */
export function f32_global_avgpool_bwd(dy: usize, N: i32, HW: i32, C: i32, dx: usize): void {
  const inv: f32 = 1 / <f32>HW;
  for (let n = 0; n < N; n++) {
    const gs = dy + f4(n * C);
    for (let p = 0; p < HW; p++) {
      const d = dx + f4((n * HW + p) * C);
      let c = 0;
      for (; c + 4 <= C; c += 4) v128.store(d + f4(c), f32x4.mul(v128.load(gs + f4(c)), f32x4.splat(inv)));
      for (; c < C; c++) store<f32>(d + f4(c), load<f32>(gs + f4(c)) * inv);
    }
  }
}

/** Global max pooling: y[n, c] = max over pixels; argmax (if != 0) gets the flat index into x. Ties: first pixel; NaN never wins. */
export function f32_global_maxpool_fwd(x: usize, N: i32, HW: i32, C: i32, y: usize, argmax: usize): void {
  for (let n = 0; n < N; n++) {
    const yo = y + f4(n * C), ao = argmax + f4(n * C);
    let c = 0;
    for (; c + 4 <= C; c += 4) {
      let best = f32x4.splat(-Infinity);
      let idx = i32x4.add(i32x4.splat(n * HW * C + c), i32x4(0, 1, 2, 3));
      for (let p = 0; p < HW; p++) {
        const at = (n * HW + p) * C + c;
        const v = v128.load(x + f4(at));
        const gt = f32x4.gt(v, best);
        best = v128.bitselect(v, best, gt);
        idx = v128.bitselect(i32x4.add(i32x4.splat(at), i32x4(0, 1, 2, 3)), idx, gt);
      }
      v128.store(yo + f4(c), best);
      if (argmax != 0) v128.store(ao + f4(c), idx);
    }
    for (; c < C; c++) {
      let best: f32 = -Infinity;
      let idx = n * HW * C + c;
      for (let p = 0; p < HW; p++) {
        const at = (n * HW + p) * C + c;
        const v = load<f32>(x + f4(at));
        if (v > best) {
          best = v;
          idx = at;
        }
      }
      store<f32>(yo + f4(c), best);
      if (argmax != 0) store<i32>(ao + f4(c), idx);
    }
  }
}

/** Global max-pool gradient: dx = 0, dx[argmax[n, c]] = dy[n, c]. Overwrites dx. */
export function f32_global_maxpool_bwd(dy: usize, argmax: usize, N: i32, HW: i32, C: i32, dx: usize): void {
  zero(dx, N * HW * C);
  for (let i = 0; i < N * C; i++) store<f32>(dx + f4(load<i32>(argmax + f4(i))), load<f32>(dy + f4(i)));
}
