// Parameter updates, regularisation and gradient norms, lane-wise over n floats.
// w: weights, g: gradient (already averaged over the batch), state buffers per optimiser.

import { f4 } from "../common/simd";

/**
 * g += l2 · w + l1 · sign(w) (elastic net when both are set). The L2 term is the gradient of
 * (l2 / 2)·‖w‖², the L1 term of l1·‖w‖₁ (sign(0) = 0).
 */
export function f32_regularize(n: i32, w: usize, g: usize, l1: f32, l2: f32): void {
  const vl1 = f32x4.splat(l1), vl2 = f32x4.splat(l2), zero = f32x4.splat(0);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const wv = v128.load(w + f4(i));
    const sign = f32x4.sub(v128.and(f32x4.gt(wv, zero), f32x4.splat(1)), v128.and(f32x4.lt(wv, zero), f32x4.splat(1)));
    v128.store(g + f4(i), f32x4.add(v128.load(g + f4(i)), f32x4.add(f32x4.mul(vl2, wv), f32x4.mul(vl1, sign))));
  }
  for (; i < n; i++) {
    const wv = load<f32>(w + f4(i));
    const sign: f32 = wv > 0 ? 1 : wv < 0 ? -1 : 0;
    // the lanes' operations and order: a cut anywhere (the pool splits updates by value ranges) gives the same bits
    store<f32>(g + f4(i), load<f32>(g + f4(i)) + (l2 * wv + l1 * sign));
  }
}

/**
 * Rewrites one 32-bit value in each 64-byte line of w[0, n) with itself, making those lines this
 * core's before an update writes them all. The weights are read by every thread of the pool, so a
 * line another core read since this one last wrote it must be taken back from there, one round
 * trip per line: an update's own stores (two buffers, four 16-byte stores a line each) let few
 * such trips overlap, one store a line lets as many as the core's misses can. On the 2-core test
 * machine, with its two vCPUs far apart, a thread's update of 24,000 of LeNet-5's dense weights
 * took ~100 µs (one thread updates all 48,000 in ~10), and the gradient sum + update dispatch went
 * 0.300 -> 0.220 ms with this pass (see Optimizer.programs: only where the weights fit 1 MB).
 */
export function f32_claim_lines(n: i32, w: usize): void {
  assert((w & 3) == 0, "claim_lines: w not 4-byte aligned"); // (debug build) its stores stay within w[0, n)
  const end = w + f4(n);
  for (let p = w; p < end; p = (p + 64) & ~(<usize>63)) store<u32>(p, load<u32>(p));
}

/** Σ x_i² in f64 (for gradient-norm clipping). */
export function f32_sum_squares(n: i32, x: usize): f64 {
  let acc = f32x4.splat(0);
  let total: f64 = 0;
  let i = 0;
  // f32 lanes for blocks of 1024, then into f64, so long vectors do not lose precision
  while (i + 4 <= n) {
    const end = min(n & ~3, i + 1024);
    for (; i < end; i += 4) {
      const v = v128.load(x + f4(i));
      acc = f32x4.add(acc, f32x4.mul(v, v));
    }
    total += <f64>f32x4.extract_lane(acc, 0) + <f64>f32x4.extract_lane(acc, 1) +
      <f64>f32x4.extract_lane(acc, 2) + <f64>f32x4.extract_lane(acc, 3);
    acc = f32x4.splat(0);
  }
  for (; i < n; i++) {
    const v = <f64>load<f32>(x + f4(i));
    total += v * v;
  }
  return total;
}

/**
 * A moving average of a parameter's values: avg += b · (w − avg) (b = 1 − decay). Exact where
 * avg = w: an average of values that stay put stays them, bit for bit.
 */
export function f32_average(n: i32, w: usize, avg: usize, b: f32): void {
  const vb = f32x4.splat(b);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const a = v128.load(avg + f4(i));
    v128.store(avg + f4(i), f32x4.add(a, f32x4.mul(vb, f32x4.sub(v128.load(w + f4(i)), a))));
  }
  for (; i < n; i++) {
    const a = load<f32>(avg + f4(i));
    store<f32>(avg + f4(i), a + b * (load<f32>(w + f4(i)) - a));
  }
}

/** Plain SGD: w −= lr · g. */
export function f32_sgd_update(n: i32, w: usize, g: usize, lr: f32): void {
  const vlr = f32x4.splat(lr);
  let i = 0;
  for (; i + 4 <= n; i += 4) v128.store(w + f4(i), f32x4.sub(v128.load(w + f4(i)), f32x4.mul(vlr, v128.load(g + f4(i)))));
  for (; i < n; i++) store<f32>(w + f4(i), load<f32>(w + f4(i)) - lr * load<f32>(g + f4(i)));
}

/**
 * Momentum (heavy ball), mode bit 0 clear: v = μ·v − lr·g; w += v (Keras's form: the rate inside the
 * velocity). Nesterov (bit 0 set): v = μ·v − lr·g; w += μ·v − lr·g. With mode bit 1 set, PyTorch's
 * form, the rate outside: v = μ·v + g; w −= lr·v (Nesterov: w −= lr·(g + μ·v)) — the same steps at a
 * constant rate, not when the rate changes.
 */
export function f32_momentum_update(n: i32, w: usize, g: usize, v: usize, lr: f32, mu: f32, mode: i32): void {
  if (mode == 0) momentumLanes(n, w, g, v, lr, mu, false, false);
  else if (mode == 1) momentumLanes(n, w, g, v, lr, mu, true, false);
  else if (mode == 2) momentumLanes(n, w, g, v, lr, mu, false, true);
  else momentumLanes(n, w, g, v, lr, mu, true, true);
}

/** f32_momentum_update four lanes at a time (the same float operations as the one-lane tail: the same values). */
// @ts-ignore: decorator
@inline function momentumLanes(n: i32, w: usize, g: usize, v: usize, lr: f32, mu: f32, nesterov: bool, torch: bool): void {
  const vlr = f32x4.splat(lr), vmu = f32x4.splat(mu);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const gv = v128.load(g + f4(i)), wv = v128.load(w + f4(i));
    if (torch) {
      const vv = f32x4.add(f32x4.mul(vmu, v128.load(v + f4(i))), gv);
      v128.store(v + f4(i), vv);
      v128.store(w + f4(i), f32x4.sub(wv, f32x4.mul(vlr, nesterov ? f32x4.add(gv, f32x4.mul(vmu, vv)) : vv)));
    } else {
      const vv = f32x4.sub(f32x4.mul(vmu, v128.load(v + f4(i))), f32x4.mul(vlr, gv));
      v128.store(v + f4(i), vv);
      v128.store(w + f4(i), f32x4.add(wv, nesterov ? f32x4.sub(f32x4.mul(vmu, vv), f32x4.mul(vlr, gv)) : vv));
    }
  }
  for (; i < n; i++) {
    const gi = load<f32>(g + f4(i)), wi = load<f32>(w + f4(i));
    if (torch) {
      const vi = mu * load<f32>(v + f4(i)) + gi;
      store<f32>(v + f4(i), vi);
      store<f32>(w + f4(i), wi - lr * (nesterov ? gi + mu * vi : vi));
    } else {
      const vi = mu * load<f32>(v + f4(i)) - lr * gi;
      store<f32>(v + f4(i), vi);
      store<f32>(w + f4(i), wi + (nesterov ? mu * vi - lr * gi : vi));
    }
  }
}

/** w − lr·g / (√h + ε), four lanes (Adagrad's and RMSProp's step; their tails compute the same, one lane). */
// @ts-ignore: decorator
@inline function rootStep(w: v128, g: v128, h: v128, vlr: v128, veps: v128): v128 {
  return f32x4.sub(w, f32x4.div(f32x4.mul(vlr, g), f32x4.add(f32x4.sqrt(h), veps)));
}

/** Adagrad: h += g²; w −= lr · g / (√h + ε). Four lanes at a time, the tail one: the same float operations, the same values. */
export function f32_adagrad_update(n: i32, w: usize, g: usize, h: usize, lr: f32, eps: f32): void {
  const vlr = f32x4.splat(lr), veps = f32x4.splat(eps);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const gv = v128.load(g + f4(i));
    const hv = f32x4.add(v128.load(h + f4(i)), f32x4.mul(gv, gv));
    v128.store(h + f4(i), hv);
    v128.store(w + f4(i), rootStep(v128.load(w + f4(i)), gv, hv, vlr, veps));
  }
  for (; i < n; i++) {
    const gi = load<f32>(g + f4(i));
    const hi = load<f32>(h + f4(i)) + gi * gi;
    store<f32>(h + f4(i), hi);
    store<f32>(w + f4(i), load<f32>(w + f4(i)) - lr * gi / (sqrt<f32>(hi) + eps));
  }
}

/** RMSProp: h = ρ·h + (1 − ρ)·g²; w −= lr · g / (√h + ε). Lanes and tail as Adagrad's. */
export function f32_rmsprop_update(n: i32, w: usize, g: usize, h: usize, lr: f32, rho: f32, eps: f32): void {
  const vlr = f32x4.splat(lr), vrho = f32x4.splat(rho), vrest = f32x4.splat(1 - rho), veps = f32x4.splat(eps);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const gv = v128.load(g + f4(i));
    const hv = f32x4.add(f32x4.mul(vrho, v128.load(h + f4(i))), f32x4.mul(f32x4.mul(vrest, gv), gv));
    v128.store(h + f4(i), hv);
    v128.store(w + f4(i), rootStep(v128.load(w + f4(i)), gv, hv, vlr, veps));
  }
  for (; i < n; i++) {
    const gi = load<f32>(g + f4(i));
    const hi = rho * load<f32>(h + f4(i)) + (1 - rho) * gi * gi;
    store<f32>(h + f4(i), hi);
    store<f32>(w + f4(i), load<f32>(w + f4(i)) - lr * gi / (sqrt<f32>(hi) + eps));
  }
}

/**
 * Adadelta (Zeiler 2012): Eg = ρ·Eg + (1 − ρ)·g²; Δ = −√(Edx + ε)/√(Eg + ε)·g;
 * Edx = ρ·Edx + (1 − ρ)·Δ²; w += lr·Δ (lr = 1 is the paper's form). Lanes and tail as Adagrad's.
 */
export function f32_adadelta_update(n: i32, w: usize, g: usize, eg: usize, edx: usize, lr: f32, rho: f32, eps: f32): void {
  const vlr = f32x4.splat(lr), vrho = f32x4.splat(rho), vrest = f32x4.splat(1 - rho), veps = f32x4.splat(eps);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const gv = v128.load(g + f4(i)), ev = v128.load(edx + f4(i));
    const egv = f32x4.add(f32x4.mul(vrho, v128.load(eg + f4(i))), f32x4.mul(f32x4.mul(vrest, gv), gv));
    v128.store(eg + f4(i), egv);
    const d = f32x4.mul(f32x4.div(f32x4.neg(f32x4.sqrt(f32x4.add(ev, veps))), f32x4.sqrt(f32x4.add(egv, veps))), gv);
    v128.store(edx + f4(i), f32x4.add(f32x4.mul(vrho, ev), f32x4.mul(f32x4.mul(vrest, d), d)));
    v128.store(w + f4(i), f32x4.add(v128.load(w + f4(i)), f32x4.mul(vlr, d)));
  }
  for (; i < n; i++) {
    const gi = load<f32>(g + f4(i));
    const egi = rho * load<f32>(eg + f4(i)) + (1 - rho) * gi * gi;
    store<f32>(eg + f4(i), egi);
    const d = -sqrt<f32>(load<f32>(edx + f4(i)) + eps) / sqrt<f32>(egi + eps) * gi;
    store<f32>(edx + f4(i), rho * load<f32>(edx + f4(i)) + (1 - rho) * d * d);
    store<f32>(w + f4(i), load<f32>(w + f4(i)) + lr * d);
  }
}

/**
 * Adam (Kingma & Ba, bias-corrected): m = β1·m + (1 − β1)·g; v = β2·v + (1 − β2)·g²;
 * w −= lr · (m / (1 − β1ᵗ)) / (√(v / (1 − β2ᵗ)) + ε). AdamW (decoupled decay wd > 0):
 * w −= lr·wd·w first. c1 = 1 − β1ᵗ and c2 = 1 − β2ᵗ are passed in (t counts from 1).
 */
export function f32_adam_update(
  n: i32, w: usize, g: usize, m: usize, v: usize, lr: f32, b1: f32, b2: f32, eps: f32, c1: f32, c2: f32, wd: f32,
): void {
  if (wd != 0) adamLanes(n, w, g, m, v, lr, b1, b2, eps, c1, c2, wd, true);
  else adamLanes(n, w, g, m, v, lr, b1, b2, eps, c1, c2, wd, false);
}

/** f32_adam_update four lanes at a time (the same float operations as the one-lane tail: the same values). */
// @ts-ignore: decorator
@inline function adamLanes(
  n: i32, w: usize, g: usize, m: usize, v: usize, lr: f32, b1: f32, b2: f32, eps: f32, c1: f32, c2: f32, wd: f32, decay: bool,
): void {
  const vlr = f32x4.splat(lr), vb1 = f32x4.splat(b1), vr1 = f32x4.splat(1 - b1), vb2 = f32x4.splat(b2), vr2 = f32x4.splat(1 - b2);
  const veps = f32x4.splat(eps), vc1 = f32x4.splat(c1), vc2 = f32x4.splat(c2), vlrwd = f32x4.splat(lr * wd);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const gv = v128.load(g + f4(i));
    const mv = f32x4.add(f32x4.mul(vb1, v128.load(m + f4(i))), f32x4.mul(vr1, gv));
    const vv = f32x4.add(f32x4.mul(vb2, v128.load(v + f4(i))), f32x4.mul(f32x4.mul(vr2, gv), gv));
    v128.store(m + f4(i), mv);
    v128.store(v + f4(i), vv);
    let wv = v128.load(w + f4(i));
    if (decay) wv = f32x4.sub(wv, f32x4.mul(vlrwd, wv));
    const step = f32x4.div(f32x4.mul(vlr, f32x4.div(mv, vc1)), f32x4.add(f32x4.sqrt(f32x4.div(vv, vc2)), veps));
    v128.store(w + f4(i), f32x4.sub(wv, step));
  }
  for (; i < n; i++) {
    const gi = load<f32>(g + f4(i));
    const mi = b1 * load<f32>(m + f4(i)) + (1 - b1) * gi;
    const vi = b2 * load<f32>(v + f4(i)) + (1 - b2) * gi * gi;
    store<f32>(m + f4(i), mi);
    store<f32>(v + f4(i), vi);
    let wi = load<f32>(w + f4(i));
    if (decay) wi -= lr * wd * wi;
    store<f32>(w + f4(i), wi - lr * (mi / c1) / (sqrt<f32>(vi / c2) + eps));
  }
}
