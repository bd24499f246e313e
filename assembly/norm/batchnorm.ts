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

/** The period L = lcm(C, 4) in floats: a part of the rows must start on a multiple of L / C rows. */
export function f32_batchnorm_period(C: i32): i32 {
  return periodOf(C);
}

/** pat[j] = v[j mod C] for j in [0, L). */
function pattern(v: usize, C: i32, L: i32, pat: usize): void {
  for (let j = 0; j < L; j++) store<f32>(pat + f4(j), load<f32>(v + f4(j % C)));
}

/** out[c] = Σ_t Σ_{j ≡ c (mod C)} accs[t·L + j]: the parts' period sums folded into channels (overwrites). */
function fold(accs: usize, parts: i32, C: i32, L: i32, out: usize): void {
  zero(out, C);
  for (let t = 0; t < parts; t++) {
    for (let j = 0; j < L; j++) store<f32>(out + f4(j % C), load<f32>(out + f4(j % C)) + load<f32>(accs + f4(t * L + j)));
  }
}

/**
 * One part's period sums (a part: n floats starting on a period boundary): acc[j] = Σ_b (a[b·L + j]
 * − sub[j])·(m ? m[b·L + j] − msub[j] : 1). With sub = 0s and m = 0: the sums of a; with sub = msub
 * = the mean's pattern and m = a: the squared deviations; with a = dy, m = x, msub = the mean's
 * pattern: Σ dy·(x − mean). sub and msub are L-float patterns. Overwrites acc (L floats).
 */
export function f32_batchnorm_part_sums(a: usize, sub: usize, m: usize, msub: usize, n: i32, C: i32, acc: usize): void {
  const L = periodOf(C);
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

/**
 * One part's out[i] = (a[i] − asub[j])·A[j] + (b[i] − bsub[j])·B[j] + K[j], j = i mod L (b = 0: no
 * B term); the part starts on a period boundary. Subtracting the mean's pattern before scaling
 * keeps a channel whose mean is large against its spread exact. out may alias a or b.
 */
export function f32_batchnorm_part_apply(a: usize, asub: usize, A: usize, b: usize, bsub: usize, B: usize, K: usize, n: i32, C: i32, out: usize): void {
  const L = periodOf(C);
  const blocks = n / L;
  for (let q = 0; q < blocks; q++) {
    const aq = a + f4(q * L), bq = b + f4(q * L), oq = out + f4(q * L);
    for (let k = 0; k < L; k += 4) {
      let v = f32x4.add(f32x4.mul(f32x4.sub(v128.load(aq + f4(k)), v128.load(asub + f4(k))), v128.load(A + f4(k))), v128.load(K + f4(k)));
      if (b != 0) v = f32x4.add(v, f32x4.mul(f32x4.sub(v128.load(bq + f4(k)), v128.load(bsub + f4(k))), v128.load(B + f4(k))));
      v128.store(oq + f4(k), v);
    }
  }
  for (let i = blocks * L; i < n; i++) {
    const j = i - blocks * L;
    let v = (load<f32>(a + f4(i)) - load<f32>(asub + f4(j))) * load<f32>(A + f4(j)) + load<f32>(K + f4(j));
    if (b != 0) v += (load<f32>(b + f4(i)) - load<f32>(bsub + f4(j))) * load<f32>(B + f4(j));
    store<f32>(out + f4(i), v);
  }
}

/**
 * The pivot the forward's first sums subtract: the pattern of x's first row (x[0, c] at j ≡ c).
 * Summing x − pivot keeps a channel whose mean is large against its spread accurate.
 */
export function f32_batchnorm_pivot(x: usize, C: i32, pivotPat: usize): void {
  pattern(x, C, periodOf(C), pivotPat);
}

/**
 * Training forward, after the parts' sums of x − pivot (accs: parts × L floats): mean[c] =
 * pivot[c] + Σ(x − pivot) / rows, and its pattern (meanPat, L floats) for the squared deviations.
 */
export function f32_batchnorm_mean(accs: usize, parts: i32, rows: i32, C: i32, pivotPat: usize, mean: usize, meanPat: usize): void {
  const L = periodOf(C);
  fold(accs, parts, C, L, mean);
  const inv: f32 = 1 / <f32>max(rows, 1);
  for (let c = 0; c < C; c++) store<f32>(mean + f4(c), load<f32>(pivotPat + f4(c)) + load<f32>(mean + f4(c)) * inv);
  pattern(mean, C, L, meanPat);
}

/**
 * Training forward, after the parts' squared deviations (accs): invstd[c] = 1/√(var + eps) with the
 * biased variance, and y = (x − mean)·invstd·γ + β as patterns: y = (x − mean)·scale + shift.
 */
export function f32_batchnorm_fwd_affine(accs: usize, parts: i32, rows: i32, C: i32, eps: f32, gamma: usize, beta: usize, mean: usize, invstd: usize, scale: usize, shift: usize): void {
  const L = periodOf(C);
  fold(accs, parts, C, L, invstd);
  const inv: f32 = 1 / <f32>max(rows, 1);
  for (let c = 0; c < C; c++) store<f32>(invstd + f4(c), 1 / sqrt<f32>(load<f32>(invstd + f4(c)) * inv + eps));
  for (let j = 0; j < L; j++) {
    const c = j % C, sc = load<f32>(invstd + f4(c)) * load<f32>(gamma + f4(c));
    store<f32>(scale + f4(j), sc);
    store<f32>(shift + f4(j), load<f32>(beta + f4(c)));
  }
}

/**
 * Training backward, after the parts' sums of dy (accsDy) and of dy·(x − mean) (accsDyX): with
 * x̂ = (x − mean)·invstd and M = rows, dβ = Σ dy, dγ = Σ dy·x̂, and
 * dx = γ·invstd/M · (M·dy − dβ − x̂·dγ) = A·dy + B·(x − mean) + K per channel, as patterns:
 * A = γ·s, B = −γ·s²·dγ/M, K = −γ·s·dβ/M (s = invstd). Overwrites dγ, dβ.
 */
export function f32_batchnorm_bwd_affine(
  accsDy: usize, accsDyX: usize, parts: i32, rows: i32, C: i32, gamma: usize, invstd: usize, dgamma: usize, dbeta: usize, A: usize, B: usize, K: usize,
): void {
  const L = periodOf(C);
  fold(accsDy, parts, C, L, dbeta);
  fold(accsDyX, parts, C, L, dgamma);
  for (let c = 0; c < C; c++) store<f32>(dgamma + f4(c), load<f32>(dgamma + f4(c)) * load<f32>(invstd + f4(c)));
  const invM: f32 = 1 / <f32>max(rows, 1);
  for (let j = 0; j < L; j++) {
    const c = j % C, s = load<f32>(invstd + f4(c)), g = load<f32>(gamma + f4(c));
    const dg = load<f32>(dgamma + f4(c)), db = load<f32>(dbeta + f4(c));
    store<f32>(A + f4(j), g * s);
    store<f32>(B + f4(j), -g * s * s * dg * invM);
    store<f32>(K + f4(j), -g * s * db * invM);
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
