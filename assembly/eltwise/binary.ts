import { f4 } from "../common/simd";

/**
 * out[i] = a[i] + b[i] for i in [0, n). Elementwise add (residual add), float32.
 * Gradient: dA = dOut, dB = dOut (no kernel needed).
 * Pointers are byte addresses of f32 arrays; `out` may alias `a` or `b`. n >= 0.
 */
export function f32_add_fwd(a: usize, b: usize, out: usize, n: i32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    v128.store(out + f4(i), f32x4.add(v128.load(a + f4(i)), v128.load(b + f4(i))));
  }
  for (; i < n; i++) {
    store<f32>(out + f4(i), load<f32>(a + f4(i)) + load<f32>(b + f4(i)));
  }
}
