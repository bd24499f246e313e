// float64 oracle of the affine warp (assembly/image/warp.ts): output pixel (x, y) samples the
// source at (m0·x + m1·y + m2, m3·x + m4·y + m5), bilinear, `fill` outside; flip mirrors the output.
// With `float32` every operation is rounded to float32 in the kernel's order: its exact result.
export function refWarpAffine(src: ArrayLike<number>, H: number, W: number, C: number, m: ArrayLike<number>, fill: number, flip: boolean, OH: number, OW: number, float32 = false): Float64Array {
  const out = new Float64Array(OH * OW * C);
  const r = float32 ? Math.fround : (v: number) => v;
  const px = (y: number, x: number, c: number) => (y >= 0 && y < H && x >= 0 && x < W ? src[(y * W + x) * C + c]! : fill);
  for (let y = 0; y < OH; y++) for (let x = 0; x < OW; x++) {
    const sx = r(r(r(m[0]! * x) + r(m[1]! * y)) + m[2]!), sy = r(r(r(m[3]! * x) + r(m[4]! * y)) + m[5]!);
    const x0 = Math.floor(sx), y0 = Math.floor(sy), ax = r(sx - x0), ay = r(sy - y0);
    const xo = flip ? OW - 1 - x : x;
    for (let c = 0; c < C; c++) {
      const top = r(px(y0, x0, c) + r(r(px(y0, x0 + 1, c) - px(y0, x0, c)) * ax));
      const bot = r(px(y0 + 1, x0, c) + r(r(px(y0 + 1, x0 + 1, c) - px(y0 + 1, x0, c)) * ax));
      out[(y * OW + xo) * C + c] = r(top + r(r(bot - top) * ay));
    }
  }
  return out;
}
