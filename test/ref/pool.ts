// float64 oracles for 2-D pooling (NHWC). A window covers rows [oh·SH − PT, oh·SH − PT + KH)
// clipped to the input; count_include_pad divides by the window clipped to the padded extent.
export interface RefPool {
  N: number; H: number; W: number; C: number; OH: number; OW: number;
  KH: number; KW: number; SH: number; SW: number; PT: number; PB: number; PL: number; PR: number;
  countIncludePad: boolean;
}

function windows(p: RefPool, f: (yi: number, taps: number[], divisorPad: number) => void): void {
  for (let n = 0; n < p.N; n++)
    for (let oh = 0; oh < p.OH; oh++)
      for (let ow = 0; ow < p.OW; ow++)
        for (let c = 0; c < p.C; c++) {
          const s0 = oh * p.SH - p.PT, t0 = ow * p.SW - p.PL;
          const taps: number[] = [];
          for (let ih = s0; ih < s0 + p.KH; ih++)
            for (let iw = t0; iw < t0 + p.KW; iw++)
              if (ih >= 0 && ih < p.H && iw >= 0 && iw < p.W) taps.push(((n * p.H + ih) * p.W + iw) * p.C + c);
          const hEnd = Math.min(s0 + p.KH, p.H + p.PB), wEnd = Math.min(t0 + p.KW, p.W + p.PR);
          f(((n * p.OH + oh) * p.OW + ow) * p.C + c, taps, (hEnd - s0) * (wEnd - t0));
        }
}

/** Max and the index of the first maximum in scan order. */
export function refMaxPool(p: RefPool, x: ArrayLike<number>): { y: Float64Array; argmax: Int32Array } {
  const y = new Float64Array(p.N * p.OH * p.OW * p.C);
  const argmax = new Int32Array(y.length);
  windows(p, (yi, taps) => {
    let best = -Infinity, at = taps[0]!;
    for (const t of taps) if (x[t]! > best) { best = x[t]!; at = t; }
    y[yi] = best;
    argmax[yi] = at;
  });
  return { y, argmax };
}

export function refMaxPoolBwd(p: RefPool, x: ArrayLike<number>, dy: ArrayLike<number>): Float64Array {
  const { argmax } = refMaxPool(p, x);
  const dx = new Float64Array(p.N * p.H * p.W * p.C);
  argmax.forEach((t, i) => (dx[t]! += dy[i]!));
  return dx;
}

export function refAvgPool(p: RefPool, x: ArrayLike<number>): Float64Array {
  const y = new Float64Array(p.N * p.OH * p.OW * p.C);
  windows(p, (yi, taps, dpad) => {
    let s = 0;
    for (const t of taps) s += x[t]!;
    y[yi] = s / (p.countIncludePad ? dpad : taps.length);
  });
  return y;
}

export function refAvgPoolBwd(p: RefPool, dy: ArrayLike<number>): Float64Array {
  const dx = new Float64Array(p.N * p.H * p.W * p.C);
  windows(p, (yi, taps, dpad) => {
    const d = p.countIncludePad ? dpad : taps.length;
    for (const t of taps) dx[t]! += dy[yi]! / d;
  });
  return dx;
}
