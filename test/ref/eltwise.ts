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
