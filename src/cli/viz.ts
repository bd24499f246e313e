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

// ---- seeing inside (fovea.inspect) ----

type Tile = { w: number; h: number; c: 1 | 3; values: Float32Array };

/** An H×W×C image as a tile: values clipped to [0, 1]; RGB for 3 channels, otherwise the channels' mean. */
function imageTile(v: Float32Array, [H, W, C]: readonly number[]): Tile {
  const rgb = C === 3;
  const t = new Float32Array(H! * W! * (rgb ? 3 : 1));
  for (let p = 0; p < H! * W!; p++) {
    if (rgb) for (let c = 0; c < 3; c++) t[p * 3 + c] = v[p * 3 + c]!;
    else { let s = 0; for (let c = 0; c < C!; c++) s += v[p * C! + c]!; t[p] = s / C!; }
  }
  return { w: W!, h: H!, c: rgb ? 3 : 1, values: t.map((x) => Math.min(1, Math.max(0, x))) };
}

/** Signed values around mid-grey: 0.5 + v / (2·max|v|) (a deconvnet projection, per tile). */
function signedTile(v: Float32Array, shape: readonly number[]): Tile {
  let m = 1e-12;
  for (const x of v) m = Math.max(m, Math.abs(x));
  return imageTile(v.map((x) => 0.5 + x / (2 * m)), shape);
}

/** A black → red → yellow → white ramp of values scaled by their maximum. */
function heatTile(v: Float32Array, H: number, W: number): Tile {
  let m = 1e-12;
  for (const x of v) m = Math.max(m, x);
  const t = new Float32Array(H * W * 3);
  v.forEach((x, p) => {
    const a = x / m;
    t[p * 3] = Math.min(1, 3 * a);
    t[p * 3 + 1] = Math.min(1, Math.max(0, 3 * a - 1));
    t[p * 3 + 2] = Math.min(1, Math.max(0, 3 * a - 2));
  });
  return { w: W, h: H, c: 3, values: t };
}

/** The input, the saliency map of its predicted class (Simonyan et al.), and the map over the input in red. */
export async function saliencyPng(m: fovea.Model, x: Float32Array): Promise<{ png: Uint8Array; predicted: number }> {
  const shape = m.inputShape as readonly number[];
  const s = fovea.inspect.saliency(m, x);
  const [H, W] = s.shape;
  const input = imageTile(x, shape);
  let top = 1e-12;
  for (const v of s.values) top = Math.max(top, v);
  const overlay = new Float32Array(H * W * 3);
  for (let p = 0; p < H * W; p++) {
    const g = input.c === 3 ? (input.values[p * 3]! + input.values[p * 3 + 1]! + input.values[p * 3 + 2]!) / 3 : input.values[p]!;
    const a = s.values[p]! / top;
    overlay.set([0.6 * g + 0.4 * a + 0.6 * a * (1 - g), 0.6 * g * (1 - a), 0.6 * g * (1 - a)], p * 3);
  }
  return { png: await grid([[input, heatTile(s.values, H, W), { w: W, h: H, c: 3, values: overlay }]], 168), predicted: s.classes[0]! };
}

/** The last conv layer's name (the default --layer), or null. */
export function lastConvLayer(m: fovea.Model): string | null {
  const convs = m.layers.filter((l) => l.type === "conv2d" || l.type === "depthwiseConv2d");
  return convs.length ? convs[convs.length - 1]!.name : null;
}

/** The image and its Deep Dream at `layer` (pixels kept in [0, 1]). */
export async function dreamPng(m: fovea.Model, x: Float32Array, shape: [number, number, number], layer: string, steps?: number): Promise<Uint8Array> {
  const d = fovea.inspect.deepDream(m, x, { layer, shape, range: [0, 1], ...(steps ? { steps } : {}) });
  return grid([[imageTile(x, shape), imageTile(d.values, shape)]], Math.max(168, shape[0]));
}

/** The box [y0, y1) × [x0, x1) of an H×W×C image's non-zero values (the whole image when none). */
function support(v: Float32Array, [H, W, C]: readonly number[]): [number, number, number, number] {
  let y0 = H!, y1 = 0, x0 = W!, x1 = 0;
  for (let p = 0; p < H! * W!; p++) {
    let any = false;
    for (let c = 0; c < C!; c++) if (v[p * C! + c] !== 0) any = true;
    if (!any) continue;
    const y = Math.floor(p / W!), x = p % W!;
    [y0, y1, x0, x1] = [Math.min(y0, y), Math.max(y1, y + 1), Math.min(x0, x), Math.max(x1, x + 1)];
  }
  return y1 > y0 ? [y0, y1, x0, x1] : [0, H!, 0, W!];
}

function crop(v: Float32Array, [, W, C]: readonly number[], [y0, y1, x0, x1]: [number, number, number, number]): Float32Array {
  const out = new Float32Array((y1 - y0) * (x1 - x0) * C!);
  for (let y = y0; y < y1; y++) out.set(v.subarray((y * W! + x0) * C!, (y * W! + x1) * C!), (y - y0) * (x1 - x0) * C!);
  return out;
}

/**
 * The image, then for each of its `top` strongest units of `layer` the deconvnet projection
 * (Zeiler–Fergus) cropped to where it is not zero (the unit's receptive field), and below it the
 * image's patch there.
 */
export async function deconvPng(m: fovea.Model, x: Float32Array, layer: string, top: number): Promise<{ png: Uint8Array; units: { unit: number; value: number }[] }> {
  const shape = m.inputShape as readonly number[];
  const units = fovea.inspect.strongestUnits(m, x, layer, top);
  const proj: Tile[] = [], patch: Tile[] = [];
  for (const { unit } of units) {
    const v = fovea.inspect.deconvnet(m, x, { layer, unit }).values;
    const box = support(v, shape);
    const s = [box[1] - box[0], box[3] - box[2], shape[2]!];
    proj.push(signedTile(crop(v, shape, box), s));
    patch.push(imageTile(crop(x, shape, box), s));
  }
  return { png: await grid([[imageTile(x, shape)], proj, patch], 96), units };
}

/** An image that maximises class k's score (pixels kept in [0, 1]). */
export async function classModelPng(m: fovea.Model, k: number, steps?: number): Promise<{ png: Uint8Array; score: number }> {
  const r = fovea.inspect.classModel(m, k, { range: [0, 1], ...(steps ? { steps } : {}) });
  return { png: await grid([[imageTile(r.values, m.inputShape as readonly number[])]], 168), score: r.score };
}
