// Implicit-GEMM conv2d forward: the gemm micro-kernel reads its A operand straight from the
// NHWC input through a table of tap offsets, so there is no im2col copy and no A packing.
// A tile is 4 output pixels × 8 output channels (eight f32x4 accumulators). Pixels whose whole
// window lies inside the input share one offset table; border pixels get their own table in
// which padding taps point at a zero word.

import { f4, madd } from "../common/simd";
import { ACT_RELU, ACT_RELU6 } from "../common/geometry";
import {
  geo, CONV_N, CONV_H, CONV_W, CONV_C, CONV_OH, CONV_OW, CONV_OC, CONV_KH, CONV_KW,
  CONV_SH, CONV_SW, CONV_DH, CONV_DW, CONV_PT, CONV_PL, CONV_G,
} from "../common/geometry";
import { KC, NR } from "../gemm/gemm";

/** Bytes of scratch convImplicitFwd needs: shared table, 4 border tables, a zero word. */
export function implicitScratchBytes(Kg: i32): i32 {
  return 5 * Kg * 4 + 16;
}

/** The first n (0..4) floats at p in the low lanes, zeros above; never reads past p + 4n. */
// @ts-ignore: decorator
@inline function loadPartial(p: usize, n: i32): v128 {
  if (n >= 4) return v128.load(p);
  let v = f32x4.splat(0);
  if (n > 0) v = v128.load32_zero(p);
  if (n > 1) v = f32x4.replace_lane(v, 1, load<f32>(p, 4));
  if (n > 2) v = f32x4.replace_lane(v, 2, load<f32>(p, 8));
  return v;
}

/** Stores the low n (0..4) lanes of v at p. */
// @ts-ignore: decorator
@inline function storePartial(p: usize, v: v128, n: i32): void {
  if (n >= 4) {
    v128.store(p, v);
    return;
  }
  if (n > 0) v128.store32_lane(p, v, 0);
  if (n > 1) v128.store32_lane(p, v, 1, 4);
  if (n > 2) v128.store32_lane(p, v, 2, 8);
}

/** Epilogue of one tile row: c[0..nr) = (first ? 0 : c) + acc (+ bias, activation when last). */
// @ts-ignore: decorator
@inline function store8(acc0: v128, acc1: v128, c: usize, nr: i32, first: bool, last: bool, bias: usize, act: i32): void {
  let r0 = acc0, r1 = acc1;
  if (nr == NR) {
    if (!first) {
      r0 = f32x4.add(r0, v128.load(c));
      r1 = f32x4.add(r1, v128.load(c, 16));
    }
    if (last) {
      if (bias != 0) {
        r0 = f32x4.add(r0, v128.load(bias));
        r1 = f32x4.add(r1, v128.load(bias, 16));
      }
      if (act == ACT_RELU) {
        r0 = f32x4.max(r0, f32x4.splat(0));
        r1 = f32x4.max(r1, f32x4.splat(0));
      } else if (act == ACT_RELU6) {
        r0 = f32x4.min(f32x4.max(r0, f32x4.splat(0)), f32x4.splat(6));
        r1 = f32x4.min(f32x4.max(r1, f32x4.splat(0)), f32x4.splat(6));
      }
    }
    v128.store(c, r0);
    v128.store(c, r1, 16);
    return;
  }
  const n0 = min(nr, 4), n1 = nr - 4;
  if (!first) {
    // earlier depth blocks left partial sums in C
    r0 = f32x4.add(r0, loadPartial(c, n0));
    if (n1 > 0) r1 = f32x4.add(r1, loadPartial(c + 16, n1));
  }
  if (last) {
    if (bias != 0) {
      r0 = f32x4.add(r0, loadPartial(bias, n0));
      if (n1 > 0) r1 = f32x4.add(r1, loadPartial(bias + 16, n1));
    }
    if (act == ACT_RELU) {
      r0 = f32x4.max(r0, f32x4.splat(0));
      r1 = f32x4.max(r1, f32x4.splat(0));
    } else if (act == ACT_RELU6) {
      r0 = f32x4.min(f32x4.max(r0, f32x4.splat(0)), f32x4.splat(6));
      r1 = f32x4.min(f32x4.max(r1, f32x4.splat(0)), f32x4.splat(6));
    }
  }
  storePartial(c, r0, n0);
  if (n1 > 0) storePartial(c + 16, r1, n1);
}

/**
 * One 4×8 tile over depth [k0, k0 + kc): A(r, k) = *(base_r + tab_r[k]) (byte offsets), B from a
 * packed panel. `shared`: all four rows use tab0 (one table load per depth step).
 */
// @ts-ignore: decorator
@inline function tile(
  shared: bool, half: bool, k0: i32, kc: i32,
  b0: usize, b1: usize, b2: usize, b3: usize, t0: usize, t1: usize, t2: usize, t3: usize,
  pb: usize, y0: usize, y1: usize, y2: usize, y3: usize, mr: i32, nr: i32,
  first: bool, last: bool, bias: usize, act: i32,
): void {
  let c00 = f32x4.splat(0), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00;
  for (let k = k0; k < k0 + kc; k++) {
    const bv0 = v128.load(pb);
    // half: a last panel of at most 4 columns needs only the first half of each row
    const bv1 = half ? bv0 : v128.load(pb, 16);
    let a0: v128, a1: v128, a2: v128, a3: v128;
    if (shared) {
      const o = <usize>load<u32>(t0 + f4(k));
      a0 = v128.load32_splat(b0 + o);
      a1 = v128.load32_splat(b1 + o);
      a2 = v128.load32_splat(b2 + o);
      a3 = v128.load32_splat(b3 + o);
    } else {
      a0 = v128.load32_splat(b0 + <usize>load<u32>(t0 + f4(k)));
      a1 = v128.load32_splat(b1 + <usize>load<u32>(t1 + f4(k)));
      a2 = v128.load32_splat(b2 + <usize>load<u32>(t2 + f4(k)));
      a3 = v128.load32_splat(b3 + <usize>load<u32>(t3 + f4(k)));
    }
    c00 = madd(a0, bv0, c00);
    c10 = madd(a1, bv0, c10);
    c20 = madd(a2, bv0, c20);
    c30 = madd(a3, bv0, c30);
    if (!half) {
      c01 = madd(a0, bv1, c01);
      c11 = madd(a1, bv1, c11);
      c21 = madd(a2, bv1, c21);
      c31 = madd(a3, bv1, c31);
    }
    pb += 32;
  }
  store8(c00, c01, y0, nr, first, last, bias, act);
  if (mr > 1) store8(c10, c11, y1, nr, first, last, bias, act);
  if (mr > 2) store8(c20, c21, y2, nr, first, last, bias, act);
  if (mr > 3) store8(c30, c31, y3, nr, first, last, bias, act);
}

/**
 * Forward conv of group gi through the implicit gemm. packed: this group's weights in gemm
 * panels ([OCg/8][Kg][8], f32_gemm_pack_b layout). Writes y columns gi·OCg … with bias and act.
 */
export function convImplicitFwd(g: usize, x: usize, gi: i32, packed: usize, bias: usize, act: i32, y: usize, scratch: usize): void {
  const H = geo(g, CONV_H), W = geo(g, CONV_W), C = geo(g, CONV_C);
  const OH = geo(g, CONV_OH), OW = geo(g, CONV_OW), OC = geo(g, CONV_OC), KH = geo(g, CONV_KH), KW = geo(g, CONV_KW);
  const SH = geo(g, CONV_SH), SW = geo(g, CONV_SW), DH = geo(g, CONV_DH), DW = geo(g, CONV_DW);
  const PT = geo(g, CONV_PT), PL = geo(g, CONV_PL), G = geo(g, CONV_G);
  const Cg = C / G, OCg = OC / G, Kg = KH * KW * Cg;
  const P = geo(g, CONV_N) * OH * OW;
  const shared = scratch;
  const border = shared + f4(Kg); // 4 tables of Kg
  const zeroWord = border + f4(4 * Kg);
  v128.store(zeroWord, f32x4.splat(0));
  // shared tap offsets (bytes) relative to the window origin
  let k = 0;
  for (let kh = 0; kh < KH; kh++) {
    for (let kw = 0; kw < KW; kw++) {
      for (let ci = 0; ci < Cg; ci++) store<u32>(shared + f4(k++), <u32>f4((kh * DH * W + kw * DW) * C + ci));
    }
  }
  const yg = y + f4(gi * OCg);
  const bg = bias != 0 ? bias + f4(gi * OCg) : 0;
  let ow = 0, oh = 0, n = 0;
  for (let p0 = 0; p0 < P; p0 += 4) {
    const mr = min(4, P - p0);
    // origins of the 4 windows; a pixel is interior when its whole window is inside
    let allInside = true;
    let b0: usize = 0, b1: usize = 0, b2: usize = 0, b3: usize = 0;
    let t0 = shared, t1 = shared, t2 = shared, t3 = shared;
    for (let r = 0; r < mr; r++) {
      const ih0 = oh * SH - PT, iw0 = ow * SW - PL;
      const inside = ih0 >= 0 && ih0 + (KH - 1) * DH < H && iw0 >= 0 && iw0 + (KW - 1) * DW < W;
      // a clamped origin keeps every address of an interior window in bounds
      const base = x + f4(((n * H + max(ih0, 0)) * W + max(iw0, 0)) * C + gi * Cg);
      let tab = shared;
      if (!inside) {
        allInside = false;
        // per-pixel byte offsets from `base`; padding taps point at the zero word
        tab = border + f4(r * Kg);
        let kk = 0;
        for (let kh = 0; kh < KH; kh++) {
          const ih = ih0 + kh * DH;
          for (let kw = 0; kw < KW; kw++) {
            const iw = iw0 + kw * DW;
            const ok = ih >= 0 && ih < H && iw >= 0 && iw < W;
            const rel = <u32>(<i32>f4(((ih - max(ih0, 0)) * W + (iw - max(iw0, 0))) * C));
            for (let ci = 0; ci < Cg; ci++) {
              store<u32>(tab + f4(kk++), ok ? rel + <u32>f4(ci) : <u32>(zeroWord - base));
            }
          }
        }
      }
      if (r == 0) { b0 = base; t0 = tab; }
      else if (r == 1) { b1 = base; t1 = tab; }
      else if (r == 2) { b2 = base; t2 = tab; }
      else { b3 = base; t3 = tab; }
      if (++ow == OW) {
        ow = 0;
        if (++oh == OH) {
          oh = 0;
          n++;
        }
      }
    }
    // rows past the end repeat row 0 (computed, never stored)
    if (mr < 2) { b1 = b0; t1 = t0; }
    if (mr < 3) { b2 = b0; t2 = t0; }
    if (mr < 4) { b3 = b0; t3 = t0; }
    const y0 = yg + f4(p0 * OC);
    const y1 = y0 + f4(OC), y2 = y1 + f4(OC), y3 = y2 + f4(OC);
    for (let pc = 0; pc < Kg; pc += KC) {
      const kc = min(KC, Kg - pc);
      const first = pc == 0, last = pc + kc == Kg;
      for (let j = 0; j < OCg; j += NR) {
        const nr = min(NR, OCg - j);
        const pb = packed + f4(((j / NR) * Kg + pc) * NR);
        const bj = bg != 0 ? bg + f4(j) : 0;
        const o0 = y0 + f4(j), o1 = y1 + f4(j), o2 = y2 + f4(j), o3 = y3 + f4(j);
        if (nr > 4) {
          if (allInside) tile(true, false, pc, kc, b0, b1, b2, b3, t0, t0, t0, t0, pb, o0, o1, o2, o3, mr, nr, first, last, bj, act);
          else tile(false, false, pc, kc, b0, b1, b2, b3, t0, t1, t2, t3, pb, o0, o1, o2, o3, mr, nr, first, last, bj, act);
        } else {
          if (allInside) tile(true, true, pc, kc, b0, b1, b2, b3, t0, t0, t0, t0, pb, o0, o1, o2, o3, mr, nr, first, last, bj, act);
          else tile(false, true, pc, kc, b0, b1, b2, b3, t0, t1, t2, t3, pb, o0, o1, o2, o3, mr, nr, first, last, bj, act);
        }
      }
    }
  }
}
