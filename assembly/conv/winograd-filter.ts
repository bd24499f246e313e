// Filter gradient of a 3×3, stride-1, ungrouped conv by Winograd F(m×m, 3×3), m = 2 or 4. A
// forward tile Y = Aᵀ[(G g Gᵀ) ⊙ (Bᵀ d B)]A (winograd.ts) is linear in the filter g, so the
// filter's gradient from one tile is the transpose of that map applied to the tile's dY:
//   dg = Gᵀ[(A dY Aᵀ) ⊙ (Bᵀ d B)]G,
// with the forward's own A, B and G. Summed over every tile of every image, each of the α² points
// ξ is one product M_ξ = V_ξᵀ·Y_ξ, (C × tiles)·(tiles × OC), whose depth is the tiles (long,
// where the forward's is C), and dw = Gᵀ M G once at the end: α²/(9m²) of the direct kernel's
// multiplies (m = 4: 0.25, m = 2: 0.44) plus the two input transforms.
//
// Layouts (float32; ξ = i·α + j, i the row):
//   V (winograd.ts inputBlock, one block of TB tiles): V[ξ][t][c], rows vRow(Cp) floats apart, ξ blocks TB·vRow(Cp) + SKEW floats apart.
//   Y (dyBlock): Y[ξ][oc/8][t][oc%8], ξ blocks OCp·TB + SKEW floats apart; the last 4-tile panel's missing tiles zero.
//   M: M[ξ][c][oc] over Cp × OCp, ξ blocks Cp·OCp + SKEW floats apart, summed over the blocks.
// Each dw value sums its tiles in order, in blocks of TB tiles (added into M one after another),
// so the bits depend on the call's images: threads split a batch by images, each with its own
// blocks, and add their partial filters in a fixed order (ops/conv.ts), so a thread count always
// gives the same bits, and different counts round differently.

import { f4, loadPartial, madd, storePartial } from "../common/simd";
import { geo, CONV_N, CONV_OH, CONV_OW, CONV_C, CONV_OC, CONV_KH } from "../common/geometry";
import { SKEW, k4, up, tileBlock, tileCount, inputBlock, vRow, winogradFits } from "./winograd";

/**
 * Bytes of a tile block's V and Y: 512 KiB measured 1.2x faster than the forward's 2 MiB at
 * 64×14²×16→32 (V and Y are written once and read once a block, so they should stay in the cache
 * for the products), level at 8×56²×64→64 and 64×28²×8→16; 128 KiB and less slower (more M updates).
 */
const FILTER_BUDGET: i32 = 1 << 19;

/** A·u: the α values of the m values u0..u(m−1) of one column (or row) of a dY tile, stored `t` bytes apart at q. */
// @ts-ignore: decorator
@inline function expand1d(m: i32, u0: v128, u1: v128, u2: v128, u3: v128, q: usize, t: usize): void {
  if (m == 2) {
    // Aᵀ = [1 1 1 0; 0 1 −1 −1]
    v128.store(q, u0);
    v128.store(q + t, f32x4.add(u0, u1));
    v128.store(q + 2 * t, f32x4.sub(u0, u1));
    v128.store(q + 3 * t, f32x4.neg(u1));
  } else {
    // Aᵀ = [1 1 1 1 1 0; 0 1 −1 2 −2 0; 0 1 1 4 4 0; 0 1 −1 8 −8 1]
    const e = f32x4.add(u0, u2), o = f32x4.add(u1, u3);
    const e4 = madd(u2, k4(4), u0), o4 = madd(u3, k4(8), f32x4.mul(u1, k4(2)));
    v128.store(q, u0);
    v128.store(q + t, f32x4.add(e, o));
    v128.store(q + 2 * t, f32x4.sub(e, o));
    v128.store(q + 3 * t, f32x4.add(e4, o4));
    v128.store(q + 4 * t, f32x4.sub(e4, o4));
    v128.store(q + 5 * t, u3);
  }
}

/** Gᵀ·z: the 3 filter taps from the α values z_i at p + i·s, stored `t` bytes apart at q. */
// @ts-ignore: decorator
@inline function gather1d(m: i32, p: usize, s: usize, q: usize, t: usize): void {
  if (m == 2) {
    // G = [1 0 0; ½ ½ ½; ½ −½ ½; 0 0 1]
    const z0 = v128.load(p), z1 = v128.load(p + s), z2 = v128.load(p + 2 * s), z3 = v128.load(p + 3 * s);
    const h = f32x4.mul(f32x4.add(z1, z2), k4(0.5)), d = f32x4.mul(f32x4.sub(z1, z2), k4(0.5));
    v128.store(q, f32x4.add(z0, h));
    v128.store(q + t, d);
    v128.store(q + 2 * t, f32x4.add(h, z3));
  } else {
    // G = [¼ 0 0; −⅙ −⅙ −⅙; −⅙ ⅙ −⅙; 1/24 1/12 ⅙; 1/24 −1/12 ⅙; 0 0 1]
    const z0 = v128.load(p), z1 = v128.load(p + s), z2 = v128.load(p + 2 * s);
    const z3 = v128.load(p + 3 * s), z4 = v128.load(p + 4 * s), z5 = v128.load(p + 5 * s);
    const s12 = f32x4.add(z1, z2), d12 = f32x4.sub(z2, z1), s34 = f32x4.add(z3, z4), d34 = f32x4.sub(z3, z4);
    v128.store(q, madd(z0, k4(0.25), madd(s12, k4(-1.0 / 6), f32x4.mul(s34, k4(1.0 / 24)))));
    v128.store(q + t, madd(d12, k4(1.0 / 6), f32x4.mul(d34, k4(1.0 / 12))));
    v128.store(q + 2 * t, f32x4.add(madd(s12, k4(-1.0 / 6), f32x4.mul(s34, k4(1.0 / 6))), z5));
  }
}

/** A dY Aᵀ of tiles [t0, t0 + tb) into Y (layout above); the last panel's missing tiles zero. */
function dyBlock(g: usize, m: i32, dy: usize, t0: i32, tb: i32, TB: i32, Y: usize, tmp: usize): void {
  const OH = geo(g, CONV_OH), OW = geo(g, CONV_OW), OC = geo(g, CONV_OC), OCp = up(OC, 8);
  const al = m + 2, TW = (OW + m - 1) / m, TI = TW * ((OH + m - 1) / m);
  const xs = <usize>f4(OCp * TB + SKEW), row = <usize>al * 16, z = f32x4.splat(0);
  for (let tl = 0; tl < tb; tl++) {
    const t = t0 + tl, n = t / TI, th = (t % TI) / TW, tw = t % TW;
    const oh0 = th * m, ow0 = tw * m;
    const rows = min(m, OH - oh0), cols = min(m, OW - ow0);
    const img = dy + f4(((n * OH + oh0) * OW + ow0) * OC);
    for (let oc = 0; oc < OCp; oc += 4) {
      const nc = OC - oc;
      // columns: tmp[k][j] = (A dY)[k][j]; dY's values past the map (and channels past OC) are zero
      for (let j = 0; j < m; j++) {
        const p = img + f4(j * OC + oc), s = f4(OW * OC), ok = j < cols;
        const u0 = ok ? loadPartial(p, nc) : z;
        const u1 = ok && rows > 1 ? loadPartial(p + s, nc) : z;
        const u2 = m == 4 && ok && rows > 2 ? loadPartial(p + 2 * s, nc) : z;
        const u3 = m == 4 && ok && rows > 3 ? loadPartial(p + 3 * s, nc) : z;
        expand1d(m, u0, u1, u2, u3, tmp + <usize>j * 16, row);
      }
      // rows: Y[k·α + l] = (tmp Aᵀ)[k][l]
      const yt = Y + f4(((oc >> 3) * TB + tl) * 8 + (oc & 7));
      for (let k = 0; k < al; k++) {
        const r = tmp + <usize>k * row;
        expand1d(m, v128.load(r), v128.load(r, 16), m == 4 ? v128.load(r, 32) : z, m == 4 ? v128.load(r, 48) : z, yt + <usize>(k * al) * xs, xs);
      }
    }
  }
  for (let tl = tb; tl < up(tb, 4); tl++) {
    for (let xi = 0; xi < al * al; xi++) {
      const base = Y + <usize>xi * xs + f4(tl * 8);
      for (let oc = 0; oc < OCp; oc += 8) {
        v128.store(base + f4(oc * TB), z);
        v128.store(base + f4(oc * TB), z, 16);
      }
    }
  }
}

/**
 * M rows c..c+3 (ldc bytes apart), 8 columns, += Σ over `tiles` tiles of V's channels c..c+3 ·
 * Y's 8 columns: pa at the first tile's channel c (the next tile tileStep bytes on), pb at the
 * columns' first tile (32 bytes a tile).
 */
function micro(tiles: i32, pa: usize, tileStep: usize, pb: usize, c: usize, ldc: usize): void {
  let c00 = f32x4.splat(0), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00;
  for (let t = 0; t < tiles; t++) {
    const b0 = v128.load(pb);
    const b1 = v128.load(pb, 16);
    const s0 = v128.load32_splat(pa);
    const s1 = v128.load32_splat(pa, 4);
    const s2 = v128.load32_splat(pa, 8);
    const s3 = v128.load32_splat(pa, 12);
    c00 = madd(s0, b0, c00);
    c01 = madd(s0, b1, c01);
    c10 = madd(s1, b0, c10);
    c11 = madd(s1, b1, c11);
    c20 = madd(s2, b0, c20);
    c21 = madd(s2, b1, c21);
    c30 = madd(s3, b0, c30);
    c31 = madd(s3, b1, c31);
    pb += 32;
    pa += tileStep;
  }
  v128.store(c, f32x4.add(v128.load(c), c00));
  v128.store(c, f32x4.add(v128.load(c, 16), c01), 16);
  v128.store(c + ldc, f32x4.add(v128.load(c + ldc), c10));
  v128.store(c + ldc, f32x4.add(v128.load(c + ldc, 16), c11), 16);
  v128.store(c + 2 * ldc, f32x4.add(v128.load(c + 2 * ldc), c20));
  v128.store(c + 2 * ldc, f32x4.add(v128.load(c + 2 * ldc, 16), c21), 16);
  v128.store(c + 3 * ldc, f32x4.add(v128.load(c + 3 * ldc), c30));
  v128.store(c + 3 * ldc, f32x4.add(v128.load(c + 3 * ldc, 16), c31), 16);
}

/** Scratch bytes of f32_conv2d_bwd_filter_winograd with m×m tiles: the 1-D-pass buffer, the patch, V, Y and M. */
function filterScratchBytes(g: usize, m: i32): i32 {
  const A2 = (m + 2) * (m + 2), Cp = up(geo(g, CONV_C), 4), OCp = up(geo(g, CONV_OC), 8);
  const Vr = vRow(Cp), TB = tileBlock(A2, Cp, OCp, tileCount(geo(g, CONV_N), geo(g, CONV_OH), geo(g, CONV_OW), m), FILTER_BUDGET);
  return 2 * A2 * 16 + A2 * (TB * (Vr + OCp) + Cp * OCp + 3 * SKEW) * 4;
}

/**
 * Bytes of scratch f32_conv2d_bwd_filter_winograd needs with m×m tiles (0 where Winograd does not
 * fit): its own, not part of f32_conv2d_scratch_bytes, as its (m+2)²·C·OC sums would make every
 * 3×3 conv's scratch several times its weights.
 */
export function f32_conv2d_bwd_filter_winograd_scratch_bytes(g: usize, m: i32): i32 {
  return winogradFits(g) && geo(g, CONV_KH) == 3 && (m == 2 || m == 4) ? filterScratchBytes(g, m) : 0;
}

/**
 * Filter gradient by Winograd F(m×m, 3×3), m = 2 or 4: dw[kh,kw,c,oc] = Σ_{n,oh,ow}
 * x[n, oh − PT + kh, ow − PL + kw, c] · dy[n,oh,ow,oc] (taps outside x are zero), the same as
 * f32_conv2d_bwd_filter_implicit up to rounding. Overwrites dw (HWIO). Preconditions: KH = KW = 3,
 * stride 1, dilation 1, one group. scratch: f32_conv2d_bwd_filter_winograd_scratch_bytes(g, m) bytes.
 */
export function f32_conv2d_bwd_filter_winograd(g: usize, m: i32, x: usize, dy: usize, dw: usize, scratch: usize): void {
  assert(winogradFits(g) && geo(g, CONV_KH) == 3 && (m == 2 || m == 4), "winograd: 3x3 stride-1 ungrouped conv, m in {2, 4} for the filter gradient");
  const C = geo(g, CONV_C), OC = geo(g, CONV_OC), Cp = up(C, 4), OCp = up(OC, 8);
  const al = m + 2, A2 = al * al;
  const Vr = vRow(Cp), tiles = tileCount(geo(g, CONV_N), geo(g, CONV_OH), geo(g, CONV_OW), m), TB = tileBlock(A2, Cp, OCp, tiles, FILTER_BUDGET);
  const xsV = TB * Vr + SKEW, xsY = OCp * TB + SKEW, xsM = Cp * OCp + SKEW;
  const tmp = scratch, patch = tmp + f4(A2 * 4), V = patch + f4(A2 * 4), Y = V + f4(A2 * xsV), M = Y + f4(A2 * xsY);
  memory.fill(M, 0, <usize>f4(A2 * xsM));
  for (let t0 = 0; t0 < tiles; t0 += TB) {
    const tb = min(TB, tiles - t0), panels = up(tb, 4) >> 2;
    inputBlock(g, m, x, t0, tb, TB, V, tmp, patch);
    dyBlock(g, m, dy, t0, tb, TB, Y, tmp);
    for (let xi = 0; xi < A2; xi++) {
      const vx = V + f4(xi * xsV), yx = Y + f4(xi * xsY), mx = M + f4(xi * xsM);
      for (let c = 0; c < Cp; c += 4) {
        for (let oc = 0; oc < OCp; oc += 8) micro(panels * 4, vx + f4(c), <usize>f4(Vr), yx + f4(oc * TB), mx + f4(c * OCp + oc), <usize>f4(OCp));
      }
    }
  }
  // dw = Gᵀ M G: columns into tmp[k][j] (k < 3), then rows
  const row = <usize>al * 16, tap = C * OC;
  for (let c = 0; c < C; c++) {
    for (let oc = 0; oc < OC; oc += 4) {
      const nc = OC - oc, mc = M + f4(c * OCp + oc), xs = <usize>f4(xsM);
      for (let j = 0; j < al; j++) gather1d(m, mc + <usize>j * xs, <usize>al * xs, tmp + <usize>j * 16, row);
      for (let k = 0; k < 3; k++) {
        const r = tmp + <usize>k * row;
        gather1d(m, r, 16, r, 16); // in place: every input is loaded before the first store
        const d = dw + f4(k * 3 * tap + c * OC + oc);
        storePartial(d, v128.load(r), nc);
        storePartial(d + f4(tap), v128.load(r, 16), nc);
        storePartial(d + f4(2 * tap), v128.load(r, 32), nc);
      }
    }
  }
}
