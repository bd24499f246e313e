// Batch normalisation over the channels of an NHWC tensor seen as rows × C (rows = N·H·W).
import { f4 } from "../common/simd";
import { zero } from "../eltwise/binary";

// The rows × C matrix is read as one flat run of floats whose channel repeats every
// L = lcm(C, 4) floats: a period is L/4 whole vectors, so every pass below runs over blocks of L
// floats with per-position vector patterns (the channel's mean, scale, …) and accumulators, for
// any C (LeNet's 6 and 16 channels as well as 64). The last rows·C mod L floats run one by one.

/** L = lcm(C, 4): the floats after which the channel pattern repeats on a whole vector. */
// @ts-ignore: decorator
@inline export function periodOf(C: i32): i32 {
  return (C & 3) == 0 ? C : (C & 1) == 0 ? 2 * C : 4 * C;
}

/** The period L = lcm(C, 4) in floats: a part of the rows must start on a multiple of L / C rows. */
export function f32_batchnorm_period(C: i32): i32 {
  return periodOf(C);
}

/**
 * Floats from one part's L sums to the next part's (the `accs` of the kernels below: parts ×
 * stride floats): L and 32 more, so that no two parts' sums share a cache line (or an adjacent
 * pair of lines) whatever the block's alignment: a part's sums are stored after every group of
 * rows (f32_batchnorm_pool_bwd_sums), and two threads writing one line stall each other.
 */
// @ts-ignore: decorator
@inline export function partStride(C: i32): i32 {
  return periodOf(C) + 32;
}
export function f32_batchnorm_part_stride(C: i32): i32 {
  return partStride(C);
}

/** pat[j] = v[j mod C] for j in [0, L). */
function pattern(v: usize, C: i32, L: i32, pat: usize): void {
  for (let j = 0; j < L; j++) store<f32>(pat + f4(j), load<f32>(v + f4(j % C)));
}

/** out[c] = Σ_t Σ_{j ≡ c (mod C)} accs[t·S + j] (S = partStride(C)): the parts' period sums folded into channels (overwrites). */
function fold(accs: usize, parts: i32, C: i32, L: i32, out: usize): void {
  zero(out, C);
  const S = partStride(C);
  for (let t = 0; t < parts; t++) {
    for (let j = 0; j < L; j++) store<f32>(out + f4(j % C), load<f32>(out + f4(j % C)) + load<f32>(accs + f4(t * S + j)));
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
  const blocks = n / L;
  // up to four vectors of the period at a time, summed in registers and stored once: an
  // accumulator in memory chains every block on a store and a reload
  for (let k = 0; k < L; k += 16) {
    const nv = min(4, (L - k) >> 2);
    if (m != 0) sumsDev(a + f4(k), sub + f4(k), m + f4(k), msub + f4(k), blocks, L, nv, acc + f4(k));
    else sumsPlain(a + f4(k), sub + f4(k), blocks, L, nv, acc + f4(k));
  }
  for (let i = blocks * L; i < n; i++) {
    const j = i - blocks * L;
    let v = load<f32>(a + f4(i)) - load<f32>(sub + f4(j));
    if (m != 0) v *= load<f32>(m + f4(i)) - load<f32>(msub + f4(j));
    store<f32>(acc + f4(j), load<f32>(acc + f4(j)) + v);
  }
}

/** acc[0..4·nv) = Σ_b a[b·L + ·] − sub over `blocks` blocks of L floats (nv: 1..4 vectors). */
function sumsPlain(a: usize, sub: usize, blocks: i32, L: i32, nv: i32, acc: usize): void {
  const s0 = v128.load(sub), s1 = nv > 1 ? v128.load(sub, 16) : s0;
  const s2 = nv > 2 ? v128.load(sub, 32) : s0, s3 = nv > 3 ? v128.load(sub, 48) : s0;
  let c0 = f32x4.splat(0), c1 = c0, c2 = c0, c3 = c0;
  const step = f4(L);
  let p = a;
  for (let b = 0; b < blocks; b++) {
    c0 = f32x4.add(c0, f32x4.sub(v128.load(p), s0));
    if (nv > 1) c1 = f32x4.add(c1, f32x4.sub(v128.load(p, 16), s1));
    if (nv > 2) c2 = f32x4.add(c2, f32x4.sub(v128.load(p, 32), s2));
    if (nv > 3) c3 = f32x4.add(c3, f32x4.sub(v128.load(p, 48), s3));
    p += step;
  }
  storeSums(acc, c0, c1, c2, c3, nv);
}

/** acc[0..4·nv) = Σ_b (a[b·L + ·] − sub)·(m[b·L + ·] − msub) (nv: 1..4 vectors). */
function sumsDev(a: usize, sub: usize, m: usize, msub: usize, blocks: i32, L: i32, nv: i32, acc: usize): void {
  let c0 = f32x4.splat(0), c1 = c0, c2 = c0, c3 = c0;
  const step = f4(L);
  let p = a, q = m;
  for (let b = 0; b < blocks; b++) {
    c0 = f32x4.add(c0, f32x4.mul(f32x4.sub(v128.load(p), v128.load(sub)), f32x4.sub(v128.load(q), v128.load(msub))));
    if (nv > 1) c1 = f32x4.add(c1, f32x4.mul(f32x4.sub(v128.load(p, 16), v128.load(sub, 16)), f32x4.sub(v128.load(q, 16), v128.load(msub, 16))));
    if (nv > 2) c2 = f32x4.add(c2, f32x4.mul(f32x4.sub(v128.load(p, 32), v128.load(sub, 32)), f32x4.sub(v128.load(q, 32), v128.load(msub, 32))));
    if (nv > 3) c3 = f32x4.add(c3, f32x4.mul(f32x4.sub(v128.load(p, 48), v128.load(sub, 48)), f32x4.sub(v128.load(q, 48), v128.load(msub, 48))));
    p += step;
    q += step;
  }
  storeSums(acc, c0, c1, c2, c3, nv);
}

/**
 * The backward's two sums of one part in one pass over dy (a part: n floats starting on a period
 * boundary): accDy[j] = Σ_b dy[b·L + j] and accDyX[j] = Σ_b dy[b·L + j]·(x[b·L + j] − msub[j]) —
 * the same float operations, in the same order, as f32_batchnorm_part_sums with sub = 0 and then
 * with m = x (so the same sums), reading dy once. Overwrites accDy and accDyX (L floats each).
 */
export function f32_batchnorm_part_sums_bwd(dy: usize, x: usize, msub: usize, n: i32, C: i32, accDy: usize, accDyX: usize): void {
  const L = periodOf(C);
  zero(accDy, L);
  zero(accDyX, L);
  const blocks = n / L;
  addSumsBwd(dy, x, msub, blocks, L, accDy, accDyX);
  addSumsBwdTail(dy, x, msub, blocks * L, n, accDy, accDyX);
}

/**
 * accDy[j] += Σ_b (dy[b·L + j] − 0) and accDyX[j] += Σ_b (dy − 0)·(x − msub[j]) over `blocks`
 * whole periods, in block order per lane (accumulators in registers, 2 vectors at a time).
 */
export function addSumsBwd(dy: usize, x: usize, msub: usize, blocks: i32, L: i32, accDy: usize, accDyX: usize): void {
  const z = f32x4.splat(0), step = f4(L);
  for (let k = 0; k < L; k += 8) {
    const two = L - k >= 8;
    const m0 = v128.load(msub + f4(k)), m1 = two ? v128.load(msub + f4(k), 16) : m0;
    let a0 = v128.load(accDy + f4(k)), b0 = v128.load(accDyX + f4(k));
    let a1 = two ? v128.load(accDy + f4(k), 16) : z, b1 = two ? v128.load(accDyX + f4(k), 16) : z;
    let p = dy + f4(k), q = x + f4(k);
    for (let b = 0; b < blocks; b++) {
      const d0 = f32x4.sub(v128.load(p), z);
      a0 = f32x4.add(a0, d0);
      b0 = f32x4.add(b0, f32x4.mul(d0, f32x4.sub(v128.load(q), m0)));
      if (two) {
        const d1 = f32x4.sub(v128.load(p, 16), z);
        a1 = f32x4.add(a1, d1);
        b1 = f32x4.add(b1, f32x4.mul(d1, f32x4.sub(v128.load(q, 16), m1)));
      }
      p += step;
      q += step;
    }
    v128.store(accDy + f4(k), a0);
    v128.store(accDyX + f4(k), b0);
    if (two) {
      v128.store(accDy + f4(k), a1, 16);
      v128.store(accDyX + f4(k), b1, 16);
    }
  }
}

/** The same one float at a time for i in [from, n), at lane i − from (a part's last, partial period). */
export function addSumsBwdTail(dy: usize, x: usize, msub: usize, from: i32, n: i32, accDy: usize, accDyX: usize): void {
  for (let i = from; i < n; i++) {
    const j = i - from;
    const d = load<f32>(dy + f4(i)) - <f32>0;
    store<f32>(accDy + f4(j), load<f32>(accDy + f4(j)) + d);
    store<f32>(accDyX + f4(j), load<f32>(accDyX + f4(j)) + d * (load<f32>(x + f4(i)) - load<f32>(msub + f4(j))));
  }
}

// @ts-ignore: decorator
@inline function storeSums(acc: usize, c0: v128, c1: v128, c2: v128, c3: v128, nv: i32): void {
  v128.store(acc, c0);
  if (nv > 1) v128.store(acc, c1, 16);
  if (nv > 2) v128.store(acc, c2, 32);
  if (nv > 3) v128.store(acc, c3, 48);
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
 * Training forward, after the parts' sums of x − pivot (accs: parts × f32_batchnorm_part_stride(C)
 * floats, each part's L sums at the front of its stride; so for every accs below): mean[c] =
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
