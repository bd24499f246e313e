// Layer normalisation over the last axis (ConvNeXt, transformers; ONNX LayerNormalization):
// for each row of C values, μ = Σx/C, σ² = Σ(x − μ)²/C (biased), r = 1/√(σ² + ε),
// y = (x − μ)·r·γ + β with γ, β per column.
import { f4 } from "../common/simd";

/** Σ of a row's values, in f32 lanes added in f64. */
// @ts-ignore: decorator
@inline function rowSum(p: usize, C: i32): f64 {
  let acc = f32x4.splat(0);
  let c = 0;
  for (; c + 4 <= C; c += 4) acc = f32x4.add(acc, v128.load(p + f4(c)));
  let s: f64 = <f64>f32x4.extract_lane(acc, 0) + <f64>f32x4.extract_lane(acc, 1) + <f64>f32x4.extract_lane(acc, 2) + <f64>f32x4.extract_lane(acc, 3);
  for (; c < C; c++) s += <f64>load<f32>(p + f4(c));
  return s;
}

/**
 * Forward over rows × C (row-major): writes y and, per row, μ to mean[r] and r = 1/√(σ² + ε) to
 * rstd[r] (for the backward). Two passes over each row (the mean, then the squared deviations), so
 * a large mean against a small spread loses nothing. y may alias x.
 */
export function f32_layer_norm_fwd(x: usize, rows: i32, C: i32, eps: f32, gamma: usize, beta: usize, y: usize, mean: usize, rstd: usize): void {
  for (let r = 0; r < rows; r++) {
    const xr = x + f4(r * C), yr = y + f4(r * C);
    const mu = <f32>(rowSum(xr, C) / <f64>C);
    const vm = f32x4.splat(mu);
    let acc = f32x4.splat(0);
    let c = 0;
    for (; c + 4 <= C; c += 4) {
      const d = f32x4.sub(v128.load(xr + f4(c)), vm);
      acc = f32x4.add(acc, f32x4.mul(d, d));
    }
    let ss: f64 = <f64>f32x4.extract_lane(acc, 0) + <f64>f32x4.extract_lane(acc, 1) + <f64>f32x4.extract_lane(acc, 2) + <f64>f32x4.extract_lane(acc, 3);
    for (; c < C; c++) {
      const d = load<f32>(xr + f4(c)) - mu;
      ss += <f64>(d * d);
    }
    const inv = <f32>(1.0 / Math.sqrt(ss / <f64>C + <f64>eps));
    store<f32>(mean + f4(r), mu);
    store<f32>(rstd + f4(r), inv);
    const vi = f32x4.splat(inv);
    c = 0;
    for (; c + 4 <= C; c += 4) {
      const xh = f32x4.mul(f32x4.sub(v128.load(xr + f4(c)), vm), vi);
      v128.store(yr + f4(c), f32x4.add(f32x4.mul(xh, v128.load(gamma + f4(c))), v128.load(beta + f4(c))));
    }
    for (; c < C; c++) store<f32>(yr + f4(c), (load<f32>(xr + f4(c)) - mu) * inv * load<f32>(gamma + f4(c)) + load<f32>(beta + f4(c)));
  }
}

/**
 * Backward from x, dy and the forward's mean / rstd: with x̂ = (x − μ)·r and g = dy·γ,
 * dx = r·(g − mean(g) − x̂·mean(g·x̂)) per row (dx 0: not wanted; dx may alias dy only when no
 * parameter gradient is wanted); dγ = Σ_rows dy·x̂ and dβ = Σ_rows dy (overwritten; 0: not wanted).
 */
export function f32_layer_norm_bwd(x: usize, dy: usize, rows: i32, C: i32, gamma: usize, mean: usize, rstd: usize, dx: usize, dgamma: usize, dbeta: usize): void {
  if (dgamma) memory.fill(dgamma, 0, <u32>f4(C));
  if (dbeta) memory.fill(dbeta, 0, <u32>f4(C));
  for (let r = 0; r < rows; r++) {
    const xr = x + f4(r * C), gr = dy + f4(r * C);
    const vm = f32x4.splat(load<f32>(mean + f4(r))), inv = load<f32>(rstd + f4(r)), vi = f32x4.splat(inv);
    if (dgamma || dbeta) {
      let c = 0;
      for (; c + 4 <= C; c += 4) {
        const g = v128.load(gr + f4(c));
        if (dgamma) v128.store(dgamma + f4(c), f32x4.add(v128.load(dgamma + f4(c)), f32x4.mul(g, f32x4.mul(f32x4.sub(v128.load(xr + f4(c)), vm), vi))));
        if (dbeta) v128.store(dbeta + f4(c), f32x4.add(v128.load(dbeta + f4(c)), g));
      }
      for (; c < C; c++) {
        const g = load<f32>(gr + f4(c));
        if (dgamma) store<f32>(dgamma + f4(c), load<f32>(dgamma + f4(c)) + g * (load<f32>(xr + f4(c)) - f32x4.extract_lane(vm, 0)) * inv);
        if (dbeta) store<f32>(dbeta + f4(c), load<f32>(dbeta + f4(c)) + g);
      }
    }
    if (!dx) continue;
    // mean(g) and mean(g·x̂)
    let a1 = f32x4.splat(0), a2 = f32x4.splat(0);
    let c = 0;
    for (; c + 4 <= C; c += 4) {
      const g = f32x4.mul(v128.load(gr + f4(c)), v128.load(gamma + f4(c)));
      a1 = f32x4.add(a1, g);
      a2 = f32x4.add(a2, f32x4.mul(g, f32x4.mul(f32x4.sub(v128.load(xr + f4(c)), vm), vi)));
    }
    let s1: f64 = <f64>f32x4.extract_lane(a1, 0) + <f64>f32x4.extract_lane(a1, 1) + <f64>f32x4.extract_lane(a1, 2) + <f64>f32x4.extract_lane(a1, 3);
    let s2: f64 = <f64>f32x4.extract_lane(a2, 0) + <f64>f32x4.extract_lane(a2, 1) + <f64>f32x4.extract_lane(a2, 2) + <f64>f32x4.extract_lane(a2, 3);
    for (; c < C; c++) {
      const g = load<f32>(gr + f4(c)) * load<f32>(gamma + f4(c));
      s1 += <f64>g;
      s2 += <f64>(g * (load<f32>(xr + f4(c)) - f32x4.extract_lane(vm, 0)) * inv);
    }
    const m1 = f32x4.splat(<f32>(s1 / <f64>C)), m2 = f32x4.splat(<f32>(s2 / <f64>C));
    const dr = dx + f4(r * C);
    c = 0;
    for (; c + 4 <= C; c += 4) {
      const g = f32x4.mul(v128.load(gr + f4(c)), v128.load(gamma + f4(c)));
      const xh = f32x4.mul(f32x4.sub(v128.load(xr + f4(c)), vm), vi);
      v128.store(dr + f4(c), f32x4.mul(vi, f32x4.sub(f32x4.sub(g, m1), f32x4.mul(xh, m2))));
    }
    for (; c < C; c++) {
      const g = load<f32>(gr + f4(c)) * load<f32>(gamma + f4(c));
      const xh = (load<f32>(xr + f4(c)) - f32x4.extract_lane(vm, 0)) * inv;
      store<f32>(dr + f4(c), inv * (g - f32x4.extract_lane(m1, 0) - xh * f32x4.extract_lane(m2, 0)));
    }
  }
}
