// The implicit (no im2col) backward passes of conv2d.
//
// Filter gradient: dw[k, oc] = Σ_p x(p, k) · dy[p, oc] as a gemm whose depth is the output pixels
// p, read straight from the NHWC input through a table of tap offsets (as the implicit forward
// reads it) and from dy as it lies: no im2col copy, no packing. A tile is 4 taps × 8 output
// channels (eight f32x4 accumulators, dy's 8 channels loaded as two vectors per pixel, each tap's
// input value splatted), or 8 taps × 4 channels when a panel has at most 4 channels left. The 4
// taps of a tile are, where they can be, four adjacent input floats (a run within a kernel row's
// KW·Cg contiguous floats), read from one address: V8's code for the loop spends more
// instructions on addresses than on multiply-adds (LeNet's C3: 15–19% faster); the taps between
// runs go four at a time in tiles of their own. With one input channel and few output channels
// (LeNet's C1: 6, a quarter of tile48's lanes empty) four taps of a kernel row are the lanes
// instead and dy's values are splatted (kwLanes). Small
// channel counts — the first layers of a CNN, where the im2col path's gemm has a depth of
// N·OH·OW and a 25×6 result — are where it pays (see ops/conv.ts convPaths).
//
// Data gradient at stride 1: the forward conv of dy with the weights flipped and transposed
// (HWIO [KH,KW,C,OC] → [KH,KW,OC,C], taps reversed), padding D·(K−1) − P, run by the implicit
// forward kernel (implicit.ts): no col2im, dx written once.

import { copyRow, f4, loadPartial, madd, storePartial } from "../common/simd";
import {
  geo, CONV_N, CONV_H, CONV_W, CONV_C, CONV_OH, CONV_OW, CONV_OC, CONV_KH, CONV_KW,
  CONV_SH, CONV_SW, CONV_DH, CONV_DW, CONV_PT, CONV_PL, CONV_G,
} from "../common/geometry";
import { zero } from "../eltwise/binary";
import { f32_gemm_packed_b_floats, NR } from "../gemm/gemm";
import { needsPadding, reachH, reachW, convImplicitFwd } from "./implicit";
import { CONV_FIELDS } from "../common/geometry";

/** dst[0..n) += v's low n lanes (n in 1..4). */
// @ts-ignore: decorator
@inline function addPartial(dst: usize, v: v128, n: i32): void {
  storePartial(dst, f32x4.add(loadPartial(dst, n), v), n);
}

/** dw row (one tap, nr ≤ 8 channels) += the two accumulators of that tap. */
// @ts-ignore: decorator
@inline function addRow8(dst: usize, c0: v128, c1: v128, nr: i32): void {
  if (nr == 8) {
    v128.store(dst, f32x4.add(v128.load(dst), c0));
    v128.store(dst, f32x4.add(v128.load(dst, 16), c1), 16);
    return;
  }
  addPartial(dst, c0, min(nr, 4));
  if (nr > 4) addPartial(dst + 16, c1, nr - 4);
}

/**
 * 4 taps × 8 channels over every output pixel of one image:
 * dw row d_t [j .. j + nr) += Σ_p x(p, tap t) · dy[p, j .. j + nr) for t < taps.
 * src: the image (or padded frame) at the group's first channel; o0..o3: tap byte offsets; d0..d3:
 * the taps' dw rows at channel j;
 * dyc: dy at (pixel 0, channel j); rowStep / colStep: bytes between windows one output row /
 * column apart; dyStep: OC·4. tail: dy's 8 floats at the image's last pixel would run past the
 * end of dy, so that pixel is read with partial loads.
 */
// @ts-ignore: decorator
@inline function tile48Body(
  run: bool, src: usize, o0: usize, o1: usize, o2: usize, o3: usize, dyc: usize, OH: i32, OW: i32,
  rowStep: usize, colStep: usize, dyStep: usize, tail: bool, d0: usize, d1: usize, d2: usize, d3: usize, taps: i32, nr: i32,
): void {
  let c00 = f32x4.splat(0), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00;
  // run: the four taps are adjacent floats (o0, o0 + 4, o0 + 8, o0 + 12), read from one address
  // with constant offsets — three address computations fewer per pixel, where V8's code for this
  // loop spends more instructions on addresses than on multiply-adds
  let xr = src + (run ? o0 : 0), dp = dyc;
  for (let oh = 0; oh < OH; oh++) {
    let xp = xr;
    const end = tail && oh == OH - 1 ? OW - 1 : OW;
    for (let ow = 0; ow < end; ow++) {
      const b0 = v128.load(dp), b1 = v128.load(dp, 16);
      const a0 = run ? v128.load32_splat(xp) : v128.load32_splat(xp + o0);
      const a1 = run ? v128.load32_splat(xp, 4) : v128.load32_splat(xp + o1);
      const a2 = run ? v128.load32_splat(xp, 8) : v128.load32_splat(xp + o2);
      const a3 = run ? v128.load32_splat(xp, 12) : v128.load32_splat(xp + o3);
      c00 = madd(a0, b0, c00);
      c01 = madd(a0, b1, c01);
      c10 = madd(a1, b0, c10);
      c11 = madd(a1, b1, c11);
      c20 = madd(a2, b0, c20);
      c21 = madd(a2, b1, c21);
      c30 = madd(a3, b0, c30);
      c31 = madd(a3, b1, c31);
      xp += colStep;
      dp += dyStep;
    }
    xr += rowStep;
  }
  if (tail) {
    const xp = src + (<usize>(OH - 1)) * rowStep + (<usize>(OW - 1)) * colStep;
    const b0 = loadPartial(dp, min(nr, 4)), b1 = loadPartial(dp + 16, nr - 4);
    const a0 = v128.load32_splat(xp + o0), a1 = v128.load32_splat(xp + o1);
    const a2 = v128.load32_splat(xp + o2), a3 = v128.load32_splat(xp + o3);
    c00 = madd(a0, b0, c00);
    c01 = madd(a0, b1, c01);
    c10 = madd(a1, b0, c10);
    c11 = madd(a1, b1, c11);
    c20 = madd(a2, b0, c20);
    c21 = madd(a2, b1, c21);
    c30 = madd(a3, b0, c30);
    c31 = madd(a3, b1, c31);
  }
  addRow8(d0, c00, c01, nr);
  if (taps > 1) addRow8(d1, c10, c11, nr);
  if (taps > 2) addRow8(d2, c20, c21, nr);
  if (taps > 3) addRow8(d3, c30, c31, nr);
}

/** Byte offset of tap t in the tap table. */
// @ts-ignore: decorator
@inline function tapAt(table: usize, t: i32): usize {
  return <usize>load<u32>(table + f4(t));
}

/** tile48Body for any 1–4 taps (those past `taps` repeat the first: read, never stored). */
function tile48(
  src: usize, o0: usize, o1: usize, o2: usize, o3: usize, dyc: usize, OH: i32, OW: i32,
  rowStep: usize, colStep: usize, dyStep: usize, tail: bool, d0: usize, d1: usize, d2: usize, d3: usize, taps: i32, nr: i32,
): void {
  tile48Body(false, src, o0, o1, o2, o3, dyc, OH, OW, rowStep, colStep, dyStep, tail, d0, d1, d2, d3, taps, nr);
}

/** tile48Body for four taps that are adjacent floats of the input (o0, o0 + 4, …) and adjacent dw rows (d, d + row, …). */
function tile48Run(
  src: usize, o0: usize, dyc: usize, OH: i32, OW: i32,
  rowStep: usize, colStep: usize, dyStep: usize, tail: bool, d: usize, row: usize, nr: i32,
): void {
  tile48Body(true, src, o0, o0 + 4, o0 + 8, o0 + 12, dyc, OH, OW, rowStep, colStep, dyStep, tail, d, d + row, d + 2 * row, d + 3 * row, 4, nr);
}

/** tile48 for a panel of at most 4 channels: 8 taps × 4 channels (o: the table at the group's first tap). */
function tile84(
  src: usize, o: usize, dyc: usize, OH: i32, OW: i32,
  rowStep: usize, colStep: usize, dyStep: usize, tail: bool, dst: usize, OC: i32, taps: i32, nr: i32,
): void {
  // taps past `taps` repeat the first (read, never stored)
  const o0 = <usize>load<u32>(o);
  const o1 = taps > 1 ? <usize>load<u32>(o, 4) : o0, o2 = taps > 2 ? <usize>load<u32>(o, 8) : o0;
  const o3 = taps > 3 ? <usize>load<u32>(o, 12) : o0, o4 = taps > 4 ? <usize>load<u32>(o, 16) : o0;
  const o5 = taps > 5 ? <usize>load<u32>(o, 20) : o0, o6 = taps > 6 ? <usize>load<u32>(o, 24) : o0;
  const o7 = taps > 7 ? <usize>load<u32>(o, 28) : o0;
  let c0 = f32x4.splat(0), c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0, c6 = c0, c7 = c0;
  let xr = src, dp = dyc;
  for (let oh = 0; oh < OH; oh++) {
    let xp = xr;
    const end = tail && oh == OH - 1 ? OW - 1 : OW;
    for (let ow = 0; ow < end; ow++) {
      const b = v128.load(dp);
      c0 = madd(v128.load32_splat(xp + o0), b, c0);
      c1 = madd(v128.load32_splat(xp + o1), b, c1);
      c2 = madd(v128.load32_splat(xp + o2), b, c2);
      c3 = madd(v128.load32_splat(xp + o3), b, c3);
      c4 = madd(v128.load32_splat(xp + o4), b, c4);
      c5 = madd(v128.load32_splat(xp + o5), b, c5);
      c6 = madd(v128.load32_splat(xp + o6), b, c6);
      c7 = madd(v128.load32_splat(xp + o7), b, c7);
      xp += colStep;
      dp += dyStep;
    }
    xr += rowStep;
  }
  if (tail) {
    const xp = src + (<usize>(OH - 1)) * rowStep + (<usize>(OW - 1)) * colStep;
    const b = loadPartial(dp, nr);
    c0 = madd(v128.load32_splat(xp + o0), b, c0);
    c1 = madd(v128.load32_splat(xp + o1), b, c1);
    c2 = madd(v128.load32_splat(xp + o2), b, c2);
    c3 = madd(v128.load32_splat(xp + o3), b, c3);
    c4 = madd(v128.load32_splat(xp + o4), b, c4);
    c5 = madd(v128.load32_splat(xp + o5), b, c5);
    c6 = madd(v128.load32_splat(xp + o6), b, c6);
    c7 = madd(v128.load32_splat(xp + o7), b, c7);
  }
  const row = f4(OC);
  addPartial(dst, c0, nr);
  if (taps > 1) addPartial(dst + row, c1, nr);
  if (taps > 2) addPartial(dst + 2 * row, c2, nr);
  if (taps > 3) addPartial(dst + 3 * row, c3, nr);
  if (taps > 4) addPartial(dst + 4 * row, c4, nr);
  if (taps > 5) addPartial(dst + 5 * row, c5, nr);
  if (taps > 6) addPartial(dst + 6 * row, c6, nr);
  if (taps > 7) addPartial(dst + 7 * row, c7, nr);
}

/** dw[t·OC] += lane t of v for t < 4: four taps' values of one channel, OC floats apart (d: tap 0's). */
// @ts-ignore: decorator
@inline function addLanes(d: usize, v: v128, tapBytes: usize): void {
  store<f32>(d, load<f32>(d) + f32x4.extract_lane(v, 0));
  store<f32>(d + tapBytes, load<f32>(d + tapBytes) + f32x4.extract_lane(v, 1));
  store<f32>(d + 2 * tapBytes, load<f32>(d + 2 * tapBytes) + f32x4.extract_lane(v, 2));
  store<f32>(d + 3 * tapBytes, load<f32>(d + 3 * tapBytes) + f32x4.extract_lane(v, 3));
}

/**
 * One input channel: the four taps kw0 … kw0 + 3 of `rows` (1–3, a constant at each call) kernel
 * rows × 3 output channels over every output pixel of one image, the taps as the lanes (four
 * adjacent input floats, one load a kernel row), each dy value splatted:
 * dw[kh + r, kw0 + i, 0, j + c] += Σ_{oh,ow} x(oh·SH + (kh + r)·DH, ow·SW + kw0 + i) · dy[oh, ow, j + c].
 * Where channels are few (LeNet's C1: 6) the channel lanes of tile48 leave a quarter of them empty;
 * here every lane is used (3 rows × 3 channels are nine accumulators; twelve spill in V8's code). Each
 * value's sum runs over the pixels in raster order, as tile48's: the same bits. src: the image (or
 * frame) at (row kh, column kw0); kStep: bytes between kernel rows; dyc: dy at (pixel 0, channel
 * j); d: dw at (kh, kw0, 0, j); tapBytes: bytes between taps of dw (OC·4); dwRow: bytes of a
 * kernel row of dw (KW·OC·4).
 */
// @ts-ignore: decorator
@inline function kwLanes(
  rows: i32, src: usize, kStep: usize, dyc: usize, OH: i32, OW: i32, rowStep: usize, colStep: usize, dyStep: usize,
  d: usize, tapBytes: usize, dwRow: usize,
): void {
  let a0 = f32x4.splat(0), a1 = a0, a2 = a0;
  let b0 = a0, b1 = a0, b2 = a0;
  let c0 = a0, c1 = a0, c2 = a0;
  let xr = src, dp = dyc;
  for (let oh = 0; oh < OH; oh++) {
    let xp = xr;
    for (let ow = 0; ow < OW; ow++) {
      const x0 = v128.load(xp);
      const x1 = rows > 1 ? v128.load(xp + kStep) : x0;
      const x2 = rows > 2 ? v128.load(xp + 2 * kStep) : x0;
      let s = v128.load32_splat(dp);
      a0 = madd(x0, s, a0);
      if (rows > 1) b0 = madd(x1, s, b0);
      if (rows > 2) c0 = madd(x2, s, c0);
      s = v128.load32_splat(dp, 4);
      a1 = madd(x0, s, a1);
      if (rows > 1) b1 = madd(x1, s, b1);
      if (rows > 2) c1 = madd(x2, s, c1);
      s = v128.load32_splat(dp, 8);
      a2 = madd(x0, s, a2);
      if (rows > 1) b2 = madd(x1, s, b2);
      if (rows > 2) c2 = madd(x2, s, c2);
      xp += colStep;
      dp += dyStep;
    }
    xr += rowStep;
  }
  addLanes(d, a0, tapBytes);
  addLanes(d + 4, a1, tapBytes);
  addLanes(d + 8, a2, tapBytes);
  if (rows > 1) {
    const e = d + dwRow;
    addLanes(e, b0, tapBytes);
    addLanes(e + 4, b1, tapBytes);
    addLanes(e + 8, b2, tapBytes);
  }
  if (rows > 2) {
    const e = d + 2 * dwRow;
    addLanes(e, c0, tapBytes);
    addLanes(e + 4, c1, tapBytes);
    addLanes(e + 8, c2, tapBytes);
  }
}

// kwLanes' specialisations (kernel rows at once), each out of line
function kw3x3(src: usize, kStep: usize, dyc: usize, OH: i32, OW: i32, rowStep: usize, colStep: usize, dyStep: usize, d: usize, tapBytes: usize, dwRow: usize): void {
  kwLanes(3, src, kStep, dyc, OH, OW, rowStep, colStep, dyStep, d, tapBytes, dwRow);
}
function kw3x2(src: usize, kStep: usize, dyc: usize, OH: i32, OW: i32, rowStep: usize, colStep: usize, dyStep: usize, d: usize, tapBytes: usize, dwRow: usize): void {
  kwLanes(2, src, kStep, dyc, OH, OW, rowStep, colStep, dyStep, d, tapBytes, dwRow);
}
function kw3x1(src: usize, kStep: usize, dyc: usize, OH: i32, OW: i32, rowStep: usize, colStep: usize, dyStep: usize, d: usize, tapBytes: usize, dwRow: usize): void {
  kwLanes(1, src, kStep, dyc, OH, OW, rowStep, colStep, dyStep, d, tapBytes, dwRow);
}

/**
 * kwLanes over one image: every group of four taps kw0 < KW & ~3 of every kernel row, 3 kernel
 * rows × 3 output channels at a time (OC a multiple of 3). img: the image (or frame); kStep: bytes
 * between kernel rows in it. (2 rows × 4 channels, eight accumulators, measured slower than
 * tile48 on LeNet's C1, 6 channels as 4 + 2.)
 */
function kwLanesImage(img: usize, kStep: usize, dyn: usize, OH: i32, OW: i32, OC: i32, KH: i32, KW: i32, rowStep: usize, colStep: usize, dw: usize): void {
  const tapBytes = <usize>f4(OC), dwRow = <usize>f4(KW * OC), dyStep = <usize>f4(OC);
  for (let kh = 0; kh < KH; kh += 3) {
    const rows = min(KH - kh, 3);
    for (let kw0 = 0; kw0 + 4 <= KW; kw0 += 4) {
      const src = img + <usize>kh * kStep + f4(kw0);
      for (let j = 0; j < OC; j += 3) {
        const dyc = dyn + f4(j), d = dw + f4((kh * KW + kw0) * OC + j);
        if (rows == 3) kw3x3(src, kStep, dyc, OH, OW, rowStep, colStep, dyStep, d, tapBytes, dwRow);
        else if (rows == 2) kw3x2(src, kStep, dyc, OH, OW, rowStep, colStep, dyStep, d, tapBytes, dwRow);
        else kw3x1(src, kStep, dyc, OH, OW, rowStep, colStep, dyStep, d, tapBytes, dwRow);
      }
    }
  }
}

/**
 * Filter gradient without im2col: dw[kh,kw,ci,oc] = Σ_{n,oh,ow} x[n,ih,iw,g·Cg+ci] · dy[n,oh,ow,oc]
 * with (ih, iw) = (oh·SH − PT + kh·DH, ow·SW − PL + kw·DW), taps in the padding contributing
 * nothing; every stride, dilation, padding and group count. Overwrites dw (HWIO, [KH,KW,Cg,OC]).
 * Where windows reach into the padding each image is first copied into a zeroed frame.
 * scratch: f32_conv2d_scratch_bytes(geo) bytes (the tap table and a frame, as the implicit forward).
 * Summation order: image by image, pixels in raster order within one image.
 */
export function f32_conv2d_bwd_filter_implicit(g: usize, x: usize, dy: usize, dw: usize, scratch: usize): void {
  const N = geo(g, CONV_N), H = geo(g, CONV_H), W = geo(g, CONV_W), C = geo(g, CONV_C);
  const OH = geo(g, CONV_OH), OW = geo(g, CONV_OW), OC = geo(g, CONV_OC), KH = geo(g, CONV_KH), KW = geo(g, CONV_KW);
  const SH = geo(g, CONV_SH), SW = geo(g, CONV_SW), DH = geo(g, CONV_DH), DW = geo(g, CONV_DW);
  const PT = geo(g, CONV_PT), PL = geo(g, CONV_PL), G = geo(g, CONV_G);
  const Cg = C / G, OCg = OC / G, Kg = KH * KW * Cg;
  zero(dw, Kg * OC);
  if (N == 0 || OH == 0 || OW == 0) return;
  const pad = needsPadding(g);
  const Hp = pad ? reachH(g) : H, Wp = pad ? reachW(g) : W;
  const table = scratch;
  const frame = table + <usize>((Kg * 4 + 15) & ~15);
  let k = 0;
  for (let kh = 0; kh < KH; kh++) {
    for (let kw = 0; kw < KW; kw++) {
      for (let ci = 0; ci < Cg; ci++) store<u32>(table + f4(k++), <u32>f4((kh * DH * Wp + kw * DW) * C + ci));
    }
  }
  if (pad) memory.fill(frame, 0, <usize>f4(Hp * Wp * C));
  const r0 = max(0, -PT), r1 = min(H, Hp - PT), c0 = max(0, -PL), c1 = min(W, Wp - PL);
  const rowStep = f4(SH * Wp * C), colStep = f4(SW * C), dyStep = f4(OC);
  // one input channel, unit column dilation, at least 4 kernel columns, output channels a multiple
  // of 3 (kwLanes' tile) whose last 8-channel panel has 5–7 (where tile48's lanes go empty; LeNet's
  // C1: 6): the taps of each kernel row four at a time as the lanes (kwLanesImage), the other
  // columns (kw ≥ KW & ~3) by tile48 below. Every panel must have more than 4 channels: tile84
  // (panels of at most 4) runs every tap and would add kwLanesImage's taps a second time.
  const lanes = C == 1 && DW == 1 && KW >= 4 && OC % 3 == 0 && (OC & 7) >= 5;
  const KW4 = lanes ? KW & ~3 : 0;
  for (let n = 0; n < N; n++) {
    let img = x + f4(n * H * W * C);
    if (pad) {
      for (let ih = r0; ih < r1; ih++) {
        copyRow(frame + f4(((ih + PT) * Wp + c0 + PL) * C), img + f4((ih * W + c0) * C), (c1 - c0) * C);
      }
      img = frame;
    }
    const dyn = dy + f4(n * OH * OW * OC);
    if (lanes) kwLanesImage(img, <usize>f4(DH * Wp), dyn, OH, OW, OC, KH, KW, rowStep, colStep, dw);
    for (let gi = 0; gi < G; gi++) {
      const src = img + f4(gi * Cg);
      const dwg = dw + f4(gi * OCg);
      for (let j = 0; j < OCg; j += 8) {
        const nr = min(8, OCg - j), jabs = gi * OCg + j;
        const dyc = dyn + f4(jabs);
        if (nr > 4) {
          const tail = n == N - 1 && jabs + 8 > OC;
          // runs of four taps that are adjacent input floats (within a kernel row's contiguous
          // KW·Cg floats) go to tile48Run; the taps left over between them, four at a time, to tile48
          const row = <usize>f4(OC), dj = dwg + f4(j);
          let left = 0, l0: i32 = 0, l1: i32 = 0, l2: i32 = 0;
          for (let t = 0; t < Kg;) {
            if (t % KW < KW4) {
              t++; // kwLanesImage's
              continue;
            }
            const o = table + f4(t), o0 = <usize>load<u32>(o);
            if (!lanes && t + 4 <= Kg && <usize>load<u32>(o, 4) == o0 + 4 && <usize>load<u32>(o, 8) == o0 + 8 && <usize>load<u32>(o, 12) == o0 + 12) {
              tile48Run(src, o0, dyc, OH, OW, rowStep, colStep, dyStep, tail, dj + <usize>t * row, row, nr);
              t += 4;
              continue;
            }
            if (left == 3) {
              tile48(src, tapAt(table, l0), tapAt(table, l1), tapAt(table, l2), o0, dyc, OH, OW, rowStep, colStep, dyStep, tail,
                dj + <usize>l0 * row, dj + <usize>l1 * row, dj + <usize>l2 * row, dj + <usize>t * row, 4, nr);
              left = 0;
            } else {
              if (left == 0) l0 = t;
              else if (left == 1) l1 = t;
              else l2 = t;
              left++;
            }
            t++;
          }
          if (left > 0) {
            // the last 1–3 left over (taps past `left` repeat the first)
            const a = tapAt(table, l0), b = left > 1 ? tapAt(table, l1) : a, c = left > 2 ? tapAt(table, l2) : a;
            const da = dj + <usize>l0 * row;
            tile48(src, a, b, c, a, dyc, OH, OW, rowStep, colStep, dyStep, tail,
              da, left > 1 ? dj + <usize>l1 * row : da, left > 2 ? dj + <usize>l2 * row : da, da, left, nr);
          }
        } else {
          const tail = n == N - 1 && jabs + 4 > OC;
          for (let t0 = 0; t0 < Kg; t0 += 8) {
            tile84(src, table + f4(t0), dyc, OH, OW, rowStep, colStep, dyStep, tail, dwg + f4(t0 * OC + j), OC, min(8, Kg - t0), nr);
          }
        }
      }
    }
  }
}

/** Bytes of scratch f32_conv2d_bwd_data_implicit needs (an upper bound: the transposed geometry's frame as if padded). */
export function implicitDataScratchBytes(g: usize): i32 {
  const G = geo(g, CONV_G), Cg = geo(g, CONV_C) / G, OCg = geo(g, CONV_OC) / G;
  const KH = geo(g, CONV_KH), KW = geo(g, CONV_KW);
  const Kt = KH * KW * OCg;
  const frame = (geo(g, CONV_H) + (KH - 1) * geo(g, CONV_DH)) * (geo(g, CONV_W) + (KW - 1) * geo(g, CONV_DW)) * geo(g, CONV_OC);
  return CONV_FIELDS * 4 + G * f32_gemm_packed_b_floats(Kt, Cg) * 4 + ((Kt * 4 + 15) & ~15) + frame * 4;
}

/**
 * Backward to the input at stride 1, without col2im: dx[n,ih,iw,c] = Σ_{kh,kw,oc}
 * dy[n, ih + PT − kh·DH, iw + PL − kw·DW, oc] · w[kh,kw,c−g·Cg,oc] (dy taps outside dy are zero),
 * i.e. the conv of dy (C' = OC) with w'[kh',kw',oc,c] = w[KH−1−kh', KW−1−kw', c, oc], padding
 * PT' = DH·(KH−1) − PT, PL' = DW·(KW−1) − PL, the same dilation and groups, output H×W×C — run by
 * the implicit forward. Overwrites dx. Preconditions: SH = SW = 1, 0 ≤ PT ≤ DH·(KH−1),
 * 0 ≤ PL ≤ DW·(KW−1). scratch: f32_conv2d_scratch_bytes(geo) bytes (the transposed geometry
 * block, w' in gemm panels per group, the forward's tap table and frame).
 * Work: N·H·W·C·KH·KW·OCg multiply-adds — the forward's count times H·W / (OH·OW) (the zeros
 * around dy are multiplied too), so it pays for "same"-like padding (ops/conv.ts convPaths).
 */
export function f32_conv2d_bwd_data_implicit(g: usize, dy: usize, w: usize, dx: usize, scratch: usize): void {
  const C = geo(g, CONV_C), OC = geo(g, CONV_OC), KH = geo(g, CONV_KH), KW = geo(g, CONV_KW);
  const DH = geo(g, CONV_DH), DW = geo(g, CONV_DW), G = geo(g, CONV_G);
  const Cg = C / G, OCg = OC / G, Kt = KH * KW * OCg;
  // the transposed conv's geometry block
  const gt = scratch;
  for (let i = 0; i < CONV_FIELDS; i++) store<i32>(gt + f4(i), geo(g, i));
  store<i32>(gt + f4(CONV_H), geo(g, CONV_OH));
  store<i32>(gt + f4(CONV_W), geo(g, CONV_OW));
  store<i32>(gt + f4(CONV_C), OC);
  store<i32>(gt + f4(CONV_OH), geo(g, CONV_H));
  store<i32>(gt + f4(CONV_OW), geo(g, CONV_W));
  store<i32>(gt + f4(CONV_OC), C);
  store<i32>(gt + f4(CONV_PT), DH * (KH - 1) - geo(g, CONV_PT));
  store<i32>(gt + f4(CONV_PL), DW * (KW - 1) - geo(g, CONV_PL));
  // w' per group in gemm panels: panel q, depth k' = (kh'·KW + kw')·OCg + o, column c − 8q
  const per = f32_gemm_packed_b_floats(Kt, Cg);
  const packed = gt + f4(CONV_FIELDS);
  for (let gi = 0; gi < G; gi++) {
    const pg = packed + f4(gi * per);
    for (let q = 0; q < Cg; q += NR) {
      const cols = min(NR, Cg - q);
      const panel = pg + f4((q / NR) * Kt * NR);
      for (let kh = 0; kh < KH; kh++) {
        for (let kw = 0; kw < KW; kw++) {
          // tap (kh', kw') of w' is tap (KH−1−kh', KW−1−kw') of w
          const src = w + f4(((KH - 1 - kh) * KW + (KW - 1 - kw)) * Cg * OC + gi * OCg);
          const dst = panel + f4((kh * KW + kw) * OCg * NR);
          for (let o = 0; o < OCg; o++) {
            const d = dst + f4(o * NR);
            let c = 0;
            for (; c < cols; c++) store<f32>(d + f4(c), load<f32>(src + f4((q + c) * OC + o)));
            for (; c < NR; c++) store<f32>(d + f4(c), 0);
          }
        }
      }
    }
  }
  const work = packed + f4(G * per);
  convImplicitFwd(gt, dy, packed, per, 0, 0, 0, dx, work, true, 0, geo(g, CONV_C) / geo(g, CONV_G));
}
