// float64 oracle: C = alpha·op(A)·op(B) + beta·C, + bias per column, activation.
export interface RefGemm {
  M: number; N: number; K: number; transA: boolean; transB: boolean;
  alpha: number; beta: number; act: "none" | "relu" | "relu6";
}

export function refGemm(p: RefGemm, a: ArrayLike<number>, b: ArrayLike<number>, c0: ArrayLike<number> | null, bias: ArrayLike<number> | null): Float64Array {
  const { M, N, K } = p;
  const out = new Float64Array(M * N);
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) {
      let s = 0;
      for (let k = 0; k < K; k++) {
        const av = p.transA ? a[k * M + i]! : a[i * K + k]!;
        const bv = p.transB ? b[j * K + k]! : b[k * N + j]!;
        s += av * bv;
      }
      let v = p.alpha * s + (p.beta !== 0 && c0 ? p.beta * c0[i * N + j]! : 0);
      if (bias) v += bias[j]!;
      if (p.act === "relu") v = Math.max(v, 0);
      if (p.act === "relu6") v = Math.min(Math.max(v, 0), 6);
      out[i * N + j] = v;
    }
  }
  return out;
}
