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

/** out[c] = Σ_t Σ_{j ≡ c (mod C)} accs[t·S + j] (S = partStride(C)): the parts' period sums folded into channels (overwrites). */
function fold(accs: usize, parts: i32, C: i32, L: i32, out: usize): void {
  zero(out, C);
  const S = partStride(C);
  for (let t = 0; t < parts; t++) {
    for (let j = 0; j < L; j++) store<f32>(out + f4(j % C), load<f32>(out + f4(j % C)) + load<f32>(accs + f4(t * S + j)));
  }
}

/** Periods per block of f32_batchnorm_part_moments: a block's second pass reads it from L1. */
const BLOCK = 32;

/**
 * Floats from one part's moments to the next part's (the `accs` of f32_batchnorm_part_moments and
 * f32_batchnorm_fwd_stats): L shifted means, L sums of squared deviations, L shifts, the part's
 * float count, and 31 more, so that no two parts' moments share a cache line.
 */
// @ts-ignore: decorator
@inline function momentsStride(C: i32): i32 {
  return 3 * periodOf(C) + 32;
}
export function f32_batchnorm_moments_stride(C: i32): i32 {
  return momentsStride(C);
}

/**
 * Training forward: one part's moments per lane (a part: n floats starting on a period boundary;
 * lane j holds channel j mod C of every period): the mean of the part's values at lane j is
 * acc[2L + j] + acc[j] (a shift, the lane's first block's mean as float32 rounds it, and the
 * mean of the values less the shift), acc[L + j] the sum of their squared deviations from it, and n (an i32) is at
 * acc[3L]. One pass over x in blocks of BLOCK periods — the block's mean, then its squared
 * deviations from that mean while the block is in L1 — merged block after block (Chan, Golub and
 * LeVeque's pairwise update) on values less the shift, so that a mean large against the spread
 * costs no accuracy; the last partial period goes in value by value (Welford's update).
 */
export function f32_batchnorm_part_moments(x: usize, n: i32, C: i32, acc: usize): void {
  const L = periodOf(C);
  const blocks = n / L;
  for (let k = 0; k < L; k += 16) momentsBlocks(x + f4(k), blocks, L, min(4, (L - k) >> 2), acc + f4(k));
  const seen = <f32>blocks;
  for (let i = blocks * L; i < n; i++) {
    const j = i - blocks * L, v = load<f32>(x + f4(i)) - load<f32>(acc + f4(2 * L + j));
    const m = load<f32>(acc + f4(j)), m1 = m + (v - m) / (seen + 1);
    store<f32>(acc + f4(j), m1);
    store<f32>(acc + f4(L + j), load<f32>(acc + f4(L + j)) + (v - m) * (v - m1));
  }
  store<i32>(acc + f4(3 * L), n);
}

/**
 * nv (1..4) vectors of lanes over `blocks` periods of L floats from x: the shifted means at out,
 * the squared-deviation sums at out + L floats, the shifts (0 without blocks) at out + 2L floats.
 */
function momentsBlocks(x: usize, blocks: i32, L: i32, nv: i32, out: usize): void {
  const z = f32x4.splat(0), step = f4(L);
  let m0 = z, m1 = z, m2 = z, m3 = z, q0 = z, q1 = z, q2 = z, q3 = z, k0 = z, k1 = z, k2 = z, k3 = z;
  let seen: f32 = 0;
  // the shifts: the first block's means (any value near the data will do: it is only subtracted)
  if (blocks > 0) {
    const nb = min(BLOCK, blocks);
    let p = x;
    for (let b = 0; b < nb; b++) {
      k0 = f32x4.add(k0, v128.load(p));
      if (nv > 1) k1 = f32x4.add(k1, v128.load(p, 16));
      if (nv > 2) k2 = f32x4.add(k2, v128.load(p, 32));
      if (nv > 3) k3 = f32x4.add(k3, v128.load(p, 48));
      p += step;
    }
    const nbv = f32x4.splat(<f32>nb);
    k0 = f32x4.div(k0, nbv);
    k1 = f32x4.div(k1, nbv);
    k2 = f32x4.div(k2, nbv);
    k3 = f32x4.div(k3, nbv);
  }
  for (let b0 = 0; b0 < blocks; b0 += BLOCK) {
    const nb = min(BLOCK, blocks - b0), start = x + <usize>b0 * step;
    let s0 = z, s1 = z, s2 = z, s3 = z;
    let p = start;
    for (let b = 0; b < nb; b++) {
      s0 = f32x4.add(s0, f32x4.sub(v128.load(p), k0));
      if (nv > 1) s1 = f32x4.add(s1, f32x4.sub(v128.load(p, 16), k1));
      if (nv > 2) s2 = f32x4.add(s2, f32x4.sub(v128.load(p, 32), k2));
      if (nv > 3) s3 = f32x4.add(s3, f32x4.sub(v128.load(p, 48), k3));
      p += step;
    }
    // the block's mean less the shift (divided, not times 1/nb: a block of one value has that
    // value as its mean exactly)
    const nbv = f32x4.splat(<f32>nb);
    s0 = f32x4.div(s0, nbv);
    s1 = f32x4.div(s1, nbv);
    s2 = f32x4.div(s2, nbv);
    s3 = f32x4.div(s3, nbv);
    // squared deviations from the block's mean (rounded once: its error adds nb·error² to a sum of nb·σ²)
    const c0 = f32x4.add(k0, s0), c1 = f32x4.add(k1, s1), c2 = f32x4.add(k2, s2), c3 = f32x4.add(k3, s3);
    let d0 = z, d1 = z, d2 = z, d3 = z;
    p = start;
    for (let b = 0; b < nb; b++) {
      const e0 = f32x4.sub(v128.load(p), c0);
      d0 = f32x4.add(d0, f32x4.mul(e0, e0));
      if (nv > 1) {
        const e1 = f32x4.sub(v128.load(p, 16), c1);
        d1 = f32x4.add(d1, f32x4.mul(e1, e1));
      }
      if (nv > 2) {
        const e2 = f32x4.sub(v128.load(p, 32), c2);
        d2 = f32x4.add(d2, f32x4.mul(e2, e2));
      }
      if (nv > 3) {
        const e3 = f32x4.sub(v128.load(p, 48), c3);
        d3 = f32x4.add(d3, f32x4.mul(e3, e3));
      }
      p += step;
    }
    // merge: with δ = the block's mean − the running mean over `seen` periods so far (both less
    // the shift), mean += δ·nb/total and M2 += the block's M2 + δ²·seen·nb/total
    const total = seen + <f32>nb;
    const wm = f32x4.splat(<f32>nb / total), wq = f32x4.splat(seen * <f32>nb / total);
    let g = f32x4.sub(s0, m0);
    m0 = f32x4.add(m0, f32x4.mul(g, wm));
    q0 = f32x4.add(q0, f32x4.add(d0, f32x4.mul(f32x4.mul(g, g), wq)));
    g = f32x4.sub(s1, m1);
    m1 = f32x4.add(m1, f32x4.mul(g, wm));
    q1 = f32x4.add(q1, f32x4.add(d1, f32x4.mul(f32x4.mul(g, g), wq)));
    g = f32x4.sub(s2, m2);
    m2 = f32x4.add(m2, f32x4.mul(g, wm));
    q2 = f32x4.add(q2, f32x4.add(d2, f32x4.mul(f32x4.mul(g, g), wq)));
    g = f32x4.sub(s3, m3);
    m3 = f32x4.add(m3, f32x4.mul(g, wm));
    q3 = f32x4.add(q3, f32x4.add(d3, f32x4.mul(f32x4.mul(g, g), wq)));
    seen = total;
  }
  storeSums(out, m0, m1, m2, m3, nv);
  storeSums(out + f4(L), q0, q1, q2, q3, nv);
  storeSums(out + f4(2 * L), k0, k1, k2, k3, nv);
}

/**
 * The backward's two sums of one part in one pass over dy (a part: n floats starting on a period
 * boundary): accDy[j] = Σ_b dy[b·L + j] and accDyX[j] = Σ_b dy[b·L + j]·(x[b·L + j] − msub[j]),
 * in block order per lane, reading dy once. Overwrites accDy and accDyX (L floats each).
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
  // in chunks of periods whose dy and x stay in the first-level cache while every lane group
  // passes over them (a lane group's pass over all of them read each line of a map larger than the
  // caches once per group: twice); the accumulators go to memory between chunks, so each lane
  // still sums its blocks in order
  const chunk = max(1, SUMS_CHUNK_FLOATS / L);
  for (let b0 = 0; b0 < blocks; b0 += chunk) addSumsBwdChunk(dy + <usize>b0 * f4(L), x + <usize>b0 * f4(L), msub, min(chunk, blocks - b0), L, accDy, accDyX);
}

/** Floats of dy (and of x) in one chunk of addSumsBwd: 16 KB each. */
const SUMS_CHUNK_FLOATS = 4096;

function addSumsBwdChunk(dy: usize, x: usize, msub: usize, blocks: i32, L: i32, accDy: usize, accDyX: usize): void {
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
 * Training forward, after the parts' moments (f32_batchnorm_part_moments; accs: parts ×
 * f32_batchnorm_moments_stride(C) floats): every channel's lanes of every part merged in float64
 * (Chan et al.) into the batch mean and the biased variance: mean[c], invstd[c] = 1/√(var + eps),
 * variance[c] = var (0: not wanted; the moving statistics read it, where 1/invstd² − eps would lose
 * a variance far below eps), and y = (x − mean)·invstd·γ + β as patterns (L floats each): meanPat,
 * y = (x − meanPat)·scale + shift.
 */
export function f32_batchnorm_fwd_stats(accs: usize, parts: i32, C: i32, eps: f32, gamma: usize, beta: usize, mean: usize, invstd: usize, variance: usize, meanPat: usize, scale: usize, shift: usize): void {
  const L = periodOf(C), S = momentsStride(C);
  for (let c = 0; c < C; c++) {
    let count: f64 = 0, mu: f64 = 0, m2: f64 = 0;
    for (let t = 0; t < parts; t++) {
      const a = accs + f4(t * S);
      const n = load<i32>(a + f4(3 * L)), periods = n / L, tail = n - periods * L;
      for (let j = c; j < L; j += C) {
        const nj = <f64>(periods + (j < tail ? 1 : 0));
        if (nj == 0) continue;
        const total = count + nj, d = <f64>load<f32>(a + f4(2 * L + j)) + <f64>load<f32>(a + f4(j)) - mu;
        mu += d * nj / total;
        m2 += <f64>load<f32>(a + f4(L + j)) + d * d * count * nj / total;
        count = total;
      }
    }
    const v = count > 0 ? m2 / count : 0;
    store<f32>(mean + f4(c), <f32>mu);
    store<f32>(invstd + f4(c), <f32>(1.0 / Math.sqrt(v + <f64>eps)));
    if (variance) store<f32>(variance + f4(c), <f32>v);
  }
  for (let j = 0; j < L; j++) {
    const c = j % C;
    store<f32>(meanPat + f4(j), load<f32>(mean + f4(c)));
    store<f32>(scale + f4(j), load<f32>(invstd + f4(c)) * load<f32>(gamma + f4(c)));
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
