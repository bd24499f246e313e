// conv2d on NHWC activations with HWIO weights ([KH, KW, C/groups, OC]), forward and both
// backward passes. The forward is the implicit gemm of implicit.ts. The backward passes here lower
// to gemm through im2col / col2im over a bounded chunk of output rows (the scratch never depends on
// the batch); a 1×1, stride-1, unpadded, ungrouped conv is a plain gemm on the activations.
// backward.ts and data.ts have the implicit and direct backward kernels (ops/conv.ts convPaths chooses).
// Depthwise convs (groups == C) have their own kernels (depthwise.ts).
//
// Geometry block: see common/geometry.ts (CONV_*). Output pixel p = (n, oh, ow) reads input
// (ih, iw) = (oh·SH − PT + kh·DH, ow·SW − PL + kw·DW); taps outside the input are zero padding.
// Column k of the im2col matrix of group g is (kh, kw, ci) with k = (kh·KW + kw)·Cg + ci.

import { copyRow, f4 } from "../common/simd";
import {
  geo, CONV_N, CONV_H, CONV_W, CONV_C, CONV_OH, CONV_OW, CONV_OC, CONV_KH, CONV_KW,
  CONV_SH, CONV_SW, CONV_DH, CONV_DW, CONV_PT, CONV_PL, CONV_G,
} from "../common/geometry";
import { gemmCore, packB, f32_gemm_scratch_bytes, f32_gemm_packed_b_floats } from "../gemm/gemm";
import { addTo, zero } from "../eltwise/binary";
import { convImplicitFwd, implicitScratchBytes } from "./implicit";
import { implicitDataScratchBytes } from "./backward";
import { directDataScratchFloats } from "./data";
import { winogradScratchBytes } from "./winograd";

/** Floats of im2col rows kept at once (1 MiB). */
const COL_CHUNK: i32 = 1 << 18;

/** Geometry consistency (debug build only): groups divide the channels, output sizes fit the window rule. */
function checkGeometry(g: usize): void {
  const G = geo(g, CONV_G);
  assert(G >= 1 && geo(g, CONV_C) % G == 0 && geo(g, CONV_OC) % G == 0, "conv2d: groups must divide C and OC");
  const effH = (geo(g, CONV_KH) - 1) * geo(g, CONV_DH) + 1, effW = (geo(g, CONV_KW) - 1) * geo(g, CONV_DW) + 1;
  assert((geo(g, CONV_OH) - 1) * geo(g, CONV_SH) - geo(g, CONV_PT) + effH <= geo(g, CONV_H) + effH, "conv2d: OH too large");
  assert((geo(g, CONV_OW) - 1) * geo(g, CONV_SW) - geo(g, CONV_PL) + effW <= geo(g, CONV_W) + effW, "conv2d: OW too large");
}

/** True when the conv is a plain gemm on the activations: 1×1, stride 1, no padding, one group. */
function isPointwise(g: usize): bool {
  return geo(g, CONV_KH) == 1 && geo(g, CONV_KW) == 1 && geo(g, CONV_SH) == 1 && geo(g, CONV_SW) == 1 &&
    geo(g, CONV_PT) == 0 && geo(g, CONV_PL) == 0 && geo(g, CONV_G) == 1 &&
    geo(g, CONV_OH) == geo(g, CONV_H) && geo(g, CONV_OW) == geo(g, CONV_W);
}

/** im2col rows per chunk: a multiple of 4, at least 4. */
function chunkRows(Kg: i32): i32 {
  return max(4, (COL_CHUNK / Kg) & ~3);
}

/** Bytes of scratch every conv2d kernel needs for this geometry (gemm blocks + one im2col chunk; the Winograd kernels' blocks). */
export function f32_conv2d_scratch_bytes(g: usize): i32 {
  const Kg = geo(g, CONV_KH) * geo(g, CONV_KW) * (geo(g, CONV_C) / geo(g, CONV_G));
  const implicit = implicitScratchBytes(g) + f32_conv2d_packed_floats(g) * 4;
  const most = f32_gemm_scratch_bytes() + max(max(chunkRows(Kg) * Kg * 4, directDataScratchFloats(g) * 4), max(implicit, implicitDataScratchBytes(g)));
  return max(most, winogradScratchBytes(g));
}

/** Floats of the packed weights (f32_conv2d_pack_weights): one packed gemm B per group. */
export function f32_conv2d_packed_floats(g: usize): i32 {
  const G = geo(g, CONV_G);
  const Kg = geo(g, CONV_KH) * geo(g, CONV_KW) * (geo(g, CONV_C) / G);
  return G * f32_gemm_packed_b_floats(Kg, geo(g, CONV_OC) / G);
}

/** Packs HWIO weights once into gemm panels, group after group, for f32_conv2d_fwd. */
export function f32_conv2d_pack_weights(g: usize, w: usize, packed: usize): void {
  const G = geo(g, CONV_G), OC = geo(g, CONV_OC), OCg = OC / G;
  const Kg = geo(g, CONV_KH) * geo(g, CONV_KW) * (geo(g, CONV_C) / G);
  const per = f32_gemm_packed_b_floats(Kg, OCg);
  for (let gi = 0; gi < G; gi++) packB(w + f4(gi * OCg), OC, 1, Kg, OCg, packed + f4(gi * per), Kg);
}

/** Visits every (row r, kh, kw-run) of im2col rows [r0, r0 + rows) of group gi: calls
 *  `run(colPtr, xOffsetFloats, count)` for in-bounds runs and `pad(colPtr, count)` for padding.
 *  With one group and no horizontal dilation, the KW taps of one kernel row are one contiguous
 *  run of KW·C input floats, so interior pixels cost one copy per kernel row. */
// @ts-ignore: decorator
@inline function walkColumns(g: usize, gi: i32, r0: i32, rows: i32, col: usize, scatter: bool, x: usize): void {
  const H = geo(g, CONV_H), W = geo(g, CONV_W), C = geo(g, CONV_C);
  const OH = geo(g, CONV_OH), OW = geo(g, CONV_OW), KH = geo(g, CONV_KH), KW = geo(g, CONV_KW);
  const SH = geo(g, CONV_SH), SW = geo(g, CONV_SW), DH = geo(g, CONV_DH), DW = geo(g, CONV_DW);
  const PT = geo(g, CONV_PT), PL = geo(g, CONV_PL), Cg = C / geo(g, CONV_G);
  const Kg = KH * KW * Cg;
  const contiguous = Cg == C && DW == 1;
  // output pixel (n, oh, ow) of row r0, then stepped along without divisions
  let ow = r0 % OW, oh = (r0 / OW) % OH, n = r0 / (OW * OH);
  for (let r = 0; r < rows; r++, ow++) {
    if (ow == OW) {
      ow = 0;
      if (++oh == OH) {
        oh = 0;
        n++;
      }
    }
    const iw0 = ow * SW - PL;
    const whole = contiguous && iw0 >= 0 && iw0 + KW <= W;
    let cp = col + f4(r * Kg);
    for (let kh = 0; kh < KH; kh++) {
      const ih = oh * SH - PT + kh * DH;
      if (ih < 0 || ih >= H) {
        if (!scatter) memory.fill(cp, 0, <usize>f4(KW * Cg));
        cp += f4(KW * Cg);
        continue;
      }
      const rowBase = x + f4(((n * H + ih) * W) * C + gi * Cg);
      if (whole) {
        if (scatter) addTo(rowBase + f4(iw0 * C), cp, KW * C);
        else copyRow(cp, rowBase + f4(iw0 * C), KW * C, 64);
        cp += f4(KW * C);
        continue;
      }
      for (let kw = 0; kw < KW; kw++) {
        const iw = iw0 + kw * DW;
        if (iw < 0 || iw >= W) {
          if (!scatter) memory.fill(cp, 0, <usize>f4(Cg));
        } else if (scatter) addTo(rowBase + f4(iw * C), cp, Cg);
        else copyRow(cp, rowBase + f4(iw * C), Cg, 64);
        cp += f4(Cg);
      }
    }
  }
}

/** Writes im2col rows [r0, r0 + rows) of group gi into col (row stride Kg). */
function im2col(g: usize, x: usize, gi: i32, r0: i32, rows: i32, col: usize): void {
  walkColumns(g, gi, r0, rows, col, false, x);
}

/** Adds im2col-shaped gradient rows [r0, r0 + rows) of group gi back into dx (col2im). */
function col2im(g: usize, dcol: usize, gi: i32, r0: i32, rows: i32, dx: usize): void {
  walkColumns(g, gi, r0, rows, dcol, true, dx);
}

/**
 * Forward: y[n,oh,ow,oc] = act((Σ_{kh,kw,ci} x[n,ih,iw,g·Cg+ci] · w[kh,kw,ci,oc] + bias[oc]) + res[n,oh,ow,oc]),
 * g = oc / (OC/G). act: 0 none, 1 ReLU, 2 ReLU6. bias may be 0 (none); res may be 0 (none), else
 * a tensor shaped like y (a residual: the other operand of an add the conv feeds), added in the
 * epilogue before the activation. packedW: 0, or weights packed by f32_conv2d_pack_weights (then
 * w is not read). Only output channels [oc0, oc1) of each group are written (oc0 a multiple of 8;
 * 0 and OC/G: all): at batch 1 threads may split the channels, each streaming its share of the
 * weights. scratch: f32_conv2d_scratch_bytes(geo) bytes. y must not overlap x or res.
 */
export function f32_conv2d_fwd(
  g: usize, x: usize, w: usize, packedW: usize, bias: usize, act: i32, res: usize, y: usize, oc0: i32, oc1: i32, scratch: usize,
): void {
  checkGeometry(g);
  assert(oc0 >= 0 && (oc0 & 7) == 0 && oc0 <= oc1 && oc1 <= geo(g, CONV_OC) / geo(g, CONV_G), "conv2d: output channels [oc0, oc1) within OC/G, oc0 a multiple of 8");
  const G = geo(g, CONV_G), OC = geo(g, CONV_OC), OCg = OC / G;
  const Kg = geo(g, CONV_KH) * geo(g, CONV_KW) * (geo(g, CONV_C) / G);
  const P = geo(g, CONV_N) * geo(g, CONV_OH) * geo(g, CONV_OW);
  const per = f32_gemm_packed_b_floats(Kg, OCg);
  // implicit gemm: no im2col; the weights must be in panels (packed here when not pre-packed)
  const work = scratch + <usize>f32_gemm_scratch_bytes();
  let packed = packedW;
  if (packed == 0) {
    packed = work + <usize>implicitScratchBytes(g);
    f32_conv2d_pack_weights(g, w, packed);
  }
  convImplicitFwd(g, x, packed, per, bias, act, res, y, work, false, oc0, oc1);
}

/**
 * Backward to the input: dx[n,ih,iw,c] = Σ over every (oh, ow, kh, kw) that reads (ih, iw) of
 * Σ_oc dy[n,oh,ow,oc] · w[kh,kw,c−g·Cg,oc]. Overwrites dx. scratch as for the forward pass.
 */
export function f32_conv2d_bwd_data(g: usize, dy: usize, w: usize, dx: usize, scratch: usize): void {
  checkGeometry(g);
  const G = geo(g, CONV_G), OC = geo(g, CONV_OC), OCg = OC / G;
  const Kg = geo(g, CONV_KH) * geo(g, CONV_KW) * (geo(g, CONV_C) / G);
  const P = geo(g, CONV_N) * geo(g, CONV_OH) * geo(g, CONV_OW);
  if (isPointwise(g)) {
    // dx[P×C] = dy[P×OC] · wᵀ, w stored C×OC
    gemmCore(P, Kg, OC, 1, dy, OC, 1, w, 1, OC, 0, 0, dx, Kg, 0, 0, scratch);
    return;
  }
  zero(dx, geo(g, CONV_N) * geo(g, CONV_H) * geo(g, CONV_W) * geo(g, CONV_C));
  const col = scratch + <usize>f32_gemm_scratch_bytes();
  const R = chunkRows(Kg);
  for (let r0 = 0; r0 < P; r0 += R) {
    const rows = min(R, P - r0);
    for (let gi = 0; gi < G; gi++) {
      // dcol[rows×Kg] = dy[rows×OCg] · w_gᵀ
      gemmCore(rows, Kg, OCg, 1, dy + f4(r0 * OC + gi * OCg), OC, 1,
        w + f4(gi * OCg), 1, OC, 0, 0, col, Kg, 0, 0, scratch);
      col2im(g, col, gi, r0, rows, dx);
    }
  }
}

/**
 * Backward to the weights: dw[kh,kw,ci,oc] = Σ_{n,oh,ow} x[n,ih,iw,g·Cg+ci] · dy[n,oh,ow,oc]
 * (zero-padded taps contribute nothing). Overwrites dw. scratch as for the forward pass.
 */
export function f32_conv2d_bwd_filter(g: usize, x: usize, dy: usize, dw: usize, scratch: usize): void {
  checkGeometry(g);
  const G = geo(g, CONV_G), OC = geo(g, CONV_OC), OCg = OC / G;
  const Kg = geo(g, CONV_KH) * geo(g, CONV_KW) * (geo(g, CONV_C) / G);
  const P = geo(g, CONV_N) * geo(g, CONV_OH) * geo(g, CONV_OW);
  if (isPointwise(g)) {
    // dw[C×OC] = xᵀ · dy
    gemmCore(Kg, OC, P, 1, x, 1, Kg, dy, OC, 1, 0, 0, dw, OC, 0, 0, scratch);
    return;
  }
  const col = scratch + <usize>f32_gemm_scratch_bytes();
  const R = chunkRows(Kg);
  if (P == 0) zero(dw, Kg * OC);
  for (let r0 = 0; r0 < P; r0 += R) {
    const rows = min(R, P - r0);
    for (let gi = 0; gi < G; gi++) {
      im2col(g, x, gi, r0, rows, col);
      // dw_g[Kg×OCg] (+)= colᵀ · dy_chunk
      gemmCore(Kg, OCg, rows, 1, col, 1, Kg, dy + f4(r0 * OC + gi * OCg), OC, 1, 0,
        r0 == 0 ? 0 : 1, dw + f4(gi * OCg), OC, 0, 0, scratch);
    }
  }
}
