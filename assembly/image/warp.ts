// Image resampling for augmentation: an affine warp with bilinear interpolation, NHWC.
import { f4 } from "../common/simd";

/**
 * dst[y, x, c] = src sampled at (sx, sy) = (m0·x + m1·y + m2, m3·x + m4·y + m5) (pixel centres
 * at integer coordinates), bilinear; samples outside the source read `fill`. `flip` = 1 mirrors
 * the output horizontally. src is H×W×C, dst OH×OW×C; they must not overlap. m points at 6 floats.
 * Four output pixels of a row at a time (the lanes), each lane with the float operations of the
 * one-pixel tail (`warpPixel`), so the result does not depend on where a pixel falls: the taps'
 * indices are clamped into the image for the loads and the taps outside it replaced by `fill`.
 */
export function f32_warp_affine(src: usize, H: i32, W: i32, C: i32, m: usize, fill: f32, flip: i32, dst: usize, OH: i32, OW: i32): void {
  const m0 = load<f32>(m), m1 = load<f32>(m, 4), m2 = load<f32>(m, 8);
  const m3 = load<f32>(m, 12), m4 = load<f32>(m, 16), m5 = load<f32>(m, 20);
  if (H <= 0 || W <= 0) {
    // no source pixel: every sample reads fill (the lanes below would clamp to index −1)
    for (let i = 0; i < OH * OW * C; i++) store<f32>(dst + f4(i), fill);
    return;
  }
  const m0v = f32x4.splat(m0), m3v = f32x4.splat(m3), m2v = f32x4.splat(m2), m5v = f32x4.splat(m5);
  const lanes = f32x4(0, 1, 2, 3), fillv = f32x4.splat(fill), one = i32x4.splat(1), zero = i32x4.splat(0);
  const Wv = i32x4.splat(W), Hv = i32x4.splat(H), Wl = i32x4.splat(W - 1), Hl = i32x4.splat(H - 1), Cv = i32x4.splat(C);
  for (let y = 0; y < OH; y++) {
    const yf = <f32>y;
    const b1 = f32x4.splat(m1 * yf), b4 = f32x4.splat(m4 * yf);
    let x = 0;
    for (; x + 4 <= OW; x += 4) {
      const xv = f32x4.add(f32x4.splat(<f32>x), lanes);
      const sx = f32x4.add(f32x4.add(f32x4.mul(m0v, xv), b1), m2v), sy = f32x4.add(f32x4.add(f32x4.mul(m3v, xv), b4), m5v);
      const x0f = f32x4.floor(sx), y0f = f32x4.floor(sy);
      const ax = f32x4.sub(sx, x0f), ay = f32x4.sub(sy, y0f);
      const x0 = i32x4.trunc_sat_f32x4_s(x0f), y0 = i32x4.trunc_sat_f32x4_s(y0f);
      const x1 = i32x4.add(x0, one), y1 = i32x4.add(y0, one);
      // which taps fall inside (unsigned compares, as pixel() makes them), and their clamped indices
      const inX0 = i32x4.lt_u(x0, Wv), inX1 = i32x4.lt_u(x1, Wv), inY0 = i32x4.lt_u(y0, Hv), inY1 = i32x4.lt_u(y1, Hv);
      const r0 = i32x4.mul(i32x4.min_s(i32x4.max_s(y0, zero), Hl), Wv), r1 = i32x4.mul(i32x4.min_s(i32x4.max_s(y1, zero), Hl), Wv);
      const k00 = v128.and(inY0, inX0), k01 = v128.and(inY0, inX1), k10 = v128.and(inY1, inX0), k11 = v128.and(inY1, inX1);
      if (C == 1 && W >= 2) {
        // one channel: each row's two taps are one 8-byte load at p = x0 clamped to [0, W − 2],
        // whose halves are the taps where x0 = p (inside) and swapped where it is not (the one tap
        // inside is then the other half; the one outside reads fill)
        const p = i32x4.min_s(i32x4.max_s(x0, zero), i32x4.sub(Wl, one)), at = i32x4.eq(x0, p);
        const q0 = i32x4.add(r0, p), q1 = i32x4.add(r1, p);
        // row 0's pairs of lanes 0–1 and 2–3, then row 1's
        const t00 = pairs(src, q0), t01 = pairs(src, v128.shuffle<i32>(q0, q0, 2, 3, 2, 3));
        const t10 = pairs(src, q1), t11 = pairs(src, v128.shuffle<i32>(q1, q1, 2, 3, 2, 3));
        const lo0 = v128.shuffle<f32>(t00, t01, 0, 2, 4, 6), hi0 = v128.shuffle<f32>(t00, t01, 1, 3, 5, 7);
        const lo1 = v128.shuffle<f32>(t10, t11, 0, 2, 4, 6), hi1 = v128.shuffle<f32>(t10, t11, 1, 3, 5, 7);
        const v00 = v128.bitselect(v128.bitselect(lo0, hi0, at), fillv, k00), v01 = v128.bitselect(v128.bitselect(hi0, lo0, at), fillv, k01);
        const v10 = v128.bitselect(v128.bitselect(lo1, hi1, at), fillv, k10), v11 = v128.bitselect(v128.bitselect(hi1, lo1, at), fillv, k11);
        storeOne(dst, lerp(v00, v01, v10, v11, ax, ay), y, x, OW, flip);
        continue;
      }
      const cx0 = i32x4.min_s(i32x4.max_s(x0, zero), Wl), cx1 = i32x4.min_s(i32x4.max_s(x1, zero), Wl);
      const i00 = i32x4.mul(i32x4.add(r0, cx0), Cv), i01 = i32x4.mul(i32x4.add(r0, cx1), Cv);
      const i10 = i32x4.mul(i32x4.add(r1, cx0), Cv), i11 = i32x4.mul(i32x4.add(r1, cx1), Cv);
      for (let c = 0; c < C; c++) {
        const v00 = v128.bitselect(gather(src, i00, c), fillv, k00), v01 = v128.bitselect(gather(src, i01, c), fillv, k01);
        const v10 = v128.bitselect(gather(src, i10, c), fillv, k10), v11 = v128.bitselect(gather(src, i11, c), fillv, k11);
        const v = lerp(v00, v01, v10, v11, ax, ay);
        if (C == 1) storeOne(dst, v, y, x, OW, flip);
        else {
          const row = dst + f4(y * OW * C + c);
          store<f32>(row + f4((flip ? OW - 1 - x : x) * C), f32x4.extract_lane(v, 0));
          store<f32>(row + f4((flip ? OW - 2 - x : x + 1) * C), f32x4.extract_lane(v, 1));
          store<f32>(row + f4((flip ? OW - 3 - x : x + 2) * C), f32x4.extract_lane(v, 2));
          store<f32>(row + f4((flip ? OW - 4 - x : x + 3) * C), f32x4.extract_lane(v, 3));
        }
      }
    }
    for (; x < OW; x++) warpPixel(src, H, W, C, m0, m1, m2, m3, m4, m5, fill, x, y, dst + f4((y * OW + (flip ? OW - 1 - x : x)) * C));
  }
}

/** One output pixel of f32_warp_affine (all its channels) at `out`. */
// @ts-ignore: decorator
@inline function warpPixel(src: usize, H: i32, W: i32, C: i32, m0: f32, m1: f32, m2: f32, m3: f32, m4: f32, m5: f32, fill: f32, x: i32, y: i32, out: usize): void {
  const sx = m0 * <f32>x + m1 * <f32>y + m2, sy = m3 * <f32>x + m4 * <f32>y + m5;
  const x0f = Mathf.floor(sx), y0f = Mathf.floor(sy);
  const ax = sx - x0f, ay = sy - y0f;
  const x0 = <i32>x0f, y0 = <i32>y0f;
  for (let c = 0; c < C; c++) {
    const v00 = pixel(src, H, W, C, y0, x0, c, fill), v01 = pixel(src, H, W, C, y0, x0 + 1, c, fill);
    const v10 = pixel(src, H, W, C, y0 + 1, x0, c, fill), v11 = pixel(src, H, W, C, y0 + 1, x0 + 1, c, fill);
    const top = v00 + (v01 - v00) * ax, bot = v10 + (v11 - v10) * ax;
    store<f32>(out + f4(c), top + (bot - top) * ay);
  }
}

/** The bilinear value of four lanes from their taps, in warpPixel's float operations. */
// @ts-ignore: decorator
@inline function lerp(v00: v128, v01: v128, v10: v128, v11: v128, ax: v128, ay: v128): v128 {
  const top = f32x4.add(v00, f32x4.mul(f32x4.sub(v01, v00), ax)), bot = f32x4.add(v10, f32x4.mul(f32x4.sub(v11, v10), ax));
  return f32x4.add(top, f32x4.mul(f32x4.sub(bot, top), ay));
}

/** Output pixels x..x + 3 of row y of a one-channel output (mirrored: at OW − 4 − x, lanes reversed). */
// @ts-ignore: decorator
@inline function storeOne(dst: usize, v: v128, y: i32, x: i32, OW: i32, flip: i32): void {
  if (flip) v128.store(dst + f4(y * OW + OW - 4 - x), v128.shuffle<f32>(v, v, 3, 2, 1, 0));
  else v128.store(dst + f4(y * OW + x), v);
}

/** [src[i0], src[i0 + 1], src[i1], src[i1 + 1]] for the float indices i0 and i1 (lanes 0 and 1 of i). */
// @ts-ignore: decorator
@inline function pairs(src: usize, i: v128): v128 {
  return v128.load64_lane(src + f4(i32x4.extract_lane(i, 1)), v128.load64_zero(src + f4(i32x4.extract_lane(i, 0))), 1);
}

/** The four lanes' values at src[i + c] (float indices i, one per lane). */
// @ts-ignore: decorator
@inline function gather(src: usize, i: v128, c: i32): v128 {
  let v = f32x4.splat(load<f32>(src + f4(i32x4.extract_lane(i, 0) + c)));
  v = f32x4.replace_lane(v, 1, load<f32>(src + f4(i32x4.extract_lane(i, 1) + c)));
  v = f32x4.replace_lane(v, 2, load<f32>(src + f4(i32x4.extract_lane(i, 2) + c)));
  return f32x4.replace_lane(v, 3, load<f32>(src + f4(i32x4.extract_lane(i, 3) + c)));
}

// @ts-ignore: decorator
@inline function pixel(src: usize, H: i32, W: i32, C: i32, y: i32, x: i32, c: i32, fill: f32): f32 {
  return <u32>y < <u32>H && <u32>x < <u32>W ? load<f32>(src + f4((y * W + x) * C + c)) : fill;
}

/**
 * A batch of n warps, image i with its own matrix (mats + 24·i bytes) and flip flag
 * (flips + 4·i, i32): dst image i = f32_warp_affine(src image i). Images are H×W×C → OH×OW×C,
 * packed one after another; src and dst must not overlap.
 */
export function f32_warp_affine_batch(src: usize, n: i32, H: i32, W: i32, C: i32, mats: usize, flips: usize, fill: f32, dst: usize, OH: i32, OW: i32): void {
  const inBytes = f4(H * W * C), outBytes = f4(OH * OW * C);
  for (let i = 0; i < n; i++) {
    f32_warp_affine(src + <usize>i * inBytes, H, W, C, mats + <usize>i * 24, fill, load<i32>(flips + (<usize>i << 2)), dst + <usize>i * outBytes, OH, OW);
  }
}
