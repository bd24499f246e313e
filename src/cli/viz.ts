// Pictures: first-layer filters as a grid (Zeiler–Fergus style) and feature maps per conv layer.
import * as fovea from "../index.js";

/** Nearest-neighbour upscaled tiles laid out in rows, on a grey background, as PNG. */
async function grid(tiles: { w: number; h: number; c: 1 | 3; values: Float32Array }[][], tileHeight: number): Promise<Uint8Array> {
  const gap = 2;
  const sc = (h: number) => Math.max(1, Math.round(tileHeight / h));
  const rowH = tiles.map((r) => Math.max(...r.map((t) => t.h * sc(t.h))));
  const W = Math.max(...tiles.map((r) => r.reduce((a, t) => a + t.w * sc(t.h) + gap, gap)));
  const H = rowH.reduce((a, h) => a + h + gap, gap);
  const img = new Float32Array(W * H * 3).fill(0.5);
  let y0 = gap;
  tiles.forEach((row, ri) => {
    let x0 = gap;
    for (const t of row) {
      const scale = sc(t.h);
      for (let y = 0; y < t.h * scale; y++) for (let x = 0; x < t.w * scale; x++) {
        const sy = Math.floor(y / scale), sx = Math.floor(x / scale);
        for (let c = 0; c < 3; c++) img[((y0 + y) * W + x0 + x) * 3 + c] = t.values[(sy * t.w + sx) * t.c + (t.c === 1 ? 0 : c)]!;
      }
      x0 += t.w * scale + gap;
    }
    y0 += rowH[ri]! + gap;
  });
  return fovea.data.encodePng(img, [H, W, 3]);
}

/** Scales values to [0, 1] by their own min and max. */
function stretch(v: Float32Array): Float32Array {
  let lo = Infinity, hi = -Infinity;
  for (const x of v) { lo = Math.min(lo, x); hi = Math.max(hi, x); }
  const r = hi - lo || 1;
  return v.map((x) => (x - lo) / r);
}

/** The first conv layer's filters: one tile per output channel (RGB for 3 inputs, grey otherwise). */
export async function filtersPng(m: fovea.Model): Promise<Uint8Array> {
  const w = m.getWeights().find((p) => p.name === "kernel" && p.shape.length === 4);
  if (!w) throw new fovea.ConfigError(`viz: model "${m.name}" has no conv layer`);
  const [KH, KW, C, OC] = w.shape as [number, number, number, number];
  const tiles = Array.from({ length: OC }, (_, o) => {
    const t = new Float32Array(KH * KW * (C === 3 ? 3 : 1));
    for (let p = 0; p < KH * KW; p++) {
      if (C === 3) for (let c = 0; c < 3; c++) t[p * 3 + c] = w.values[(p * C + c) * OC + o]!;
      else { let s = 0; for (let c = 0; c < C; c++) s += w.values[(p * C + c) * OC + o]!; t[p] = s / C; }
    }
    return { w: KW, h: KH, c: (C === 3 ? 3 : 1) as 1 | 3, values: stretch(t) };
  });
  const perRow = Math.ceil(Math.sqrt(OC));
  const rows = Array.from({ length: Math.ceil(OC / perRow) }, (_, r) => tiles.slice(r * perRow, (r + 1) * perRow));
  return grid(rows, 40);
}

/** Every conv layer's feature maps for one image: a row per layer, a tile per channel. */
export async function activationsPng(m: fovea.Model, x: Float32Array): Promise<Uint8Array> {
  const acts = m.activations(x).filter((a) => (a.type === "conv2d" || a.type === "depthwiseConv2d") && a.shape.length === 3);
  if (acts.length === 0) throw new fovea.ConfigError(`viz: model "${m.name}" has no conv layer`);
  const rows = acts.map((a) => {
    const [H, W, C] = a.shape as [number, number, number];
    return Array.from({ length: Math.min(C, 32) }, (_, c) => {
      const t = new Float32Array(H * W);
      for (let p = 0; p < H * W; p++) t[p] = a.values[p * C + c]!;
      return { w: W, h: H, c: 1 as const, values: stretch(t) };
    });
  });
  return grid(rows, 56);
}
