// Depthwise conv2d (groups == C), NHWC, weights HWIO [KH, KW, 1, C·M] (multiplier M: output
// channel c·M + m reads input channel c) — the layout TF calls [KH, KW, C, M]. Direct kernels,
// SIMD across channels for M = 1; a scalar loop for M > 1. Geometry block: CONV_* (G = C).

import { activate, f4, madd } from "../common/simd";
import {
  geo, CONV_N, CONV_H, CONV_W, CONV_C, CONV_OH, CONV_OW, CONV_OC, CONV_KH, CONV_KW,
  CONV_SH, CONV_SW, CONV_DH, CONV_DW, CONV_PT, CONV_PL,
} from "../common/geometry";
import { zero } from "../eltwise/binary";


/**
 * y[n,oh,ow,c·M+m] = act(bias[c·M+m] + Σ_{kh,kw} x[n,ih,iw,c] · w[kh,kw,0,c·M+m]), for the
 * channels c in [c0, c1) of every pixel (multiplier M = 1; with M > 1, [0, C) only: a thread's
 * range of channels where a map's pixels are few, ops/conv convCalls).
 * bias may be 0; act 0 none, 1 ReLU, 2 ReLU6. y must not overlap x.
 */
export function f32_depthwise_conv2d_fwd(g: usize, x: usize, w: usize, bias: usize, act: i32, y: usize, c0: i32, c1: i32): void {
  const N = geo(g, CONV_N), H = geo(g, CONV_H), W = geo(g, CONV_W), C = geo(g, CONV_C);
  const OH = geo(g, CONV_OH), OW = geo(g, CONV_OW), OC = geo(g, CONV_OC), KH = geo(g, CONV_KH), KW = geo(g, CONV_KW);
  const SH = geo(g, CONV_SH), SW = geo(g, CONV_SW), DH = geo(g, CONV_DH), DW = geo(g, CONV_DW);
  const PT = geo(g, CONV_PT), PL = geo(g, CONV_PL), M = OC / C;
  if (c0 < 0 || c1 > C || c0 >= c1 || (M != 1 && (c0 != 0 || c1 != C))) unreachable();
  // channels [c0, c1): every pointer moved to channel c0, the pixels still C (OC) floats apart
  const Cn = c1 - c0;
  x += f4(c0);
  w += f4(c0);
  y += f4(c0);
  if (bias != 0) bias += f4(c0);
  const rowStep = f4(DH * W * C), colStep = f4(DW * C);
  // 3×3 windows of adjacent taps (the MobileNets'): the output columns [owA, owB), whose windows'
  // columns are inside the input, take rows3x3 for channels [0, C4); the rest the loops below
  const three = M == 1 && KH == 3 && KW == 3 && DH == 1 && DW == 1;
  const owA = three ? firstInside(PL, SW, OW) : 0, owB = three ? endInside(PL, SW, W, OW, owA) : 0;
  const C4 = owB > owA ? Cn & ~3 : 0;
  for (let n = 0; n < N; n++) {
    for (let oh = 0; oh < OH; oh++) {
      const ih0 = oh * SH - PT;
      const rowInside = ih0 >= 0 && ih0 + (KH - 1) * DH < H;
      // (with ih0 < 0 the window origin lies before the image, wrapping in u32: only the rows
      // flagged inside the input are read, so the wrapped address is never loaded)
      if (C4 > 0) {
        rows3x3(x + f4(((n * H + ih0) * W + owA * SW - PL) * C), rowStep, f4(SW * C), w, bias, act, y + f4(((n * OH + oh) * OW + owA) * OC),
          C4, f4(C), owB - owA, inside(ih0, H), inside(ih0 + 1, H), inside(ih0 + 2, H));
      }
      for (let ow = 0; ow < OW; ow++) {
        if (ow == owA && C4 == Cn) ow = owB; // written whole by rows3x3
        if (ow == OW) break;
        const yo = y + f4(((n * OH + oh) * OW + ow) * OC);
        const iw0 = ow * SW - PL;
        let c = ow >= owA && ow < owB ? C4 : 0;
        if (M == 1 && rowInside && iw0 >= 0 && iw0 + (KW - 1) * DW < W) {
          // interior pixel: every tap in bounds, pointers stepped without checks
          const xbase = x + f4(((n * H + ih0) * W + iw0) * C);
          for (; c + 16 <= Cn; c += 16) {
            let a0 = f32x4.splat(0), a1 = a0, a2 = a0, a3 = a0;
            if (bias != 0) {
              a0 = v128.load(bias + f4(c));
              a1 = v128.load(bias + f4(c), 16);
              a2 = v128.load(bias + f4(c), 32);
              a3 = v128.load(bias + f4(c), 48);
            }
            let xr = xbase + f4(c), wp = w + f4(c);
            for (let kh = 0; kh < KH; kh++) {
              let xp = xr;
              for (let kw = 0; kw < KW; kw++) {
                a0 = madd(v128.load(xp), v128.load(wp), a0);
                a1 = madd(v128.load(xp, 16), v128.load(wp, 16), a1);
                a2 = madd(v128.load(xp, 32), v128.load(wp, 32), a2);
                a3 = madd(v128.load(xp, 48), v128.load(wp, 48), a3);
                xp += colStep;
                wp += f4(C);
              }
              xr += rowStep;
            }
            v128.store(yo + f4(c), activate(a0, act));
            v128.store(yo + f4(c), activate(a1, act), 16);
            v128.store(yo + f4(c), activate(a2, act), 32);
            v128.store(yo + f4(c), activate(a3, act), 48);
          }
          for (; c + 4 <= Cn; c += 4) {
            let a0 = bias != 0 ? v128.load(bias + f4(c)) : f32x4.splat(0);
            let xr = xbase + f4(c), wp = w + f4(c);
            for (let kh = 0; kh < KH; kh++) {
              let xp = xr;
              for (let kw = 0; kw < KW; kw++) {
                a0 = madd(v128.load(xp), v128.load(wp), a0);
                xp += colStep;
                wp += f4(C);
              }
              xr += rowStep;
            }
            v128.store(yo + f4(c), activate(a0, act));
          }
        } else if (M == 1) {
          for (; c + 8 <= Cn; c += 8) {
            let a0 = bias != 0 ? v128.load(bias + f4(c)) : f32x4.splat(0);
            let a1 = bias != 0 ? v128.load(bias + f4(c + 4)) : f32x4.splat(0);
            for (let kh = 0; kh < KH; kh++) {
              const ih = oh * SH - PT + kh * DH;
              if (ih < 0 || ih >= H) continue;
              for (let kw = 0; kw < KW; kw++) {
                const iw = ow * SW - PL + kw * DW;
                if (iw < 0 || iw >= W) continue;
                const xp = x + f4(((n * H + ih) * W + iw) * C + c), wp = w + f4((kh * KW + kw) * C + c);
                a0 = madd(v128.load(xp), v128.load(wp), a0);
                a1 = madd(v128.load(xp, 16), v128.load(wp, 16), a1);
              }
            }
            v128.store(yo + f4(c), activate(a0, act));
            v128.store(yo + f4(c + 4), activate(a1, act));
          }
          for (; c + 4 <= Cn; c += 4) {
            let a0 = bias != 0 ? v128.load(bias + f4(c)) : f32x4.splat(0);
            for (let kh = 0; kh < KH; kh++) {
              const ih = oh * SH - PT + kh * DH;
              if (ih < 0 || ih >= H) continue;
              for (let kw = 0; kw < KW; kw++) {
                const iw = ow * SW - PL + kw * DW;
                if (iw < 0 || iw >= W) continue;
                a0 = madd(v128.load(x + f4(((n * H + ih) * W + iw) * C + c)), v128.load(w + f4((kh * KW + kw) * C + c)), a0);
              }
            }
            v128.store(yo + f4(c), activate(a0, act));
          }
        }
        // remaining channels (and every channel when M > 1)
        for (let o = c * M; o < Cn * M; o++) {
          const ci = o / M;
          let a: f32 = bias != 0 ? load<f32>(bias + f4(o)) : 0;
          for (let kh = 0; kh < KH; kh++) {
            const ih = oh * SH - PT + kh * DH;
            if (ih < 0 || ih >= H) continue;
            for (let kw = 0; kw < KW; kw++) {
              const iw = ow * SW - PL + kw * DW;
              if (iw < 0 || iw >= W) continue;
              a += load<f32>(x + f4(((n * H + ih) * W + iw) * C + ci)) * load<f32>(w + f4((kh * KW + kw) * OC + o));
            }
          }
          store<f32>(yo + f4(o), f32x4.extract_lane(activate(f32x4.splat(a), act), 0));
        }
      }
    }
  }
}

/**
 * Channels [0, C4) (a multiple of 4) of `count` output pixels of one row, 3×3 windows of adjacent
 * taps whose columns are inside the input: x0 the first pixel's window origin (row ih0, channel 0),
 * the pixels' windows `xStep` bytes apart, the rows `rowStep`; `tap`: C floats, from one tap
 * (column, weight, output pixel) to the next; r0, r1, r2: whether the window's rows are inside the
 * input (the others are padding). Four channels at a time across the row, their nine weights in
 * registers (the per-pixel loops load each weight for every pixel). Each output is the bias plus
 * the taps in row-major order, then the activation: the bits of the per-pixel loops.
 */
function rows3x3(x0: usize, rowStep: usize, xStep: usize, w: usize, bias: usize, act: i32, y0: usize, C4: i32, tap: usize, count: i32, r0: bool, r1: bool, r2: bool): void {
  for (let c = 0; c < C4; c += 4) {
    const wp = w + f4(c);
    const w00 = v128.load(wp), w01 = v128.load(wp + tap), w02 = v128.load(wp + 2 * tap);
    const w10 = v128.load(wp + 3 * tap), w11 = v128.load(wp + 4 * tap), w12 = v128.load(wp + 5 * tap);
    const w20 = v128.load(wp + 6 * tap), w21 = v128.load(wp + 7 * tap), w22 = v128.load(wp + 8 * tap);
    const b = bias != 0 ? v128.load(bias + f4(c)) : f32x4.splat(0);
    let xp = x0 + f4(c), yp = y0 + f4(c);
    for (let i = 0; i < count; i++) {
      let a = b;
      if (r0) a = tapRow(xp, tap, w00, w01, w02, a);
      if (r1) a = tapRow(xp + rowStep, tap, w10, w11, w12, a);
      if (r2) a = tapRow(xp + 2 * rowStep, tap, w20, w21, w22, a);
      v128.store(yp, activate(a, act));
      xp += xStep;
      yp += tap;
    }
  }
}

/** Whether row (or column) i lies in [0, n). */
// @ts-ignore: decorator
@inline function inside(i: i32, n: i32): bool {
  return i >= 0 && i < n;
}

/** The first output column whose 3×3 window of adjacent taps starts inside the input (ceil(PL / SW), at most OW). */
// @ts-ignore: decorator
@inline function firstInside(PL: i32, SW: i32, OW: i32): i32 {
  return min(OW, (PL + SW - 1) / SW);
}

/** One past the last output column whose 3×3 window of adjacent taps ends inside the input (at least owA). */
// @ts-ignore: decorator
@inline function endInside(PL: i32, SW: i32, W: i32, OW: i32, owA: i32): i32 {
  return W >= 3 ? max(owA, min(OW, (W - 3 + PL) / SW + 1)) : owA;
}

/**
 * The filter gradient's share of one output row (rows3x3's pixels): dw[t][c] += Σ over the
 * `count` pixels of x(tap t) · dy, channels [0, C4) four at a time, the nine taps' sums in
 * registers across the row and added to dw at its end (only the rows r0, r1, r2 inside the input).
 * x0, rowStep, xStep, tap as rows3x3; dy0: the first pixel's dy.
 */
function rows3x3Filter(x0: usize, rowStep: usize, xStep: usize, dy0: usize, dw: usize, C4: i32, tap: usize, count: i32, r0: bool, r1: bool, r2: bool): void {
  for (let c = 0; c < C4; c += 4) {
    const z = f32x4.splat(0);
    let s00 = z, s01 = z, s02 = z, s10 = z, s11 = z, s12 = z, s20 = z, s21 = z, s22 = z;
    let xp = x0 + f4(c), gp = dy0 + f4(c);
    for (let i = 0; i < count; i++) {
      const d = v128.load(gp);
      if (r0) {
        s00 = madd(v128.load(xp), d, s00);
        s01 = madd(v128.load(xp + tap), d, s01);
        s02 = madd(v128.load(xp + 2 * tap), d, s02);
      }
      if (r1) {
        const xq = xp + rowStep;
        s10 = madd(v128.load(xq), d, s10);
        s11 = madd(v128.load(xq + tap), d, s11);
        s12 = madd(v128.load(xq + 2 * tap), d, s12);
      }
      if (r2) {
        const xq = xp + 2 * rowStep;
        s20 = madd(v128.load(xq), d, s20);
        s21 = madd(v128.load(xq + tap), d, s21);
        s22 = madd(v128.load(xq + 2 * tap), d, s22);
      }
      xp += xStep;
      gp += tap;
    }
    const wp = dw + f4(c);
    if (r0) addTaps(wp, tap, s00, s01, s02);
    if (r1) addTaps(wp + 3 * tap, tap, s10, s11, s12);
    if (r2) addTaps(wp + 6 * tap, tap, s20, s21, s22);
  }
}

/** w[0], w[tap], w[2·tap] (4 floats each) += s0, s1, s2. */
// @ts-ignore: decorator
@inline function addTaps(w: usize, tap: usize, s0: v128, s1: v128, s2: v128): void {
  v128.store(w, f32x4.add(v128.load(w), s0));
  v128.store(w + tap, f32x4.add(v128.load(w + tap), s1));
  v128.store(w + 2 * tap, f32x4.add(v128.load(w + 2 * tap), s2));
}

/** a + the three taps of one window row starting at x (columns `tap` bytes apart), in order. */
// @ts-ignore: decorator
@inline function tapRow(x: usize, tap: usize, w0: v128, w1: v128, w2: v128, a: v128): v128 {
  a = madd(v128.load(x), w0, a);
  a = madd(v128.load(x + tap), w1, a);
  return madd(v128.load(x + 2 * tap), w2, a);
}

/**
 * Both depthwise backward passes walk the same (pixel, tap) pairs. filter = false: dx (pixel
 * space, `out`) += dy · w (`a`); filter = true: dw (tap space, `out`) += dy · x (`a`).
 */
// @ts-ignore: decorator
@inline function dwBackward(g: usize, dy: usize, a: usize, out: usize, filter: bool): void {
  const N = geo(g, CONV_N), H = geo(g, CONV_H), W = geo(g, CONV_W), C = geo(g, CONV_C);
  const OH = geo(g, CONV_OH), OW = geo(g, CONV_OW), OC = geo(g, CONV_OC), KH = geo(g, CONV_KH), KW = geo(g, CONV_KW);
  const SH = geo(g, CONV_SH), SW = geo(g, CONV_SW), DH = geo(g, CONV_DH), DW = geo(g, CONV_DW);
  const PT = geo(g, CONV_PT), PL = geo(g, CONV_PL), M = OC / C;
  zero(out, filter ? KH * KW * OC : N * H * W * C);
  const pixels = filter ? a : out, taps = filter ? out : a;
  // the filter gradient of 3×3 windows of adjacent taps: the columns [owA, owB) by rows3x3Filter
  // for channels [0, C4), the rest below
  const three = filter && M == 1 && KH == 3 && KW == 3 && DH == 1 && DW == 1;
  const owA = three ? firstInside(PL, SW, OW) : 0, owB = three ? endInside(PL, SW, W, OW, owA) : 0;
  const C4 = owB > owA ? C & ~3 : 0;
  for (let n = 0; n < N; n++) {
    for (let oh = 0; oh < OH; oh++) {
      const ih0 = oh * SH - PT;
      if (C4 > 0) {
        rows3x3Filter(a + f4(((n * H + ih0) * W + owA * SW - PL) * C), f4(W * C), f4(SW * C), dy + f4(((n * OH + oh) * OW + owA) * OC), out,
          C4, f4(C), owB - owA, inside(ih0, H), inside(ih0 + 1, H), inside(ih0 + 2, H));
      }
      for (let ow = 0; ow < OW; ow++) {
        if (ow == owA && C4 == C) ow = owB; // done whole by rows3x3Filter
        if (ow == OW) break;
        const c0 = ow >= owA && ow < owB ? C4 : 0;
        const go = dy + f4(((n * OH + oh) * OW + ow) * OC);
        for (let kh = 0; kh < KH; kh++) {
          const ih = oh * SH - PT + kh * DH;
          if (ih < 0 || ih >= H) continue;
          for (let kw = 0; kw < KW; kw++) {
            const iw = ow * SW - PL + kw * DW;
            if (iw < 0 || iw >= W) continue;
            const pp = pixels + f4(((n * H + ih) * W + iw) * C), tp = taps + f4((kh * KW + kw) * OC);
            let c = c0;
            if (M == 1) {
              for (; c + 4 <= C; c += 4) {
                const gv = v128.load(go + f4(c));
                if (filter) v128.store(tp + f4(c), madd(gv, v128.load(pp + f4(c)), v128.load(tp + f4(c))));
                else v128.store(pp + f4(c), madd(gv, v128.load(tp + f4(c)), v128.load(pp + f4(c))));
              }
            }
            for (let o = c * M; o < OC; o++) {
              const gs = load<f32>(go + f4(o));
              if (filter) store<f32>(tp + f4(o), load<f32>(tp + f4(o)) + gs * load<f32>(pp + f4(o / M)));
              else store<f32>(pp + f4(o / M), load<f32>(pp + f4(o / M)) + gs * load<f32>(tp + f4(o)));
            }
          }
        }
      }
    }
  }
}

/** dx[n,ih,iw,c] = Σ over taps reading (ih, iw) and m of dy[n,oh,ow,c·M+m] · w[kh,kw,0,c·M+m]. Overwrites dx. */
export function f32_depthwise_conv2d_bwd_data(g: usize, dy: usize, w: usize, dx: usize): void {
  dwBackward(g, dy, w, dx, false);
}

/** dw[kh,kw,0,o] = Σ_{n,oh,ow} x[n,ih,iw,o/M] · dy[n,oh,ow,o] over in-bounds taps. Overwrites dw. */
export function f32_depthwise_conv2d_bwd_filter(g: usize, x: usize, dy: usize, dw: usize): void {
  dwBackward(g, dy, x, dw, true);
}
