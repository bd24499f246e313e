// conv2d with the max pool that follows it fused in (inference): the conv computes its output rows
// one pool window tall into a small band in scratch, and the band is pooled straight into the pool's
// output, so the conv's full-size output is never written. Where windows overlap (stride < window)
// the rows the next window shares stay in the band and only the new rows are computed.

import { f4 } from "../common/simd";
import {
  geo, CONV_C, CONV_G, CONV_KH, CONV_KW, CONV_N, CONV_OC, CONV_OH, CONV_OW,
  POOL_FIELDS, POOL_N, POOL_H, POOL_W, POOL_C, POOL_OH, POOL_OW, POOL_KH, POOL_KW, POOL_SH, POOL_SW,
  POOL_PT, POOL_PL, POOL_COUNT_PAD, POOL_HP, POOL_WP, POOL_D, POOL_OD, POOL_KD, POOL_SD, POOL_PF, POOL_DP,
  POOL_DD, POOL_DH, POOL_DW,
} from "../common/geometry";
import { f32_gemm_packed_b_floats } from "../gemm/gemm";
import { f32_maxpool_fwd } from "../pool/pool";
import { f32_conv2d_pack_weights, f32_conv2d_packed_floats } from "./conv";
import { convPixels, implicitImage, implicitScratchBytes, implicitSetup, pooledC6Fits, pooledRowC6 } from "./implicit";

/** Bytes of the band (pool-window rows of the conv's output) and the band's pool geometry block. */
// @ts-ignore: decorator
@inline function bandBytes(g: usize, pg: usize): i32 {
  return ((POOL_FIELDS * 4 + 15) & ~15) + geo(pg, POOL_KH) * geo(g, CONV_OW) * geo(g, CONV_OC) * 4;
}

/** Bytes of scratch f32_conv2d_maxpool_fwd needs for these geometries. */
export function f32_conv2d_maxpool_scratch_bytes(g: usize, pg: usize): i32 {
  return bandBytes(g, pg) + implicitScratchBytes(g) + f32_conv2d_packed_floats(g) * 4;
}

/**
 * y = maxpool(act(conv2d(x, w) + bias)): f32_conv2d_fwd's output (res none) pooled by
 * f32_maxpool_fwd with geometry pg (no argmax), bit for bit, without writing the conv's output.
 * pg's input is the conv's output: POOL_N = CONV_N, POOL_H = CONV_OH, POOL_W = CONV_OW, POOL_C =
 * CONV_OC, D = KD = 1, dilation 1; every pool window holds at least one conv row and column. y: [N, POOL_OH, POOL_OW, OC].
 * packedW: 0 (w packed here, into scratch) or f32_conv2d_pack_weights's panels.
 * scratch: f32_conv2d_maxpool_scratch_bytes(g, pg) bytes.
 */
export function f32_conv2d_maxpool_fwd(
  g: usize, pg: usize, x: usize, w: usize, packedW: usize, bias: usize, act: i32, y: usize, scratch: usize,
): void {
  const N = geo(g, CONV_N), OH = geo(g, CONV_OH), OW = geo(g, CONV_OW), OC = geo(g, CONV_OC), G = geo(g, CONV_G);
  const Kg = geo(g, CONV_KH) * geo(g, CONV_KW) * (geo(g, CONV_C) / G);
  const per = f32_gemm_packed_b_floats(Kg, OC / G);
  const PH = geo(pg, POOL_OH), PW = geo(pg, POOL_OW), KH = geo(pg, POOL_KH), SH = geo(pg, POOL_SH), PT = geo(pg, POOL_PT);
  assert(geo(pg, POOL_N) == N && geo(pg, POOL_H) == OH && geo(pg, POOL_W) == OW && geo(pg, POOL_C) == OC, "conv2d_maxpool: the pool's input is not the conv's output");
  assert(geo(pg, POOL_D) == 1 && geo(pg, POOL_KD) == 1 && geo(pg, POOL_DH) == 1 && geo(pg, POOL_DW) == 1, "conv2d_maxpool: the pool is 3-D or dilated");
  // scratch: the band's pool geometry, the band, the conv's tap table and frame, (packed weights)
  const bg = scratch;
  const band = bg + <usize>((POOL_FIELDS * 4 + 15) & ~15);
  const table = scratch + <usize>bandBytes(g, pg);
  let packed = packedW;
  if (packed == 0) {
    packed = table + <usize>implicitScratchBytes(g);
    f32_conv2d_pack_weights(g, w, packed);
  }
  if (pooledC6Fits(g, pg)) {
    // one input channel to 6 (LeNet's C1) under a 2×2, stride-2 pool: the two conv rows of a pool
    // row are pooled in registers (the band holds their parked sums)
    const frame = implicitSetup(g, table);
    for (let n = 0; n < N; n++) {
      const img = implicitImage(g, x, n, frame);
      for (let ph = 0; ph < PH; ph++) pooledRowC6(g, img, packed, bias, act, y + f4((n * PH + ph) * PW * OC), ph, PW, band);
    }
    return;
  }
  // the band as a pool input of one output row: the window's columns as in pg, its rows the band's
  store<i32>(bg + f4(POOL_N), 1);
  store<i32>(bg + f4(POOL_W), OW);
  store<i32>(bg + f4(POOL_C), OC);
  store<i32>(bg + f4(POOL_OH), 1);
  store<i32>(bg + f4(POOL_OW), PW);
  store<i32>(bg + f4(POOL_KH), KH);
  store<i32>(bg + f4(POOL_KW), geo(pg, POOL_KW));
  store<i32>(bg + f4(POOL_SH), SH);
  store<i32>(bg + f4(POOL_SW), geo(pg, POOL_SW));
  store<i32>(bg + f4(POOL_PL), geo(pg, POOL_PL));
  store<i32>(bg + f4(POOL_COUNT_PAD), 0);
  store<i32>(bg + f4(POOL_WP), geo(pg, POOL_WP));
  // one slice deep, taps adjacent (the host fuses only such pools)
  store<i32>(bg + f4(POOL_D), 1);
  store<i32>(bg + f4(POOL_OD), 1);
  store<i32>(bg + f4(POOL_KD), 1);
  store<i32>(bg + f4(POOL_SD), 1);
  store<i32>(bg + f4(POOL_PF), 0);
  store<i32>(bg + f4(POOL_DP), 1);
  store<i32>(bg + f4(POOL_DD), 1);
  store<i32>(bg + f4(POOL_DH), 1);
  store<i32>(bg + f4(POOL_DW), 1);
  const frame = implicitSetup(g, table);
  const row = OW * OC;
  for (let n = 0; n < N; n++) {
    const img = implicitImage(g, x, n, frame);
    let lo0 = 0, hi0 = 0; // conv rows [lo0, hi0) in the band (band row 0 = conv row lo0)
    for (let ph = 0; ph < PH; ph++) {
      const top = ph * SH - PT;
      const lo = max(top, 0), hi = min(top + KH, OH);
      let from = lo;
      if (lo >= lo0 && lo < hi0) {
        // overlapping windows: the shared rows move to the band's top
        if (lo > lo0) memory.copy(band, band + f4((lo - lo0) * row), <usize>f4((hi0 - lo) * row));
        from = hi0;
      }
      if (hi > from) convPixels(g, img, table, packed, per, bias, act, band + f4((from - lo) * row), 0, false, from * OW, hi * OW, false, 0, OC / G);
      lo0 = lo;
      hi0 = hi;
      // the window's rows [top, top + KH) are the band's [−(lo − top), …): clipped to the band as to the conv output
      store<i32>(bg + f4(POOL_H), hi - lo);
      store<i32>(bg + f4(POOL_PT), lo - top);
      store<i32>(bg + f4(POOL_HP), hi - lo + (lo - top));
      f32_maxpool_fwd(bg, band, y + f4((n * PH + ph) * PW * OC), 0, 0, 0, 0, 0);
    }
  }
}
