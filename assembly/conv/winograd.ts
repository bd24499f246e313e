// Winograd convolution F(m×m, r×r) for 3×3 and 5×5, stride-1, dilation-1, ungrouped convs (Lavin &
// Gray 2016): each m×m block of outputs ("tile") is Aᵀ[(G g Gᵀ) ⊙ (Bᵀ d B)]A, where d is the
// α×α input patch under the tile (α = m + r − 1) and g the r×r filter of one (input, output)
// channel pair. Summed over the input channels, the element-wise products are α² independent
// matrix products (tiles × C)·(C × OC): α²/m² multiplies per output instead of r² (3×3: m = 2:
// 4, m = 4: 2.25, m = 6: 1.78 against 9; 5×5: F(4×4, 5×5), α = 8: 4 against 25).
//
// Points: α = 4 {0, 1, −1, ∞}; α = 6 {0, ±1, ±2, ∞}; α = 8 {0, ±1, ±2, ±½, ∞} (the matrices of
// wincnn / NNPACK; each 1-D transform below is one matrix written out). Bᵀ depends only on the
// points, so F(4×4, 5×5) shares F(6×6, 3×3)'s input transform; its G and Aᵀ are those points'.
//
// A 2×2, stride-2 max pool after the conv can be taken into the output transform
// (f32_conv2d_maxpool_fwd_winograd): every tile is even, so it holds whole windows.
//
// Layouts (all float32):
//   U (transformed filters, f32_conv2d_pack_winograd*): for each ξ = i·α + j, gemm B panels of 8
//     output channels: U[ξ][oc/8][c][oc%8], depth c over Cp = C rounded up to 4 (zero rows past C),
//     columns past OC zero. ξ blocks Cp·OCp + SKEW floats apart, OCp = OC rounded up to 8.
//   V (scratch, one block of TB tiles): V[ξ][t][c], the input transforms tile by tile (each
//     transform's vector of 4 channels stored whole), rows vRow(Cp) = Cp + 4 floats apart (with
//     512 channels, rows a multiple of 1 KiB apart put a 4-tile register tile's rows in two L1
//     sets: 8% slower); the tiles past the block's last, up to a multiple of 4, zero. With at most
//     PACKED_TILES tiles in one call and PACKED_CHANNELS channels (7²×512 at batch 1), packed instead: V[ξ][t/4][c][t%4], a register
//     tile's four tiles interleaved channel by channel (one stream of V beside U's).
//   M (scratch): M[ξ][t][OCB] for one block of OCB ≤ 64 output channels: the products, which the
//     output transform reads and turns into m×m outputs + bias (+ a residual), with the fused activation.
// A tile block's V is built once, then for each output-channel block and each ξ the product
// V[ξ]·U[ξ] runs as 4-tile × 8-channel register tiles: gemm.ts's micro-kernel loop (eight f32x4
// accumulators, the 4 tiles' values splat-loaded from their rows or the packed block), without its alpha/beta/bias
// epilogue and partial tiles (M is padded to whole tiles, the epilogue is the output transform's).
// TB is as large as fits a fixed scratch budget, so U is streamed once per block of tiles.
// Every output tile's arithmetic is the same whatever block or thread it lands in (one dot
// product per ξ over the channels in order), so results do not depend on the split: threads take
// ranges of tiles or of 8-channel output panels (ops/conv.ts). (Past 400 lines: the
// tile sizes' 1-D transforms are written out, one matrix each.)

import { activate, f4, loadPartial, madd, storePartial } from "../common/simd";
import {
  geo, CONV_N, CONV_H, CONV_W, CONV_C, CONV_OH, CONV_OW, CONV_OC, CONV_KH, CONV_KW,
  CONV_SH, CONV_SW, CONV_DH, CONV_DW, CONV_PT, CONV_PL, CONV_G, CONV_FIELDS,
} from "../common/geometry";

/**
 * Bytes of the V and M blocks together (the tile block TB is sized to fit; at least 4 tiles). 2 MiB
 * measured level with 1 MiB where the channels are few and 15–20 % faster with 512 channels (fewer
 * blocks, so the transformed filters are streamed fewer times); 4 and 8 MiB no better. Where the
 * transformed filters take at most SMALL_FILTERS bytes, blocks of SMALL_BLOCK instead (forwardBudget).
 */
const BLOCK_BUDGET: i32 = 1 << 21;
/**
 * Blocks of 256 KiB where the transformed filters take at most 256 KiB: V, M and U then stay in
 * the second-level cache (1 MiB here), with nothing to gain from streaming U fewer times. One thread,
 * alternating in one process, batch 64, 2 MiB → 256 KiB: LeNet's C3 14²×6→16 5×5 with its pool
 * 0.439 → 0.409 ms, 8²×20→20 0.536 → 0.508; with U past it (batch 1, 3×3 F(4)): 56²×64 level
 * (1.51 → 1.47), 7²×512 2.20 → 2.41, so not there.
 */
const SMALL_FILTERS: i32 = 1 << 18;
const SMALL_BLOCK: i32 = 1 << 18;
/** Output channels of one M block. */
const OCB_MAX: i32 = 64;
/**
 * At most this many tiles in one call (a 7²×512 or 14²×256 map at batch 1; a thread's range of
 * tiles counts its own), with at least PACKED_CHANNELS input channels, V is packed (inputBlock).
 * Each transformed filter panel then serves one or a few register tiles and streams from memory;
 * beside it, V's four tile rows read as four more streams slowed the products down. One 3×3 layer
 * at batch 1, one thread, relaxed build, alternating in one process (ms, medians of 21 rounds):
 * 7²×512 F(4) (4 tiles, a 37.7 MB U) 3.02 → 2.19 with the same bits; 14²×256 (16 tiles) level,
 * 1.775 → 1.789; 28²×128 (49 tiles) 2.8 % slower packed (four lane stores a vector), so not there.
 * With fewer channels the lane stores cost more than the streams save (batch 1, F(4), rows →
 * packed): 7²×128 0.114 → 0.120, 7²×64 0.034 → 0.037, 7²×32 level, LeNet's C3 14²×6→16 5×5 (9
 * tiles) 0.011 → 0.029.
 */
const PACKED_TILES: i32 = 16;
const PACKED_CHANNELS: i32 = 256;
/** Largest tile block. */
const TB_MAX: i32 = 256;
/**
 * Floats added to every ξ stride of U, V and M: strides that are multiples of 4 KiB put all α²
 * vectors of one tile in one L1 set (and alias store/load addresses), which made the transforms
 * several times slower; one cache line more spreads them over α² sets.
 */
export const SKEW: i32 = 16;

/** True when the geometry is one the Winograd kernels take: 3×3 or 5×5, stride 1, dilation 1, one group. */
export function winogradFits(g: usize): bool {
  const r = geo(g, CONV_KH);
  return (r == 3 || r == 5) && geo(g, CONV_KW) == r && geo(g, CONV_SH) == 1 && geo(g, CONV_SW) == 1 &&
    geo(g, CONV_DH) == 1 && geo(g, CONV_DW) == 1 && geo(g, CONV_G) == 1;
}

/** True when F(m×m, r×r) is one of the kernels': r = 3 with m = 2, 4 or 6; r = 5 with m = 4. */
export function winogradTileFits(g: usize, m: i32): bool {
  if (!winogradFits(g)) return false;
  return geo(g, CONV_KH) == 3 ? m == 2 || m == 4 || m == 6 : m == 4;
}

/** α = m + r − 1: the side of a tile's input patch and of its transforms. */
// @ts-ignore: decorator
@inline export function alpha(g: usize, m: i32): i32 {
  return m + geo(g, CONV_KH) - 1;
}

// @ts-ignore: decorator
@inline export function up(n: i32, k: i32): i32 {
  return (n + k - 1) / k * k;
}

/** Floats from one tile's row of V to the next (the layout above). */
// @ts-ignore: decorator
@inline export function vRow(Cp: i32): i32 {
  return Cp + 4;
}

/**
 * Tiles per block for α² products, Cp input and OCB output channels a tile, `tiles` in all, their
 * transforms within `budget` bytes (V's padded rows, vRow, may take it a little past).
 */
export function tileBlock(A2: i32, Cp: i32, OCB: i32, tiles: i32, budget: i32 = BLOCK_BUDGET): i32 {
  const per = A2 * (Cp + OCB) * 4, Vr = vRow(Cp);
  let TB = min(up(tiles, 4), min(TB_MAX, max(4, (budget / per) & ~3)));
  // ξ rows a multiple of 4 KiB apart (SKEW's comment, which one block size undoes: 204 tiles of
  // 16 channels to 20 ran 1.6x slower than 200): one register tile fewer
  while (TB > 4 && (((TB * Vr + SKEW) & 1023) == 0 || ((TB * OCB + SKEW) & 1023) == 0)) TB -= 4;
  return TB;
}

/** The forward's (and data gradient's) block budget for C channels in, OC out (SMALL_FILTERS). */
// @ts-ignore: decorator
@inline function forwardBudget(A2: i32, Cp: i32, OCp: i32): i32 {
  return A2 * Cp * OCp * 4 <= SMALL_FILTERS ? SMALL_BLOCK : BLOCK_BUDGET;
}

/** Scratch bytes of winogradRun (transforms of side al): the two 1-D-pass buffers, V and M. */
function runScratchBytes(al: i32, C: i32, OC: i32, tiles: i32): i32 {
  const A2 = al * al, Cp = up(C, 4), OCB = min(up(OC, 8), OCB_MAX);
  const Vr = vRow(Cp), TB = tileBlock(A2, Cp, OCB, tiles, forwardBudget(A2, Cp, up(OC, 8)));
  return 2 * A2 * 16 + A2 * (TB * (Vr + OCB) + 2 * SKEW) * 4;
}

/** Tiles of an output of N images of OH×OW in m×m tiles. */
// @ts-ignore: decorator
@inline export function tileCount(N: i32, OH: i32, OW: i32, m: i32): i32 {
  return N * ((OH + m - 1) / m) * ((OW + m - 1) / m);
}

/**
 * Bytes of scratch f32_conv2d_fwd_winograd (data = 0) or f32_conv2d_bwd_data_winograd (data = 1)
 * needs with tiles of m×m (2, 4 or 6); f32_conv2d_scratch_bytes covers every m and both passes.
 */
export function f32_conv2d_winograd_scratch_bytes(g: usize, m: i32, data: i32): i32 {
  if (data != 0) {
    return CONV_FIELDS * 4 + runScratchBytes(alpha(g, m), geo(g, CONV_OC), geo(g, CONV_C), tileCount(geo(g, CONV_N), geo(g, CONV_H), geo(g, CONV_W), m));
  }
  return runScratchBytes(alpha(g, m), geo(g, CONV_C), geo(g, CONV_OC), tileCount(geo(g, CONV_N), geo(g, CONV_OH), geo(g, CONV_OW), m));
}

/** The most scratch any Winograd kernel needs for this geometry (0 where they do not fit). */
export function winogradScratchBytes(g: usize): i32 {
  if (!winogradFits(g)) return 0;
  let most = 0;
  for (let m = 2; m <= 6; m += 2) {
    if (winogradTileFits(g, m)) most = max(most, max(f32_conv2d_winograd_scratch_bytes(g, m, 0), f32_conv2d_winograd_scratch_bytes(g, m, 1)));
  }
  return most;
}

/**
 * Floats of the transformed filters for tiles of m×m: data = 0 for the forward
 * (f32_conv2d_pack_winograd), 1 for the data gradient (f32_conv2d_pack_winograd_data, C and OC
 * exchanged).
 */
export function f32_conv2d_winograd_floats(g: usize, m: i32, data: i32): i32 {
  const C = geo(g, CONV_C), OC = geo(g, CONV_OC);
  const depth = data != 0 ? OC : C, cols = data != 0 ? C : OC;
  const al = alpha(g, m);
  return al * al * (up(depth, 4) * up(cols, 8) + SKEW);
}

// ---- the 1-D transforms ----------------------------------------------------------------------

// @ts-ignore: decorator
@inline export function k4(v: f32): v128 {
  return f32x4.splat(v);
}

/** G·(a, b, c): the α filter values of one column (or row) of a 3×3 filter, stored `s` bytes apart. */
// @ts-ignore: decorator
@inline function filter1d(m: i32, a: v128, b: v128, c: v128, q: usize, s: usize): void {
  if (m == 2) {
    const h = f32x4.mul(f32x4.add(a, c), k4(0.5)), hb = f32x4.mul(b, k4(0.5));
    v128.store(q, a);
    v128.store(q + s, f32x4.add(h, hb));
    v128.store(q + 2 * s, f32x4.sub(h, hb));
    v128.store(q + 3 * s, c);
  } else if (m == 4) {
    const ac = f32x4.add(a, c);
    const p = f32x4.mul(f32x4.add(ac, b), k4(-1.0 / 6)), n = f32x4.mul(f32x4.sub(ac, b), k4(-1.0 / 6));
    const e = madd(a, k4(1.0 / 24), f32x4.mul(c, k4(1.0 / 6))), o = f32x4.mul(b, k4(1.0 / 12));
    v128.store(q, f32x4.mul(a, k4(0.25)));
    v128.store(q + s, p);
    v128.store(q + 2 * s, n);
    v128.store(q + 3 * s, f32x4.add(e, o));
    v128.store(q + 4 * s, f32x4.sub(e, o));
    v128.store(q + 5 * s, c);
  } else {
    const ac = f32x4.add(a, c);
    const e1 = madd(a, k4(1.0 / 90), f32x4.mul(c, k4(2.0 / 45))), o1 = f32x4.mul(b, k4(1.0 / 45));
    const e2 = madd(a, k4(32.0 / 45), f32x4.mul(c, k4(8.0 / 45))), o2 = f32x4.mul(b, k4(16.0 / 45));
    v128.store(q, a);
    v128.store(q + s, f32x4.mul(f32x4.add(ac, b), k4(-2.0 / 9)));
    v128.store(q + 2 * s, f32x4.mul(f32x4.sub(ac, b), k4(-2.0 / 9)));
    v128.store(q + 3 * s, f32x4.add(e1, o1));
    v128.store(q + 4 * s, f32x4.sub(e1, o1));
    v128.store(q + 5 * s, f32x4.add(e2, o2));
    v128.store(q + 6 * s, f32x4.sub(e2, o2));
    v128.store(q + 7 * s, c);
  }
}

/**
 * G·(a, b, c, d, e) for a 5×5 filter, F(4×4, 5×5): α = 8, the points of F(6×6, 3×3); each row of
 * G is a point's scale (the same as there) times its powers.
 */
// @ts-ignore: decorator
@inline function filter1d5(a: v128, b: v128, c: v128, d: v128, e: v128, q: usize, s: usize): void {
  const ev = f32x4.add(f32x4.add(a, c), e), od = f32x4.add(b, d);
  const e1 = madd(e, k4(8.0 / 45), madd(c, k4(2.0 / 45), f32x4.mul(a, k4(1.0 / 90))));
  const o1 = madd(d, k4(4.0 / 45), f32x4.mul(b, k4(1.0 / 45)));
  const e2 = madd(e, k4(2.0 / 45), madd(c, k4(8.0 / 45), f32x4.mul(a, k4(32.0 / 45))));
  const o2 = madd(d, k4(4.0 / 45), f32x4.mul(b, k4(16.0 / 45)));
  v128.store(q, a);
  v128.store(q + s, f32x4.mul(f32x4.add(ev, od), k4(-2.0 / 9)));
  v128.store(q + 2 * s, f32x4.mul(f32x4.sub(ev, od), k4(-2.0 / 9)));
  v128.store(q + 3 * s, f32x4.add(e1, o1));
  v128.store(q + 4 * s, f32x4.sub(e1, o1));
  v128.store(q + 5 * s, f32x4.add(e2, o2));
  v128.store(q + 6 * s, f32x4.sub(e2, o2));
  v128.store(q + 7 * s, e);
}

/** Bᵀ·d for α vectors d_i at p + i·s, stored at q + i·t (Bᵀ depends only on the points: α 4, 6 or 8). */
// @ts-ignore: decorator
@inline function input1d(al: i32, p: usize, s: usize, q: usize, t: usize): void {
  if (al == 4) {
    const d0 = v128.load(p), d1 = v128.load(p + s), d2 = v128.load(p + 2 * s), d3 = v128.load(p + 3 * s);
    v128.store(q, f32x4.sub(d0, d2));
    v128.store(q + t, f32x4.add(d1, d2));
    v128.store(q + 2 * t, f32x4.sub(d2, d1));
    v128.store(q + 3 * t, f32x4.sub(d1, d3));
  } else if (al == 6) {
    const d0 = v128.load(p), d1 = v128.load(p + s), d2 = v128.load(p + 2 * s);
    const d3 = v128.load(p + 3 * s), d4 = v128.load(p + 4 * s), d5 = v128.load(p + 5 * s);
    const a = madd(d2, k4(-4), d4), b = madd(d1, k4(-4), d3); // d4 − 4d2, d3 − 4d1
    const e = f32x4.sub(d4, d2), f = f32x4.mul(f32x4.sub(d3, d1), k4(2));
    v128.store(q, madd(d2, k4(-5), madd(d0, k4(4), d4)));
    v128.store(q + t, f32x4.add(a, b));
    v128.store(q + 2 * t, f32x4.sub(a, b));
    v128.store(q + 3 * t, f32x4.add(e, f));
    v128.store(q + 4 * t, f32x4.sub(e, f));
    v128.store(q + 5 * t, madd(d3, k4(-5), madd(d1, k4(4), d5)));
  } else {
    const d0 = v128.load(p), d1 = v128.load(p + s), d2 = v128.load(p + 2 * s), d3 = v128.load(p + 3 * s);
    const d4 = v128.load(p + 4 * s), d5 = v128.load(p + 5 * s), d6 = v128.load(p + 6 * s), d7 = v128.load(p + 7 * s);
    v128.store(q, madd(f32x4.sub(d4, d2), k4(5.25), f32x4.sub(d0, d6)));
    v128.store(q + 7 * t, madd(f32x4.sub(d3, d5), k4(5.25), f32x4.sub(d7, d1)));
    const t1 = madd(d4, k4(-4.25), f32x4.add(d2, d6)), t2 = madd(d3, k4(-4.25), f32x4.add(d1, d5));
    v128.store(q + t, f32x4.add(t1, t2));
    v128.store(q + 2 * t, f32x4.sub(t1, t2));
    const t3 = madd(d4, k4(-1.25), madd(d2, k4(0.25), d6)), t4 = madd(d5, k4(2), madd(d3, k4(-2.5), f32x4.mul(d1, k4(0.5))));
    v128.store(q + 3 * t, f32x4.add(t3, t4));
    v128.store(q + 4 * t, f32x4.sub(t3, t4));
    const t5 = madd(d4, k4(-5), madd(d2, k4(4), d6)), t6 = madd(d5, k4(0.5), madd(d3, k4(-2.5), f32x4.mul(d1, k4(2))));
    v128.store(q + 5 * t, f32x4.add(t5, t6));
    v128.store(q + 6 * t, f32x4.sub(t5, t6));
  }
}

/**
 * Aᵀ·v for α vectors v_i at p + i·s: the m outputs y_0..y_{m−1}, stored at q + k·t. F(4×4, 5×5)
 * (α = 8) has the first four rows of F(6×6, 3×3)'s but for the point at infinity, which only the
 * last output takes.
 */
// @ts-ignore: decorator
@inline function output1d(m: i32, al: i32, p: usize, s: usize, q: usize, t: usize): void {
  if (al == 4) {
    const v0 = v128.load(p), v1 = v128.load(p + s), v2 = v128.load(p + 2 * s), v3 = v128.load(p + 3 * s);
    v128.store(q, f32x4.add(f32x4.add(v0, v1), v2));
    v128.store(q + t, f32x4.sub(f32x4.sub(v1, v2), v3));
  } else if (al == 6) {
    const v0 = v128.load(p), v1 = v128.load(p + s), v2 = v128.load(p + 2 * s);
    const v3 = v128.load(p + 3 * s), v4 = v128.load(p + 4 * s), v5 = v128.load(p + 5 * s);
    const a = f32x4.add(v1, v2), b = f32x4.sub(v1, v2), c = f32x4.add(v3, v4), d = f32x4.sub(v3, v4);
    v128.store(q, f32x4.add(f32x4.add(v0, a), c));
    v128.store(q + t, madd(d, k4(2), b));
    v128.store(q + 2 * t, madd(c, k4(4), a));
    v128.store(q + 3 * t, f32x4.add(madd(d, k4(8), b), v5));
  } else {
    const v0 = v128.load(p), v1 = v128.load(p + s), v2 = v128.load(p + 2 * s), v3 = v128.load(p + 3 * s);
    const v4 = v128.load(p + 4 * s), v5 = v128.load(p + 5 * s), v6 = v128.load(p + 6 * s), v7 = v128.load(p + 7 * s);
    const a = f32x4.add(v1, v2), b = f32x4.sub(v1, v2), c = f32x4.add(v3, v4), d = f32x4.sub(v3, v4);
    const e = f32x4.add(v5, v6), f = f32x4.sub(v5, v6);
    v128.store(q, f32x4.add(f32x4.add(v0, a), f32x4.add(c, e)));
    v128.store(q + t, madd(f, k4(0.5), madd(d, k4(2), b)));
    v128.store(q + 2 * t, madd(e, k4(0.25), madd(c, k4(4), a)));
    if (m == 4) {
      v128.store(q + 3 * t, f32x4.add(madd(f, k4(0.125), madd(d, k4(8), b)), v7));
    } else {
      v128.store(q + 3 * t, madd(f, k4(0.125), madd(d, k4(8), b)));
      v128.store(q + 4 * t, madd(e, k4(0.0625), madd(c, k4(16), a)));
      v128.store(q + 5 * t, f32x4.add(madd(f, k4(0.03125), madd(d, k4(32), b)), v7));
    }
  }
}

// ---- filter transforms -----------------------------------------------------------------------

/** G·(the r vectors at p + k·s) into α vectors at q + i·t (all loaded before the first store). */
// @ts-ignore: decorator
@inline function filterR(m: i32, r: i32, p: usize, s: usize, q: usize, t: usize): void {
  if (r == 3) filter1d(m, v128.load(p), v128.load(p + s), v128.load(p + 2 * s), q, t);
  else filter1d5(v128.load(p), v128.load(p + s), v128.load(p + 2 * s), v128.load(p + 3 * s), v128.load(p + 4 * s), q, t);
}

/**
 * U = G g Gᵀ for an r×r filter g (4 channel pairs a vector) whose taps were parked at dst +
 * (kh·α + kw)·xs: α² vectors at dst + ξ·xs. Columns first (G·g, into the slots of ξ = i·α + kw),
 * then rows, each 1-D transform loading its inputs before it stores.
 */
function filterTransform(m: i32, r: i32, dst: usize, xs: usize): void {
  const al = <usize>(m + r - 1), row = al * xs;
  for (let kw = 0; kw < r; kw++) {
    const c = dst + <usize>kw * xs;
    filterR(m, r, c, row, c, row);
  }
  for (let i: usize = 0; i < al; i++) {
    const q = dst + i * row;
    filterR(m, r, q, xs, q, xs);
  }
}

/**
 * Transforms HWIO weights w [r, r, C, OC] (r = 3 or 5) for f32_conv2d_fwd_winograd with m×m
 * tiles into u (f32_conv2d_winograd_floats(g, m, 0) floats; layout at the top of this file). Run
 * once per weight version (inference) or per training step.
 */
export function f32_conv2d_pack_winograd(g: usize, m: i32, w: usize, u: usize): void {
  assert(winogradTileFits(g, m), "winograd: a 3x3 (m 2, 4, 6) or 5x5 (m 4) stride-1 ungrouped conv");
  const C = geo(g, CONV_C), OC = geo(g, CONV_OC), Cp = up(C, 4), OCp = up(OC, 8), r = geo(g, CONV_KH), al = alpha(g, m);
  const xs = <usize>f4(OCp * Cp + SKEW), tap = C * OC;
  // channel groups outside, input channels inside: each ξ's destination advances 8 floats a step
  for (let oc = 0; oc < OCp; oc += 4) {
    for (let c = 0; c < Cp; c++) {
      const n = c < C ? min(4, OC - oc) : 0;
      const p = w + f4(c * OC + oc), dst = u + f4((oc & ~7) * Cp + c * 8 + (oc & 7));
      for (let kh = 0; kh < r; kh++) {
        for (let kw = 0; kw < r; kw++) v128.store(dst + <usize>(kh * al + kw) * xs, loadPartial(p + f4((kh * r + kw) * tap), n));
      }
      filterTransform(m, r, dst, xs);
    }
  }
}

/** w[kh, kw, c .. c+n, o] (n ≤ 4 channels, OC floats apart) as one vector, zeros above. */
// @ts-ignore: decorator
@inline function column4(p: usize, OC: i32, n: i32): v128 {
  let v = f32x4.splat(0);
  if (n > 0) v = f32x4.replace_lane(v, 0, load<f32>(p));
  if (n > 1) v = f32x4.replace_lane(v, 1, load<f32>(p + f4(OC)));
  if (n > 2) v = f32x4.replace_lane(v, 2, load<f32>(p + f4(2 * OC)));
  if (n > 3) v = f32x4.replace_lane(v, 3, load<f32>(p + f4(3 * OC)));
  return v;
}

/**
 * Transforms HWIO weights for f32_conv2d_bwd_data_winograd: the filters of the data gradient's
 * conv, w'[kh, kw, o, c] = w[r − 1 − kh, r − 1 − kw, c, o] (flipped, input and output channels
 * exchanged), into u (f32_conv2d_winograd_floats(g, m, 1) floats).
 */
export function f32_conv2d_pack_winograd_data(g: usize, m: i32, w: usize, u: usize): void {
  assert(winogradTileFits(g, m), "winograd: a 3x3 (m 2, 4, 6) or 5x5 (m 4) stride-1 ungrouped conv");
  const C = geo(g, CONV_C), OC = geo(g, CONV_OC), Dp = up(OC, 4), Cp8 = up(C, 8), r = geo(g, CONV_KH), al = alpha(g, m);
  const xs = <usize>f4(Cp8 * Dp + SKEW), tap = C * OC, last = r * r - 1;
  for (let c = 0; c < Cp8; c += 4) {
    for (let o = 0; o < Dp; o++) {
      const n = o < OC ? min(4, C - c) : 0;
      const p = w + f4(c * OC + o), dst = u + f4((c & ~7) * Dp + o * 8 + (c & 7));
      // tap (kh', kw') of w' is tap (r − 1 − kh', r − 1 − kw') of w
      for (let kh = 0; kh < r; kh++) {
        for (let kw = 0; kw < r; kw++) v128.store(dst + <usize>(kh * al + kw) * xs, column4(p + f4((last - kh * r - kw) * tap), OC, n));
      }
      filterTransform(m, r, dst, xs);
    }
  }
}

// ---- the products ----------------------------------------------------------------------------

/** A register tile's eight accumulators to M: rows r at c + r·ldc, 8 floats each. */
// @ts-ignore: decorator
@inline function store4x8(c: usize, ldc: usize, c00: v128, c01: v128, c10: v128, c11: v128, c20: v128, c21: v128, c30: v128, c31: v128): void {
  v128.store(c, c00);
  v128.store(c, c01, 16);
  v128.store(c + ldc, c10);
  v128.store(c + ldc, c11, 16);
  v128.store(c + 2 * ldc, c20);
  v128.store(c + 2 * ldc, c21, 16);
  v128.store(c + 3 * ldc, c30);
  v128.store(c + 3 * ldc, c31, 16);
}

/**
 * One 4-tile × 8-channel register tile over the depth: M rows r (at c + r·ldc, 8 floats) =
 * Σ_k V row r[k] · panel[k][0..8) for k < Cp (the C real channels: rows past them are zeros or unread), V's rows at pa + r·Vr floats.
 */
function micro(Cp: i32, pa: usize, Vr: i32, pb: usize, c: usize, ldc: usize): void {
  let c00 = f32x4.splat(0), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00;
  const rs = <usize>f4(Vr);
  let p0 = pa, p1 = pa + rs, p2 = p1 + rs, p3 = p2 + rs;
  for (let k = 0; k < Cp; k++) {
    const b0 = v128.load(pb);
    const b1 = v128.load(pb, 16);
    const s0 = v128.load32_splat(p0);
    const s1 = v128.load32_splat(p1);
    const s2 = v128.load32_splat(p2);
    const s3 = v128.load32_splat(p3);
    c00 = madd(s0, b0, c00);
    c01 = madd(s0, b1, c01);
    c10 = madd(s1, b0, c10);
    c11 = madd(s1, b1, c11);
    c20 = madd(s2, b0, c20);
    c21 = madd(s2, b1, c21);
    c30 = madd(s3, b0, c30);
    c31 = madd(s3, b1, c31);
    p0 += 4;
    p1 += 4;
    p2 += 4;
    p3 += 4;
    pb += 32;
  }
  store4x8(c, ldc, c00, c01, c10, c11, c20, c21, c30, c31);
}

/**
 * micro() over packed V (inputBlock's packed layout): the register tile's four tiles interleaved,
 * V row r[k] at pa + (4k + r) floats. The same products, summed in the same order: the same bits.
 * (The loop is gemm.ts's micro over a packed A; that one's epilogue — alpha, beta, bias, partial
 * tiles — has no use here and would run for every register tile.)
 */
function microPacked(Cp: i32, pa: usize, pb: usize, c: usize, ldc: usize): void {
  let c00 = f32x4.splat(0), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00;
  for (let k = 0; k < Cp; k++) {
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
  store4x8(c, ldc, c00, c01, c10, c11, c20, c21, c30, c31);
}

// ---- the driver ------------------------------------------------------------------------------

/**
 * (v + bias) + the residual's nc (1..4) floats at rp when rp != 0, then the activation: the float
 * operations, in order, of the conv followed by an add layer (f32_add_fwd) and a ReLU/ReLU6 layer.
 */
// @ts-ignore: decorator
@inline function finish(v: v128, bias: v128, rp: usize, nc: i32, act: i32): v128 {
  let r = f32x4.add(v, bias);
  if (rp != 0) r = f32x4.add(r, loadPartial(rp, nc));
  return activate(r, act);
}

/**
 * Input transforms of tiles [t0, t0 + tb) into V (ξ blocks TB·vRow(Cp) + SKEW floats apart). Rows:
 * V[ξ][t][c], vRow(Cp) floats apart; packed: V[ξ][t/4][c][t%4], each register tile's four tiles
 * interleaved channel by channel (its products then read one stream of V; winogradRun's comment).
 * Channels past C are zeros, or with overlap (the forward and the data gradient, whose products read the C real channels) unwritten: a last
 * group of fewer than 4 channels inside the image is then read as the 4 ending at C. (One body per α, so that each has
 * its transform and strides as constants.)
 */
export function inputBlock(g: usize, m: i32, x: usize, t0: i32, tb: i32, TB: i32, V: usize, tmp: usize, patch: usize, packed: bool = false, overlap: bool = false): void {
  const al = alpha(g, m);
  // (generic instances: outputBlock's comment)
  if (al == 4) inputTilesOf<Alpha4>(g, m, x, t0, tb, TB, V, tmp, patch, packed, overlap);
  else if (al == 6) inputTilesOf<Alpha6>(g, m, x, t0, tb, TB, V, tmp, patch, packed, overlap);
  else inputTilesOf<Alpha8>(g, m, x, t0, tb, TB, V, tmp, patch, packed, overlap);
}

function inputTilesOf<TA>(g: usize, m: i32, x: usize, t0: i32, tb: i32, TB: i32, V: usize, tmp: usize, patch: usize, packed: bool, overlap: bool): void {
  inputTiles(alphaOf<TA>(), g, m, x, t0, tb, TB, V, tmp, patch, packed, overlap);
}

// @ts-ignore: decorator
@inline function inputTiles(al: i32, g: usize, m: i32, x: usize, t0: i32, tb: i32, TB: i32, V: usize, tmp: usize, patch: usize, packed: bool, overlap: bool): void {
  const N = geo(g, CONV_N), H = geo(g, CONV_H), W = geo(g, CONV_W), C = geo(g, CONV_C), OH = geo(g, CONV_OH), OW = geo(g, CONV_OW);
  const PT = geo(g, CONV_PT), PL = geo(g, CONV_PL);
  const Cp = up(C, 4), TW = (OW + m - 1) / m, TH = (OH + m - 1) / m;
  const Vr = vRow(Cp), xs = f4(TB * Vr + SKEW), row = <usize>al * 16;
  // a last group of nc < 4 channels: whole vectors with the lanes past nc cleared, but for a pixel
  // whose vector would reach past x's end (loadPartial there)
  const xEnd = x + f4(N * H * W * C), tail = C & 3;
  const keep = i32x4.lt_s(i32x4(0, 1, 2, 3), i32x4.splat(tail));
  // the tiles past tb up to a multiple of 4 (a register tile's rows): zeros (the forward never reads their products, but stale bits could be slow
  // denormals; the filter gradient adds them into its sums). Packed, the last register tile's block, whose lanes below tb the loop writes.
  if ((tb & 3) != 0) {
    const at = packed ? (tb >> 2) * Cp * 4 : tb * Vr, floats = packed ? Cp * 4 : (up(tb, 4) - tb) * Vr;
    for (let xi = 0; xi < al * al; xi++) memory.fill(V + <usize>xi * xs + f4(at), 0, <usize>f4(floats));
  }
  // tile t0's image, tile row and column, stepped tile by tile
  let n = t0 / (TW * TH), th = (t0 % (TW * TH)) / TW, tw = t0 % TW;
  for (let tl = 0; tl < tb; tl++) {
    const ih0 = th * m - PT, iw0 = tw * m - PL;
    const inside = ih0 >= 0 && iw0 >= 0 && ih0 + al <= H && iw0 + al <= W;
    const img = x + f4(n * H * W * C);
    // the patch's rows [ia, ib) and columns [ja, jb) lie in the image; the rest stays zero for every channel group
    const ia = max(0, -ih0), ib = min(al, H - ih0), ja = max(0, -iw0), jb = min(al, W - iw0);
    if (!inside) memory.fill(patch, 0, <usize>(al * al * 16));
    for (let g4 = 0; g4 < Cp; g4 += 4) {
      // overlap (the products read only the C real channels): a last group of fewer than 4 inside
      // the image is the 4 channels ending at C, whose first ones get the values they already have
      const c = overlap && inside && C - g4 < 4 && C >= 4 ? C - 4 : g4;
      const nc = C - c;
      let src = patch, rs: usize = row, cs: usize = 16;
      if (inside && nc >= 4) {
        src = img + f4((ih0 * W + iw0) * C + c);
        rs = f4(W * C);
        cs = f4(C);
      } else {
        for (let i = ia; i < ib; i++) {
          const p = img + f4(((ih0 + i) * W + iw0) * C + c), q = patch + f4(i * al * 4);
          if (nc >= 4) {
            for (let j = ja; j < jb; j++) v128.store(q + f4(j * 4), v128.load(p + f4(j * C)));
          } else {
            for (let j = ja; j < jb; j++) {
              const pj = p + f4(j * C);
              v128.store(q + f4(j * 4), pj + 16 <= xEnd ? v128.and(v128.load(pj), keep) : loadPartial(pj, nc));
            }
          }
        }
      }
      // columns: tmp[i][j] = (Bᵀ d)[i][j]; rows: V[i·α + j] = (tmp Bᵀᵀ)[i][j]
      for (let j = 0; j < al; j++) input1d(al, src + <usize>j * cs, rs, tmp + <usize>j * 16, row);
      if (packed) {
        // V[ξ][tl/4][c + q][tl%4]: each row transformed in place, then its lanes 16 bytes apart
        const vt = V + f4(((tl >> 2) * Cp + c) * 4 + (tl & 3));
        for (let i = 0; i < al; i++) {
          const r = tmp + <usize>i * row;
          input1d(al, r, 16, r, 16); // in place: every input is loaded before the first store
          for (let j = 0; j < al; j++) {
            const v = v128.load(r + <usize>j * 16), q = vt + <usize>(i * al + j) * xs;
            v128.store32_lane(q, v, 0);
            v128.store32_lane(q, v, 1, 16);
            v128.store32_lane(q, v, 2, 32);
            v128.store32_lane(q, v, 3, 48);
          }
        }
        continue;
      }
      // V[ξ][tl][c..c+3]
      const vt = V + f4(tl * Vr + c);
      for (let i = 0; i < al; i++) input1d(al, tmp + <usize>i * row, 16, vt + <usize>(i * al) * xs, xs);
    }
    if (++tw == TW) {
      tw = 0;
      if (++th == TH) {
        th = 0;
        n++;
      }
    }
  }
}

/**
 * Output transforms of tiles [t0, t0 + tb), channels [ob, ob + ocb) ∩ [0, OC), from M (ξ blocks
 * TB·OCB + SKEW floats apart). pool: y is the output of a 2×2, stride-2 max pool over the conv's
 * (no padding, OH/2 × OW/2 rounded down; m even, so a tile holds whole windows): each window's
 * maximum, by the pool's rule (f32x4.pmax over its taps in scan order: the first maximum), is
 * taken before the bias and activation, which are monotone, so the values are those of
 * f32_maxpool_fwd over the conv's outputs. (One body per m and α, as inputBlock.)
 */
function outputBlock(g: usize, m: i32, t0: i32, tb: i32, TB: i32, M: usize, OCB: i32, ob: i32, ocb: i32, bias: usize, act: i32, res: usize, y: usize, tmp: usize, pool: bool): void {
  const al = alpha(g, m);
  // (generic instances, not inlined copies, so that each gets its own body: binaryen folded
  // copies that differed only in the constants back into one)
  if (al == 4) outputTilesOf<Tile2, Alpha4>(g, t0, tb, TB, M, OCB, ob, ocb, bias, act, res, y, tmp, pool);
  else if (al == 6) outputTilesOf<Tile4, Alpha6>(g, t0, tb, TB, M, OCB, ob, ocb, bias, act, res, y, tmp, pool);
  else if (m == 6) outputTilesOf<Tile6, Alpha8>(g, t0, tb, TB, M, OCB, ob, ocb, bias, act, res, y, tmp, pool);
  else outputTilesOf<Tile4, Alpha8>(g, t0, tb, TB, M, OCB, ob, ocb, bias, act, res, y, tmp, pool);
}

// Compile-time tile sizes for the generic instances: m and α as the byte sizes of these types.
type Tile2 = u16;
type Tile4 = u32;
type Tile6 = u64;
type Alpha4 = u8;
type Alpha6 = u16;
type Alpha8 = u32;
// @ts-ignore: decorator
@inline function tileOf<T>(): i32 {
  return sizeof<T>() == 2 ? 2 : sizeof<T>() == 4 ? 4 : 6;
}
// @ts-ignore: decorator
@inline function alphaOf<T>(): i32 {
  return sizeof<T>() == 1 ? 4 : sizeof<T>() == 2 ? 6 : 8;
}

function outputTilesOf<TM, TA>(g: usize, t0: i32, tb: i32, TB: i32, M: usize, OCB: i32, ob: i32, ocb: i32, bias: usize, act: i32, res: usize, y: usize, tmp: usize, pool: bool): void {
  outputTiles(tileOf<TM>(), alphaOf<TA>(), g, t0, tb, TB, M, OCB, ob, ocb, bias, act, res, y, tmp, pool);
}

// @ts-ignore: decorator
@inline function outputTiles(m: i32, al: i32, g: usize, t0: i32, tb: i32, TB: i32, M: usize, OCB: i32, ob: i32, ocb: i32, bias: usize, act: i32, res: usize, y: usize, tmp: usize, pool: bool): void {
  const OH = geo(g, CONV_OH), OW = geo(g, CONV_OW), OC = geo(g, CONV_OC);
  const TW = (OW + m - 1) / m, TH = (OH + m - 1) / m;
  const PH = OH >> 1, PW = OW >> 1;
  const xs = f4(TB * OCB + SKEW), row = <usize>al * 16;
  const oe = min(ob + ocb, OC);
  let n = t0 / (TW * TH), th = (t0 % (TW * TH)) / TW, tw = t0 % TW;
  for (let tl = 0; tl < tb; tl++) {
    const oh0 = th * m, ow0 = tw * m;
    const rows = min(m, OH - oh0), cols = min(m, OW - ow0);
    // pooled: the tile's windows inside the pool's output
    const prow = min(m >> 1, PH - (oh0 >> 1)), pcol = min(m >> 1, PW - (ow0 >> 1));
    const yt = pool ? y + f4(((n * PH + (oh0 >> 1)) * PW + (ow0 >> 1)) * OC) : y + f4(((n * OH + oh0) * OW + ow0) * OC);
    for (let oc = ob; oc < oe; oc += 4) {
      const nc = oe - oc;
      const bv = bias != 0 ? loadPartial(bias + f4(oc), nc) : f32x4.splat(0);
      const mt = M + f4(tl * OCB + oc - ob);
      // columns: tmp[i][j] = (Aᵀ M)[i][j] for i < m; rows: y[i][k] = (tmp A)[i][k]
      for (let j = 0; j < al; j++) output1d(m, al, mt + <usize>j * xs, <usize>al * xs, tmp + <usize>j * 16, row);
      if (pool) {
        for (let i = 0; i < prow; i++) {
          const r0 = tmp + <usize>(2 * i) * row, r1 = r0 + row;
          output1d(m, al, r0, 16, r0, 16); // in place: every input is loaded before the first store
          output1d(m, al, r1, 16, r1, 16);
          const yr = yt + f4(i * PW * OC + oc);
          for (let k = 0; k < pcol; k++) {
            const c = <usize>(2 * k) * 16;
            const v = f32x4.pmax(f32x4.pmax(f32x4.pmax(v128.load(r0 + c), v128.load(r0 + c, 16)), v128.load(r1 + c)), v128.load(r1 + c, 16));
            if (nc >= 4) v128.store(yr + f4(k * OC), finish(v, bv, 0, 4, act));
            else storePartial(yr + f4(k * OC), finish(v, bv, 0, nc, act), nc);
          }
        }
        continue;
      }
      for (let i = 0; i < rows; i++) {
        const r = tmp + <usize>i * row;
        output1d(m, al, r, 16, r, 16); // in place: every input is loaded before the first store
        const yr = yt + f4((i * OW) * OC + oc), rr = res != 0 ? yr - y + res : 0; // the residual is shaped like y
        if (nc >= 4) {
          for (let k = 0; k < cols; k++) v128.store(yr + f4(k * OC), finish(v128.load(r + <usize>k * 16), bv, rr != 0 ? rr + f4(k * OC) : 0, 4, act));
        } else {
          for (let k = 0; k < cols; k++) storePartial(yr + f4(k * OC), finish(v128.load(r + <usize>k * 16), bv, rr != 0 ? rr + f4(k * OC) : 0, nc, act), nc);
        }
      }
    }
    if (++tw == TW) {
      tw = 0;
      if (++th == TH) {
        th = 0;
        n++;
      }
    }
  }
}

/** The Winograd conv of geometry block g (3×3 or 5×5, stride 1, dilation 1, one group; any padding); pool: outputBlock's. */
function winogradRun(g: usize, m: i32, x: usize, u: usize, bias: usize, act: i32, res: usize, y: usize, oc0: i32, oc1: i32, tile0: i32, tile1: i32, scratch: usize, pool: bool): void {
  const C = geo(g, CONV_C), OC = geo(g, CONV_OC);
  const al = alpha(g, m), A2 = al * al, Cp = up(C, 4), OCp = up(OC, 8), OCB = min(OCp, OCB_MAX);
  const tiles = tile1 - tile0;
  const Vr = vRow(Cp), TB = tileBlock(A2, Cp, OCB, tiles, forwardBudget(A2, Cp, OCp));
  const tmp = scratch, patch = tmp + f4(A2 * 4), V = patch + f4(A2 * 4), M = V + f4(A2 * (TB * Vr + SKEW));
  const ldc = f4(OCB);
  const packed = tiles <= PACKED_TILES && C >= PACKED_CHANNELS;
  for (let t0 = tile0; t0 < tile1; t0 += TB) {
    const tb = min(TB, tile1 - t0);
    inputBlock(g, m, x, t0, tb, TB, V, tmp, patch, packed, true);
    const oe = min(OCp, up(oc1, 8));
    for (let ob = oc0; ob < oe; ob += OCB) {
      const ocb = min(OCB, oe - ob);
      for (let xi = 0; xi < A2; xi++) {
        const vx = V + f4(xi * (TB * Vr + SKEW)), mx = M + f4(xi * (TB * OCB + SKEW)), ux = u + f4(xi * (OCp * Cp + SKEW));
        for (let j = 0; j < ocb; j += 8) {
          const pb = ux + f4((ob + j) * Cp), mj = mx + f4(j);
          // the depth is the C real channels: V's and U's rows past them (up to Cp) are zeros
          if (packed) {
            for (let r = 0; r < tb; r += 4) microPacked(C, vx + f4(r * Cp), pb, mj + f4(r * OCB), ldc);
          } else {
            for (let r = 0; r < tb; r += 4) micro(C, vx + f4(r * Vr), Vr, pb, mj + f4(r * OCB), ldc);
          }
        }
      }
      outputBlock(g, m, t0, tb, TB, M, OCB, ob, ocb, bias, act, res, y, tmp, pool);
    }
  }
}

/** The preconditions every Winograd forward checks. */
function checkForward(g: usize, m: i32, oc0: i32, oc1: i32, tile0: i32, tile1: i32): void {
  assert(winogradTileFits(g, m), "winograd: a 3x3 (m 2, 4, 6) or 5x5 (m 4) stride-1 ungrouped conv");
  assert(oc0 >= 0 && (oc0 & 7) == 0 && oc0 <= oc1 && oc1 <= geo(g, CONV_OC), "winograd: output channels [oc0, oc1) within OC, oc0 a multiple of 8");
  assert(tile0 >= 0 && tile0 <= tile1 && tile1 <= tileCount(geo(g, CONV_N), geo(g, CONV_OH), geo(g, CONV_OW), m), "winograd: tiles [tile0, tile1) within the output's tiles");
}

/**
 * Forward conv by Winograd F(m×m, r×r): y[n,oh,ow,oc] = act((bias[oc] + Σ_{kh,kw,c}
 * x[n, oh − PT + kh, ow − PL + kw, c] · w[kh,kw,c,oc]) + res[n,oh,ow,oc]) (taps outside x are
 * zero), the same as f32_conv2d_fwd up to rounding. u: the weights transformed by
 * f32_conv2d_pack_winograd with the same m. act: 0 none, 1 ReLU, 2 ReLU6; bias may be 0; res
 * (shaped like y; it may be y itself) may be 0. Only output channels [oc0, oc1) (oc0 a multiple
 * of 8; 0 and OC: all) of tiles [tile0, tile1) (numbered image by image, row by row; 0 and
 * tileCount: all) are written: with fewer images than threads, threads take ranges of channels
 * (each reading its share of u) or of tiles (each reading all of it). Preconditions: KH = KW = r,
 * r = 3 with m in {2, 4, 6} or r = 5 with m = 4, stride 1, dilation 1, one group. scratch:
 * f32_conv2d_winograd_scratch_bytes(g, m, 0) bytes (f32_conv2d_scratch_bytes(g) covers it). y
 * must not overlap x.
 */
export function f32_conv2d_fwd_winograd(g: usize, m: i32, x: usize, u: usize, bias: usize, act: i32, res: usize, y: usize, oc0: i32, oc1: i32, tile0: i32, tile1: i32, scratch: usize): void {
  checkForward(g, m, oc0, oc1, tile0, tile1);
  winogradRun(g, m, x, u, bias, act, res, y, oc0, oc1, tile0, tile1, scratch, false);
}

/**
 * f32_conv2d_fwd_winograd (without a residual) followed by a 2×2, stride-2 max pool without
 * padding: y [N, ⌊OH/2⌋, ⌊OW/2⌋, OC] = maxpool(act(conv2d(x, w) + bias)), the values of the two
 * layers one after the other, without writing the conv's output. m even (2, 4 or 6), so every
 * tile holds whole windows; tiles [tile0, tile1) write their windows. Scratch as the forward's.
 */
export function f32_conv2d_maxpool_fwd_winograd(g: usize, m: i32, x: usize, u: usize, bias: usize, act: i32, y: usize, oc0: i32, oc1: i32, tile0: i32, tile1: i32, scratch: usize): void {
  checkForward(g, m, oc0, oc1, tile0, tile1);
  winogradRun(g, m, x, u, bias, act, 0, y, oc0, oc1, tile0, tile1, scratch, true);
}

/**
 * Backward to the input by Winograd F(m×m, r×r): dx[n,ih,iw,c] = Σ_{kh,kw,oc}
 * dy[n, ih + PT − kh, iw + PL − kw, oc] · w[kh,kw,c,oc] (dy taps outside dy are zero): the conv of
 * dy with w'[kh,kw,oc,c] = w[r − 1 − kh, r − 1 − kw, c, oc], padding r − 1 − PT / r − 1 − PL (any padding: a
 * negative one only moves the windows), output H×W×C. u: the weights transformed by
 * f32_conv2d_pack_winograd_data with the same m. Overwrites dx. Preconditions as for the forward.
 * scratch: f32_conv2d_winograd_scratch_bytes(g, m, 1) bytes.
 */
export function f32_conv2d_bwd_data_winograd(g: usize, m: i32, dy: usize, u: usize, dx: usize, scratch: usize): void {
  assert(winogradTileFits(g, m), "winograd: a 3x3 (m 2, 4, 6) or 5x5 (m 4) stride-1 ungrouped conv");
  const gt = scratch, r1 = geo(g, CONV_KH) - 1;
  for (let i = 0; i < CONV_FIELDS; i++) store<i32>(gt + f4(i), geo(g, i));
  store<i32>(gt + f4(CONV_H), geo(g, CONV_OH));
  store<i32>(gt + f4(CONV_W), geo(g, CONV_OW));
  store<i32>(gt + f4(CONV_C), geo(g, CONV_OC));
  store<i32>(gt + f4(CONV_OH), geo(g, CONV_H));
  store<i32>(gt + f4(CONV_OW), geo(g, CONV_W));
  store<i32>(gt + f4(CONV_OC), geo(g, CONV_C));
  store<i32>(gt + f4(CONV_PT), r1 - geo(g, CONV_PT));
  store<i32>(gt + f4(CONV_PL), r1 - geo(g, CONV_PL));
  winogradRun(gt, m, dy, u, 0, 0, 0, dx, 0, geo(g, CONV_C), 0, tileCount(geo(g, CONV_N), geo(g, CONV_H), geo(g, CONV_W), m), scratch + f4(CONV_FIELDS), false);
}
