// A resize's interpolation, separable: its [OH, H] and [OW, W] weight matrices (layers/resize.ts
// resizeWeights) applied to rows of values, skipping the weights that are 0.

import { f4, madd } from "../common/simd";

/**
 * y[i, 0..L) = Σ_k R[i·rs + k·cs] · x[k, 0..L) for i in [0, M), over the k whose weight is not 0,
 * in k's order, with the gemm's multiply-adds (x's rows ldx floats apart, y's ldy). R is a resize's
 * interpolation matrix (rs = K, cs = 1) or its transpose (rs = 1, cs = M, for the backward pass).
 * A weight of +0 is skipped, so an Inf or NaN in a row of x reaches only the outputs whose taps
 * read it (a product with the whole matrix made 0·Inf = NaN of every output in its rows and
 * columns); a tap of weight −0 (resizeWeights: in an interpolation's support) is computed, 0·Inf =
 * NaN as in onnxruntime. An output no weight reaches is 0. y must not overlap x.
 */
export function f32_weighted_rows(M: i32, K: i32, R: usize, rs: i32, cs: i32, x: usize, ldx: i32, L: i32, y: usize, ldy: i32): void {
  const L4 = L & ~3;
  for (let i = 0; i < M; i++) {
    const yi = y + f4(i * ldy);
    memory.fill(yi, 0, <usize>L * 4);
    for (let k = 0; k < K; k++) {
      const w = load<f32>(R + f4(i * rs + k * cs));
      if (reinterpret<u32>(w) == 0) continue; // +0 only: a tap of weight −0 is computed
      const vw = f32x4.splat(w), xk = x + f4(k * ldx);
      let j = 0;
      for (; j < L4; j += 4) v128.store(yi + f4(j), madd(vw, v128.load(xk + f4(j)), v128.load(yi + f4(j))));
      for (; j < L; j++) store<f32>(yi + f4(j), f32x4.extract_lane(madd(vw, f32x4.splat(load<f32>(xk + f4(j))), f32x4.splat(load<f32>(yi + f4(j)))), 0));
    }
  }
}
