// Implicit-GEMM conv2d forward: the gemm micro-kernel reads its A operand straight from the
// NHWC input through a table of tap offsets, so there is no im2col copy and no A packing.
// A tile is 4 output pixels × 8 output channels (eight f32x4 accumulators). With padding, each
// image is first copied into a zeroed frame so that every window is read the same way; on request
// a tile reads only the kernel rows and columns that reach the input for one of its pixels (most
// of the frame of a backward-data pass, backward.ts, is zeros).

import { activate, copyRow, f4, loadPartial, madd, storePartial } from "../common/simd";
import {
  geo, CONV_N, CONV_H, CONV_W, CONV_C, CONV_OH, CONV_OW, CONV_OC, CONV_KH, CONV_KW,
  CONV_SH, CONV_SW, CONV_DH, CONV_DW, CONV_PT, CONV_PL, CONV_G,
  POOL_KH, POOL_KW, POOL_SH, POOL_SW, POOL_PT, POOL_PL, POOL_OH, POOL_OW,
} from "../common/geometry";
import { KC, NR } from "../gemm/gemm";


/**
 * Epilogue of one tile row: c[0..nr) = (first ? 0 : c) + acc, and when last: ((· + bias) + the
 * residual at c + rd when res), then the activation — the float operations, in the order, of a
 * conv without them followed by an add layer (f32_add_fwd) and a ReLU/ReLU6 layer.
 */
// @ts-ignore: decorator
@inline function store8(acc0: v128, acc1: v128, c: usize, nr: i32, first: bool, last: bool, bias: usize, act: i32, rd: usize, res: bool): void {
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
      if (res) {
        r0 = f32x4.add(r0, v128.load(c + rd));
        r1 = f32x4.add(r1, v128.load(c + rd, 16));
      }
      r0 = activate(r0, act);
      r1 = activate(r1, act);
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
    if (res) {
      r0 = f32x4.add(r0, loadPartial(c + rd, n0));
      if (n1 > 0) r1 = f32x4.add(r1, loadPartial(c + rd + 16, n1));
    }
    r0 = activate(r0, act);
    r1 = activate(r1, act);
  }
  storePartial(c, r0, n0);
  if (n1 > 0) storePartial(c + 16, r1, n1);
}

/**
 * One 4×8 tile over depth [k0, k0 + kc): A(r, k) = *(base_r + tab[k]) (byte offsets), B from a
 * packed panel; then the epilogue into the ≤ mr × nr outputs.
 */
// @ts-ignore: decorator
@inline function tile(
  k0: i32, kc: i32, b0: usize, b1: usize, b2: usize, b3: usize, tab: usize,
  pb: usize, y0: usize, y1: usize, y2: usize, y3: usize, mr: i32, nr: i32,
  first: bool, last: bool, bias: usize, act: i32, rd: usize, res: bool,
): void {
  let c00 = f32x4.splat(0), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00;
  for (let k = k0; k < k0 + kc; k++) {
    const bv0 = v128.load(pb);
    const bv1 = v128.load(pb, 16);
    const o = <usize>load<u32>(tab + f4(k));
    const a0 = v128.load32_splat(b0 + o);
    const a1 = v128.load32_splat(b1 + o);
    const a2 = v128.load32_splat(b2 + o);
    const a3 = v128.load32_splat(b3 + o);
    c00 = madd(a0, bv0, c00);
    c01 = madd(a0, bv1, c01);
    c10 = madd(a1, bv0, c10);
    c11 = madd(a1, bv1, c11);
    c20 = madd(a2, bv0, c20);
    c21 = madd(a2, bv1, c21);
    c30 = madd(a3, bv0, c30);
    c31 = madd(a3, bv1, c31);
    pb += 32;
  }
  store8(c00, c01, y0, nr, first, last, bias, act, rd, res);
  if (mr > 1) store8(c10, c11, y1, nr, first, last, bias, act, rd, res);
  if (mr > 2) store8(c20, c21, y2, nr, first, last, bias, act, rd, res);
  if (mr > 3) store8(c30, c31, y3, nr, first, last, bias, act, rd, res);
}

/** tile() for a last panel of at most 4 channels: half the accumulators, half the work. */
function tileHalf(
  k0: i32, kc: i32, b0: usize, b1: usize, b2: usize, b3: usize, tab: usize,
  pb: usize, y0: usize, y1: usize, y2: usize, y3: usize, mr: i32, nr: i32,
  first: bool, last: bool, bias: usize, act: i32, rd: usize, res: bool,
): void {
  let c0 = f32x4.splat(0), c1 = c0, c2 = c0, c3 = c0;
  for (let k = k0; k < k0 + kc; k++) {
    const bv = v128.load(pb);
    const o = <usize>load<u32>(tab + f4(k));
    c0 = madd(v128.load32_splat(b0 + o), bv, c0);
    c1 = madd(v128.load32_splat(b1 + o), bv, c1);
    c2 = madd(v128.load32_splat(b2 + o), bv, c2);
    c3 = madd(v128.load32_splat(b3 + o), bv, c3);
    pb += 32;
  }
  const z = f32x4.splat(0);
  store8(c0, z, y0, nr, first, last, bias, act, rd, res);
  if (mr > 1) store8(c1, z, y1, nr, first, last, bias, act, rd, res);
  if (mr > 2) store8(c2, z, y2, nr, first, last, bias, act, rd, res);
  if (mr > 3) store8(c3, z, y3, nr, first, last, bias, act, rd, res);
}

/** Every output channel of one tile of ≤ 4 pixels (kept out of line: a small function keeps the
 *  inner loop's registers free). y0: the first pixel's output row; rows are OC floats apart. */
function pixelTile(
  a0: usize, a1: usize, a2: usize, a3: usize, table: usize, Kg: i32, packed: usize, OCg: i32,
  bias: usize, act: i32, y0: usize, OC: i32, mr: i32, rd: usize, res: bool,
): void {
  const y1 = y0 + f4(OC), y2 = y1 + f4(OC), y3 = y2 + f4(OC);
  for (let pc = 0; pc < Kg; pc += KC) {
    const kc = min(KC, Kg - pc);
    const first = pc == 0, last = pc + kc == Kg;
    for (let j = 0; j < OCg; j += NR) {
      const nr = min(NR, OCg - j);
      const pb = packed + f4(((j / NR) * Kg + pc) * NR);
      const bj = bias != 0 ? bias + f4(j) : 0;
      const o0 = y0 + f4(j), o1 = y1 + f4(j), o2 = y2 + f4(j), o3 = y3 + f4(j);
      if (nr > 4) tile(pc, kc, a0, a1, a2, a3, table, pb, o0, o1, o2, o3, mr, nr, first, last, bj, act, rd, res);
      else tileHalf(pc, kc, a0, a1, a2, a3, table, pb, o0, o1, o2, o3, mr, nr, first, last, bj, act, rd, res);
    }
  }
}

/** pixelTile over part of the depth: `runs` runs of `len` taps, the first at tap k0, `step` apart
 *  (the taps whose input rows and columns some pixel of the tile reaches inside the image); with
 *  no run, the bias alone. */
function pixelTileRuns(
  a0: usize, a1: usize, a2: usize, a3: usize, table: usize, Kg: i32, packed: usize, OCg: i32,
  bias: usize, act: i32, y0: usize, OC: i32, mr: i32, k0: i32, len: i32, step: i32, runs: i32, rd: usize, res: bool,
): void {
  const y1 = y0 + f4(OC), y2 = y1 + f4(OC), y3 = y2 + f4(OC);
  if (runs == 0 || len == 0) {
    runs = 1;
    len = 0;
  }
  for (let r = 0; r < runs; r++) {
    const start = k0 + r * step, end = start + len;
    let pc = start;
    do {
      const kc = min(KC, end - pc);
      const first = r == 0 && pc == start, last = r == runs - 1 && pc + kc == end;
      for (let j = 0; j < OCg; j += NR) {
        const nr = min(NR, OCg - j);
        const pb = packed + f4(((j / NR) * Kg + pc) * NR);
        const bj = bias != 0 ? bias + f4(j) : 0;
        const o0 = y0 + f4(j), o1 = y1 + f4(j), o2 = y2 + f4(j), o3 = y3 + f4(j);
        if (nr > 4) tile(pc, kc, a0, a1, a2, a3, table, pb, o0, o1, o2, o3, mr, nr, first, last, bj, act, rd, res);
        else tileHalf(pc, kc, a0, a1, a2, a3, table, pb, o0, o1, o2, o3, mr, nr, first, last, bj, act, rd, res);
      }
      pc += kc;
    } while (pc < end);
  }
}

/** ceil(a / b) for b > 0, any sign of a. */
// @ts-ignore: decorator
@inline function ceilDiv(a: i32, b: i32): i32 {
  return a >= 0 ? (a + b - 1) / b : -((-a) / b);
}
/** floor(a / b) for b > 0, any sign of a. */
// @ts-ignore: decorator
@inline function floorDiv(a: i32, b: i32): i32 {
  return a >= 0 ? a / b : -((-a + b - 1) / b);
}

/** Rows and columns of input the windows reach (from −PT / −PL): the padded image's size. */
// @ts-ignore: decorator
@inline export function reachH(g: usize): i32 {
  return (geo(g, CONV_OH) - 1) * geo(g, CONV_SH) + (geo(g, CONV_KH) - 1) * geo(g, CONV_DH) + 1;
}
// @ts-ignore: decorator
@inline export function reachW(g: usize): i32 {
  return (geo(g, CONV_OW) - 1) * geo(g, CONV_SW) + (geo(g, CONV_KW) - 1) * geo(g, CONV_DW) + 1;
}

/** True when some window reaches outside the input, so the image is copied into a zero frame. */
export function needsPadding(g: usize): bool {
  return geo(g, CONV_PT) > 0 || geo(g, CONV_PL) > 0 ||
    reachH(g) - geo(g, CONV_PT) > geo(g, CONV_H) || reachW(g) - geo(g, CONV_PL) > geo(g, CONV_W);
}

/** Bytes of scratch convImplicitFwd needs: the tap-offset table and, with padding, one padded image. */
export function implicitScratchBytes(g: usize): i32 {
  const Kg = geo(g, CONV_KH) * geo(g, CONV_KW) * (geo(g, CONV_C) / geo(g, CONV_G));
  const table = ((Kg * 4 + 15) & ~15);
  return table + (needsPadding(g) ? reachH(g) * reachW(g) * geo(g, CONV_C) * 4 : 0);
}

/**
 * Writes the tap-offset table (bytes from a window's origin, in the image actually read) at
 * `scratch` and, where windows reach into the padding, zeroes the frame after it. Returns the
 * frame, or 0 without padding (then windows read the input in place).
 */
export function implicitSetup(g: usize, scratch: usize): usize {
  const C = geo(g, CONV_C), KH = geo(g, CONV_KH), KW = geo(g, CONV_KW), DH = geo(g, CONV_DH), DW = geo(g, CONV_DW);
  const Cg = C / geo(g, CONV_G), Kg = KH * KW * Cg;
  const pad = needsPadding(g);
  const Hp = pad ? reachH(g) : geo(g, CONV_H), Wp = pad ? reachW(g) : geo(g, CONV_W);
  let k = 0;
  for (let kh = 0; kh < KH; kh++) {
    for (let kw = 0; kw < KW; kw++) {
      for (let ci = 0; ci < Cg; ci++) store<u32>(scratch + f4(k++), <u32>f4((kh * DH * Wp + kw * DW) * C + ci));
    }
  }
  if (!pad) return 0;
  const frame = scratch + <usize>((Kg * 4 + 15) & ~15);
  memory.fill(frame, 0, <usize>f4(Hp * Wp * C));
  return frame;
}

/** The image the windows of image n read: x's own, or (frame != 0) its copy into the frame's interior. */
export function implicitImage(g: usize, x: usize, n: i32, frame: usize): usize {
  const H = geo(g, CONV_H), W = geo(g, CONV_W), C = geo(g, CONV_C), PT = geo(g, CONV_PT), PL = geo(g, CONV_PL);
  const img = x + f4(n * H * W * C);
  if (frame == 0) return img;
  const Hp = reachH(g), Wp = reachW(g);
  // input rows [r0, r1) and columns [c0, c1) land inside the frame
  const r0 = max(0, -PT), r1 = min(H, Hp - PT), c0 = max(0, -PL), c1 = min(W, Wp - PL);
  for (let ih = r0; ih < r1; ih++) {
    copyRow(frame + f4(((ih + PT) * Wp + c0 + PL) * C), img + f4((ih * W + c0) * C), (c1 - c0) * C);
  }
  return frame;
}

/**
 * Forward conv through the implicit gemm, every group. packed: weights in gemm panels, group
 * after group ([OCg/8][Kg][8] each, f32_gemm_pack_b layout, `per` floats apart). Where windows
 * reach into the padding, each image is first copied into a zeroed frame, so every window is
 * read through the one offset table. narrow: each tile reads only the kernel rows (and, where a
 * row's taps are many, the columns) whose input lies inside the image for one of its pixels —
 * for the backward-data pass, whose frame is mostly zeros; a forward conv's padding is a thin
 * border, where the test per tile costs about what it saves. res: 0, or a residual laid out like
 * y, added in the epilogue before the activation. Only output channels [oc0, oc1) of each group
 * are written (convPixels).
 */
export function convImplicitFwd(g: usize, x: usize, packed: usize, per: i32, bias: usize, act: i32, res: usize, y: usize, scratch: usize, narrow: bool, oc0: i32, oc1: i32): void {
  const N = geo(g, CONV_N), PIX = geo(g, CONV_OH) * geo(g, CONV_OW), OC = geo(g, CONV_OC);
  const frame = implicitSetup(g, scratch);
  for (let n = 0; n < N; n++) {
    const img = implicitImage(g, x, n, frame);
    convPixels(g, img, scratch, packed, per, bias, act, y + f4(n * PIX * OC), res - y, res != 0, 0, PIX, narrow, oc0, oc1);
  }
}

/**
 * Output pixels [P0, P1) of one image (row-major over OH × OW), output channels [oc0, oc1) of
 * each group (oc0 a multiple of 8; 0 and OC/G: all): pixel p goes to out + (p − P0)·OC floats,
 * its residual (res) at that address + rd bytes. img: what
 * implicitImage returned; table: the scratch implicitSetup wrote. Each output's sum runs over the
 * same taps in the same order wherever its tile starts, so any split into ranges gives the bits of
 * one whole-image call.
 */
export function convPixels(
  g: usize, img: usize, table: usize, packed: usize, per: i32, bias: usize, act: i32,
  out: usize, rd: usize, res: bool, P0: i32, P1: i32, narrow: bool, oc0: i32, oc1: i32,
): void {
  if (narrow || !singleChannel(g) || oc0 != 0 || oc1 != geo(g, CONV_OC) / geo(g, CONV_G)) {
    convTiles(g, img, table, packed, per, bias, act, out, rd, res, P0, P1, narrow, oc0, oc1);
    return;
  }
  // one input channel, 6 outputs (LeNet's C1): runs of 16 pixels of a row in registers (the last
  // ending at the row's end), rows narrower than 16 by runs of 8 and tiles
  const OW = geo(g, CONV_OW), OC = geo(g, CONV_OC);
  let p = P0;
  while (p < P1) {
    const rowEnd = min(P1, (p / OW + 1) * OW);
    const n16 = (rowEnd - p) & ~15, n8 = (rowEnd - p) & ~7;
    for (let q = p; q < p + n16; q += 16) row16C6(g, img, packed, bias, act, out + f4((q - P0) * OC), rd, res, q / OW, q % OW);
    if (n16 > 0 && p + n16 < rowEnd) {
      // the rest of the run (1-15 pixels): sixteen ending at the run's end, over pixels of this
      // call's already written — they are written again with the same bits (a row of LeNet's C1:
      // 16 + 16 where 16 + 8 + a 4-pixel tile cost more)
      const q = rowEnd - 16;
      row16C6(g, img, packed, bias, act, out + f4((q - P0) * OC), rd, res, q / OW, q % OW);
    } else {
      for (let q = p + n16; q < p + n8; q += 8) row8C6(g, img, packed, bias, act, out + f4((q - P0) * OC), rd, res, q / OW, q % OW);
      if (p + n8 < rowEnd) convTiles(g, img, table, packed, per, bias, act, out + f4((p + n8 - P0) * OC), rd, res, p + n8, rowEnd, false, 0, OC);
    }
    p = rowEnd;
  }
}

/** Whether convPixels takes the single-channel path: one input channel, 6 outputs, one group, unit column stride and dilation, one depth block. */
// @ts-ignore: decorator
@inline function singleChannel(g: usize): bool {
  return geo(g, CONV_C) == 1 && geo(g, CONV_G) == 1 && geo(g, CONV_OC) == 6 && geo(g, CONV_SW) == 1 && geo(g, CONV_DW) == 1 &&
    geo(g, CONV_KH) * geo(g, CONV_KW) <= KC;
}

/**
 * Eight output pixels of one row (oh, ow … ow + 7) × 6 channels of a one-channel conv: the pixels
 * are the vector lanes (two vectors a channel, twelve accumulators), so a tap costs two loads of
 * adjacent input values and six splats of its weights for twelve multiply-adds, where the 4 × 8
 * tile spends seven loads on eight of which six are used. Each output is the sum over the taps in
 * the tile's order, then bias, residual and activation as store8 adds them: the same bits. The 48
 * results (8 pixels × 6 channels, contiguous at out) are transposed in registers.
 */
function row8C6(g: usize, img: usize, packed: usize, bias: usize, act: i32, out: usize, rd: usize, res: bool, oh: i32, ow: i32): void {
  const KH = geo(g, CONV_KH), KW = geo(g, CONV_KW), SH = geo(g, CONV_SH), DH = geo(g, CONV_DH);
  const Wp = needsPadding(g) ? reachW(g) : geo(g, CONV_W);
  const x0 = img + f4(oh * SH * Wp + ow), rowStep = f4(DH * Wp);
  // channels 0-3, then 4-5: eight and four accumulators leave V8 registers for the operands
  // (twelve at once spilled); each pass parks its sums channel-major in the output block
  taps8(x0, rowStep, KH, KW, packed, 4, out);
  taps8(x0, rowStep, KH, KW, packed + 16, 2, out + 128);
  finish8C6(out, bias, act, rd, res);
}

/**
 * row8C6 for sixteen pixels (oh, ow … ow + 15): channels 0-3 of each eight as there, channels 4-5
 * of all sixteen in one pass of eight accumulators (row8C6's pass over eight pixels has four, and
 * waits on their latency). Each half's sums are parked in its own half of the output block (the
 * layout row8C6 uses), so the first half's results overwrite only its own parked sums. The same
 * bits as two row8C6 calls.
 */
function row16C6(g: usize, img: usize, packed: usize, bias: usize, act: i32, out: usize, rd: usize, res: bool, oh: i32, ow: i32): void {
  sums16C6(g, img, packed, out, oh, ow);
  finish8C6(out, bias, act, rd, res);
  finish8C6(out + 192, bias, act, rd, res);
}

/**
 * row16C6's sums, parked: pixels 8h … 8h + 7 (h = 0, 1) of channel c at park + 192·h + 32·c
 * (pixels 0–3 of the eight, then 4–7). 384 bytes.
 */
// @ts-ignore: decorator
@inline function sums16C6(g: usize, img: usize, packed: usize, park: usize, oh: i32, ow: i32): void {
  const KH = geo(g, CONV_KH), KW = geo(g, CONV_KW), SH = geo(g, CONV_SH), DH = geo(g, CONV_DH);
  const Wp = needsPadding(g) ? reachW(g) : geo(g, CONV_W);
  const x0 = img + f4(oh * SH * Wp + ow), rowStep = f4(DH * Wp);
  taps8(x0, rowStep, KH, KW, packed, 4, park);
  taps8(x0 + 32, rowStep, KH, KW, packed, 4, park + 192);
  tapsC2(x0, rowStep, KH, KW, packed + 16, 4, park + 128, park + 320);
}

/**
 * Whether pooledRowC6 takes a max pool pg over this conv's output: the single-channel path's conv
 * (one input channel, 6 outputs: LeNet's C1), the pool 2×2, stride 2, no padding, rounded down,
 * over at least 16 of the conv's columns.
 */
export function pooledC6Fits(g: usize, pg: usize): bool {
  return singleChannel(g) && geo(pg, POOL_KH) == 2 && geo(pg, POOL_KW) == 2 && geo(pg, POOL_SH) == 2 && geo(pg, POOL_SW) == 2 &&
    geo(pg, POOL_PT) == 0 && geo(pg, POOL_PL) == 0 && geo(pg, POOL_OH) == geo(g, CONV_OH) >> 1 && geo(pg, POOL_OW) == geo(g, CONV_OW) >> 1 &&
    geo(pg, POOL_OW) >= 8;
}

/**
 * Pool row ph of a 2×2, stride-2 max pool over the single-channel conv's output (pooledC6Fits), its
 * PW pixels × 6 channels at out: conv rows 2ph and 2ph + 1 by runs of 16 columns, a last 12 columns
 * as a run of 12 (LeNet's C1: 16 + 12), any other 2 to 14 as a run of 16 ending at column 2·PW (over
 * pooled pixels already written, with the same bits); each run's sums parked
 * (768 bytes at park) and pooled before the bias and activation (both monotone), by the pool's rule:
 * f32x4.pmax over the window's taps in scan order. The values of f32_maxpool_fwd over
 * act(conv + bias), without the conv's rows in memory.
 */
export function pooledRowC6(g: usize, img: usize, packed: usize, bias: usize, act: i32, out: usize, ph: i32, PW: i32, park: usize): void {
  const end = 2 * PW;
  let ow = 0;
  while (ow < end) {
    // the last 12 columns (6 pooled pixels) as three vectors a channel, else 16
    const twelve = end - ow == 12, at = twelve ? ow : min(ow, end - 16), o = out + f4((at >> 1) * 6);
    if (twelve) {
      sums12C6(g, img, packed, park, 2 * ph, at);
      sums12C6(g, img, packed, park + 384, 2 * ph + 1, at);
    } else {
      sums16C6(g, img, packed, park, 2 * ph, at);
      sums16C6(g, img, packed, park + 384, 2 * ph + 1, at);
    }
    poolHalf(park, o, bias, act);
    if (twelve) {
      const a = park + 192, b = a + 384;
      store2C6(pool2(a, b), pool2(a + 32, b + 32), pool2(a + 64, b + 64), pool2(a + 96, b + 96), pool2(a + 128, b + 128), pool2(a + 160, b + 160), o + 96, bias, act);
    } else {
      poolHalf(park + 192, o + 96, bias, act);
    }
    ow = at + (twelve ? 12 : 16);
  }
}

/** The 4 pooled pixels × 6 channels of one parked half (8 columns of two rows, the second row 384 bytes on) to out. */
// @ts-ignore: decorator
@inline function poolHalf(a: usize, out: usize, bias: usize, act: i32): void {
  const b = a + 384;
  store4C6(pool4(a, b), pool4(a + 32, b + 32), pool4(a + 64, b + 64), pool4(a + 96, b + 96), pool4(a + 128, b + 128), pool4(a + 160, b + 160), out, bias, act, 0, false);
}

/**
 * Twelve pixels of a row (oh, ow … ow + 11) × 6 channels of the single-channel conv, parked as
 * sums16C6 parks sixteen (pixels 8–11 of channel c at park + 192 + 32·c); each sum over the taps in
 * the tap order. Three passes of two channels (six accumulators: twelve spilled).
 */
function sums12C6(g: usize, img: usize, packed: usize, park: usize, oh: i32, ow: i32): void {
  const KH = geo(g, CONV_KH), KW = geo(g, CONV_KW), SH = geo(g, CONV_SH), DH = geo(g, CONV_DH);
  const Wp = needsPadding(g) ? reachW(g) : geo(g, CONV_W);
  const x0 = img + f4(oh * SH * Wp + ow), rowStep = f4(DH * Wp);
  tapsC2(x0, rowStep, KH, KW, packed, 3, park, park + 192);
  tapsC2(x0, rowStep, KH, KW, packed + 8, 3, park + 64, park + 256);
  tapsC2(x0, rowStep, KH, KW, packed + 16, 3, park + 128, park + 320);
}

/** One channel's 2 pooled pixels (lanes 0–1) from the parked 4 pixels of two rows (a, b), as pool4. */
// @ts-ignore: decorator
@inline function pool2(a: usize, b: usize): v128 {
  const a0 = v128.load(a), b0 = v128.load(b);
  const best = f32x4.pmax(v128.shuffle<f32>(a0, a0, 0, 2, 0, 2), v128.shuffle<f32>(a0, a0, 1, 3, 1, 3));
  return f32x4.pmax(f32x4.pmax(best, v128.shuffle<f32>(b0, b0, 0, 2, 0, 2)), v128.shuffle<f32>(b0, b0, 1, 3, 1, 3));
}

/** store4C6 for two pixels: lanes 0–1 of the channel-major c_k to the pixel-major 12 floats at out, with bias and activation. */
// @ts-ignore: decorator
@inline function store2C6(c0: v128, c1: v128, c2: v128, c3: v128, c4: v128, c5: v128, out: usize, bias: usize, act: i32): void {
  const t01 = v128.shuffle<f32>(c0, c1, 0, 4, 1, 5), t23 = v128.shuffle<f32>(c2, c3, 0, 4, 1, 5), t45 = v128.shuffle<f32>(c4, c5, 0, 4, 1, 5);
  // [p0c0 p0c1 p0c2 p0c3] [p0c4 p0c5 p1c0 p1c1] [p1c2 p1c3 p1c4 p1c5]
  let r0 = v128.shuffle<f32>(t01, t23, 0, 1, 4, 5), r1 = v128.shuffle<f32>(t45, t01, 0, 1, 6, 7), r2 = v128.shuffle<f32>(t23, t45, 2, 3, 6, 7);
  if (bias != 0) {
    const q0 = v128.load(bias), q2 = v128.load64_zero(bias, 16);
    r0 = f32x4.add(r0, q0);
    r1 = f32x4.add(r1, v128.shuffle<f32>(q2, q0, 0, 1, 4, 5));
    r2 = f32x4.add(r2, v128.shuffle<f32>(q0, q2, 2, 3, 4, 5));
  }
  v128.store(out, activate(r0, act));
  v128.store(out, activate(r1, act), 16);
  v128.store(out, activate(r2, act), 32);
}

/** One channel's 4 pooled pixels from the parked 8 pixels of two rows (a, b): pmax over each window's taps in scan order. */
// @ts-ignore: decorator
@inline function pool4(a: usize, b: usize): v128 {
  const a0 = v128.load(a), a1 = v128.load(a, 16), b0 = v128.load(b), b1 = v128.load(b, 16);
  const best = f32x4.pmax(v128.shuffle<f32>(a0, a1, 0, 2, 4, 6), v128.shuffle<f32>(a0, a1, 1, 3, 5, 7));
  return f32x4.pmax(f32x4.pmax(best, v128.shuffle<f32>(b0, b1, 0, 2, 4, 6)), v128.shuffle<f32>(b0, b1, 1, 3, 5, 7));
}

/**
 * Two channels of nv (3 or 4, a constant at each call) vectors of pixels of a row over every tap,
 * in the tap order: pixels 0-7 as taps8(…, 2, dst0) parks them, pixels 8-11 (8-15) likewise at
 * dst1. w: tap 0's weight of the first of the two.
 */
// @ts-ignore: decorator
@inline function tapsC2(x0: usize, rowStep: usize, KH: i32, KW: i32, w: usize, nv: i32, dst0: usize, dst1: usize): void {
  let a0 = f32x4.splat(0), b0 = a0, c0 = a0, d0 = a0, a1 = a0, b1 = a0, c1 = a0, d1 = a0;
  let wk = w, xr = x0;
  for (let kh = 0; kh < KH; kh++) {
    let xp = xr;
    for (let kw = 0; kw < KW; kw++) {
      const v0 = v128.load32_splat(wk), v1 = v128.load32_splat(wk, 4);
      let x = v128.load(xp);
      a0 = madd(x, v0, a0);
      a1 = madd(x, v1, a1);
      x = v128.load(xp, 16);
      b0 = madd(x, v0, b0);
      b1 = madd(x, v1, b1);
      x = v128.load(xp, 32);
      c0 = madd(x, v0, c0);
      c1 = madd(x, v1, c1);
      if (nv == 4) {
        x = v128.load(xp, 48);
        d0 = madd(x, v0, d0);
        d1 = madd(x, v1, d1);
      }
      xp += 4;
      wk += 32;
    }
    xr += rowStep;
  }
  v128.store(dst0, a0);
  v128.store(dst0, b0, 16);
  v128.store(dst0, a1, 32);
  v128.store(dst0, b1, 48);
  v128.store(dst1, c0);
  v128.store(dst1, c1, 32);
  if (nv == 4) {
    v128.store(dst1, d0, 16);
    v128.store(dst1, d1, 48);
  }
}

/** row8C6's end: the parked channel-major sums of 8 pixels (out: 4 channels × 8, then 2 × 8) to the pixel-major output block, with bias, residual and activation. */
// @ts-ignore: decorator
@inline function finish8C6(out: usize, bias: usize, act: i32, rd: usize, res: bool): void {
  const a0 = v128.load(out), a1 = v128.load(out, 32), a2 = v128.load(out, 64), a3 = v128.load(out, 96), a4 = v128.load(out, 128), a5 = v128.load(out, 160);
  const b0 = v128.load(out, 16), b1 = v128.load(out, 48), b2 = v128.load(out, 80), b3 = v128.load(out, 112), b4 = v128.load(out, 144), b5 = v128.load(out, 176);
  store4C6(a0, a1, a2, a3, a4, a5, out, bias, act, rd, res);
  store4C6(b0, b1, b2, b3, b4, b5, out + 96, bias, act, rd, res);
}

/**
 * nc (4 or 2, a constant at each call) channels of 8 pixels of a row over every tap, in the tap
 * order (kh, kw): channel c's sums of pixels 0-3 and 4-7 to dst + 32·c and dst + 32·c + 16. x0:
 * the input under pixel 0's tap (0, 0); rowStep: bytes between kernel rows; w: tap 0's weight of
 * the first channel in the [Kg][8] panel.
 */
// @ts-ignore: decorator
@inline function taps8(x0: usize, rowStep: usize, KH: i32, KW: i32, w: usize, nc: i32, dst: usize): void {
  let a0 = f32x4.splat(0), a1 = a0, a2 = a0, a3 = a0, b0 = a0, b1 = a0, b2 = a0, b3 = a0;
  let wk = w, xr = x0;
  for (let kh = 0; kh < KH; kh++) {
    let xp = xr;
    for (let kw = 0; kw < KW; kw++) {
      const lo = v128.load(xp), hi = v128.load(xp, 16);
      let v = v128.load32_splat(wk);
      a0 = madd(lo, v, a0);
      b0 = madd(hi, v, b0);
      v = v128.load32_splat(wk, 4);
      a1 = madd(lo, v, a1);
      b1 = madd(hi, v, b1);
      if (nc == 4) {
        v = v128.load32_splat(wk, 8);
        a2 = madd(lo, v, a2);
        b2 = madd(hi, v, b2);
        v = v128.load32_splat(wk, 12);
        a3 = madd(lo, v, a3);
        b3 = madd(hi, v, b3);
      }
      xp += 4;
      wk += 32;
    }
    xr += rowStep;
  }
  v128.store(dst, a0);
  v128.store(dst, b0, 16);
  v128.store(dst, a1, 32);
  v128.store(dst, b1, 48);
  if (nc == 4) {
    v128.store(dst, a2, 64);
    v128.store(dst, b2, 80);
    v128.store(dst, a3, 96);
    v128.store(dst, b3, 112);
  }
}
/**
 * Four pixels × 6 channels from channel-major accumulators (c_k: channel k of the 4 pixels) to
 * the pixel-major 24 floats at out, then bias, residual (at out + rd) and activation.
 */
// @ts-ignore: decorator
@inline function store4C6(c0: v128, c1: v128, c2: v128, c3: v128, c4: v128, c5: v128, out: usize, bias: usize, act: i32, rd: usize, res: bool): void {
  // channels 0-3 of each pixel: a 4 × 4 transpose
  const t01 = v128.shuffle<f32>(c0, c1, 0, 4, 1, 5), t23 = v128.shuffle<f32>(c2, c3, 0, 4, 1, 5);
  const u01 = v128.shuffle<f32>(c0, c1, 2, 6, 3, 7), u23 = v128.shuffle<f32>(c2, c3, 2, 6, 3, 7);
  const p0 = v128.shuffle<f32>(t01, t23, 0, 1, 4, 5), p1 = v128.shuffle<f32>(t01, t23, 2, 3, 6, 7);
  const p2 = v128.shuffle<f32>(u01, u23, 0, 1, 4, 5), p3 = v128.shuffle<f32>(u01, u23, 2, 3, 6, 7);
  // channels 4-5: [p0c4 p0c5 p1c4 p1c5], [p2c4 p2c5 p3c4 p3c5]
  const e01 = v128.shuffle<f32>(c4, c5, 0, 4, 1, 5), e23 = v128.shuffle<f32>(c4, c5, 2, 6, 3, 7);
  let r1 = v128.shuffle<f32>(e01, p1, 0, 1, 4, 5), r2 = v128.shuffle<f32>(p1, e01, 2, 3, 6, 7);
  let r4 = v128.shuffle<f32>(e23, p3, 0, 1, 4, 5), r5 = v128.shuffle<f32>(p3, e23, 2, 3, 6, 7);
  let r0 = p0, r3 = p2;
  if (bias != 0) {
    // the bias repeats every 12 floats: [b0 b1 b2 b3] [b4 b5 b0 b1] [b2 b3 b4 b5]
    const q0 = v128.load(bias), q2 = v128.load64_zero(bias, 16);
    const q1 = v128.shuffle<f32>(q2, q0, 0, 1, 4, 5), q3 = v128.shuffle<f32>(q0, q2, 2, 3, 4, 5);
    r0 = f32x4.add(r0, q0);
    r1 = f32x4.add(r1, q1);
    r2 = f32x4.add(r2, q3);
    r3 = f32x4.add(r3, q0);
    r4 = f32x4.add(r4, q1);
    r5 = f32x4.add(r5, q3);
  }
  if (res) {
    const r = out + rd;
    r0 = f32x4.add(r0, v128.load(r));
    r1 = f32x4.add(r1, v128.load(r, 16));
    r2 = f32x4.add(r2, v128.load(r, 32));
    r3 = f32x4.add(r3, v128.load(r, 48));
    r4 = f32x4.add(r4, v128.load(r, 64));
    r5 = f32x4.add(r5, v128.load(r, 80));
  }
  v128.store(out, activate(r0, act));
  v128.store(out, activate(r1, act), 16);
  v128.store(out, activate(r2, act), 32);
  v128.store(out, activate(r3, act), 48);
  v128.store(out, activate(r4, act), 64);
  v128.store(out, activate(r5, act), 80);
}

/** convPixels by 4 × 8 tiles (every geometry). */
function convTiles(
  g: usize, img: usize, table: usize, packed: usize, per: i32, bias: usize, act: i32,
  out: usize, rd: usize, res: bool, P0: i32, P1: i32, narrow: bool, oc0: i32, oc1: i32,
): void {
  const H = geo(g, CONV_H), W = geo(g, CONV_W), C = geo(g, CONV_C);
  const OW = geo(g, CONV_OW), OC = geo(g, CONV_OC), KH = geo(g, CONV_KH), KW = geo(g, CONV_KW);
  const SH = geo(g, CONV_SH), SW = geo(g, CONV_SW), DH = geo(g, CONV_DH), DW = geo(g, CONV_DW);
  const PT = geo(g, CONV_PT), PL = geo(g, CONV_PL), G = geo(g, CONV_G);
  const Cg = C / G, OCg = OC / G, Kg = KH * KW * Cg;
  const pad = needsPadding(g);
  const Wp = pad ? reachW(g) : W;
  // output channels [oc0, oc1) of each group: whole 8-channel panels from oc0 (a multiple of 8)
  const ocw = oc1 - oc0;
  for (let gi = 0; gi < G; gi++) {
    const pg = packed + f4(gi * per + oc0 * Kg);
    const bg = bias != 0 ? bias + f4(gi * OCg + oc0) : 0;
    const src = img + f4(gi * Cg);
    let oh = P0 / OW, ow = P0 % OW;
    const reachK = (KH - 1) * DH + 1, reachKW = (KW - 1) * DW + 1;
    const colStep = f4(SW * C);
    const splitCols = KW * Cg > 16;
    for (let p0 = P0; p0 < P1; p0 += 4) {
      const mr = min(4, P1 - p0);
      const ohA = oh, owA = ow;
      // window origins of the tile's pixels; rows past mr repeat the first (never stored)
      const a0 = src + f4((oh * SH * Wp + ow * SW) * C);
      let a1 = a0, a2 = a0, a3 = a0;
      if (mr == 4 && ow + 4 <= OW) {
        // the whole tile in one output row (the common case): origins a column step apart
        a1 = a0 + colStep;
        a2 = a1 + colStep;
        a3 = a2 + colStep;
        ow += 3;
      } else {
        for (let r = 1; r < mr; r++) {
          if (++ow == OW) {
            ow = 0;
            oh++;
          }
          const a = src + f4((oh * SH * Wp + ow * SW) * C);
          if (r == 1) a1 = a;
          else if (r == 2) a2 = a;
          else a3 = a;
        }
      }
      // the taps some pixel of the tile reads inside the input: kernel rows [khA, khB], columns [kwA, kwB]
      let k0 = 0, len = Kg, step = 0, runs = 1;
      // (interior tiles, the most, read every tap: two comparisons)
      if (narrow && pad && (ohA * SH < PT || oh * SH + reachK > H + PT || (splitCols && (owA * SW < PL || ow * SW + reachKW > W + PL || ohA != oh)))) {
        const ohB = oh, owLo = ohA == oh ? owA : 0, owHi = ohA == oh ? ow : OW - 1;
        const khA = max(0, ceilDiv(PT - ohB * SH, DH)), khB = min(KH - 1, floorDiv(H - 1 + PT - ohA * SH, DH));
        const kwA = max(0, ceilDiv(PL - owHi * SW, DW)), kwB = min(KW - 1, floorDiv(W - 1 + PL - owLo * SW, DW));
        runs = max(0, khB - khA + 1);
        if (!splitCols || (kwA == 0 && kwB == KW - 1) || (kwB - kwA + 1) * Cg < 16) {
          // whole kernel rows: one run (also where a row's run would be too short to pay for its epilogue)
          k0 = khA * KW * Cg;
          len = runs * KW * Cg;
          runs = min(runs, 1);
        } else {
          k0 = (khA * KW + kwA) * Cg;
          len = max(0, kwB - kwA + 1) * Cg;
          step = KW * Cg;
        }
      }
      if (++ow == OW) {
        ow = 0;
        oh++;
      }
      const yt = out + f4((p0 - P0) * OC + gi * OCg + oc0);
      if (k0 == 0 && len == Kg && runs == 1) pixelTile(a0, a1, a2, a3, table, Kg, pg, ocw, bg, act, yt, OC, mr, rd, res);
      else pixelTileRuns(a0, a1, a2, a3, table, Kg, pg, ocw, bg, act, yt, OC, mr, k0, len, step, runs, rd, res);
    }
  }
}
