// float64 oracles for activations and row softmax.
export const refAct: Record<string, (x: number, a: number) => number> = {
  relu: (x) => Math.max(x, 0),
  relu6: (x) => Math.min(Math.max(x, 0), 6),
  leakyRelu: (x, a) => (x > 0 ? x : a * x),
  elu: (x, a) => (x > 0 ? x : a * (Math.exp(x) - 1)),
  sigmoid: (x) => 1 / (1 + Math.exp(-x)),
  tanh: (x) => Math.tanh(x),
};

export function refSoftmax(x: ArrayLike<number>, rows: number, cols: number, log: boolean): Float64Array {
  const y = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    let m = -Infinity;
    for (let c = 0; c < cols; c++) m = Math.max(m, x[r * cols + c]!);
    let s = 0;
    for (let c = 0; c < cols; c++) s += Math.exp(x[r * cols + c]! - m);
    for (let c = 0; c < cols; c++) {
      const v = x[r * cols + c]! - m;
      y[r * cols + c] = log ? v - Math.log(s) : Math.exp(v) / s;
    }
  }
  return y;
}

/** erf(x) in float64: e^{−x²}·2/√π·Σ 2ⁿx^{2n+1}/(1·3·…·(2n+1)) (positive terms) for |x| < 3, 1 − erfc beyond. */
export function refErf(x: number): number {
  if (Number.isNaN(x)) return NaN;
  const a = Math.abs(x);
  if (a >= 3) return Math.sign(x) * (1 - refErfc(a));
  let term = a, sum = a;
  for (let n = 1; n < 200 && term > 1e-18 * sum; n++) {
    term *= (2 * a * a) / (2 * n + 1);
    sum += term;
  }
  return Math.sign(x) * (2 / Math.sqrt(Math.PI)) * Math.exp(-a * a) * sum;
}

/** erfc(x) in float64: the continued fraction e^{−x²}/√π · 1/(x + ½/(x + 1/(x + 3⁄2/(x + …)))) for x ≥ 3, 1 − erf(x) below, 2 − erfc(−x) for x < 0. */
export function refErfc(x: number): number {
  if (x < 0) return 2 - refErfc(-x);
  if (x < 3) return 1 - refErf(x);
  let f = x;
  for (let k = 80; k >= 1; k--) f = x + k / 2 / f;
  return Math.exp(-x * x) / Math.sqrt(Math.PI) / f;
}

/** GELU(x) = x·Φ(x) in float64. */
export const refGelu = (x: number) => 0.5 * x * refErfc(-x / Math.SQRT2);

/** Layer norm of rows × C in float64: (x − μ)/√(σ² + ε)·γ + β per row. */
export function refLayerNorm(x: ArrayLike<number>, rows: number, C: number, eps: number, gamma: ArrayLike<number>, beta: ArrayLike<number>): Float64Array {
  const y = new Float64Array(rows * C);
  for (let r = 0; r < rows; r++) {
    let m = 0, v = 0;
    for (let c = 0; c < C; c++) m += x[r * C + c]!;
    m /= C;
    for (let c = 0; c < C; c++) v += (x[r * C + c]! - m) ** 2;
    const inv = 1 / Math.sqrt(v / C + eps);
    for (let c = 0; c < C; c++) y[r * C + c] = (x[r * C + c]! - m) * inv * gamma[c]! + beta[c]!;
  }
  return y;
}

/** x rounded to the nearest float16 value (ties to even; ±∞ from 65520 on), by definition in float64. */
export function refFloat16(x: number): number {
  if (!Number.isFinite(x)) return x;
  const a = Math.abs(x);
  if (a >= 65520) return Math.sign(x) * Infinity;
  const e = Math.max(a === 0 ? -14 : Math.floor(Math.log2(a)), -14), q = 2 ** (e - 10), v = a / q, f = Math.floor(v);
  const r = v - f > 0.5 || (v - f === 0.5 && f % 2 === 1) ? f + 1 : f;
  return (x < 0 || Object.is(x, -0) ? -1 : 1) * r * q;
}
