// Batch normalisation over the channels of an NHWC tensor seen as rows × C (rows = N·H·W).
import { f4 } from "../common/simd";
import { zero } from "../eltwise/binary";

// The rows × C matrix is read as one flat run of floats whose channel repeats every
// L = lcm(C, 4) floats: a period is L/4 whole vectors, so every pass below runs over blocks of L
// floats with per-position vector patterns (the channel's mean, scale, …) and accumulators, for
// any C (LeNet's 6 and 16 channels as well as 64). The last rows·C mod L floats run one by one.

/** L = lcm(C, 4): the floats after which the channel pattern repeats on a whole vector. */
// @ts-ignore: decorator
@inline function periodOf(C: i32): i32 {
  return (C & 3) == 0 ? C : (C & 1) == 0 ? 2 * C : 4 * C;
}

/** Scratch floats the batch-norm kernels need: six periods. */
export function f32_batchnorm_scratch_floats(C: i32): i32 {
  return 6 * periodOf(C);
}

/** pat[j] = v[j mod C] for j in [0, L). */
function pattern(v: usize, C: i32, L: i32, pat: usize): void {
  for (let j = 0; j < L; j++) store<f32>(pat + f4(j), load<f32>(v + f4(j % C)));
}

/** out[c] = Σ_{j ≡ c (mod C)} acc[j]: the period's lanes folded into channels (overwrites). */
function fold(acc: usize, C: i32, L: i32, out: usize): void {
  zero(out, C);
  for (let j = 0; j < L; j++) store<f32>(out + f4(j % C), load<f32>(out + f4(j % C)) + load<f32>(acc + f4(j)));
}

/**
 * acc[j] = Σ_b (a[b·L + j] − sub[j])·(mul ? m[b·L + j] − msub[j] : 1) over the n floats: the
 * periodic sums of a (sub 0, mul 0), of (a − mean)² (m = a, msub = sub = the mean pattern) or of
 * dy·(x − mean) (a = dy, sub 0, m = x, msub = the mean pattern). Overwrites acc.
 */
function periodicSums(a: usize, sub: usize, m: usize, msub: usize, n: i32, L: i32, acc: usize): void {
  zero(acc, L);
  const blocks = n / L;
  for (let b = 0; b < blocks; b++) {
    const ab = a + f4(b * L), mb = m + f4(b * L);
    for (let k = 0; k < L; k += 4) {
      let v = f32x4.sub(v128.load(ab + f4(k)), v128.load(sub + f4(k)));
      if (m != 0) v = f32x4.mul(v, f32x4.sub(v128.load(mb + f4(k)), v128.load(msub + f4(k))));
      v128.store(acc + f4(k), f32x4.add(v128.load(acc + f4(k)), v));
    }
  }
  for (let i = blocks * L; i < n; i++) {
    const j = i - blocks * L;
    let v = load<f32>(a + f4(i)) - load<f32>(sub + f4(j));
    if (m != 0) v *= load<f32>(m + f4(i)) - load<f32>(msub + f4(j));
    store<f32>(acc + f4(j), load<f32>(acc + f4(j)) + v);
  }
}

/** out[i] = a[i]·A[j] + b[i]·B[j] + K[j] with j = i mod L (b may be 0: then no B term). out may alias a or b. */
function periodicAffine(a: usize, A: usize, b: usize, B: usize, K: usize, n: i32, L: i32, out: usize): void {
  const blocks = n / L;
  for (let q = 0; q < blocks; q++) {
    const aq = a + f4(q * L), bq = b + f4(q * L), oq = out + f4(q * L);
    for (let k = 0; k < L; k += 4) {
      let v = f32x4.add(f32x4.mul(v128.load(aq + f4(k)), v128.load(A + f4(k))), v128.load(K + f4(k)));
      if (b != 0) v = f32x4.add(v, f32x4.mul(v128.load(bq + f4(k)), v128.load(B + f4(k))));
      v128.store(oq + f4(k), v);
    }
  }
  for (let i = blocks * L; i < n; i++) {
    const j = i - blocks * L;
    let v = load<f32>(a + f4(i)) * load<f32>(A + f4(j)) + load<f32>(K + f4(j));
    if (b != 0) v += load<f32>(b + f4(i)) * load<f32>(B + f4(j));
    store<f32>(out + f4(i), v);
  }
}

/**
 * Training forward: mean[c] and the biased variance over the rows (two passes), invstd[c] =
 * 1/√(var + eps), y = (x − mean)·invstd·gamma + beta. Writes mean and invstd for the backward.
 * scratch: f32_batchnorm_scratch_floats(C) floats. y may alias x.
 */
export function f32_batchnorm_fwd(x: usize, rows: i32, C: i32, gamma: usize, beta: usize, eps: f32, y: usize, mean: usize, invstd: usize, scratch: usize): void {
  const L = periodOf(C), n = rows * C;
  const acc = scratch, p1 = scratch + f4(L), p2 = scratch + f4(2 * L), zeros = scratch + f4(3 * L);
  zero(zeros, L);
  periodicSums(x, zeros, 0, 0, n, L, acc);
  fold(acc, C, L, mean);
  const inv: f32 = 1 / <f32>max(rows, 1);
  for (let c = 0; c < C; c++) store<f32>(mean + f4(c), load<f32>(mean + f4(c)) * inv);
  pattern(mean, C, L, p1);
  periodicSums(x, p1, x, p1, n, L, acc);
  fold(acc, C, L, invstd);
  for (let c = 0; c < C; c++) store<f32>(invstd + f4(c), 1 / sqrt<f32>(load<f32>(invstd + f4(c)) * inv + eps));
  // y = x·s + (β − μ·s), s = invstd·γ, as patterns
  for (let j = 0; j < L; j++) {
    const c = j % C, sc = load<f32>(invstd + f4(c)) * load<f32>(gamma + f4(c));
    store<f32>(p1 + f4(j), sc);
    store<f32>(p2 + f4(j), load<f32>(beta + f4(c)) - load<f32>(mean + f4(c)) * sc);
  }
  periodicAffine(x, p1, 0, 0, p2, n, L, y);
}

/**
 * Training backward, with x̂ = (x − mean)·invstd and M = rows: dbeta = Σ dy, dgamma = Σ dy·x̂,
 * dx = gamma·invstd/M · (M·dy − dbeta − x̂·dgamma), i.e. per channel dx = A·dy + B·x + K with
 * A = γ·s, B = −γ·s²·dgamma/M, K = −γ·s·dbeta/M + γ·s²·dgamma·mean/M (s = invstd).
 * Overwrites dx, dgamma, dbeta. scratch: f32_batchnorm_scratch_floats(C) floats.
 */
export function f32_batchnorm_bwd(
  x: usize, dy: usize, rows: i32, C: i32, gamma: usize, mean: usize, invstd: usize, dx: usize, dgamma: usize, dbeta: usize, scratch: usize,
): void {
  const L = periodOf(C), n = rows * C;
  const acc = scratch, mp = scratch + f4(L), zeros = scratch + f4(2 * L), A = scratch + f4(3 * L), B = scratch + f4(4 * L), K = scratch + f4(5 * L);
  zero(zeros, L);
  periodicSums(dy, zeros, 0, 0, n, L, acc);
  fold(acc, C, L, dbeta);
  pattern(mean, C, L, mp);
  periodicSums(dy, zeros, x, mp, n, L, acc);
  fold(acc, C, L, dgamma);
  for (let c = 0; c < C; c++) store<f32>(dgamma + f4(c), load<f32>(dgamma + f4(c)) * load<f32>(invstd + f4(c)));
  const invM: f32 = 1 / <f32>max(rows, 1);
  for (let j = 0; j < L; j++) {
    const c = j % C, s = load<f32>(invstd + f4(c)), g = load<f32>(gamma + f4(c));
    const dg = load<f32>(dgamma + f4(c)), db = load<f32>(dbeta + f4(c)), mu = load<f32>(mean + f4(c));
    store<f32>(A + f4(j), g * s);
    store<f32>(B + f4(j), -g * s * s * dg * invM);
    store<f32>(K + f4(j), -g * s * db * invM + g * s * s * dg * mu * invM);
  }
  periodicAffine(dy, A, x, B, K, n, L, dx);
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
