// 2-D and 3-D pooling on NDHWC activations (a 2-D pool is the 3-D one with D = 1), SIMD across
// channels. Geometry block: common/geometry.ts (POOL_*). Along each axis, output o's window has the
// taps i = o·stride − pad_before + k·dilation, k in [0, kernel); taps outside the input are
// skipped. The host guarantees every window holds at least one input tap along every axis (the
// ceil-mode rule that the last window starts inside the input or the leading padding, and no
// window of dilated taps that all fall in the padding).

import { f4, relu as reluv } from "../common/simd";
import {
  geo, POOL_N, POOL_H, POOL_W, POOL_C, POOL_OH, POOL_OW, POOL_KH, POOL_KW, POOL_SH, POOL_SW,
  POOL_PT, POOL_PL, POOL_COUNT_PAD, POOL_HP, POOL_WP, POOL_D, POOL_OD, POOL_KD, POOL_SD, POOL_PF,
  POOL_DP, POOL_DD, POOL_DH, POOL_DW,
} from "../common/geometry";
import { zero } from "../eltwise/binary";

/** The first tap k with s + k·d >= 0. */
// @ts-ignore: decorator
@inline function tap0(s: i32, d: i32): i32 {
  return s >= 0 ? 0 : (d - 1 - s) / d;
}

/** One past the last tap k < K with s + k·d < limit (s < limit). */
// @ts-ignore: decorator
@inline function tapEnd(s: i32, d: i32, K: i32, limit: i32): i32 {
  return min(K, (limit - 1 - s) / d + 1);
}

/**
 * Max pooling: y[n,od,oh,ow,c] = max over the window's taps of x[n,id,ih,iw,c]. If argmax != 0 it
 * receives, per output element, the flat index into x of the maximum. Ties: the first maximum in
 * scan order (depth, then rows top to bottom, then columns left to right) wins; NaN never wins
 * (except as the first tap). relu != 0: y = max(that maximum, 0) — the pool of a ReLU's output
 * from the ReLU's input (the same values: max(relu(a), relu(b)) = relu(max(a, b)); argmax then
 * points into the input, and f32_maxpool_bwd_relu's mask y > 0 is the ReLU's). sub != 0: the
 * window's values are first (x − sub[c])·A[c] + K[c] (A and K too: per-channel vectors of at least
 * C floats, channel c at [c]) — the pool of a training batch norm's output from its input, the
 * same float operations as f32_batchnorm_part_apply's (so the same values), the norm's output never
 * written; argmax points into x.
 */
export function f32_maxpool_fwd(g: usize, x: usize, y: usize, argmax: usize, relu: i32, sub: usize, A: usize, K: usize): void {
  if (sub != 0) {
    if (relu != 0) {
      if (argmax != 0) maxpoolFwd(g, x, y, argmax, true, true, true, sub, A, K);
      else maxpoolFwd(g, x, y, 0, false, true, true, sub, A, K);
    } else if (argmax != 0) maxpoolFwd(g, x, y, argmax, true, false, true, sub, A, K);
    else maxpoolFwd(g, x, y, 0, false, false, true, sub, A, K);
  } else if (relu != 0) {
    if (argmax != 0) maxpoolFwd(g, x, y, argmax, true, true, false, 0, 0, 0);
    else maxpoolFwd(g, x, y, 0, false, true, false, 0, 0, 0);
  } else if (argmax != 0) maxpoolFwd(g, x, y, argmax, true, false, false, 0, 0, 0);
  else maxpoolFwd(g, x, y, 0, false, false, false, 0, 0, 0);
}

/** A window's code (f32_maxpool_fwd_codes) where the ReLU after the norm passes no gradient. */
export const TAP_CLOSED: i32 = 4;

/**
 * The training forward of a 2×2, stride-2 max pool over a batch norm's output through a ReLU
 * (isTwoByTwo; f32_maxpool_fwd with relu and the norm's patterns sub, A, K: the same y), writing
 * per output, instead of its argmax, one byte at codes + its index: which tap of its window held
 * the first maximum (0–3: top-left, top-right, bottom-left, bottom-right), or TAP_CLOSED where
 * that maximum is not > 0. f32_batchnorm_pool_bwd_* read them.
 */
export function f32_maxpool_fwd_codes(g: usize, x: usize, y: usize, codes: usize, sub: usize, A: usize, K: usize): void {
  if (!isTwoByTwo(g)) unreachable();
  maxpoolFwd(g, x, y, codes, false, true, true, sub, A, K, true);
}

/** v, or max(v, 0) with relu (a compile-time constant where it is used). */
// @ts-ignore: decorator
@inline function outOf(v: v128, relu: bool): v128 {
  return relu ? reluv(v) : v;
}

/** The 4 values at x[at…]: raw, or with aff (a compile-time constant) (v − s)·a + k, as f32_batchnorm_part_apply computes them. */
// @ts-ignore: decorator
@inline function tapOf(x: usize, at: i32, aff: bool, s: v128, a: v128, k: v128): v128 {
  const v = v128.load(x + f4(at));
  return aff ? f32x4.add(f32x4.mul(f32x4.sub(v, s), a), k) : v;
}

/** The same for one value of channel c. */
// @ts-ignore: decorator
@inline function tap1(x: usize, at: i32, aff: bool, sub: usize, A: usize, K: usize, c: i32): f32 {
  const v = load<f32>(x + f4(at));
  return aff ? (v - load<f32>(sub + f4(c))) * load<f32>(A + f4(c)) + load<f32>(K + f4(c)) : v;
}

/**
 * Max (and, if keep, argmax) of channels c…c+3 over nd × nh × nw taps starting at flat index
 * `at0`, stepping dStep, hStep, wStep.
 */
// @ts-ignore: decorator
@inline function maxBlock(x: usize, y: usize, argmax: usize, keep: bool, relu: bool, aff: bool, sub: usize, A: usize, K: usize, c: i32, at0: i32, o: i32, nd: i32, nh: i32, nw: i32, dStep: i32, hStep: i32, wStep: i32): void {
  const lane = i32x4(0, 1, 2, 3);
  const s = aff ? v128.load(sub + f4(c)) : f32x4.splat(0), a = aff ? v128.load(A + f4(c)) : s, k = aff ? v128.load(K + f4(c)) : s;
  // the first tap seeds the maximum; taps step by pointer (no index arithmetic per tap)
  let best = tapOf(x, at0, aff, s, a, k);
  let idx = i32x4.add(i32x4.splat(at0), lane);
  if (!keep && nd == 1 && nh == 3 && nw == 3) {
    // three rows of three taps (GoogLeNet's 3×3 windows; any window that reaches that many,
    // dilated or clipped), unrolled in scan order
    for (let r = 0, at = at0; r < 3; r++, at += hStep) {
      if (r > 0) best = f32x4.pmax(best, tapOf(x, at, aff, s, a, k));
      best = f32x4.pmax(f32x4.pmax(best, tapOf(x, at + wStep, aff, s, a, k)), tapOf(x, at + 2 * wStep, aff, s, a, k));
    }
    v128.store(y + f4(o), outOf(best, relu));
    return;
  }
  let depthAt = at0;
  for (let d = 0; d < nd; d++, depthAt += dStep) {
    let rowAt = depthAt;
    for (let r = 0; r < nh; r++, rowAt += hStep) {
      let at = rowAt;
      for (let q = 0; q < nw; q++, at += wStep) {
        const v = tapOf(x, at, aff, s, a, k);
        if (keep) idx = v128.bitselect(i32x4.add(i32x4.splat(at), lane), idx, f32x4.gt(v, best));
        best = f32x4.pmax(best, v); // best < v ? v : best: the first maximum
      }
    }
  }
  v128.store(y + f4(o), outOf(best, relu));
  if (keep) v128.store(argmax + f4(o), idx);
}

/**
 * maxBlock for a whole 2×2 window: the four taps at `at`, `at + C`, `at + W·C`, `at + W·C + C`, in
 * scan order. codes (a compile-time constant, with relu): argmax is a byte per output, at
 * argmax + o — the tap of the first maximum (0–3 in scan order), or TAP_CLOSED where the maximum
 * is not > 0 (the ReLU passes no gradient: f32_maxpool_bwd_relu's y > 0).
 */
// @ts-ignore: decorator
@inline function maxBlock2x2(x: usize, y: usize, argmax: usize, keep: bool, relu: bool, aff: bool, sub: usize, A: usize, K: usize, c: i32, at: i32, o: i32, rowStep: i32, C: i32, codes: bool = false): void {
  const lane = i32x4(0, 1, 2, 3);
  const s = aff ? v128.load(sub + f4(c)) : f32x4.splat(0), a = aff ? v128.load(A + f4(c)) : s, k = aff ? v128.load(K + f4(c)) : s;
  // the maximum's place: its flat index (keep), or its tap (codes)
  const track = keep || codes;
  let best = tapOf(x, at, aff, s, a, k);
  let idx = codes ? i32x4.splat(0) : i32x4.add(i32x4.splat(at), lane);
  const v1 = tapOf(x, at + C, aff, s, a, k), v2 = tapOf(x, at + rowStep, aff, s, a, k), v3 = tapOf(x, at + rowStep + C, aff, s, a, k);
  let gt = f32x4.gt(v1, best);
  best = v128.bitselect(v1, best, gt);
  if (track) idx = v128.bitselect(codes ? i32x4.splat(1) : i32x4.add(i32x4.splat(at + C), lane), idx, gt);
  gt = f32x4.gt(v2, best);
  best = v128.bitselect(v2, best, gt);
  if (track) idx = v128.bitselect(codes ? i32x4.splat(2) : i32x4.add(i32x4.splat(at + rowStep), lane), idx, gt);
  gt = f32x4.gt(v3, best);
  best = v128.bitselect(v3, best, gt);
  if (track) idx = v128.bitselect(codes ? i32x4.splat(3) : i32x4.add(i32x4.splat(at + rowStep + C), lane), idx, gt);
  v128.store(y + f4(o), outOf(best, relu));
  if (codes) {
    // TAP_CLOSED where the ReLU closes, then the four taps narrowed to bytes
    const tap = v128.bitselect(idx, i32x4.splat(TAP_CLOSED), f32x4.gt(best, f32x4.splat(0)));
    const b16 = i16x8.narrow_i32x4_u(tap, tap);
    v128.store32_lane(argmax + o, i8x16.narrow_i16x8_u(b16, b16), 0);
  } else if (keep) v128.store(argmax + f4(o), idx);
}

/** The max-pool forward, specialised at compile time for keeping argmax (or, 2×2 only, the taps' codes), the ReLU and the affine. */
// @ts-ignore: decorator
@inline function maxpoolFwd(g: usize, x: usize, y: usize, argmax: usize, keep: bool, relu: bool, aff: bool, sub: usize, A: usize, K: usize, codes: bool = false): void {
  const N = geo(g, POOL_N), D = geo(g, POOL_D), H = geo(g, POOL_H), W = geo(g, POOL_W), C = geo(g, POOL_C);
  const OD = geo(g, POOL_OD), OH = geo(g, POOL_OH), OW = geo(g, POOL_OW);
  const KD = geo(g, POOL_KD), KH = geo(g, POOL_KH), KW = geo(g, POOL_KW);
  const SD = geo(g, POOL_SD), SH = geo(g, POOL_SH), SW = geo(g, POOL_SW);
  const PF = geo(g, POOL_PF), PT = geo(g, POOL_PT), PL = geo(g, POOL_PL);
  const DD = geo(g, POOL_DD), DH = geo(g, POOL_DH), DW = geo(g, POOL_DW);
  if (isTwoByTwo(g)) {
    // 2×2 windows with stride 2, all inside the input (the common case): no clipping, the four taps
    // unrolled; with windows one slice deep, each depth slice is an image of its own
    const rowStep = W * C, images = N * D;
    for (let n = 0; n < images; n++) {
      for (let oh = 0; oh < OH; oh++) {
        let at = ((n * H + 2 * oh) * W) * C, o = ((n * OH + oh) * OW) * C;
        for (let ow = 0; ow < OW; ow++, at += 2 * C, o += C) {
          let c = 0;
          for (; c + 4 <= C; c += 4) maxBlock2x2(x, y, argmax, keep, relu, aff, sub, A, K, c, at + c, o + c, rowStep, C, codes);
          // a ragged tail of 1-3 channels: one more block ending at C (the overlap recomputes equal values)
          if (c < C) maxBlock2x2(x, y, argmax, keep, relu, aff, sub, A, K, C - 4, at + C - 4, o + C - 4, rowStep, C, codes);
        }
      }
    }
    return;
  }
  const dStep = DD * H * W * C, hStep = DH * W * C, wStep = DW * C;
  for (let n = 0; n < N; n++) {
    for (let od = 0; od < OD; od++) {
      const sd = od * SD - PF, kd0 = tap0(sd, DD), nd = tapEnd(sd, DD, KD, D) - kd0;
      for (let oh = 0; oh < OH; oh++) {
        const sh = oh * SH - PT, kh0 = tap0(sh, DH), nh = tapEnd(sh, DH, KH, H) - kh0;
        for (let ow = 0; ow < OW; ow++) {
          const sw = ow * SW - PL, kw0 = tap0(sw, DW), nw = tapEnd(sw, DW, KW, W) - kw0;
          const first = (((n * D + sd + kd0 * DD) * H + sh + kh0 * DH) * W + sw + kw0 * DW) * C;
          const o = (((n * OD + od) * OH + oh) * OW + ow) * C;
          let c = 0;
          for (; c + 4 <= C; c += 4) maxBlock(x, y, argmax, keep, relu, aff, sub, A, K, c, first + c, o + c, nd, nh, nw, dStep, hStep, wStep);
          // a ragged tail of 1-3 channels: one more block ending at C (the overlap recomputes equal values)
          if (c < C && C >= 4) {
            maxBlock(x, y, argmax, keep, relu, aff, sub, A, K, C - 4, first + C - 4, o + C - 4, nd, nh, nw, dStep, hStep, wStep);
            c = C;
          }
          for (; c < C; c++) {
            const idx = windowArgmax(x, first + c, nd, nh, nw, dStep, hStep, wStep, aff, sub, A, K, c);
            const v = tap1(x, idx, aff, sub, A, K, c);
            store<f32>(y + f4(o + c), relu ? max<f32>(v, 0) : v);
            if (keep) store<i32>(argmax + f4(o + c), idx);
          }
        }
      }
    }
  }
}

/** Flat index of the first maximum over nd × nh × nw taps from flat index `at0` (one channel, c; with aff of its affine values). */
// @ts-ignore: decorator
@inline function windowArgmax(x: usize, at0: i32, nd: i32, nh: i32, nw: i32, dStep: i32, hStep: i32, wStep: i32, aff: bool = false, sub: usize = 0, A: usize = 0, K: usize = 0, c: i32 = 0): i32 {
  // the first tap seeds the maximum, as in maxBlock (a NaN there stays: the same answer for every C)
  let best = tap1(x, at0, aff, sub, A, K, c);
  let idx = at0;
  let depthAt = at0;
  for (let d = 0; d < nd; d++, depthAt += dStep) {
    let rowAt = depthAt;
    for (let r = 0; r < nh; r++, rowAt += hStep) {
      let at = rowAt;
      for (let q = 0; q < nw; q++, at += wStep) {
        const v = tap1(x, at, aff, sub, A, K, c);
        if (v > best) {
          best = v;
          idx = at;
        }
      }
    }
  }
  return idx;
}

/**
 * Max-pool gradient from the forward's argmax: dx = 0, then dx[argmax[i]] += dy[i] for each
 * output element i (overlapping windows add up). Overwrites dx.
 */
export function f32_maxpool_bwd(g: usize, dy: usize, argmax: usize, dx: usize): void {
  if (isTwoByTwo(g)) {
    maxpoolBwd2x2(g, dy, argmax, 0, dx, false);
    return;
  }
  zero(dx, inputSize(g));
  const total = outputSize(g);
  for (let i = 0; i < total; i++) {
    const at = dx + f4(load<i32>(argmax + f4(i)));
    store<f32>(at, load<f32>(at) + load<f32>(dy + f4(i)));
  }
}

// @ts-ignore: decorator
@inline function inputSize(g: usize): i32 {
  return geo(g, POOL_N) * geo(g, POOL_D) * geo(g, POOL_H) * geo(g, POOL_W) * geo(g, POOL_C);
}

// @ts-ignore: decorator
@inline function outputSize(g: usize): i32 {
  return geo(g, POOL_N) * geo(g, POOL_OD) * geo(g, POOL_OH) * geo(g, POOL_OW) * geo(g, POOL_C);
}

/**
 * The gradient through a ReLU and the max pool after it, in one pass: dx = 0, then
 * dx[argmax[i]] += dy[i] for each output element i whose maximum y[i] > 0 (y: the pool's output,
 * the maximum of the ReLU's outputs, or with the forward's relu flag the ReLU of the maximum of
 * its inputs — positive exactly where the ReLU's output at argmax[i] is). Equal, bit for bit, to
 * f32_maxpool_bwd followed by f32_relu_bwd (dx·[x > 0]): the same sums in the same order, +0
 * where masked. Overwrites dx.
 */
export function f32_maxpool_bwd_relu(g: usize, dy: usize, argmax: usize, y: usize, dx: usize): void {
  if (isTwoByTwo(g)) {
    maxpoolBwd2x2(g, dy, argmax, y, dx, true);
    return;
  }
  zero(dx, inputSize(g));
  const total = outputSize(g);
  for (let i = 0; i < total; i++) {
    const a = f4(load<i32>(argmax + f4(i)));
    if (load<f32>(y + f4(i)) > 0) store<f32>(dx + a, load<f32>(dx + a) + load<f32>(dy + f4(i)));
  }
}

/** 2×2 windows with stride 2 inside the input, at least 4 channels: the forward's unrolled case, whose windows do not overlap. */
// @ts-ignore: decorator
@inline export function isTwoByTwo(g: usize): bool {
  return geo(g, POOL_KD) == 1 && geo(g, POOL_SD) == 1 && geo(g, POOL_PF) == 0 && geo(g, POOL_OD) == geo(g, POOL_D) &&
    geo(g, POOL_KH) == 2 && geo(g, POOL_KW) == 2 && geo(g, POOL_SH) == 2 && geo(g, POOL_SW) == 2 && geo(g, POOL_PT) == 0 &&
    geo(g, POOL_PL) == 0 && geo(g, POOL_DH) == 1 && geo(g, POOL_DW) == 1 && 2 * geo(g, POOL_OH) <= geo(g, POOL_H) &&
    2 * geo(g, POOL_OW) <= geo(g, POOL_W) && geo(g, POOL_C) >= 4;
}

/**
 * The max-pool gradient where windows do not overlap (isTwoByTwo): every input value is written
 * once, in order — 0 + dy at its window's argmax (where y > 0 with relu), 0 elsewhere, and 0 in the
 * rows and columns no window covers — instead of zeroing dx and adding at the argmax: the same
 * values (the one add is +0 + dy) without the zero pass and the scattered read-modify-writes.
 */
function maxpoolBwd2x2(g: usize, dy: usize, argmax: usize, y: usize, dx: usize, relu: bool): void {
  const N = geo(g, POOL_N) * geo(g, POOL_D), H = geo(g, POOL_H), W = geo(g, POOL_W), C = geo(g, POOL_C);
  const OH = geo(g, POOL_OH), OW = geo(g, POOL_OW);
  const rowStep = W * C, lane = i32x4(0, 1, 2, 3), z = f32x4.splat(0);
  for (let n = 0; n < N; n++) {
    for (let oh = 0; oh < OH; oh++) {
      let at = ((n * H + 2 * oh) * W) * C, o = ((n * OH + oh) * OW) * C;
      for (let ow = 0; ow < OW; ow++, at += 2 * C, o += C) {
        for (let c = 0; c < C; c += 4) {
          // a ragged tail of 1-3 channels: the block ending at C (the overlap writes equal values)
          const cc = min(c, C - 4), a = at + cc, q = o + cc;
          const idx = v128.load(argmax + f4(q));
          let keep = relu ? f32x4.gt(v128.load(y + f4(q)), z) : i32x4.splat(-1);
          const v = f32x4.add(z, v128.load(dy + f4(q)));
          const p = dx + f4(a), r = p + f4(rowStep);
          v128.store(p, v128.and(v, v128.and(keep, i32x4.eq(idx, i32x4.add(i32x4.splat(a), lane)))));
          v128.store(p + f4(C), v128.and(v, v128.and(keep, i32x4.eq(idx, i32x4.add(i32x4.splat(a + C), lane)))));
          v128.store(r, v128.and(v, v128.and(keep, i32x4.eq(idx, i32x4.add(i32x4.splat(a + rowStep), lane)))));
          v128.store(r + f4(C), v128.and(v, v128.and(keep, i32x4.eq(idx, i32x4.add(i32x4.splat(a + rowStep + C), lane)))));
        }
      }
      // a last odd column no window covers
      if (2 * OW < W) zero(dx + f4(at), (W - 2 * OW) * C);
      if (2 * OW < W) zero(dx + f4(at + rowStep), (W - 2 * OW) * C);
    }
    // a last odd row
    if (2 * OH < H) zero(dx + f4(((n * H + 2 * OH) * W) * C), (H - 2 * OH) * W * C);
  }
}

const RECOMPUTE = 0, INDICES = 1;

/**
 * Every output element's window argmax, found again from x with the forward's tie rule: RECOMPUTE
 * adds dy there into out (dx), INDICES writes its position in the example's NCDHW order into out (y).
 */
// @ts-ignore: decorator
@inline function eachArgmax(mode: i32, g: usize, x: usize, dy: usize, out: usize, columnMajor: i32): void {
  const N = geo(g, POOL_N), D = geo(g, POOL_D), H = geo(g, POOL_H), W = geo(g, POOL_W), C = geo(g, POOL_C);
  const OD = geo(g, POOL_OD), OH = geo(g, POOL_OH), OW = geo(g, POOL_OW);
  const KD = geo(g, POOL_KD), KH = geo(g, POOL_KH), KW = geo(g, POOL_KW);
  const SD = geo(g, POOL_SD), SH = geo(g, POOL_SH), SW = geo(g, POOL_SW);
  const PF = geo(g, POOL_PF), PT = geo(g, POOL_PT), PL = geo(g, POOL_PL);
  const DD = geo(g, POOL_DD), DH = geo(g, POOL_DH), DW = geo(g, POOL_DW);
  const dStep = DD * H * W * C, hStep = DH * W * C, wStep = DW * C, per = D * H * W * C;
  for (let n = 0; n < N; n++) {
    for (let od = 0; od < OD; od++) {
      const sd = od * SD - PF, kd0 = tap0(sd, DD), nd = tapEnd(sd, DD, KD, D) - kd0;
      for (let oh = 0; oh < OH; oh++) {
        const sh = oh * SH - PT, kh0 = tap0(sh, DH), nh = tapEnd(sh, DH, KH, H) - kh0;
        for (let ow = 0; ow < OW; ow++) {
          const sw = ow * SW - PL, kw0 = tap0(sw, DW), nw = tapEnd(sw, DW, KW, W) - kw0;
          const first = (((n * D + sd + kd0 * DD) * H + sh + kh0 * DH) * W + sw + kw0 * DW) * C;
          const o = (((n * OD + od) * OH + oh) * OW + ow) * C;
          for (let c = 0; c < C; c++) {
            const am = windowArgmax(x, first + c, nd, nh, nw, dStep, hStep, wStep);
            if (mode == RECOMPUTE) {
              const p = out + f4(am);
              store<f32>(p, load<f32>(p) + load<f32>(dy + f4(o + c)));
            } else {
              // the maximum's pixel (d, h, w) within the example
              const p = (am - n * per) / C;
              const w = p % W, h = (p / W) % H, d = p / (W * H);
              const at = columnMajor != 0 ? c * H * W + w * H + h : ((c * D + d) * H + h) * W + w;
              store<f32>(out + f4(o + c), <f32>at);
            }
          }
        }
      }
    }
  }
}

/** Max-pool gradient without stored indices: recomputes the argmax from x with the forward's tie rule. */
export function f32_maxpool_bwd_recompute(g: usize, x: usize, dy: usize, dx: usize): void {
  zero(dx, inputSize(g));
  eachArgmax(RECOMPUTE, g, x, dy, dx, 0);
}

/**
 * The max pool's Indices (ONNX MaxPool's second output): y[n,od,oh,ow,c] = the position of the
 * window's first maximum (the forward's tie rule) in the example's NCDHW order,
 * ((c·D + d)·H + h)·W + w, or if columnMajor != 0 (2-D only, D = 1) c·H·W + w·H + h — as a float,
 * exact while C·D·H·W <= 2^24 (the host checks). Positions count within each example (no n).
 */
export function f32_maxpool_indices_fwd(g: usize, x: usize, y: usize, columnMajor: i32): void {
  eachArgmax(INDICES, g, x, 0, y, columnMajor);
}

/** The gradient through the Indices: zero (they are piecewise constant in x). Overwrites dx. */
export function f32_maxpool_indices_bwd(g: usize, dx: usize): void {
  zero(dx, inputSize(g));
}

/**
 * Average pooling: y = (Σ over the window's taps inside the input of x) / divisor, where the
 * divisor is the number of those taps, or (count_include_pad) of the taps inside the padded input.
 */
export function f32_avgpool_fwd(g: usize, x: usize, y: usize): void {
  avgpool(g, x, y, false);
}

/** Average-pool gradient: each input tap of a window gets dy / divisor (taps add up). Overwrites dx. */
export function f32_avgpool_bwd(g: usize, dy: usize, dx: usize): void {
  zero(dx, inputSize(g));
  avgpool(g, dx, dy, true);
}

/** The average pool's forward (x → y) or, if bwd, its backward (dy → dx, added into a): one walk over the windows. */
// @ts-ignore: decorator
@inline function avgpool(g: usize, a: usize, b: usize, bwd: bool): void {
  const N = geo(g, POOL_N), D = geo(g, POOL_D), H = geo(g, POOL_H), W = geo(g, POOL_W), C = geo(g, POOL_C);
  const OD = geo(g, POOL_OD), OH = geo(g, POOL_OH), OW = geo(g, POOL_OW);
  const KD = geo(g, POOL_KD), KH = geo(g, POOL_KH), KW = geo(g, POOL_KW);
  const SD = geo(g, POOL_SD), SH = geo(g, POOL_SH), SW = geo(g, POOL_SW);
  const PF = geo(g, POOL_PF), PT = geo(g, POOL_PT), PL = geo(g, POOL_PL);
  const DD = geo(g, POOL_DD), DH = geo(g, POOL_DH), DW = geo(g, POOL_DW);
  const cip = geo(g, POOL_COUNT_PAD) != 0;
  // count_include_pad: the taps before the end of the padded input (none lies before its start)
  const DPe = geo(g, POOL_DP) - PF, HPe = geo(g, POOL_HP) - PT, WPe = geo(g, POOL_WP) - PL;
  const dStep = DD * H * W * C, hStep = DH * W * C, wStep = DW * C;
  for (let n = 0; n < N; n++) {
    for (let od = 0; od < OD; od++) {
      const sd = od * SD - PF, kd0 = tap0(sd, DD), nd = tapEnd(sd, DD, KD, D) - kd0;
      const cd = cip ? tapEnd(sd, DD, KD, DPe) : nd;
      for (let oh = 0; oh < OH; oh++) {
        const sh = oh * SH - PT, kh0 = tap0(sh, DH), nh = tapEnd(sh, DH, KH, H) - kh0;
        const ch = cip ? tapEnd(sh, DH, KH, HPe) : nh;
        for (let ow = 0; ow < OW; ow++) {
          const sw = ow * SW - PL, kw0 = tap0(sw, DW), nw = tapEnd(sw, DW, KW, W) - kw0;
          const cw = cip ? tapEnd(sw, DW, KW, WPe) : nw;
          const first = (((n * D + sd + kd0 * DD) * H + sh + kh0 * DH) * W + sw + kw0 * DW) * C;
          const inv: f32 = 1 / <f32>(cd * ch * cw);
          const o = (((n * OD + od) * OH + oh) * OW + ow) * C;
          if (bwd) avgScatter(a, b + f4(o), first, C, inv, nd, nh, nw, dStep, hStep, wStep);
          else avgGather(a, b + f4(o), first, C, inv, nd, nh, nw, dStep, hStep, wStep);
        }
      }
    }
  }
}

/** yo[c] = inv · Σ over the taps of x[tap + c], for every channel c. */
// @ts-ignore: decorator
@inline function avgGather(x: usize, yo: usize, first: i32, C: i32, inv: f32, nd: i32, nh: i32, nw: i32, dStep: i32, hStep: i32, wStep: i32): void {
  let c = 0;
  for (; c + 4 <= C; c += 4) {
    let s = f32x4.splat(0);
    for (let d = 0, da = first + c; d < nd; d++, da += dStep) {
      for (let r = 0, ra = da; r < nh; r++, ra += hStep) {
        for (let q = 0, at = ra; q < nw; q++, at += wStep) s = f32x4.add(s, v128.load(x + f4(at)));
      }
    }
    v128.store(yo + f4(c), f32x4.mul(s, f32x4.splat(inv)));
  }
  for (; c < C; c++) {
    let s: f32 = 0;
    for (let d = 0, da = first + c; d < nd; d++, da += dStep) {
      for (let r = 0, ra = da; r < nh; r++, ra += hStep) {
        for (let q = 0, at = ra; q < nw; q++, at += wStep) s += load<f32>(x + f4(at));
      }
    }
    store<f32>(yo + f4(c), s * inv);
  }
}

/** dx[tap + c] += inv · gsrc[c] for every tap and channel c. */
// @ts-ignore: decorator
@inline function avgScatter(dx: usize, gsrc: usize, first: i32, C: i32, inv: f32, nd: i32, nh: i32, nw: i32, dStep: i32, hStep: i32, wStep: i32): void {
  for (let d = 0, da = first; d < nd; d++, da += dStep) {
    for (let r = 0, ra = da; r < nh; r++, ra += hStep) {
      for (let q = 0, at = ra; q < nw; q++, at += wStep) {
        const p = dx + f4(at);
        let c = 0;
        for (; c + 4 <= C; c += 4) v128.store(p + f4(c), madd4(v128.load(gsrc + f4(c)), inv, v128.load(p + f4(c))));
        for (; c < C; c++) store<f32>(p + f4(c), load<f32>(p + f4(c)) + load<f32>(gsrc + f4(c)) * inv);
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
