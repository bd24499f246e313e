// Direct conv2d data gradient at stride 1, SIMD over the output channels it sums:
// dx[n,ih,iw,c] = Σ_{kh,kw valid} Σ_oc dy[n, ih+PT−kh·DH, iw+PL−kw·DW, oc] · w[kh,kw,c,oc].
// Each dx value is a dot product over (valid taps × OCg) whose 4-lane partial sums are added
// across lanes once at the end, so only the taps that land inside dy are read (no zero frame, no
// multiply by padding) and no lane is wasted on channel counts that are not multiples of 4 on the
// dx side (C = 6 of LeNet's C3). A tile is pixels that read the same taps — the same pixel of
// consecutive images — × a block of channels: two pixels × up to 4 channels (eight accumulators:
// per tap and 4 output channels, 2 dy loads, 4 weight loads, 8 FMAs) or 5 where that many remain
// (ten), four pixels × up to 2 channels (eight: 4 dy loads, 2 weight loads, 8 FMAs) where four
// images remain. 6 channels a group go as 3 + 3, three images at a time (nine accumulators: 3 dy
// loads, 3 weight loads, 9 FMAs; on LeNet's C3 0.83–0.86 of the time of 4 + 2 as two images and
// four; a block of 6, twelve accumulators, ran out of V8's registers). A last image that has no
// partner pairs a pixel with the one below it where the two rows read the same kernel rows (away
// from the top and bottom edges), else with its horizontal neighbour where the two read the same
// kernel columns; the rest go one at a time. The weights are repacked per call so that the
// block's channels' vectors of one tap and one group of 4 output channels are adjacent:
// [c-block][tap][oc/4][c in block][4]. Each dx value's sum runs in the same order however it is tiled.

import { f4, madd, storePartial } from "../common/simd";
import {
  geo, CONV_N, CONV_H, CONV_W, CONV_C, CONV_OH, CONV_OW, CONV_OC, CONV_KH, CONV_KW,
  CONV_DH, CONV_DW, CONV_PT, CONV_PL, CONV_G,
} from "../common/geometry";

/** [Σa, Σb, Σc, Σd]: the lane sums of four vectors. */
// @ts-ignore: decorator
@inline function hsum4(a: v128, b: v128, c: v128, d: v128): v128 {
  const ab = f32x4.add(v128.shuffle<f32>(a, b, 0, 4, 1, 5), v128.shuffle<f32>(a, b, 2, 6, 3, 7));
  const cd = f32x4.add(v128.shuffle<f32>(c, d, 0, 4, 1, 5), v128.shuffle<f32>(c, d, 2, 6, 3, 7));
  return f32x4.add(v128.shuffle<f32>(ab, cd, 0, 1, 4, 5), v128.shuffle<f32>(ab, cd, 2, 3, 6, 7));
}

/**
 * nc (1..5, a constant at each call) channels of np (1–4; 3 only with nc ≤ 3, 4 only with nc ≤ 2) dx pixels that
 * read the same taps (pixel k's dy k·pairStep bytes on, its dx k·dstStep bytes on):
 * Σ over kernel rows [khA, khB] and columns [kwA, kwB] and the group's V·4 output channels.
 * dyRow0: dy at (oh of kernel row 0, the first pixel's ow for kw = 0, the group's first channel);
 * dyRowStep / dyColStep: bytes dy moves per kernel row / column (−DH·OW·OC·4, −DW·OC·4);
 * wb: the packed block; tapBytes: its bytes per tap. Each weight vector is loaded once for all np
 * pixels; channel j's four lanes are summed at the end (channel 4's in a second vector).
 */
// @ts-ignore: decorator
@inline function pixels(
  nc: i32, np: i32, dyRow0: usize, dyRowStep: isize, dyColStep: isize, pairStep: usize, khA: i32, khB: i32, kwA: i32, kwB: i32,
  KW: i32, V: i32, wb: usize, tapBytes: usize, dst: usize, dstStep: usize,
): void {
  let a0 = f32x4.splat(0), a1 = a0, a2 = a0, a3 = a0, a4 = a0;
  let b0 = a0, b1 = a0, b2 = a0, b3 = a0, b4 = a0;
  let c0 = a0, c1 = a0, c2 = a0, d0 = a0, d1 = a0;
  for (let kh = khA; kh <= khB; kh++) {
    let dp = dyRow0 + <usize>(<isize>kh * dyRowStep + <isize>kwA * dyColStep);
    let wq = wb + <usize>(kh * KW + kwA) * tapBytes;
    for (let kw = kwA; kw <= kwB; kw++) {
      let d = dp;
      for (let v = 0; v < V; v++) {
        const x0 = v128.load(d);
        const x1 = np > 1 ? v128.load(d + pairStep) : x0;
        const x2 = np > 2 ? v128.load(d + 2 * pairStep) : x0;
        const x3 = np > 3 ? v128.load(d + 3 * pairStep) : x0;
        let w = v128.load(wq);
        a0 = madd(x0, w, a0);
        if (np > 1) b0 = madd(x1, w, b0);
        if (np > 2) c0 = madd(x2, w, c0);
        if (np > 3) d0 = madd(x3, w, d0);
        if (nc > 1) {
          w = v128.load(wq, 16);
          a1 = madd(x0, w, a1);
          if (np > 1) b1 = madd(x1, w, b1);
          if (np > 2) c1 = madd(x2, w, c1);
          if (np > 3) d1 = madd(x3, w, d1);
        }
        if (nc > 2) {
          w = v128.load(wq, 32);
          a2 = madd(x0, w, a2);
          if (np > 1) b2 = madd(x1, w, b2);
          if (np == 3) c2 = madd(x2, w, c2);
        }
        if (nc > 3) {
          w = v128.load(wq, 48);
          a3 = madd(x0, w, a3);
          if (np > 1) b3 = madd(x1, w, b3);
        }
        if (nc > 4) {
          w = v128.load(wq, 64);
          a4 = madd(x0, w, a4);
          if (np > 1) b4 = madd(x1, w, b4);
        }
        d += 16;
        wq += <usize>(16 * nc);
      }
      dp = <usize>(<isize>dp + dyColStep);
    }
  }
  const z = f32x4.splat(0);
  if (np == 3) {
    storePartial(dst, hsum4(a0, a1, a2, z), nc);
    storePartial(dst + dstStep, hsum4(b0, b1, b2, z), nc);
    storePartial(dst + 2 * dstStep, hsum4(c0, c1, c2, z), nc);
    return;
  }
  if (np > 2) {
    // nc ≤ 2: channels 0-1 of the four pixels
    storePartial(dst, hsum4(a0, a1, z, z), nc);
    storePartial(dst + dstStep, hsum4(b0, b1, z, z), nc);
    storePartial(dst + 2 * dstStep, hsum4(c0, c1, z, z), nc);
    storePartial(dst + 3 * dstStep, hsum4(d0, d1, z, z), nc);
    return;
  }
  storePartial(dst, hsum4(a0, a1, a2, a3), min(nc, 4));
  if (nc > 4) storePartial(dst + 16, hsum4(a4, z, z, z), nc - 4);
  if (np > 1) {
    storePartial(dst + dstStep, hsum4(b0, b1, b2, b3), min(nc, 4));
    if (nc > 4) storePartial(dst + dstStep + 16, hsum4(b4, z, z, z), nc - 4);
  }
}

/** Floats of scratch f32_conv2d_bwd_data_direct needs: the repacked weights (as many as w has). */
export function directDataScratchFloats(g: usize): i32 {
  return geo(g, CONV_KH) * geo(g, CONV_KW) * (geo(g, CONV_C) / geo(g, CONV_G)) * geo(g, CONV_OC);
}

/** Whether a group of Cg channels goes as blocks of 3, three images at a time (6 channels: 3 + 3). */
// @ts-ignore: decorator
@inline function inThrees(Cg: i32): bool {
  return Cg == 6;
}

/** Channels in the block that starts at channel c0 of Cg: 3 (inThrees), else 5 when that many remain (one block), else up to 4. */
// @ts-ignore: decorator
@inline function blockOf(Cg: i32, c0: i32): i32 {
  const r = Cg - c0;
  if (inThrees(Cg)) return 3;
  return r == 5 ? r : min(4, r);
}

/** ceil(a / b), floor(a / b) for b > 0 and any sign of a. */
// @ts-ignore: decorator
@inline function ceilDiv(a: i32, b: i32): i32 {
  return a >= 0 ? (a + b - 1) / b : -((-a) / b);
}
// @ts-ignore: decorator
@inline function floorDiv(a: i32, b: i32): i32 {
  return a >= 0 ? a / b : -((-a + b - 1) / b);
}

// The specialisations (channels in the block × pixels at once), each out of line: a small function
// keeps its loop's registers free.
function p5x2(a: usize, rs: isize, cs: isize, ps: usize, h0: i32, h1: i32, k0: i32, k1: i32, KW: i32, V: i32, wb: usize, tb: usize, d: usize, ds: usize): void {
  pixels(5, 2, a, rs, cs, ps, h0, h1, k0, k1, KW, V, wb, tb, d, ds);
}
function p5x1(a: usize, rs: isize, cs: isize, ps: usize, h0: i32, h1: i32, k0: i32, k1: i32, KW: i32, V: i32, wb: usize, tb: usize, d: usize, ds: usize): void {
  pixels(5, 1, a, rs, cs, ps, h0, h1, k0, k1, KW, V, wb, tb, d, ds);
}
function p4x2(a: usize, rs: isize, cs: isize, ps: usize, h0: i32, h1: i32, k0: i32, k1: i32, KW: i32, V: i32, wb: usize, tb: usize, d: usize, ds: usize): void {
  pixels(4, 2, a, rs, cs, ps, h0, h1, k0, k1, KW, V, wb, tb, d, ds);
}
function p4x1(a: usize, rs: isize, cs: isize, ps: usize, h0: i32, h1: i32, k0: i32, k1: i32, KW: i32, V: i32, wb: usize, tb: usize, d: usize, ds: usize): void {
  pixels(4, 1, a, rs, cs, ps, h0, h1, k0, k1, KW, V, wb, tb, d, ds);
}
function p3x2(a: usize, rs: isize, cs: isize, ps: usize, h0: i32, h1: i32, k0: i32, k1: i32, KW: i32, V: i32, wb: usize, tb: usize, d: usize, ds: usize): void {
  pixels(3, 2, a, rs, cs, ps, h0, h1, k0, k1, KW, V, wb, tb, d, ds);
}
function p3x3(a: usize, rs: isize, cs: isize, ps: usize, h0: i32, h1: i32, k0: i32, k1: i32, KW: i32, V: i32, wb: usize, tb: usize, d: usize, ds: usize): void {
  pixels(3, 3, a, rs, cs, ps, h0, h1, k0, k1, KW, V, wb, tb, d, ds);
}
function p3x1(a: usize, rs: isize, cs: isize, ps: usize, h0: i32, h1: i32, k0: i32, k1: i32, KW: i32, V: i32, wb: usize, tb: usize, d: usize, ds: usize): void {
  pixels(3, 1, a, rs, cs, ps, h0, h1, k0, k1, KW, V, wb, tb, d, ds);
}
function p2x4(a: usize, rs: isize, cs: isize, ps: usize, h0: i32, h1: i32, k0: i32, k1: i32, KW: i32, V: i32, wb: usize, tb: usize, d: usize, ds: usize): void {
  pixels(2, 4, a, rs, cs, ps, h0, h1, k0, k1, KW, V, wb, tb, d, ds);
}
function p2x2(a: usize, rs: isize, cs: isize, ps: usize, h0: i32, h1: i32, k0: i32, k1: i32, KW: i32, V: i32, wb: usize, tb: usize, d: usize, ds: usize): void {
  pixels(2, 2, a, rs, cs, ps, h0, h1, k0, k1, KW, V, wb, tb, d, ds);
}
function p2x1(a: usize, rs: isize, cs: isize, ps: usize, h0: i32, h1: i32, k0: i32, k1: i32, KW: i32, V: i32, wb: usize, tb: usize, d: usize, ds: usize): void {
  pixels(2, 1, a, rs, cs, ps, h0, h1, k0, k1, KW, V, wb, tb, d, ds);
}
function p1x4(a: usize, rs: isize, cs: isize, ps: usize, h0: i32, h1: i32, k0: i32, k1: i32, KW: i32, V: i32, wb: usize, tb: usize, d: usize, ds: usize): void {
  pixels(1, 4, a, rs, cs, ps, h0, h1, k0, k1, KW, V, wb, tb, d, ds);
}
function p1x2(a: usize, rs: isize, cs: isize, ps: usize, h0: i32, h1: i32, k0: i32, k1: i32, KW: i32, V: i32, wb: usize, tb: usize, d: usize, ds: usize): void {
  pixels(1, 2, a, rs, cs, ps, h0, h1, k0, k1, KW, V, wb, tb, d, ds);
}
function p1x1(a: usize, rs: isize, cs: isize, ps: usize, h0: i32, h1: i32, k0: i32, k1: i32, KW: i32, V: i32, wb: usize, tb: usize, d: usize, ds: usize): void {
  pixels(1, 1, a, rs, cs, ps, h0, h1, k0, k1, KW, V, wb, tb, d, ds);
}

/**
 * One dx row's pixels [0, W) for one block of nc channels. With `np` 2–4 each pixel goes with
 * the np − 1 pixels `belowDy` bytes of dy (and `belowDx` of dx) apart that read the same taps
 * (the same pixel of the next images, or the pixel below); with np 1, two horizontal neighbours
 * that read the same kernel columns go together, the rest one at a time.
 */
function row(
  nc: i32, np: i32, dyRowBase: usize, dyRowStep: isize, dyColStep: isize, khA: i32, khB: i32, W: i32, PL: i32, OW: i32,
  KW: i32, DW: i32, V: i32, wb: usize, tapBytes: usize, dst: usize, pixBytes: usize, pixDy: usize, belowDy: usize, belowDx: usize,
): void {
  let iw = 0;
  while (iw < W) {
    const kwA = max(0, ceilDiv(iw + PL - OW + 1, DW)), kwB = min(KW - 1, floorDiv(iw + PL, DW));
    // dy at (kw = 0) for this pixel: ow = iw + PL
    const dy0 = dyRowBase + <usize>(<isize>(iw + PL) * <isize>pixDy);
    const d = dst + <usize>iw * pixBytes;
    if (np == 3) {
      p3x3(dy0, dyRowStep, dyColStep, belowDy, khA, khB, kwA, kwB, KW, V, wb, tapBytes, d, belowDx);
      iw++;
    } else if (np == 4) {
      if (nc == 2) p2x4(dy0, dyRowStep, dyColStep, belowDy, khA, khB, kwA, kwB, KW, V, wb, tapBytes, d, belowDx);
      else p1x4(dy0, dyRowStep, dyColStep, belowDy, khA, khB, kwA, kwB, KW, V, wb, tapBytes, d, belowDx);
      iw++;
    } else if (np == 2 || (iw + 1 < W && max(0, ceilDiv(iw + 1 + PL - OW + 1, DW)) == kwA && min(KW - 1, floorDiv(iw + 1 + PL, DW)) == kwB)) {
      const ps = np == 2 ? belowDy : pixDy, ds = np == 2 ? belowDx : pixBytes;
      if (nc == 5) p5x2(dy0, dyRowStep, dyColStep, ps, khA, khB, kwA, kwB, KW, V, wb, tapBytes, d, ds);
      else if (nc == 4) p4x2(dy0, dyRowStep, dyColStep, ps, khA, khB, kwA, kwB, KW, V, wb, tapBytes, d, ds);
      else if (nc == 3) p3x2(dy0, dyRowStep, dyColStep, ps, khA, khB, kwA, kwB, KW, V, wb, tapBytes, d, ds);
      else if (nc == 2) p2x2(dy0, dyRowStep, dyColStep, ps, khA, khB, kwA, kwB, KW, V, wb, tapBytes, d, ds);
      else p1x2(dy0, dyRowStep, dyColStep, ps, khA, khB, kwA, kwB, KW, V, wb, tapBytes, d, ds);
      iw += np == 2 ? 1 : 2;
    } else {
      if (nc == 5) p5x1(dy0, dyRowStep, dyColStep, pixDy, khA, khB, kwA, kwB, KW, V, wb, tapBytes, d, pixBytes);
      else if (nc == 4) p4x1(dy0, dyRowStep, dyColStep, pixDy, khA, khB, kwA, kwB, KW, V, wb, tapBytes, d, pixBytes);
      else if (nc == 3) p3x1(dy0, dyRowStep, dyColStep, pixDy, khA, khB, kwA, kwB, KW, V, wb, tapBytes, d, pixBytes);
      else if (nc == 2) p2x1(dy0, dyRowStep, dyColStep, pixDy, khA, khB, kwA, kwB, KW, V, wb, tapBytes, d, pixBytes);
      else p1x1(dy0, dyRowStep, dyColStep, pixDy, khA, khB, kwA, kwB, KW, V, wb, tapBytes, d, pixBytes);
      iw++;
    }
  }
}

/**
 * Backward to the input at stride 1 by direct dot products over the output channels:
 * dx[n,ih,iw,c] = Σ_{kh,kw} Σ_{oc in c's group} dy[n, ih+PT−kh·DH, iw+PL−kw·DW, oc] · w[kh,kw,c−g·Cg,oc],
 * taps outside dy contributing nothing. Overwrites dx. Preconditions: SH = SW = 1 and OC/G a
 * multiple of 4 (any padding, dilation, groups). scratch: f32_conv2d_scratch_bytes(geo) bytes
 * (the weights repacked, directDataScratchFloats). Summation order per dx value: kernel rows,
 * columns, then output channels in 4 interleaved partial sums added at the end.
 */
export function f32_conv2d_bwd_data_direct(g: usize, dy: usize, w: usize, dx: usize, scratch: usize): void {
  const N = geo(g, CONV_N), H = geo(g, CONV_H), W = geo(g, CONV_W), C = geo(g, CONV_C);
  const OH = geo(g, CONV_OH), OW = geo(g, CONV_OW), OC = geo(g, CONV_OC), KH = geo(g, CONV_KH), KW = geo(g, CONV_KW);
  const DH = geo(g, CONV_DH), DW = geo(g, CONV_DW), PT = geo(g, CONV_PT), PL = geo(g, CONV_PL), G = geo(g, CONV_G);
  const Cg = C / G, OCg = OC / G, V = OCg >> 2, T = KH * KW;
  // repack: group gi, block of channels c0..c0+nc: [tap][v][j < nc][4], blocks after one another
  const packed = scratch;
  let o = packed;
  for (let gi = 0; gi < G; gi++) {
    for (let c0 = 0; c0 < Cg; c0 += blockOf(Cg, c0)) {
      const nc = blockOf(Cg, c0);
      for (let t = 0; t < T; t++) {
        for (let v = 0; v < V; v++) {
          for (let j = 0; j < nc; j++) {
            v128.store(o, v128.load(w + f4((t * Cg + c0 + j) * OC + gi * OCg + 4 * v)));
            o += 16;
          }
        }
      }
    }
  }
  const pixDy = <usize>f4(OC), pixBytes = <usize>f4(C);
  const dyRowStep = -(<isize>f4(DH * OW * OC)), dyColStep = -(<isize>f4(DW * OC));
  const belowDy = <usize>f4(OW * OC), belowDx = <usize>f4(W * C);
  const imageDy = <usize>f4(OH * OW * OC), imageDx = <usize>f4(H * W * C);
  for (let n = 0; n < N; ) {
    // images at once: with 6 channels a group (blocks of 3) three where three remain; else four
    // where four remain (blocks of up to 2 channels take them together, wider blocks in two
    // pairs); else a pair, else one (its pixels paired with the one below or beside)
    const images = inThrees(Cg) ? min(N - n, 3) : min(N - n, 4) == 3 ? 2 : min(N - n, 4);
    const dyn = dy + f4(n * OH * OW * OC);
    for (let ih = 0; ih < H; ) {
      const khA = max(0, ceilDiv(ih + PT - OH + 1, DH)), khB = min(KH - 1, floorDiv(ih + PT, DH));
      const dxRow = dx + f4((n * H + ih) * W * C);
      if (khA > khB) {
        for (let k = 0; k < images; k++) memory.fill(dxRow + <usize>k * imageDx, 0, <usize>f4(W * C));
        ih++;
        continue;
      }
      // one image: rows ih and ih + 1 that read the same kernel rows (away from the top and bottom) go in one pass, every pixel paired with the one below
      const two = images == 1 && ih + 1 < H && max(0, ceilDiv(ih + 1 + PT - OH + 1, DH)) == khA && min(KH - 1, floorDiv(ih + 1 + PT, DH)) == khB;
      // dy at (oh = ih + PT, ow = 0) — kernel row kh moves it by kh·dyRowStep (only valid rows are read)
      const dyRowBase = <usize>(<isize>dyn + <isize>f4((ih + PT) * OW * OC));
      let wb = packed;
      for (let gi = 0; gi < G; gi++) {
        const dyg = dyRowBase + f4(gi * OCg);
        for (let c0 = 0; c0 < Cg; c0 += blockOf(Cg, c0)) {
          const nc = blockOf(Cg, c0), tapBytes = <usize>f4(4 * V * nc);
          const dst = dxRow + f4(gi * Cg + c0);
          if (images == 3) row(nc, 3, dyg, dyRowStep, dyColStep, khA, khB, W, PL, OW, KW, DW, V, wb, tapBytes, dst, pixBytes, pixDy, imageDy, imageDx);
          else if (images == 1) row(nc, two ? 2 : 1, dyg, dyRowStep, dyColStep, khA, khB, W, PL, OW, KW, DW, V, wb, tapBytes, dst, pixBytes, pixDy, belowDy, belowDx);
          else if (images == 4 && nc <= 2) row(nc, 4, dyg, dyRowStep, dyColStep, khA, khB, W, PL, OW, KW, DW, V, wb, tapBytes, dst, pixBytes, pixDy, imageDy, imageDx);
          else {
            row(nc, 2, dyg, dyRowStep, dyColStep, khA, khB, W, PL, OW, KW, DW, V, wb, tapBytes, dst, pixBytes, pixDy, imageDy, imageDx);
            if (images == 4) row(nc, 2, dyg + 2 * imageDy, dyRowStep, dyColStep, khA, khB, W, PL, OW, KW, DW, V, wb, tapBytes, dst + 2 * imageDx, pixBytes, pixDy, imageDy, imageDx);
          }
          wb += <usize>T * tapBytes;
        }
      }
      ih += two ? 2 : 1;
    }
    n += images;
  }
}
