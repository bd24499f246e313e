// float64 oracles for batch normalisation (training mode) and across-channel LRN, rows × C.
export function refBatchNorm(x: ArrayLike<number>, rows: number, C: number, gamma: ArrayLike<number>, beta: ArrayLike<number>, eps: number): Float64Array {
  const y = new Float64Array(rows * C);
  for (let c = 0; c < C; c++) {
    let m = 0;
    for (let r = 0; r < rows; r++) m += x[r * C + c]! / rows;
    let v = 0;
    for (let r = 0; r < rows; r++) v += (x[r * C + c]! - m) ** 2 / rows;
    for (let r = 0; r < rows; r++) y[r * C + c] = ((x[r * C + c]! - m) / Math.sqrt(v + eps)) * gamma[c]! + beta[c]!;
  }
  return y;
}

export function refLrn(x: ArrayLike<number>, rows: number, C: number, size: number, alpha: number, beta: number, k: number): Float64Array {
  const y = new Float64Array(rows * C);
  for (let r = 0; r < rows; r++)
    for (let c = 0; c < C; c++) {
      let s = 0;
      for (let j = Math.max(0, c - Math.floor(size / 2)); j <= Math.min(C - 1, c + Math.floor((size - 1) / 2)); j++) s += x[r * C + j]! ** 2;
      y[r * C + c] = x[r * C + c]! / (k + (alpha / size) * s) ** beta;
    }
  return y;
}
