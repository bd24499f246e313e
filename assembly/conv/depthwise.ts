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
 * y[n,oh,ow,c·M+m] = act(bias[c·M+m] + Σ_{kh,kw} x[n,ih,iw,c] · w[kh,kw,0,c·M+m]).
 * bias may be 0; act 0 none, 1 ReLU, 2 ReLU6. y must not overlap x.
 */
export function f32_depthwise_conv2d_fwd(g: usize, x: usize, w: usize, bias: usize, act: i32, y: usize): void {
  const N = geo(g, CONV_N), H = geo(g, CONV_H), W = geo(g, CONV_W), C = geo(g, CONV_C);
  const OH = geo(g, CONV_OH), OW = geo(g, CONV_OW), OC = geo(g, CONV_OC), KH = geo(g, CONV_KH), KW = geo(g, CONV_KW);
  const SH = geo(g, CONV_SH), SW = geo(g, CONV_SW), DH = geo(g, CONV_DH), DW = geo(g, CONV_DW);
  const PT = geo(g, CONV_PT), PL = geo(g, CONV_PL), M = OC / C;
  const rowStep = f4(DH * W * C), colStep = f4(DW * C);
  for (let n = 0; n < N; n++) {
    for (let oh = 0; oh < OH; oh++) {
      const ih0 = oh * SH - PT;
      const rowInside = ih0 >= 0 && ih0 + (KH - 1) * DH < H;
      for (let ow = 0; ow < OW; ow++) {
        const yo = y + f4(((n * OH + oh) * OW + ow) * OC);
        const iw0 = ow * SW - PL;
        let c = 0;
        if (M == 1 && rowInside && iw0 >= 0 && iw0 + (KW - 1) * DW < W) {
          // interior pixel: every tap in bounds, pointers stepped without checks
          const xbase = x + f4(((n * H + ih0) * W + iw0) * C);
          for (; c + 16 <= C; c += 16) {
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
          for (; c + 4 <= C; c += 4) {
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
          for (; c + 8 <= C; c += 8) {
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
          for (; c + 4 <= C; c += 4) {
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
        for (let o = c * M; o < OC; o++) {
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
  for (let n = 0; n < N; n++) {
    for (let oh = 0; oh < OH; oh++) {
      for (let ow = 0; ow < OW; ow++) {
        const go = dy + f4(((n * OH + oh) * OW + ow) * OC);
        for (let kh = 0; kh < KH; kh++) {
          const ih = oh * SH - PT + kh * DH;
          if (ih < 0 || ih >= H) continue;
          for (let kw = 0; kw < KW; kw++) {
            const iw = ow * SW - PL + kw * DW;
            if (iw < 0 || iw >= W) continue;
            const pp = pixels + f4(((n * H + ih) * W + iw) * C), tp = taps + f4((kh * KW + kw) * OC);
            let c = 0;
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
