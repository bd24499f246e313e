// float64 oracles for conv2d: NHWC input, HWIO weights [KH, KW, C/G, OC], straight from the definition.
export interface RefConv {
  N: number; H: number; W: number; C: number; OH: number; OW: number; OC: number;
  KH: number; KW: number; SH: number; SW: number; DH: number; DW: number; PT: number; PL: number; G: number;
}

/** Calls f(n, oh, ow, oc, xIndex, wIndex) for every in-bounds multiply of the convolution. */
function forEachTap(p: RefConv, f: (yi: number, xi: number, wi: number) => void): void {
  const Cg = p.C / p.G, OCg = p.OC / p.G;
  for (let n = 0; n < p.N; n++)
    for (let oh = 0; oh < p.OH; oh++)
      for (let ow = 0; ow < p.OW; ow++)
        for (let oc = 0; oc < p.OC; oc++) {
          const g = Math.floor(oc / OCg);
          const yi = ((n * p.OH + oh) * p.OW + ow) * p.OC + oc;
          for (let kh = 0; kh < p.KH; kh++) {
            const ih = oh * p.SH - p.PT + kh * p.DH;
            if (ih < 0 || ih >= p.H) continue;
            for (let kw = 0; kw < p.KW; kw++) {
              const iw = ow * p.SW - p.PL + kw * p.DW;
              if (iw < 0 || iw >= p.W) continue;
              for (let ci = 0; ci < Cg; ci++) {
                const xi = ((n * p.H + ih) * p.W + iw) * p.C + g * Cg + ci;
                const wi = ((kh * p.KW + kw) * Cg + ci) * p.OC + oc;
                f(yi, xi, wi);
              }
            }
          }
        }
}

export function refConvFwd(p: RefConv, x: ArrayLike<number>, w: ArrayLike<number>, bias: ArrayLike<number> | null): Float64Array {
  const y = new Float64Array(p.N * p.OH * p.OW * p.OC);
  if (bias) for (let i = 0; i < y.length; i++) y[i] = bias[i % p.OC]!;
  forEachTap(p, (yi, xi, wi) => (y[yi]! += x[xi]! * w[wi]!));
  return y;
}

export function refConvBwdData(p: RefConv, dy: ArrayLike<number>, w: ArrayLike<number>): Float64Array {
  const dx = new Float64Array(p.N * p.H * p.W * p.C);
  forEachTap(p, (yi, xi, wi) => (dx[xi]! += dy[yi]! * w[wi]!));
  return dx;
}

export function refConvBwdFilter(p: RefConv, x: ArrayLike<number>, dy: ArrayLike<number>): Float64Array {
  const dw = new Float64Array(p.KH * p.KW * (p.C / p.G) * p.OC);
  forEachTap(p, (yi, xi, wi) => (dw[wi]! += x[xi]! * dy[yi]!));
  return dw;
}
