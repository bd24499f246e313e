// float64 oracles for the losses (summed over rows / elements).
export function refSoftmaxXent(z: ArrayLike<number>, labels: ArrayLike<number>, rows: number, cols: number): number {
  let total = 0;
  for (let r = 0; r < rows; r++) {
    let m = -Infinity;
    for (let c = 0; c < cols; c++) m = Math.max(m, z[r * cols + c]!);
    let s = 0;
    for (let c = 0; c < cols; c++) s += Math.exp(z[r * cols + c]! - m);
    total += Math.log(s) + m - z[r * cols + labels[r]!]!;
  }
  return total;
}

export function refHinge(s: ArrayLike<number>, labels: ArrayLike<number>, rows: number, cols: number, margin: number): number {
  let total = 0;
  for (let r = 0; r < rows; r++) {
    const y = labels[r]!;
    for (let c = 0; c < cols; c++) if (c !== y) total += Math.max(0, s[r * cols + c]! - s[r * cols + y]! + margin);
  }
  return total;
}

export function refMse(p: ArrayLike<number>, t: ArrayLike<number>): number {
  let total = 0;
  for (let i = 0; i < p.length; i++) total += (p[i]! - t[i]!) ** 2;
  return total;
}

export function refSigmoidXent(z: ArrayLike<number>, t: ArrayLike<number>): number {
  let total = 0;
  for (let i = 0; i < z.length; i++) {
    const p = 1 / (1 + Math.exp(-z[i]!));
    total += -(t[i]! * Math.log(p) + (1 - t[i]!) * Math.log(1 - p));
  }
  return total;
}

/** Huber (δ; δ = Infinity: ½e²) on the selected output of each row: pairs = [column, target, …]. */
export function refSelectedHuber(out: ArrayLike<number>, pairs: ArrayLike<number>, rows: number, cols: number, delta: number): number {
  let total = 0;
  for (let r = 0; r < rows; r++) {
    const e = out[r * cols + pairs[2 * r]!]! - pairs[2 * r + 1]!;
    total += Math.abs(e) <= delta ? 0.5 * e * e : delta * (Math.abs(e) - 0.5 * delta);
  }
  return total;
}
