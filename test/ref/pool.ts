// float64 oracles for 2-D and 3-D pooling (NHWC / NDHWC; a 2-D pool is D = KD = SD = DD = 1 with no
// depth padding). Along each axis, output o's window has the taps o·S − P_before + k·dilation for
// k in [0, K), those inside the input; count_include_pad divides by the taps inside the padded extent.
export interface RefPool {
  N: number; H: number; W: number; C: number; OH: number; OW: number;
  KH: number; KW: number; SH: number; SW: number; PT: number; PB: number; PL: number; PR: number;
  countIncludePad: boolean;
  /** Dilations (default 1). */
  DH?: number; DW?: number;
  /** Depth (default 1, undilated, unpadded). */
  D?: number; OD?: number; KD?: number; SD?: number; PF?: number; PK?: number; DD?: number;
}

function windows(p: RefPool, f: (yi: number, taps: number[], divisorPad: number) => void): void {
  const D = p.D ?? 1, OD = p.OD ?? 1, KD = p.KD ?? 1, SD = p.SD ?? 1, PF = p.PF ?? 0, PK = p.PK ?? 0, DD = p.DD ?? 1;
  const DH = p.DH ?? 1, DW = p.DW ?? 1;
  for (let n = 0; n < p.N; n++)
    for (let od = 0; od < OD; od++)
      for (let oh = 0; oh < p.OH; oh++)
        for (let ow = 0; ow < p.OW; ow++)
          for (let c = 0; c < p.C; c++) {
            const r0 = od * SD - PF, s0 = oh * p.SH - p.PT, t0 = ow * p.SW - p.PL;
            const taps: number[] = [];
            let padded = 0;
            for (let kd = 0; kd < KD; kd++)
              for (let kh = 0; kh < p.KH; kh++)
                for (let kw = 0; kw < p.KW; kw++) {
                  const id = r0 + kd * DD, ih = s0 + kh * DH, iw = t0 + kw * DW;
                  if (id < D + PK && ih < p.H + p.PB && iw < p.W + p.PR) padded++;
                  if (id >= 0 && id < D && ih >= 0 && ih < p.H && iw >= 0 && iw < p.W) taps.push((((n * D + id) * p.H + ih) * p.W + iw) * p.C + c);
                }
            f((((n * OD + od) * p.OH + oh) * p.OW + ow) * p.C + c, taps, padded);
          }
}

/** Max and the index of the first maximum in scan order. */
export function refMaxPool(p: RefPool, x: ArrayLike<number>): { y: Float64Array; argmax: Int32Array } {
  const y = new Float64Array(p.N * (p.OD ?? 1) * p.OH * p.OW * p.C);
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
  const dx = new Float64Array(p.N * (p.D ?? 1) * p.H * p.W * p.C);
  argmax.forEach((t, i) => (dx[t]! += dy[i]!));
  return dx;
}

export function refAvgPool(p: RefPool, x: ArrayLike<number>): Float64Array {
  const y = new Float64Array(p.N * (p.OD ?? 1) * p.OH * p.OW * p.C);
  windows(p, (yi, taps, dpad) => {
    let s = 0;
    for (const t of taps) s += x[t]!;
    y[yi] = s / (p.countIncludePad ? dpad : taps.length);
  });
  return y;
}

export function refAvgPoolBwd(p: RefPool, dy: ArrayLike<number>): Float64Array {
  const dx = new Float64Array(p.N * (p.D ?? 1) * p.H * p.W * p.C);
  windows(p, (yi, taps, dpad) => {
    const d = p.countIncludePad ? dpad : taps.length;
    for (const t of taps) dx[t]! += dy[yi]! / d;
  });
  return dx;
}
