// Direct conv2d data gradient at stride 1, SIMD over the output channels it sums:
// dx[n,ih,iw,c] = Σ_{kh,kw valid} Σ_oc dy[n, ih+PT−kh·DH, iw+PL−kw·DW, oc] · w[kh,kw,c,oc].
// Each dx value is a dot product over (valid taps × OCg) whose 4-lane partial sums are added
// across lanes once at the end, so only the taps that land inside dy are read (no zero frame, no
// multiply by padding) and no lane is wasted on channel counts that are not multiples of 4 on the
// dx side (C = 6 of LeNet's C3). A tile is two dx pixels that read the same taps × a block of up
// to 4 channels (eight accumulators: per tap and 4 output channels, 2 dy loads, 4 weight loads, 8
// FMAs), or 5 channels where that many remain (ten); 6 channels go as 4 + 2 (a block of 6, twelve
// accumulators and their operands, measured 8% slower on LeNet's C3: V8 runs out of registers).
// The pair is a pixel and the one below it where the two rows read the same kernel rows (away
// from the top and bottom edges), else two horizontal neighbours that read the same kernel
// columns; the rest go one at a time. The weights are repacked per call so that the block's
// channels' vectors of one tap and one group of 4 output channels are adjacent:
// [c-block][tap][oc/4][c in block][4]. Each dx value's sum runs in the same order however it is tiled.

import { f4, madd } from "../common/simd";
import {
  geo, CONV_N, CONV_H, CONV_W, CONV_C, CONV_OH, CONV_OW, CONV_OC, CONV_KH, CONV_KW,
  CONV_DH, CONV_DW, CONV_PT, CONV_PL, CONV_G,
} from "../common/geometry";
import { storePartial } from "./implicit";

/** [Σa, Σb, Σc, Σd]: the lane sums of four vectors. */
// @ts-ignore: decorator
@inline function hsum4(a: v128, b: v128, c: v128, d: v128): v128 {
  const ab = f32x4.add(v128.shuffle<f32>(a, b, 0, 4, 1, 5), v128.shuffle<f32>(a, b, 2, 6, 3, 7));
  const cd = f32x4.add(v128.shuffle<f32>(c, d, 0, 4, 1, 5), v128.shuffle<f32>(c, d, 2, 6, 3, 7));
  return f32x4.add(v128.shuffle<f32>(ab, cd, 0, 1, 4, 5), v128.shuffle<f32>(ab, cd, 2, 3, 6, 7));
}

/**
 * nc (1..5, a constant at each call) channels of one or two dx pixels (pair: the second pixel's dy
 * pairStep bytes on, its dx dstStep bytes on):
 * Σ over kernel rows [khA, khB] and columns [kwA, kwB] and the group's V·4 output channels.
 * dyRow0: dy at (oh of kernel row 0, the first pixel's ow for kw = 0, the group's first channel);
 * dyRowStep / dyColStep: bytes dy moves per kernel row / column (−DH·OW·OC·4, −DW·OC·4);
 * wb: the packed block; tapBytes: its bytes per tap. Each weight vector is loaded once for both
 * pixels; channel j's four lanes are summed at the end (channel 4's in a second vector).
 */
// @ts-ignore: decorator
@inline function pixels(
  nc: i32, pair: bool, dyRow0: usize, dyRowStep: isize, dyColStep: isize, pairStep: usize, khA: i32, khB: i32, kwA: i32, kwB: i32,
  KW: i32, V: i32, wb: usize, tapBytes: usize, dst: usize, dstStep: usize,
): void {
  let a0 = f32x4.splat(0), a1 = a0, a2 = a0, a3 = a0, a4 = a0;
  let b0 = a0, b1 = a0, b2 = a0, b3 = a0, b4 = a0;
  for (let kh = khA; kh <= khB; kh++) {
    let dp = dyRow0 + <usize>(<isize>kh * dyRowStep + <isize>kwA * dyColStep);
    let wq = wb + <usize>(kh * KW + kwA) * tapBytes;
    for (let kw = kwA; kw <= kwB; kw++) {
      let d = dp;
      for (let v = 0; v < V; v++) {
        const x0 = v128.load(d);
        const x1 = pair ? v128.load(d + pairStep) : x0;
        let w = v128.load(wq);
        a0 = madd(x0, w, a0);
        if (pair) b0 = madd(x1, w, b0);
        if (nc > 1) {
          w = v128.load(wq, 16);
          a1 = madd(x0, w, a1);
          if (pair) b1 = madd(x1, w, b1);
        }
        if (nc > 2) {
          w = v128.load(wq, 32);
          a2 = madd(x0, w, a2);
          if (pair) b2 = madd(x1, w, b2);
        }
        if (nc > 3) {
          w = v128.load(wq, 48);
          a3 = madd(x0, w, a3);
          if (pair) b3 = madd(x1, w, b3);
        }
        if (nc > 4) {
          w = v128.load(wq, 64);
          a4 = madd(x0, w, a4);
          if (pair) b4 = madd(x1, w, b4);
        }
        d += 16;
        wq += <usize>(16 * nc);
      }
      dp = <usize>(<isize>dp + dyColStep);
    }
  }
  const z = f32x4.splat(0);
  storePartial(dst, hsum4(a0, a1, a2, a3), min(nc, 4));
  if (nc > 4) storePartial(dst + 16, hsum4(a4, z, z, z), nc - 4);
  if (pair) {
    storePartial(dst + dstStep, hsum4(b0, b1, b2, b3), min(nc, 4));
    if (nc > 4) storePartial(dst + dstStep + 16, hsum4(b4, z, z, z), nc - 4);
  }
}

/** Floats of scratch f32_conv2d_bwd_data_direct needs: the repacked weights (as many as w has). */
export function directDataScratchFloats(g: usize): i32 {
  return geo(g, CONV_KH) * geo(g, CONV_KW) * (geo(g, CONV_C) / geo(g, CONV_G)) * geo(g, CONV_OC);
}

/** Channels in the block that starts at channel c0 of Cg: 5 when that many remain (one block), else up to 4. */
// @ts-ignore: decorator
@inline function blockOf(Cg: i32, c0: i32): i32 {
  const r = Cg - c0;
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

// The ten specialisations (channels in the block × pair), each out of line: a small function
// keeps its loop's registers free.
function p5x2(a: usize, rs: isize, cs: isize, ps: usize, h0: i32, h1: i32, k0: i32, k1: i32, KW: i32, V: i32, wb: usize, tb: usize, d: usize, ds: usize): void {
  pixels(5, true, a, rs, cs, ps, h0, h1, k0, k1, KW, V, wb, tb, d, ds);
}
function p5x1(a: usize, rs: isize, cs: isize, ps: usize, h0: i32, h1: i32, k0: i32, k1: i32, KW: i32, V: i32, wb: usize, tb: usize, d: usize, ds: usize): void {
  pixels(5, false, a, rs, cs, ps, h0, h1, k0, k1, KW, V, wb, tb, d, ds);
}
function p4x2(a: usize, rs: isize, cs: isize, ps: usize, h0: i32, h1: i32, k0: i32, k1: i32, KW: i32, V: i32, wb: usize, tb: usize, d: usize, ds: usize): void {
  pixels(4, true, a, rs, cs, ps, h0, h1, k0, k1, KW, V, wb, tb, d, ds);
}
function p4x1(a: usize, rs: isize, cs: isize, ps: usize, h0: i32, h1: i32, k0: i32, k1: i32, KW: i32, V: i32, wb: usize, tb: usize, d: usize, ds: usize): void {
  pixels(4, false, a, rs, cs, ps, h0, h1, k0, k1, KW, V, wb, tb, d, ds);
}
function p3x2(a: usize, rs: isize, cs: isize, ps: usize, h0: i32, h1: i32, k0: i32, k1: i32, KW: i32, V: i32, wb: usize, tb: usize, d: usize, ds: usize): void {
  pixels(3, true, a, rs, cs, ps, h0, h1, k0, k1, KW, V, wb, tb, d, ds);
}
function p3x1(a: usize, rs: isize, cs: isize, ps: usize, h0: i32, h1: i32, k0: i32, k1: i32, KW: i32, V: i32, wb: usize, tb: usize, d: usize, ds: usize): void {
  pixels(3, false, a, rs, cs, ps, h0, h1, k0, k1, KW, V, wb, tb, d, ds);
}
function p2x2(a: usize, rs: isize, cs: isize, ps: usize, h0: i32, h1: i32, k0: i32, k1: i32, KW: i32, V: i32, wb: usize, tb: usize, d: usize, ds: usize): void {
  pixels(2, true, a, rs, cs, ps, h0, h1, k0, k1, KW, V, wb, tb, d, ds);
}
function p2x1(a: usize, rs: isize, cs: isize, ps: usize, h0: i32, h1: i32, k0: i32, k1: i32, KW: i32, V: i32, wb: usize, tb: usize, d: usize, ds: usize): void {
  pixels(2, false, a, rs, cs, ps, h0, h1, k0, k1, KW, V, wb, tb, d, ds);
}
function p1x2(a: usize, rs: isize, cs: isize, ps: usize, h0: i32, h1: i32, k0: i32, k1: i32, KW: i32, V: i32, wb: usize, tb: usize, d: usize, ds: usize): void {
  pixels(1, true, a, rs, cs, ps, h0, h1, k0, k1, KW, V, wb, tb, d, ds);
}
function p1x1(a: usize, rs: isize, cs: isize, ps: usize, h0: i32, h1: i32, k0: i32, k1: i32, KW: i32, V: i32, wb: usize, tb: usize, d: usize, ds: usize): void {
  pixels(1, false, a, rs, cs, ps, h0, h1, k0, k1, KW, V, wb, tb, d, ds);
}

/**
 * One dx row's pixels [0, W) for one block of nc channels; with `below` (bytes of a dy row, then
 * of a dx row) each pixel paired with the one under it, which reads the same taps.
 */
function row(
  nc: i32, dyRowBase: usize, dyRowStep: isize, dyColStep: isize, khA: i32, khB: i32, W: i32, PL: i32, OW: i32,
  KW: i32, DW: i32, V: i32, wb: usize, tapBytes: usize, dst: usize, pixBytes: usize, pixDy: usize, belowDy: usize, belowDx: usize,
): void {
  let iw = 0;
  while (iw < W) {
    const kwA = max(0, ceilDiv(iw + PL - OW + 1, DW)), kwB = min(KW - 1, floorDiv(iw + PL, DW));
    // dy at (kw = 0) for this pixel: ow = iw + PL
    const dy0 = dyRowBase + <usize>(<isize>(iw + PL) * <isize>pixDy);
    const d = dst + <usize>iw * pixBytes;
    const vertical = belowDy != 0;
    if (vertical || (iw + 1 < W && max(0, ceilDiv(iw + 1 + PL - OW + 1, DW)) == kwA && min(KW - 1, floorDiv(iw + 1 + PL, DW)) == kwB)) {
      const ps = vertical ? belowDy : pixDy, ds = vertical ? belowDx : pixBytes;
      if (nc == 5) p5x2(dy0, dyRowStep, dyColStep, ps, khA, khB, kwA, kwB, KW, V, wb, tapBytes, d, ds);
      else if (nc == 4) p4x2(dy0, dyRowStep, dyColStep, ps, khA, khB, kwA, kwB, KW, V, wb, tapBytes, d, ds);
      else if (nc == 3) p3x2(dy0, dyRowStep, dyColStep, ps, khA, khB, kwA, kwB, KW, V, wb, tapBytes, d, ds);
      else if (nc == 2) p2x2(dy0, dyRowStep, dyColStep, ps, khA, khB, kwA, kwB, KW, V, wb, tapBytes, d, ds);
      else p1x2(dy0, dyRowStep, dyColStep, ps, khA, khB, kwA, kwB, KW, V, wb, tapBytes, d, ds);
      iw += vertical ? 1 : 2;
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
  for (let n = 0; n < N; n++) {
    const dyn = dy + f4(n * OH * OW * OC);
    for (let ih = 0; ih < H; ) {
      const khA = max(0, ceilDiv(ih + PT - OH + 1, DH)), khB = min(KH - 1, floorDiv(ih + PT, DH));
      const dxRow = dx + f4((n * H + ih) * W * C);
      if (khA > khB) {
        memory.fill(dxRow, 0, <usize>f4(W * C));
        ih++;
        continue;
      }
      // rows ih and ih + 1 read the same kernel rows (away from the top and bottom): one pass, every pixel paired with the one below
      const two = ih + 1 < H && max(0, ceilDiv(ih + 1 + PT - OH + 1, DH)) == khA && min(KH - 1, floorDiv(ih + 1 + PT, DH)) == khB;
      // dy at (oh = ih + PT, ow = 0) — kernel row kh moves it by kh·dyRowStep (only valid rows are read)
      const dyRowBase = <usize>(<isize>dyn + <isize>f4((ih + PT) * OW * OC));
      let wb = packed;
      for (let gi = 0; gi < G; gi++) {
        const dyg = dyRowBase + f4(gi * OCg);
        for (let c0 = 0; c0 < Cg; c0 += blockOf(Cg, c0)) {
          const nc = blockOf(Cg, c0), tapBytes = <usize>f4(4 * V * nc);
          const dst = dxRow + f4(gi * Cg + c0);
          row(nc, dyg, dyRowStep, dyColStep, khA, khB, W, PL, OW, KW, DW, V, wb, tapBytes, dst, pixBytes, pixDy, two ? belowDy : 0, belowDx);
          wb += <usize>T * tapBytes;
        }
      }
      ih += two ? 2 : 1;
    }
  }
}
