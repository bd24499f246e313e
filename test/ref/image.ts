// float64 oracle of the affine warp (assembly/image/warp.ts): output pixel (x, y) samples the
// source at (m0·x + m1·y + m2, m3·x + m4·y + m5), bilinear, `fill` outside; flip mirrors the output.
export function refWarpAffine(src: ArrayLike<number>, H: number, W: number, C: number, m: ArrayLike<number>, fill: number, flip: boolean, OH: number, OW: number): Float64Array {
  const out = new Float64Array(OH * OW * C);
  const px = (y: number, x: number, c: number) => (y >= 0 && y < H && x >= 0 && x < W ? src[(y * W + x) * C + c]! : fill);
  for (let y = 0; y < OH; y++) for (let x = 0; x < OW; x++) {
    const sx = m[0]! * x + m[1]! * y + m[2]!, sy = m[3]! * x + m[4]! * y + m[5]!;
    const x0 = Math.floor(sx), y0 = Math.floor(sy), ax = sx - x0, ay = sy - y0;
    const xo = flip ? OW - 1 - x : x;
    for (let c = 0; c < C; c++) {
      const top = px(y0, x0, c) + (px(y0, x0 + 1, c) - px(y0, x0, c)) * ax;
      const bot = px(y0 + 1, x0, c) + (px(y0 + 1, x0 + 1, c) - px(y0 + 1, x0, c)) * ax;
      out[(y * OW + xo) * C + c] = top + (bot - top) * ay;
    }
  }
  return out;
}
