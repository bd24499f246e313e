// Local response normalisation across channels (AlexNet; PyTorch / ONNX form, and ConvNetJS's for an odd n: its even n is size n + 1, io/convnetjs-defs.ts):
// s_c = k + (α/n)·Σ_{j ∈ W(c)} x_j², y_c = x_c · s_c^(−β), W(c) = [c − ⌊n/2⌋, c + ⌊(n−1)/2⌋] ∩ [0, C).
import { f4 } from "../common/simd";

/** Forward over rows × C; writes s (the per-element denominators' base) for the backward. */
export function f32_lrn_fwd(x: usize, rows: i32, C: i32, size: i32, alpha: f32, beta: f32, k: f32, y: usize, s: usize): void {
  const lo = size / 2, hi = (size - 1) / 2;
  const a = alpha / <f32>size;
  for (let r = 0; r < rows; r++) {
    const xr = x + f4(r * C);
    for (let c = 0; c < C; c++) {
      let sum: f32 = 0;
      for (let j = max(0, c - lo); j <= min(C - 1, c + hi); j++) {
        const v = load<f32>(xr + f4(j));
        sum += v * v;
      }
      const sc = k + a * sum;
      store<f32>(s + f4(r * C + c), sc);
      store<f32>(y + f4(r * C + c), load<f32>(xr + f4(c)) * <f32>Math.pow(sc, -beta));
    }
  }
}

/** dx_c = dy_c·s_c^(−β) − (2αβ/n)·x_c·Σ_{j : c ∈ W(j)} dy_j·x_j·s_j^(−β−1). Overwrites dx. */
export function f32_lrn_bwd(x: usize, dy: usize, s: usize, rows: i32, C: i32, size: i32, alpha: f32, beta: f32, dx: usize): void {
  const lo = size / 2, hi = (size - 1) / 2;
  const coef: f32 = <f32>2 * alpha * beta / <f32>size;
  for (let r = 0; r < rows; r++) {
    const o = r * C;
    for (let c = 0; c < C; c++) {
      // j's window contains c ⇔ j − lo ≤ c ≤ j + hi ⇔ c − hi ≤ j ≤ c + lo
      let acc: f32 = 0;
      for (let j = max(0, c - hi); j <= min(C - 1, c + lo); j++) {
        acc += load<f32>(dy + f4(o + j)) * load<f32>(x + f4(o + j)) * <f32>Math.pow(load<f32>(s + f4(o + j)), -beta - 1);
      }
      const v = load<f32>(dy + f4(o + c)) * <f32>Math.pow(load<f32>(s + f4(o + c)), -beta) - coef * load<f32>(x + f4(o + c)) * acc;
      store<f32>(dx + f4(o + c), v);
    }
  }
}
