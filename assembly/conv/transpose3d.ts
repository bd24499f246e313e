// The transposed 3-D convolution ("deconvolution" of volumes) on NDHWC activations: direct loops,
// SIMD along the input channels. Geometry block: common/geometry.ts (CT3_*). Input pixel
// (id, ih, iw) with tap (kd, kh, kw) reaches output (id·SD − PF + kd·DD, ih·SH − PT + kh·DH,
// iw·SW − PL + kw·DW); outputs outside the output's extent are cropped.

import { f4 } from "../common/simd";
import {
  geo, CT3_N, CT3_D, CT3_H, CT3_W, CT3_C, CT3_OD, CT3_OH, CT3_OW, CT3_F, CT3_KD, CT3_KH, CT3_KW,
  CT3_SD, CT3_SH, CT3_SW, CT3_DD, CT3_DH, CT3_DW, CT3_PF, CT3_PT, CT3_PL,
} from "../common/geometry";
import { zero } from "../eltwise/binary";

/** Σ_c a[c]·b[c] over C floats (4 lanes, then the tail). */
// @ts-ignore: decorator
@inline function dot(a: usize, b: usize, C: i32): f32 {
  let acc = f32x4.splat(0);
  let c = 0;
  for (; c + 4 <= C; c += 4) acc = f32x4.add(acc, f32x4.mul(v128.load(a + f4(c)), v128.load(b + f4(c))));
  let s = f32x4.extract_lane(acc, 0) + f32x4.extract_lane(acc, 1) + f32x4.extract_lane(acc, 2) + f32x4.extract_lane(acc, 3);
  for (; c < C; c++) s += load<f32>(a + f4(c)) * load<f32>(b + f4(c));
  return s;
}

/** dst[c] += s·src[c] over C floats. */
// @ts-ignore: decorator
@inline function axpy(dst: usize, src: usize, s: f32, C: i32): void {
  const v = f32x4.splat(s);
  let c = 0;
  for (; c + 4 <= C; c += 4) v128.store(dst + f4(c), f32x4.add(v128.load(dst + f4(c)), f32x4.mul(v128.load(src + f4(c)), v)));
  for (; c < C; c++) store<f32>(dst + f4(c), load<f32>(dst + f4(c)) + load<f32>(src + f4(c)) * s);
}

/** The input index i that tap k brings to output o along one axis (o = i·S − P + k·Dl), or −1. */
// @ts-ignore: decorator
@inline function source(o: i32, k: i32, S: i32, P: i32, Dl: i32, size: i32): i32 {
  const t = o + P - k * Dl;
  if (t < 0 || t % S != 0) return -1;
  const i = t / S;
  return i < size ? i : -1;
}

/**
 * Forward: y[n,od,oh,ow,f] = bias[f] (0 if bias = 0) + Σ over the input pixels and taps that reach
 * (od, oh, ow) of Σ_c x[n,id,ih,iw,c]·w[kd,kh,kw,f,c]. Overwrites y.
 */
export function f32_conv3d_transpose_fwd(g: usize, x: usize, w: usize, bias: usize, y: usize): void {
  const N = geo(g, CT3_N), D = geo(g, CT3_D), H = geo(g, CT3_H), W = geo(g, CT3_W), C = geo(g, CT3_C);
  const OD = geo(g, CT3_OD), OH = geo(g, CT3_OH), OW = geo(g, CT3_OW), F = geo(g, CT3_F);
  const KD = geo(g, CT3_KD), KH = geo(g, CT3_KH), KW = geo(g, CT3_KW);
  const SD = geo(g, CT3_SD), SH = geo(g, CT3_SH), SW = geo(g, CT3_SW);
  const DD = geo(g, CT3_DD), DH = geo(g, CT3_DH), DW = geo(g, CT3_DW);
  const PF = geo(g, CT3_PF), PT = geo(g, CT3_PT), PL = geo(g, CT3_PL);
  for (let n = 0; n < N; n++) {
    for (let od = 0; od < OD; od++) {
      for (let oh = 0; oh < OH; oh++) {
        for (let ow = 0; ow < OW; ow++) {
          const yo = y + f4((((n * OD + od) * OH + oh) * OW + ow) * F);
          if (bias != 0) memory.copy(yo, bias, <usize>f4(F));
          else zero(yo, F);
          for (let kd = 0; kd < KD; kd++) {
            const id = source(od, kd, SD, PF, DD, D);
            if (id < 0) continue;
            for (let kh = 0; kh < KH; kh++) {
              const ih = source(oh, kh, SH, PT, DH, H);
              if (ih < 0) continue;
              for (let kw = 0; kw < KW; kw++) {
                const iw = source(ow, kw, SW, PL, DW, W);
                if (iw < 0) continue;
                const xi = x + f4((((n * D + id) * H + ih) * W + iw) * C);
                const wk = w + f4(((kd * KH + kh) * KW + kw) * F * C);
                for (let f = 0; f < F; f++) store<f32>(yo + f4(f), load<f32>(yo + f4(f)) + dot(xi, wk + f4(f * C), C));
              }
            }
          }
        }
      }
    }
  }
}

const DATA = 0, FILTER = 1;

/**
 * Both gradients walk every (input pixel, tap) pair whose output lies inside the output, with that
 * output's dy row: DATA adds Σ_f dy[f]·w[tap, f, ·] into the pixel's dx, FILTER adds dy[f]·x[pixel, ·]
 * into dw[tap, f, ·]. `px` is dx (DATA) or x (FILTER), `wt` w (DATA) or dw (FILTER); the one
 * written is zeroed first.
 */
// @ts-ignore: decorator
@inline function backward(mode: i32, g: usize, px: usize, dy: usize, wt: usize): void {
  const N = geo(g, CT3_N), D = geo(g, CT3_D), H = geo(g, CT3_H), W = geo(g, CT3_W), C = geo(g, CT3_C);
  const OD = geo(g, CT3_OD), OH = geo(g, CT3_OH), OW = geo(g, CT3_OW), F = geo(g, CT3_F);
  const KD = geo(g, CT3_KD), KH = geo(g, CT3_KH), KW = geo(g, CT3_KW);
  const SD = geo(g, CT3_SD), SH = geo(g, CT3_SH), SW = geo(g, CT3_SW);
  const DD = geo(g, CT3_DD), DH = geo(g, CT3_DH), DW = geo(g, CT3_DW);
  const PF = geo(g, CT3_PF), PT = geo(g, CT3_PT), PL = geo(g, CT3_PL);
  if (mode == DATA) zero(px, N * D * H * W * C);
  else zero(wt, KD * KH * KW * F * C);
  for (let n = 0; n < N; n++) {
    for (let id = 0; id < D; id++) {
      for (let ih = 0; ih < H; ih++) {
        for (let iw = 0; iw < W; iw++) {
          const pi = px + f4((((n * D + id) * H + ih) * W + iw) * C);
          for (let kd = 0; kd < KD; kd++) {
            const od = id * SD - PF + kd * DD;
            if (od < 0 || od >= OD) continue;
            for (let kh = 0; kh < KH; kh++) {
              const oh = ih * SH - PT + kh * DH;
              if (oh < 0 || oh >= OH) continue;
              for (let kw = 0; kw < KW; kw++) {
                const ow = iw * SW - PL + kw * DW;
                if (ow < 0 || ow >= OW) continue;
                const go = dy + f4((((n * OD + od) * OH + oh) * OW + ow) * F);
                const wk = wt + f4(((kd * KH + kh) * KW + kw) * F * C);
                if (mode == DATA) for (let f = 0; f < F; f++) axpy(pi, wk + f4(f * C), load<f32>(go + f4(f)), C);
                else for (let f = 0; f < F; f++) axpy(wk + f4(f * C), pi, load<f32>(go + f4(f)), C);
              }
            }
          }
        }
      }
    }
  }
}

/**
 * Gradient with respect to x: dx[n,id,ih,iw,c] = Σ over the taps whose output (od, oh, ow) is inside
 * the output of Σ_f dy[n,od,oh,ow,f]·w[kd,kh,kw,f,c]. Overwrites dx.
 */
export function f32_conv3d_transpose_bwd_data(g: usize, dy: usize, w: usize, dx: usize): void {
  backward(DATA, g, dx, dy, w);
}

/**
 * Gradient with respect to w: dw[kd,kh,kw,f,c] = Σ over the images and input pixels whose tap
 * (kd, kh, kw) reaches inside the output of dy[n,od,oh,ow,f]·x[n,id,ih,iw,c]. Overwrites dw.
 */
export function f32_conv3d_transpose_bwd_filter(g: usize, x: usize, dy: usize, dw: usize): void {
  backward(FILTER, g, x, dy, dw);
}
