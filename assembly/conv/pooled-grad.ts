// conv2d gradients where the conv's ReLU output feeds a 2×2, stride-2 max pool (training). The
// pool passes each window's gradient to one conv output only — its first maximum, where that
// maximum is > 0 — so at least three quarters of the conv's output gradient are zeros. These sums
// run over the pool's outputs instead, a quarter of the dense kernels' multiply-adds, and the
// conv's output gradient is never written: the filter gradient adds, per output channel, each
// window's gradient times the input under its maximum's taps; the data gradient adds each window's
// gradient times the filter into the input positions under those taps.

import { copyRow, f4, madd } from "../common/simd";
import {
  geo, CONV_N, CONV_H, CONV_W, CONV_C, CONV_OH, CONV_OW, CONV_OC, CONV_KH, CONV_KW,
  CONV_SH, CONV_SW, CONV_DH, CONV_PT, CONV_PL,
} from "../common/geometry";
import { reachH, reachW } from "./implicit";

/** Vectors a kernel row's taps take: KW·C adjacent floats (column dilation 1), rounded up. */
// @ts-ignore: decorator
@inline function rowVecs(g: usize): i32 {
  return (geo(g, CONV_KW) * geo(g, CONV_C) + 3) >> 2;
}

/** Floats a frame is followed by, which the last vectors of a kernel row may reach (run6: 23 past the row's last tap). */
const SLACK: i32 = 32;

/** Floats of one image's zero-framed copy (the implicit forward's frame). */
// @ts-ignore: decorator
@inline function frameFloats(g: usize): i32 {
  return reachH(g) * reachW(g) * geo(g, CONV_C);
}

// @ts-ignore: decorator
@inline function align16(b: i32): i32 {
  return (b + 15) & ~15;
}

/**
 * Bytes of scratch f32_conv2d_bwd_pooled needs: one image's frame and its data gradient's (each
 * followed by SLACK floats), each of its windows' maximum
 * and gradient per channel, and the filter gradient and the filter as [OC][KH][row vectors].
 */
export function f32_conv2d_bwd_pooled_scratch_bytes(g: usize): i32 {
  const OC = geo(g, CONV_OC), Q = (geo(g, CONV_OH) >> 1) * (geo(g, CONV_OW) >> 1);
  return 2 * align16((frameFloats(g) + SLACK) * 4) + 2 * align16(Q * OC * 4) + 2 * OC * geo(g, CONV_KH) * max(2, rowVecs(g)) * 16;
}

/**
 * dw[kh,kw,c,oc] = Σ_{n,oh,ow} x[n, oh·SH − PT + kh·DH, ow·SW − PL + kw, c] · d[n,oh,ow,oc] and
 * db[oc] = Σ d[n,oh,ow,oc], for d the gradient that a 2×2, stride-2 max pool over y (the conv's
 * output after its ReLU) and the ReLU pass back from dp (the pool's output gradient, [N, ⌊OH/2⌋,
 * ⌊OW/2⌋, OC]): dp at each window's first maximum in scan order (f32_maxpool_fwd's argmax: top
 * left, top right, bottom left, bottom right; NaN never wins but as the first), where that maximum
 * is > 0 (f32_maxpool_bwd_relu's mask); 0 elsewhere and in a last odd row or column. The same sums
 * as the dense kernels over that d, in another order; and dx[n,ih,iw,c] = Σ over the same taps of
 * d[n,oh,ow,oc] · w[kh,kw,c,oc] (0 where no tap reads). Overwrites dx, dw (HWIO) and db (any of
 * them 0: not wanted). Image by image, so that one image's frames and windows and the sums stay
 * in the first- and second-level caches. Preconditions: one group, column dilation 1, OC >= 4. scratch:
 * f32_conv2d_bwd_pooled_scratch_bytes(g) bytes.
 */
export function f32_conv2d_bwd_pooled(g: usize, x: usize, y: usize, dp: usize, w: usize, dx: usize, dw: usize, db: usize, scratch: usize): void {
  const N = geo(g, CONV_N), H = geo(g, CONV_H), W = geo(g, CONV_W), C = geo(g, CONV_C);
  const OH = geo(g, CONV_OH), OW = geo(g, CONV_OW), OC = geo(g, CONV_OC), KH = geo(g, CONV_KH), KW = geo(g, CONV_KW);
  const SH = geo(g, CONV_SH), SW = geo(g, CONV_SW), DH = geo(g, CONV_DH), PT = geo(g, CONV_PT), PL = geo(g, CONV_PL);
  const Hp = reachH(g), Wp = reachW(g), per = frameFloats(g), V = rowVecs(g);
  const OH2 = OH >> 1, OW2 = OW >> 1, Q = OH2 * OW2;
  const frame = scratch, pos = frame + <usize>align16((per + SLACK) * 4), grad = pos + <usize>align16(Q * OC * 4);
  const acc = grad + <usize>align16(Q * OC * 4), kRow = DH * Wp * C * 4, accRow = max(2, V) * 16;
  const wT = acc + <usize>(OC * KH * accRow), dxFrame = wT + <usize>(OC * KH * accRow), R = KW * C;
  if (dx != 0) {
    // the filter as [OC][KH][row vectors] (its lanes past a row's KW·C taps 0, and never stored)
    memory.fill(wT, 0, <usize>(OC * KH * accRow));
    for (let kh = 0; kh < KH; kh++) {
      for (let t = 0; t < R; t++) {
        const from = w + f4((kh * R + t) * OC);
        for (let oc = 0; oc < OC; oc++) store<f32>(wT + <usize>((oc * KH + kh) * accRow) + f4(t), load<f32>(from + f4(oc)));
      }
    }
  }
  // the frame's border (windows reading outside x) stays 0 for every image; the sums start at 0
  memory.fill(frame, 0, <usize>((per + SLACK) * 4));
  memory.fill(acc, 0, <usize>(OC * KH * accRow));
  if (db != 0) memory.fill(db, 0, <usize>f4(OC));
  const r0 = max(0, -PT), r1 = min(H, Hp - PT), c0 = max(0, -PL), c1 = min(W, Wp - PL);
  const dRow = SH * Wp * C * 4, dCol = SW * C * 4;
  const rowV = i32x4.splat(dRow), colV = i32x4.splat(dCol), zero = f32x4.splat(0);
  for (let n = 0; n < N; n++) {
    // 1. the image into the frame's interior
    const img = x + f4(n * H * W * C);
    for (let ih = r0; ih < r1; ih++) copyRow(frame + f4(((ih + PT) * Wp + c0 + PL) * C), img + f4((ih * W + c0) * C), (c1 - c0) * C);

    // 2. per window and channel ([window][OC]): the address of its maximum's window origin in the
    // frame, and its gradient (the ReLU's mask applied)
    let e = 0;
    for (let oh2 = 0; oh2 < OH2; oh2++) {
      for (let ow2 = 0; ow2 < OW2; ow2++, e++) {
        const y00 = y + f4(((n * OH + 2 * oh2) * OW + 2 * ow2) * OC), y10 = y00 + f4(OW * OC);
        const base = i32x4.splat(<i32>frame + 2 * oh2 * dRow + 2 * ow2 * dCol), dpw = dp + f4((n * Q + e) * OC);
        for (let c = 0; c < OC; c += 4) {
          // a ragged tail of 1-3 channels: the block ending at OC (its overlap writes equal values; db adds only the new ones)
          const cc = min(c, OC - 4), o = f4(cc);
          // the maximum's row and column in the window, as masks (row: bottom, col: right)
          let best = v128.load(y00 + o), v = v128.load(y00 + o + f4(OC));
          let col = f32x4.gt(v, best);
          best = v128.bitselect(v, best, col);
          v = v128.load(y10 + o);
          let row = f32x4.gt(v, best);
          best = v128.bitselect(v, best, row);
          col = v128.andnot(col, row);
          v = v128.load(y10 + o + f4(OC));
          const m = f32x4.gt(v, best);
          best = v128.bitselect(v, best, m);
          row = v128.or(row, m);
          col = v128.or(col, m);
          const q = f4(e * OC + cc);
          v128.store(grad + q, v128.and(v128.load(dpw + o), f32x4.gt(best, zero)));
          v128.store(pos + q, i32x4.add(base, i32x4.add(v128.and(row, rowV), v128.and(col, colV))));
        }
      }
    }
    // db += the image's window gradients (one sum per channel block, kept in a register: adding
    // to db window by window would wait on its own stores, which the ragged block overlaps)
    for (let c = 0; db != 0 && c < OC; c += 4) {
      const step = <usize>f4(OC);
      if (c + 4 <= OC) {
        let sv = f32x4.splat(0), gp = grad + f4(c);
        for (let q = 0; q < Q; q++, gp += step) sv = f32x4.add(sv, v128.load(gp));
        v128.store(db + f4(c), f32x4.add(v128.load(db + f4(c)), sv));
      } else {
        for (let j = c; j < OC; j++) {
          let t: f32 = 0, gp = grad + f4(j);
          for (let q = 0; q < Q; q++, gp += step) t += load<f32>(gp);
          store<f32>(db + f4(j), load<f32>(db + f4(j)) + t);
        }
      }
    }

    // 3. per output channel, the kernel rows' vectors over the image's windows, added to acc[oc][kh][V·4].
    // Six sums at a time: six sums and the six vectors they read fill V8's vector registers (eight spilled)
    for (let oc = 0; dw != 0 && oc < OC; oc++) {
      const pc = pos + f4(oc), gc = grad + f4(oc), dst = acc + <usize>(oc * KH * accRow), step = <usize>f4(OC);
      if (V <= 2) {
        // three kernel rows of two vectors (rows past KH read row kh again, and are dropped)
        for (let kh = 0; kh < KH; kh += 3) {
          const rows = min(3, KH - kh);
          rows3(pc, gc, step, Q, <usize>(kh * kRow), rows > 1 ? <usize>kRow : 0, rows > 2 ? <usize>(2 * kRow) : 0, dst + <usize>(kh * accRow), accRow, rows);
        }
      } else {
        for (let kh = 0; kh < KH; kh++) {
          for (let v0 = 0; v0 < V; v0 += 6) run6(pc, gc, step, Q, <usize>(kh * kRow + v0 * 16), dst + <usize>(kh * accRow + v0 * 16), min(6, V - v0));
        }
      }
    }

    // 4. the data gradient: each window's gradient times the filter, added into a zeroed frame at
    // the taps of its maximum (windows the ReLU closed add nothing), whose interior is dx's image
    if (dx != 0) {
      memory.fill(dxFrame, 0, <usize>((per + SLACK) * 4));
      const shift = dxFrame - frame, full = R >> 2, tail = i32x4.lt_s(i32x4(0, 1, 2, 3), i32x4.splat(R & 3));
      for (let i = 0; i < Q * OC; i += OC) {
        for (let oc = 0; oc < OC; oc++) {
          const gq = load<f32>(grad + f4(i + oc));
          if (gq == 0) continue;
          const gv = f32x4.splat(gq), at = <usize>load<i32>(pos + f4(i + oc)) + shift, wo = wT + <usize>(oc * KH * accRow);
          for (let kh = 0; kh < KH; kh++) {
            const a = at + <usize>(kh * kRow), wr = wo + <usize>(kh * accRow);
            for (let v = 0; v < full; v++) {
              const o = <usize>(v * 16);
              v128.store(a + o, madd(v128.load(wr + o), gv, v128.load(a + o)));
            }
            if (full < V) {
              // the row's last 1-3 taps: the lanes past them keep their values (0·g is NaN where g is infinite)
              const o = <usize>(full * 16), old = v128.load(a + o);
              v128.store(a + o, v128.bitselect(madd(v128.load(wr + o), gv, old), old, tail));
            }
          }
        }
      }
      const dxImg = dx + f4(n * H * W * C);
      if (r1 - r0 < H || c1 - c0 < W) memory.fill(dxImg, 0, <usize>f4(H * W * C)); // rows or columns no tap reads
      for (let ih = r0; ih < r1; ih++) copyRow(dxImg + f4((ih * W + c0) * C), dxFrame + f4(((ih + PT) * Wp + c0 + PL) * C), (c1 - c0) * C);
    }
  }

  // 5. acc[oc][kh][kw·C + c] → dw[kh][kw][c][oc]
  for (let kh = 0; dw != 0 && kh < KH; kh++) {
    for (let t = 0; t < R; t++) {
      const to = dw + f4((kh * R + t) * OC);
      for (let oc = 0; oc < OC; oc++) store<f32>(to + f4(oc), load<f32>(acc + <usize>((oc * KH + kh) * accRow) + f4(t)));
    }
  }
}

/**
 * Six adjacent vectors of a kernel row: dst + 16·j += Σ over the windows w of g[w] · the 4 floats at
 * p[w] + off + 16·j, for j < keep (the others are read and dropped). p[w], g[w]: `step` bytes apart.
 */
function run6(p: usize, g: usize, step: usize, NQ: i32, off: usize, dst: usize, keep: i32): void {
  const z = f32x4.splat(0);
  let a0 = v128.load(dst), a1 = keep > 1 ? v128.load(dst, 16) : z, a2 = keep > 2 ? v128.load(dst, 32) : z;
  let a3 = keep > 3 ? v128.load(dst, 48) : z, a4 = keep > 4 ? v128.load(dst, 64) : z, a5 = keep > 5 ? v128.load(dst, 80) : z;
  for (let w = 0; w < NQ; w++, p += step, g += step) {
    const x = <usize>load<i32>(p) + off, gv = v128.load32_splat(g);
    a0 = madd(v128.load(x), gv, a0);
    a1 = madd(v128.load(x, 16), gv, a1);
    a2 = madd(v128.load(x, 32), gv, a2);
    a3 = madd(v128.load(x, 48), gv, a3);
    a4 = madd(v128.load(x, 64), gv, a4);
    a5 = madd(v128.load(x, 80), gv, a5);
  }
  v128.store(dst, a0);
  if (keep > 1) v128.store(dst, a1, 16);
  if (keep > 2) v128.store(dst, a2, 32);
  if (keep > 3) v128.store(dst, a3, 48);
  if (keep > 4) v128.store(dst, a4, 64);
  if (keep > 5) v128.store(dst, a5, 80);
}

/**
 * Two vectors of three kernel rows (off, off + r1, off + r2 bytes from a window's origin; `rows`
 * of them kept, added to dst + r·dstRow): run6's sums for kernel rows of at most 8 floats.
 */
function rows3(p: usize, g: usize, step: usize, NQ: i32, off: usize, r1: usize, r2: usize, dst: usize, dstRow: usize, rows: i32): void {
  const z = f32x4.splat(0), d1 = dst + dstRow, d2 = dst + 2 * dstRow;
  let a0 = v128.load(dst), b0 = v128.load(dst, 16), a1 = rows > 1 ? v128.load(d1) : z, b1 = rows > 1 ? v128.load(d1, 16) : z;
  let a2 = rows > 2 ? v128.load(d2) : z, b2 = rows > 2 ? v128.load(d2, 16) : z;
  for (let w = 0; w < NQ; w++, p += step, g += step) {
    const x = <usize>load<i32>(p) + off, gv = v128.load32_splat(g);
    a0 = madd(v128.load(x), gv, a0);
    b0 = madd(v128.load(x, 16), gv, b0);
    const x1 = x + r1;
    a1 = madd(v128.load(x1), gv, a1);
    b1 = madd(v128.load(x1, 16), gv, b1);
    const x2 = x + r2;
    a2 = madd(v128.load(x2), gv, a2);
    b2 = madd(v128.load(x2, 16), gv, b2);
  }
  v128.store(dst, a0);
  v128.store(dst, b0, 16);
  if (rows > 1) {
    v128.store(dst + dstRow, a1);
    v128.store(dst + dstRow, b1, 16);
  }
  if (rows > 2) {
    v128.store(dst + 2 * dstRow, a2);
    v128.store(dst + 2 * dstRow, b2, 16);
  }
}
