// Image resampling for augmentation: an affine warp with bilinear interpolation, NHWC.
import { f4 } from "../common/simd";

/**
 * dst[y, x, c] = src sampled at (sx, sy) = (m0·x + m1·y + m2, m3·x + m4·y + m5) (pixel centres
 * at integer coordinates), bilinear; samples outside the source read `fill`. `flip` = 1 mirrors
 * the output horizontally. src is H×W×C, dst OH×OW×C; they must not overlap. m points at 6 floats.
 */
export function f32_warp_affine(src: usize, H: i32, W: i32, C: i32, m: usize, fill: f32, flip: i32, dst: usize, OH: i32, OW: i32): void {
  const m0 = load<f32>(m), m1 = load<f32>(m, 4), m2 = load<f32>(m, 8);
  const m3 = load<f32>(m, 12), m4 = load<f32>(m, 16), m5 = load<f32>(m, 20);
  for (let y = 0; y < OH; y++) {
    for (let x = 0; x < OW; x++) {
      const xo = flip ? OW - 1 - x : x;
      const sx = m0 * <f32>x + m1 * <f32>y + m2, sy = m3 * <f32>x + m4 * <f32>y + m5;
      const x0f = Mathf.floor(sx), y0f = Mathf.floor(sy);
      const ax = sx - x0f, ay = sy - y0f;
      const x0 = <i32>x0f, y0 = <i32>y0f;
      const out = dst + f4((y * OW + xo) * C);
      for (let c = 0; c < C; c++) {
        const v00 = pixel(src, H, W, C, y0, x0, c, fill), v01 = pixel(src, H, W, C, y0, x0 + 1, c, fill);
        const v10 = pixel(src, H, W, C, y0 + 1, x0, c, fill), v11 = pixel(src, H, W, C, y0 + 1, x0 + 1, c, fill);
        const top = v00 + (v01 - v00) * ax, bot = v10 + (v11 - v10) * ax;
        store<f32>(out + f4(c), top + (bot - top) * ay);
      }
    }
  }
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
