// Batch normalisation over the channels of an NHWC tensor seen as rows × C (rows = N·H·W).
import { f4 } from "../common/simd";
import { zero } from "../eltwise/binary";

/** sums[c] = Σ_r x[r, c] (overwrites). */
function columnSums(x: usize, rows: i32, C: i32, sums: usize): void {
  zero(sums, C);
  for (let r = 0; r < rows; r++) {
    const xr = x + f4(r * C);
    let c = 0;
    for (; c + 4 <= C; c += 4) v128.store(sums + f4(c), f32x4.add(v128.load(sums + f4(c)), v128.load(xr + f4(c))));
    for (; c < C; c++) store<f32>(sums + f4(c), load<f32>(sums + f4(c)) + load<f32>(xr + f4(c)));
  }
}

/**
 * Training forward: mean[c] and the biased variance over the rows (two passes), invstd[c] =
 * 1/√(var + eps), y = (x − mean)·invstd·gamma + beta. Writes mean and invstd for the backward.
 */
export function f32_batchnorm_fwd(x: usize, rows: i32, C: i32, gamma: usize, beta: usize, eps: f32, y: usize, mean: usize, invstd: usize): void {
  columnSums(x, rows, C, mean);
  const inv: f32 = 1 / <f32>max(rows, 1);
  for (let c = 0; c < C; c++) store<f32>(mean + f4(c), load<f32>(mean + f4(c)) * inv);
  zero(invstd, C);
  for (let r = 0; r < rows; r++) {
    const xr = x + f4(r * C);
    for (let c = 0; c < C; c++) {
      const d = load<f32>(xr + f4(c)) - load<f32>(mean + f4(c));
      store<f32>(invstd + f4(c), load<f32>(invstd + f4(c)) + d * d);
    }
  }
  for (let c = 0; c < C; c++) store<f32>(invstd + f4(c), 1 / sqrt<f32>(load<f32>(invstd + f4(c)) * inv + eps));
  for (let r = 0; r < rows; r++) {
    const xr = x + f4(r * C), yr = y + f4(r * C);
    let c = 0;
    for (; c + 4 <= C; c += 4) {
      const xh = f32x4.mul(f32x4.sub(v128.load(xr + f4(c)), v128.load(mean + f4(c))), v128.load(invstd + f4(c)));
      v128.store(yr + f4(c), f32x4.add(f32x4.mul(xh, v128.load(gamma + f4(c))), v128.load(beta + f4(c))));
    }
    for (; c < C; c++) {
      const xh = (load<f32>(xr + f4(c)) - load<f32>(mean + f4(c))) * load<f32>(invstd + f4(c));
      store<f32>(yr + f4(c), xh * load<f32>(gamma + f4(c)) + load<f32>(beta + f4(c)));
    }
  }
}

/**
 * Training backward, with x̂ = (x − mean)·invstd and M = rows: dbeta = Σ dy, dgamma = Σ dy·x̂,
 * dx = gamma·invstd/M · (M·dy − dbeta − x̂·dgamma). Overwrites dx, dgamma, dbeta.
 */
export function f32_batchnorm_bwd(
  x: usize, dy: usize, rows: i32, C: i32, gamma: usize, mean: usize, invstd: usize, dx: usize, dgamma: usize, dbeta: usize,
): void {
  columnSums(dy, rows, C, dbeta);
  zero(dgamma, C);
  for (let r = 0; r < rows; r++) {
    const xr = x + f4(r * C), gr = dy + f4(r * C);
    for (let c = 0; c < C; c++) {
      const xh = (load<f32>(xr + f4(c)) - load<f32>(mean + f4(c))) * load<f32>(invstd + f4(c));
      store<f32>(dgamma + f4(c), load<f32>(dgamma + f4(c)) + load<f32>(gr + f4(c)) * xh);
    }
  }
  const M = <f32>rows, invM: f32 = 1 / <f32>max(rows, 1);
  for (let r = 0; r < rows; r++) {
    const xr = x + f4(r * C), gr = dy + f4(r * C), dr = dx + f4(r * C);
    for (let c = 0; c < C; c++) {
      const is = load<f32>(invstd + f4(c));
      const xh = (load<f32>(xr + f4(c)) - load<f32>(mean + f4(c))) * is;
      const v = load<f32>(gamma + f4(c)) * is * invM *
        (M * load<f32>(gr + f4(c)) - load<f32>(dbeta + f4(c)) - xh * load<f32>(dgamma + f4(c)));
      store<f32>(dr + f4(c), v);
    }
  }
}

/** y[r, c] = x[r, c]·scale[c] + shift[c] (inference batch norm with folded statistics). y may alias x. */
export function f32_channel_affine(x: usize, rows: i32, C: i32, scale: usize, shift: usize, y: usize): void {
  for (let r = 0; r < rows; r++) {
    const xr = x + f4(r * C), yr = y + f4(r * C);
    let c = 0;
    for (; c + 4 <= C; c += 4) {
      v128.store(yr + f4(c), f32x4.add(f32x4.mul(v128.load(xr + f4(c)), v128.load(scale + f4(c))), v128.load(shift + f4(c))));
    }
    for (; c < C; c++) store<f32>(yr + f4(c), load<f32>(xr + f4(c)) * load<f32>(scale + f4(c)) + load<f32>(shift + f4(c)));
  }
}
