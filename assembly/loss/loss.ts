// Losses, forward and gradient in one pass. Each returns the summed loss (f64) over the rows and
// writes d(loss · scale)/d(input) — pass scale = 1 / batch for a mean over the batch.

import { f4 } from "../common/simd";
import { expv } from "../common/math";

// @ts-ignore: decorator
@inline function expf(x: f32): f32 {
  return f32x4.extract_lane(expv(f32x4.splat(x)), 0);
}

/**
 * Softmax cross-entropy on logits (fused, stable) with label smoothing ε (0: none): per row r with
 * label y = labels[r], the target is q_c = (1 − ε)·[c == y] + ε / cols, and
 * loss_r = Σ_c q_c · (log Σ_c' exp(z_c') − z_c), computed with the row max subtracted (PyTorch's
 * CrossEntropyLoss(label_smoothing = ε)). dlogits[r, c] = scale · (softmax(z)_c − q_c).
 * `probs` (may be 0) receives softmax(z). labels are i32 class indices in [0, cols).
 */
export function f32_softmax_xent(logits: usize, labels: usize, rows: i32, cols: i32, scale: f32, dlogits: usize, probs: usize, smoothing: f32): f64 {
  let total: f64 = 0;
  const off = smoothing / <f32>cols, on = <f32>1 - smoothing + off;
  for (let r = 0; r < rows; r++) {
    const z = logits + f4(r * cols), d = dlogits + f4(r * cols);
    let m: f32 = -Infinity;
    for (let c = 0; c < cols; c++) m = max(m, load<f32>(z + f4(c)));
    let s: f64 = 0, zsum: f64 = 0;
    for (let c = 0; c < cols; c++) {
      // the shift in f64, exact: in f32 two finite logits 4e38 apart gave −Inf, and 0·(−Inf) a
      // NaN loss below (its f32 rounding is the f32 subtraction's: e has the same bits)
      const zc = <f64>load<f32>(z + f4(c)) - <f64>m;
      const e = expf(<f32>zc);
      store<f32>(d + f4(c), e);
      s += <f64>e;
      zsum += zc;
    }
    const y = load<i32>(labels + f4(r));
    const lse = Math.log(s);
    // Σ_c q_c (lse − z_c) = lse − (1 − ε)·z_y − (ε / cols)·Σ_c z_c (max-shifted z)
    total += lse - <f64>(<f32>1 - smoothing) * (<f64>load<f32>(z + f4(y)) - <f64>m) - (off != 0 ? <f64>off * zsum : 0);
    const inv = <f32>(1.0 / s);
    for (let c = 0; c < cols; c++) {
      const p = load<f32>(d + f4(c)) * inv;
      if (probs != 0) store<f32>(probs + f4(r * cols + c), p);
      store<f32>(d + f4(c), scale * (p - (c == y ? on : off)));
    }
  }
  return total;
}

/**
 * Multiclass SVM hinge (Weston–Watkins, as ConvNetJS's svm layer): per row,
 * loss_r = Σ_{c ≠ y} max(0, s_c − s_y + margin); dscores gets +scale on each violating c and
 * −scale·(number of violations) on y.
 */
export function f32_hinge(scores: usize, labels: usize, rows: i32, cols: i32, margin: f32, scale: f32, dscores: usize): f64 {
  let total: f64 = 0;
  for (let r = 0; r < rows; r++) {
    const s = scores + f4(r * cols), d = dscores + f4(r * cols);
    const y = load<i32>(labels + f4(r));
    const sy = load<f32>(s + f4(y));
    let violations = 0;
    for (let c = 0; c < cols; c++) {
      let g: f32 = 0;
      if (c != y) {
        const v = load<f32>(s + f4(c)) - sy + margin;
        if (v > 0) {
          total += <f64>v;
          g = scale;
          violations++;
        }
      }
      store<f32>(d + f4(c), g);
    }
    store<f32>(d + f4(y), -scale * <f32>violations);
  }
  return total;
}

/** Squared error: loss = Σ_i (p_i − t_i)²; dpred = scale · 2 (p − t). */
export function f32_mse(pred: usize, target: usize, n: i32, scale: f32, dpred: usize): f64 {
  let total: f64 = 0;
  for (let i = 0; i < n; i++) {
    const e = load<f32>(pred + f4(i)) - load<f32>(target + f4(i));
    total += <f64>e * <f64>e;
    store<f32>(dpred + f4(i), scale * 2 * e);
  }
  return total;
}

/**
 * Sigmoid binary cross-entropy on logits (stable): loss = Σ max(z, 0) − z·t + log(1 + e^{−|z|});
 * dlogits = scale · (σ(z) − t). Targets t in [0, 1].
 */
export function f32_sigmoid_xent(logits: usize, target: usize, n: i32, scale: f32, dlogits: usize): f64 {
  let total: f64 = 0;
  for (let i = 0; i < n; i++) {
    const z = load<f32>(logits + f4(i)), t = load<f32>(target + f4(i));
    const e = expf(-abs(z));
    total += <f64>(max(z, 0) - z * t) + Math.log1p(<f64>e);
    const sig: f32 = z >= 0 ? 1 / (1 + e) : e / (1 + e);
    store<f32>(dlogits + f4(i), scale * (sig - t));
  }
  return total;
}

/**
 * Huber loss on one selected output per row (Q-learning's TD error on the action taken). Row r's
 * target is the pair at targets[2r], targets[2r + 1]: a column a (a whole number stored as f32,
 * in [0, cols)) and a value t. With e = out[r, a] − t: loss_r = ½e² where |e| ≤ δ and
 * δ·(|e| − ½δ) beyond (δ = +∞: ½e² everywhere, ConvNetJS's regression on { dim, val });
 * dout[r, a] = scale · clamp(e, −δ, δ) and every other dout[r, c] = 0 (dout must not alias out).
 */
export function f32_selected_huber(out: usize, targets: usize, rows: i32, cols: i32, delta: f32, scale: f32, dout: usize): f64 {
  let total: f64 = 0;
  memory.fill(dout, 0, <usize>rows * <usize>cols * 4);
  for (let r = 0; r < rows; r++) {
    const a = <i32>load<f32>(targets + f4(2 * r));
    const e = load<f32>(out + f4(r * cols + a)) - load<f32>(targets + f4(2 * r + 1));
    const ae = abs(e);
    if (ae <= delta) total += 0.5 * <f64>e * <f64>e;
    else total += <f64>delta * (<f64>ae - 0.5 * <f64>delta);
    store<f32>(dout + f4(r * cols + a), scale * min(max(e, -delta), delta));
  }
  return total;
}
