// Packed, register-blocked SGEMM: C = alpha·op(A)·op(B) + beta·C, then bias and activation.
//
// BLIS loop order: column blocks of NC, depth blocks of KC (B block packed into NR-wide panels),
// row blocks of MC (A block packed into MR-tall panels), then an MR×NR micro-kernel holding its
// 4×8 tile in eight f32x4 accumulators. Edge tiles go through a temporary tile.
// All matrices are row-major; lda/ldb/ldc are row strides in elements.

import { activate, madd, f4 } from "../common/simd";
import { ACT_RELU, ACT_RELU6 } from "../common/geometry";

export const MR: i32 = 4;
export const NR: i32 = 8;
export const KC: i32 = 256;
export const MC: i32 = 128;
export const NC: i32 = 2048;
/** Columns of one accumulator strip of the few-rows path (16 KiB, stays in L1). */
const GEMV_STRIP: i32 = 4096;

/** Bytes of scratch f32_gemm needs (A block, B block, one edge tile), whatever the sizes. */
export function f32_gemm_scratch_bytes(): i32 {
  return (MC * KC + KC * NC + MR * NR) * 4;
}

/** Floats of a pre-packed op(B) of K×N: ceil(N/8) panels of K×8. */
export function f32_gemm_packed_b_floats(K: i32, N: i32): i32 {
  return ((N + NR - 1) / NR) * NR * K;
}

// ---- packing --------------------------------------------------------------------------------

/**
 * Four vectors a, b, c, d (rows of 4 floats) stored transposed: their lane 0s (a0 b0 c0 d0) at o,
 * lane 1s at o + step, lane 2s at o + 2·step, lane 3s at o + 3·step (bytes).
 */
// @ts-ignore: decorator
@inline function storeTransposed(a: v128, b: v128, c: v128, d: v128, o: usize, step: usize): void {
  const ab0 = v128.shuffle<f32>(a, b, 0, 4, 1, 5); // a0 b0 a1 b1
  const ab1 = v128.shuffle<f32>(a, b, 2, 6, 3, 7); // a2 b2 a3 b3
  const cd0 = v128.shuffle<f32>(c, d, 0, 4, 1, 5);
  const cd1 = v128.shuffle<f32>(c, d, 2, 6, 3, 7);
  v128.store(o, v128.shuffle<f32>(ab0, cd0, 0, 1, 4, 5));
  v128.store(o + step, v128.shuffle<f32>(ab0, cd0, 2, 3, 6, 7));
  v128.store(o + 2 * step, v128.shuffle<f32>(ab1, cd1, 0, 1, 4, 5));
  v128.store(o + 3 * step, v128.shuffle<f32>(ab1, cd1, 2, 3, 6, 7));
}

/**
 * Packs rows [0, mc) × depth [0, kc) of a matrix whose element (i, k) is at
 * src + 4·(i·rs + k·cs) into MR-tall panels: panel p, depth k, row r at dst[(p·kc + k)·MR + r].
 * Rows past mc are zero.
 */
function packA(src: usize, rs: i32, cs: i32, mc: i32, kc: i32, dst: usize): void {
  for (let i0 = 0; i0 < mc; i0 += MR) {
    const rows = min(MR, mc - i0);
    const panel = dst + f4(i0 * kc);
    if (rows == MR && cs == 1) {
      // row-major A: 4 rows, 4 depths at a time, transposed in registers
      const r0 = src + f4(i0 * rs), r1 = r0 + f4(rs), r2 = r1 + f4(rs), r3 = r2 + f4(rs);
      let k = 0;
      for (; k + 4 <= kc; k += 4) {
        storeTransposed(v128.load(r0 + f4(k)), v128.load(r1 + f4(k)), v128.load(r2 + f4(k)), v128.load(r3 + f4(k)), panel + f4(k * MR), f4(MR));
      }
      for (; k < kc; k++) {
        const o = panel + f4(k * MR);
        store<f32>(o, load<f32>(r0 + f4(k)));
        store<f32>(o, load<f32>(r1 + f4(k)), 4);
        store<f32>(o, load<f32>(r2 + f4(k)), 8);
        store<f32>(o, load<f32>(r3 + f4(k)), 12);
      }
    } else if (rows == MR && rs == 1) {
      // transposed A: the 4 rows of one depth are contiguous
      for (let k = 0; k < kc; k++) {
        v128.store(panel + f4(k * MR), v128.load(src + f4(k * cs + i0)));
      }
    } else {
      for (let k = 0; k < kc; k++) {
        const o = panel + f4(k * MR);
        let r = 0;
        for (; r < rows; r++) store<f32>(o + f4(r), load<f32>(src + f4((i0 + r) * rs + k * cs)));
        for (; r < MR; r++) store<f32>(o + f4(r), 0);
      }
    }
  }
}

/**
 * Packs depth [0, kc) × columns [0, nc) of a matrix whose element (k, j) is at
 * src + 4·(k·rs + j·cs) into NR-wide panels: panel q, depth k, column c at
 * dst[(q·pstride + k)·NR + c]. Columns past nc are zero.
 */
export function packB(src: usize, rs: i32, cs: i32, kc: i32, nc: i32, dst: usize, pstride: i32): void {
  for (let j0 = 0; j0 < nc; j0 += NR) {
    const cols = min(NR, nc - j0);
    const panel = dst + f4((j0 / NR) * pstride * NR);
    if (cols == NR && cs == 1) {
      for (let k = 0; k < kc; k++) {
        const s = src + f4(k * rs + j0);
        const o = panel + f4(k * NR);
        v128.store(o, v128.load(s));
        v128.store(o, v128.load(s, 16), 16);
      }
    } else if (cols == NR && rs == 1) {
      // transposed B (stored N×K: a dense layer's weights in its backward pass): each of the NR
      // columns is a row of contiguous depths; 4 columns × 4 depths at a time, transposed in
      // registers (the scalar gather below took a dense backward's packing 1.2x the product's time at 32 rows)
      let k = 0;
      for (; k + 4 <= kc; k += 4) {
        const o = panel + f4(k * NR);
        for (let h = 0; h < NR; h += 4) {
          const r0 = src + f4((j0 + h) * cs + k), r1 = r0 + f4(cs), r2 = r1 + f4(cs), r3 = r2 + f4(cs);
          storeTransposed(v128.load(r0), v128.load(r1), v128.load(r2), v128.load(r3), o + f4(h), f4(NR));
        }
      }
      for (; k < kc; k++) {
        const o = panel + f4(k * NR);
        for (let c = 0; c < NR; c++) store<f32>(o + f4(c), load<f32>(src + f4(k + (j0 + c) * cs)));
      }
    } else {
      for (let k = 0; k < kc; k++) {
        const o = panel + f4(k * NR);
        let c = 0;
        for (; c < cols; c++) store<f32>(o + f4(c), load<f32>(src + f4(k * rs + (j0 + c) * cs)));
        for (; c < NR; c++) store<f32>(o + f4(c), 0);
      }
    }
  }
}

/**
 * Packs all of op(B) (K×N) once, for reuse by f32_gemm_packed_b: ceil(N/8) panels of K×8,
 * zero-padded. transB = 1: B is stored N×K (op(B) = Bᵀ). `packed` holds
 * f32_gemm_packed_b_floats(K, N) floats.
 */
export function f32_gemm_pack_b(transB: i32, K: i32, N: i32, B: usize, ldb: i32, packed: usize): void {
  const rs = transB ? 1 : ldb, cs = transB ? ldb : 1;
  packB(B, rs, cs, K, N, packed, K);
}

// ---- micro-kernel ---------------------------------------------------------------------------

// @ts-ignore: decorator
@inline function epilogue(v: v128, c: usize, first: bool, last: bool, valpha: v128, beta: f32, bias: v128, act: i32): void {
  let r = f32x4.mul(v, valpha);
  if (!first) r = f32x4.add(r, v128.load(c));
  else if (beta != 0) r = madd(v128.load(c), f32x4.splat(beta), r);
  if (last) {
    r = activate(f32x4.add(r, bias), act);
  }
  v128.store(c, r);
}

// @ts-ignore: decorator
@inline function scalarEpilogue(v: f32, c: usize, first: bool, last: bool, alpha: f32, beta: f32, bias: f32, act: i32): void {
  let r = v * alpha;
  if (!first) r += load<f32>(c);
  else if (beta != 0) r += beta * load<f32>(c);
  if (last) {
    r += bias;
    if (act == ACT_RELU) r = max(r, 0);
    else if (act == ACT_RELU6) r = min(max(r, 0), 6);
  }
  store<f32>(c, r);
}

/**
 * One MR×NR tile: acc = Σ_k pa[k]·pb[k] over kc, then C tile (mr×nr valid) gets the epilogue.
 * first: this is the first depth block (apply beta); last: the final one (add bias, activation).
 */
function micro(
  kc: i32, pa: usize, pb: usize, c: usize, ldc: i32, mr: i32, nr: i32,
  alpha: f32, beta: f32, first: bool, last: bool, bias: usize, act: i32, tmp: usize,
): void {
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0);
  let c10 = f32x4.splat(0), c11 = f32x4.splat(0);
  let c20 = f32x4.splat(0), c21 = f32x4.splat(0);
  let c30 = f32x4.splat(0), c31 = f32x4.splat(0);
  for (let k = 0; k < kc; k++) {
    // four splat-loads (load ports) rather than one load and four shuffles (one shuffle port)
    const b0 = v128.load(pb);
    const b1 = v128.load(pb, 16);
    let s = v128.load32_splat(pa);
    c00 = madd(s, b0, c00);
    c01 = madd(s, b1, c01);
    s = v128.load32_splat(pa, 4);
    c10 = madd(s, b0, c10);
    c11 = madd(s, b1, c11);
    s = v128.load32_splat(pa, 8);
    c20 = madd(s, b0, c20);
    c21 = madd(s, b1, c21);
    s = v128.load32_splat(pa, 12);
    c30 = madd(s, b0, c30);
    c31 = madd(s, b1, c31);
    pa += 16;
    pb += 32;
  }
  if (nr == NR) {
    // all 8 columns, of every row there is: full vectors whatever the number of rows (a column's
    // epilogue, vector or lane by lane, is the same for every row count, as in gemvRow)
    const va = f32x4.splat(alpha);
    let bs0 = f32x4.splat(0), bs1 = f32x4.splat(0);
    if (last && bias != 0) {
      bs0 = v128.load(bias);
      bs1 = v128.load(bias, 16);
    }
    const ld = f4(ldc);
    epilogue(c00, c, first, last, va, beta, bs0, act);
    epilogue(c01, c + 16, first, last, va, beta, bs1, act);
    if (mr > 1) {
      epilogue(c10, c + ld, first, last, va, beta, bs0, act);
      epilogue(c11, c + ld + 16, first, last, va, beta, bs1, act);
    }
    if (mr > 2) {
      epilogue(c20, c + 2 * ld, first, last, va, beta, bs0, act);
      epilogue(c21, c + 2 * ld + 16, first, last, va, beta, bs1, act);
    }
    if (mr > 3) {
      epilogue(c30, c + 3 * ld, first, last, va, beta, bs0, act);
      epilogue(c31, c + 3 * ld + 16, first, last, va, beta, bs1, act);
    }
    return;
  }
  if (nr >= 4) {
    // full first vector of each row, the rest lane by lane
    const va = f32x4.splat(alpha);
    const bs0 = last && bias != 0 ? v128.load(bias) : f32x4.splat(0);
    const ld = f4(ldc);
    if (mr > 0) epilogue(c00, c, first, last, va, beta, bs0, act);
    if (mr > 1) epilogue(c10, c + ld, first, last, va, beta, bs0, act);
    if (mr > 2) epilogue(c20, c + 2 * ld, first, last, va, beta, bs0, act);
    if (mr > 3) epilogue(c30, c + 3 * ld, first, last, va, beta, bs0, act);
    if (nr == 4) return;
    v128.store(tmp, c01);
    v128.store(tmp, c11, 16);
    v128.store(tmp, c21, 32);
    v128.store(tmp, c31, 48);
    for (let r = 0; r < mr; r++) {
      for (let j = 4; j < nr; j++) {
        const b: f32 = last && bias != 0 ? load<f32>(bias + f4(j)) : 0;
        scalarEpilogue(load<f32>(tmp + f4(r * 4 + j - 4)), c + f4(r * ldc + j), first, last, alpha, beta, b, act);
      }
    }
    return;
  }
  v128.store(tmp, c00);
  v128.store(tmp, c01, 16);
  v128.store(tmp, c10, 32);
  v128.store(tmp, c11, 48);
  v128.store(tmp, c20, 64);
  v128.store(tmp, c21, 80);
  v128.store(tmp, c30, 96);
  v128.store(tmp, c31, 112);
  for (let r = 0; r < mr; r++) {
    for (let j = 0; j < nr; j++) {
      const b: f32 = last && bias != 0 ? load<f32>(bias + f4(j)) : 0;
      scalarEpilogue(load<f32>(tmp + f4(r * NR + j)), c + f4(r * ldc + j), first, last, alpha, beta, b, act);
    }
  }
}

// ---- few rows: matrix-vector products without packing ---------------------------------------

/**
 * One row of C (M < MR): c[0..N) = epilogue(alpha · Σ_k a(k) · op(B)(k, ·)). a(k) is at
 * a + 4·k·acs. B is read in place (row-major, row stride brs) or from pre-packed panels; with
 * so few rows, packing would cost as much as the product. As the micro-kernel sums: by depth
 * blocks of KC, each from 0 into an L1-resident accumulator strip in scratch (rowsIntoStrip,
 * panelsIntoStrip), then added into C by the epilogue (first / last), one madd per value and depth
 * step in order — so a row of C has the bits it has in a product of MR rows or more, and
 * predictions do not depend on the batch size.
 */
function gemvRow(
  N: i32, K: i32, alpha: f32, a: usize, acs: i32, B: usize, brs: i32, packed: usize,
  beta: f32, c: usize, bias: usize, act: i32, acc: usize,
): void {
  const va = f32x4.splat(alpha);
  for (let j0 = 0; j0 < N; j0 += GEMV_STRIP) {
    const nb = min(GEMV_STRIP, N - j0);
    const cj = c + f4(j0), bj = bias != 0 ? bias + f4(j0) : 0;
    for (let pc = 0; pc < K; pc += KC) {
      const kEnd = min(K, pc + KC);
      if (packed == 0) rowsIntoStrip(pc, kEnd, a, acs, B + f4(j0), brs, nb, acc);
      else panelsIntoStrip(pc, kEnd, K, a, acs, packed + f4((j0 / NR) * K * NR), nb, acc);
      const first = pc == 0, last = kEnd == K;
      let j = 0;
      for (; j + 4 <= nb; j += 4) {
        epilogue(v128.load(acc + f4(j)), cj + f4(j), first, last, va, beta, last && bj != 0 ? v128.load(bj + f4(j)) : f32x4.splat(0), act);
      }
      for (; j < nb; j++) {
        scalarEpilogue(load<f32>(acc + f4(j)), cj + f4(j), first, last, alpha, beta, last && bj != 0 ? load<f32>(bj + f4(j)) : 0, act);
      }
    }
  }
}

/**
 * acc[0..nb) = Σ_{k in [pc, kEnd)} a(k)·B[k][0..nb), B read in place row by row (contiguous), four
 * rows at a time; the strip's last 1-3 values too, through lane 0, one madd per step in order.
 */
// @ts-ignore: decorator
@inline function rowsIntoStrip(pc: i32, kEnd: i32, a: usize, acs: i32, B: usize, brs: i32, nb: i32, acc: usize): void {
  memory.fill(acc, 0, <usize>f4(nb));
  let k = pc;
  for (; k + 4 <= kEnd; k += 4) {
    const x0 = v128.load32_splat(a + f4(k * acs)), x1 = v128.load32_splat(a + f4((k + 1) * acs));
    const x2 = v128.load32_splat(a + f4((k + 2) * acs)), x3 = v128.load32_splat(a + f4((k + 3) * acs));
    const b0 = B + f4(k * brs), b1 = b0 + f4(brs), b2 = b1 + f4(brs), b3 = b2 + f4(brs);
    let j = 0;
    for (; j + 4 <= nb; j += 4) {
      let v = v128.load(acc + f4(j));
      v = madd(x0, v128.load(b0 + f4(j)), v);
      v = madd(x1, v128.load(b1 + f4(j)), v);
      v = madd(x2, v128.load(b2 + f4(j)), v);
      v = madd(x3, v128.load(b3 + f4(j)), v);
      v128.store(acc + f4(j), v);
    }
    for (; j < nb; j++) {
      let v = v128.load32_splat(acc + f4(j));
      v = madd(x0, v128.load32_splat(b0 + f4(j)), v);
      v = madd(x1, v128.load32_splat(b1 + f4(j)), v);
      v = madd(x2, v128.load32_splat(b2 + f4(j)), v);
      v = madd(x3, v128.load32_splat(b3 + f4(j)), v);
      store<f32>(acc + f4(j), f32x4.extract_lane(v, 0));
    }
  }
  for (; k < kEnd; k++) {
    const x0 = v128.load32_splat(a + f4(k * acs));
    const b0 = B + f4(k * brs);
    let j = 0;
    for (; j + 4 <= nb; j += 4) v128.store(acc + f4(j), madd(x0, v128.load(b0 + f4(j)), v128.load(acc + f4(j))));
    for (; j < nb; j++) store<f32>(acc + f4(j), f32x4.extract_lane(madd(x0, v128.load32_splat(b0 + f4(j)), v128.load32_splat(acc + f4(j))), 0));
  }
}

/**
 * The same from pre-packed panels of 8 columns (panel q of the strip at p0 + q·K·NR floats, its
 * 8 columns at acc + 32q): four panels at a time, each read in order.
 */
function panelsIntoStrip(pc: i32, kEnd: i32, K: i32, a: usize, acs: i32, p0: usize, nb: i32, acc: usize): void {
  const np = (nb + NR - 1) / NR, pstep = f4(K * NR);
  let q = 0;
  for (; q + 4 <= np; q += 4) {
    let pb = p0 + <usize>q * pstep + f4(pc * NR), pd = pb + pstep, pe = pd + pstep, pg = pe + pstep;
    let c0 = f32x4.splat(0), c1 = c0, d0 = c0, d1 = c0, e0 = c0, e1 = c0, g0 = c0, g1 = c0;
    let k = pc;
    for (; k + 2 <= kEnd; k += 2) {
      let x = v128.load32_splat(a + f4(k * acs));
      c0 = madd(x, v128.load(pb), c0);
      c1 = madd(x, v128.load(pb, 16), c1);
      d0 = madd(x, v128.load(pd), d0);
      d1 = madd(x, v128.load(pd, 16), d1);
      e0 = madd(x, v128.load(pe), e0);
      e1 = madd(x, v128.load(pe, 16), e1);
      g0 = madd(x, v128.load(pg), g0);
      g1 = madd(x, v128.load(pg, 16), g1);
      x = v128.load32_splat(a + f4((k + 1) * acs));
      c0 = madd(x, v128.load(pb, 32), c0);
      c1 = madd(x, v128.load(pb, 48), c1);
      d0 = madd(x, v128.load(pd, 32), d0);
      d1 = madd(x, v128.load(pd, 48), d1);
      e0 = madd(x, v128.load(pe, 32), e0);
      e1 = madd(x, v128.load(pe, 48), e1);
      g0 = madd(x, v128.load(pg, 32), g0);
      g1 = madd(x, v128.load(pg, 48), g1);
      pb += 64;
      pd += 64;
      pe += 64;
      pg += 64;
    }
    if (k < kEnd) {
      const x = v128.load32_splat(a + f4(k * acs));
      c0 = madd(x, v128.load(pb), c0);
      c1 = madd(x, v128.load(pb, 16), c1);
      d0 = madd(x, v128.load(pd), d0);
      d1 = madd(x, v128.load(pd, 16), d1);
      e0 = madd(x, v128.load(pe), e0);
      e1 = madd(x, v128.load(pe, 16), e1);
      g0 = madd(x, v128.load(pg), g0);
      g1 = madd(x, v128.load(pg, 16), g1);
    }
    const ac = acc + f4(q * NR);
    v128.store(ac, c0);
    v128.store(ac, c1, 16);
    v128.store(ac, d0, 32);
    v128.store(ac, d1, 48);
    v128.store(ac, e0, 64);
    v128.store(ac, e1, 80);
    v128.store(ac, g0, 96);
    v128.store(ac, g1, 112);
  }
  for (; q < np; q++) {
    let pb = p0 + <usize>q * pstep + f4(pc * NR);
    let c0 = f32x4.splat(0), c1 = c0;
    for (let k = pc; k < kEnd; k++) {
      const x = v128.load32_splat(a + f4(k * acs));
      c0 = madd(x, v128.load(pb), c0);
      c1 = madd(x, v128.load(pb, 16), c1);
      pb += 32;
    }
    v128.store(acc + f4(q * NR), c0);
    v128.store(acc + f4(q * NR), c1, 16);
  }
}

// ---- driver ---------------------------------------------------------------------------------

/**
 * Packed depth blocks of at most this many floats (kc·nc, 16 KB; the last panel's padding to NR aside) take
 * their register tiles strip by strip (MR rows across every panel) instead of panel by panel (one
 * panel down every strip): the panels stay in the first-level cache either way, and each row of C
 * is then written in one visit per depth block (and per NC columns). The same tiles with the same
 * sums: the same bits. 16 KB is half the first-level data cache of the machines measured (32 KB). Threads that
 * split a gemm by rows write neighbouring rows of C; panel by panel, the thread below came back to
 * its last rows once a panel, right below the rows the next thread had written (the likely cost:
 * each core's prefetchers running ahead into the other's lines). LeNet-5's dense kernel gradient
 * at batch 64 on two threads (dW 400×120 over a 32-example slice, rows [0, 200) and [200, 400),
 * 41–43 µs each alone) ran 60 µs a thread together, 43 with the second thread's rows 16 KB or more
 * further on (57–61 at 0 and 4 KB), and 43 strip by strip. The training step on two threads, the
 * build before and this one alternating (one process, the machine's slow pairing): 1.855 -> 1.817
 * ms, 1.61 -> 1.64x one thread's (one thread level, 2.979 / 2.977 ms). At 32 KB blocks the
 * one-thread step had run 2.978 -> 3.012 ms (its 64-example gradient's 30 KB of panels left the
 * cache with the strips).
 */
const STRIPS_FIRST_FLOATS: i32 = 4096;

/** The MR×NR register tile at rows ic + ir, columns jc + jr of C (clipped to the block's mc×nc). */
// @ts-ignore: decorator
@inline function tile(
  kc: i32, bufA: usize, pbBase: usize, pstride: i32, C: usize, ldc: i32, ic: i32, ir: i32, jc: i32, jr: i32, mc: i32, nc: i32,
  alpha: f32, beta: f32, first: bool, last: bool, bias: usize, act: i32, tmp: usize,
): void {
  const pb = pbBase + f4((jr / NR) * pstride * NR);
  const bj = bias != 0 ? bias + f4(jc + jr) : 0;
  micro(kc, bufA + f4(ir * kc), pb, C + f4((ic + ir) * ldc + jc + jr), ldc, min(MR, mc - ir), min(NR, nc - jr),
    alpha, beta, first, last, bj, act, tmp);
}

/** K = 0: C = beta·C, then bias and activation. */
function emptyDepth(M: i32, N: i32, beta: f32, C: usize, ldc: i32, bias: usize, act: i32): void {
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) {
      const p = C + f4(i * ldc + j);
      scalarEpilogue(0, p, true, true, 0, beta, bias != 0 ? load<f32>(bias + f4(j)) : 0, act);
    }
  }
}

/**
 * The general driver, used by conv too. op(A)(i, k) is at A + 4·(i·ars + k·acs); op(B)(k, j) at
 * B + 4·(k·brs + j·bcs), or, when `packed` != 0, in a whole pre-packed op(B) (f32_gemm_pack_b).
 */
export function gemmCore(
  M: i32, N: i32, K: i32, alpha: f32,
  A: usize, ars: i32, acs: i32,
  B: usize, brs: i32, bcs: i32, packed: usize,
  beta: f32, C: usize, ldc: i32, bias: usize, act: i32, scratch: usize,
): void {
  // preconditions (checked in the debug build only; the TS layer guarantees them)
  assert(M >= 0 && N >= 0 && K >= 0, "gemm: negative size");
  assert(ldc >= N, "gemm: ldc < N");
  assert(packed != 0 || (bcs == 1 ? brs >= N : bcs >= K) || K <= 1, "gemm: ldb too small"); // one row: its stride is never used
  assert(acs == 1 ? ars >= K || M <= 1 : acs >= M, "gemm: lda too small");
  assert((scratch & 15) == 0, "gemm: scratch not 16-byte aligned");
  if (M <= 0 || N <= 0) return;
  if (K <= 0) {
    emptyDepth(M, N, beta, C, ldc, bias, act);
    return;
  }
  if (M < MR && (packed != 0 || bcs == 1)) {
    for (let i = 0; i < M; i++) {
      gemvRow(N, K, alpha, A + f4(i * ars), acs, B, brs, packed, beta, C + f4(i * ldc), bias, act, scratch);
    }
    return;
  }
  const bufA = scratch;
  const bufB = bufA + f4(MC * KC);
  const tmp = bufB + f4(KC * NC);
  for (let jc = 0; jc < N; jc += NC) {
    const nc = min(NC, N - jc);
    for (let pc = 0; pc < K; pc += KC) {
      const kc = min(KC, K - pc);
      const first = pc == 0, last = pc + kc == K;
      // where panel q (relative to jc) of this depth block starts, and the panel stride
      let pbBase: usize, pstride: i32;
      if (packed != 0) {
        pbBase = packed + f4(((jc / NR) * K + pc) * NR);
        pstride = K;
      } else {
        packB(B + f4(pc * brs + jc * bcs), brs, bcs, kc, nc, bufB, kc);
        pbBase = bufB;
        pstride = kc;
      }
      for (let ic = 0; ic < M; ic += MC) {
        const mc = min(MC, M - ic);
        packA(A + f4(ic * ars + pc * acs), ars, acs, mc, kc, bufA);
        if (kc * nc <= STRIPS_FIRST_FLOATS) {
          // the depth block's panels fit the first-level cache: a strip of MR rows across all of
          // them, then the next, so each row of C is written in one visit a block (STRIPS_FIRST_FLOATS)
          for (let ir = 0; ir < mc; ir += MR) {
            for (let jr = 0; jr < nc; jr += NR) {
              tile(kc, bufA, pbBase, pstride, C, ldc, ic, ir, jc, jr, mc, nc, alpha, beta, first, last, bias, act, tmp);
            }
          }
        } else {
          for (let jr = 0; jr < nc; jr += NR) {
            for (let ir = 0; ir < mc; ir += MR) {
              tile(kc, bufA, pbBase, pstride, C, ldc, ic, ir, jc, jr, mc, nc, alpha, beta, first, last, bias, act, tmp);
            }
          }
        }
      }
    }
  }
}

/**
 * C[M×N] = alpha·op(A)·op(B) + beta·C, then C += bias (per column, if bias != 0) and the
 * activation `act` (0 none, 1 ReLU, 2 ReLU6).
 * op(A) is M×K: A stored M×K (transA = 0) or K×M (transA = 1), row stride lda.
 * op(B) is K×N: B stored K×N (transB = 0) or N×K (transB = 1), row stride ldb.
 * beta = 0 never reads C (NaNs in C do not propagate). Gradient: d op(A) = dC·op(B)ᵀ,
 * d op(B) = op(A)ᵀ·dC — the same kernel with other transposes.
 * scratch: f32_gemm_scratch_bytes() bytes, 16-byte aligned. C must not overlap A, B or scratch.
 */
export function f32_gemm(
  transA: i32, transB: i32, M: i32, N: i32, K: i32, alpha: f32,
  A: usize, lda: i32, B: usize, ldb: i32, beta: f32, C: usize, ldc: i32,
  bias: usize, act: i32, scratch: usize,
): void {
  gemmCore(M, N, K, alpha,
    A, transA ? 1 : lda, transA ? lda : 1,
    B, transB ? 1 : ldb, transB ? ldb : 1, 0,
    beta, C, ldc, bias, act, scratch);
}

/** f32_gemm with op(B) pre-packed by f32_gemm_pack_b (same K, N). */
export function f32_gemm_packed_b(
  transA: i32, M: i32, N: i32, K: i32, alpha: f32, A: usize, lda: i32,
  packed: usize, beta: f32, C: usize, ldc: i32, bias: usize, act: i32, scratch: usize,
): void {
  gemmCore(M, N, K, alpha, A, transA ? 1 : lda, transA ? lda : 1, 0, 0, 0, packed,
    beta, C, ldc, bias, act, scratch);
}
