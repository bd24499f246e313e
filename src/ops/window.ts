// Output-size arithmetic shared by conv and pool: `(W − F + 2P)/S + 1` with dilation, explicit /
// valid / same padding, and a rounding rule. A size that is not whole under "exact" rounding is a
// ShapeError naming the numbers — never a silent floor.

import { ConfigError, ShapeError, show } from "../errors.js";

/** "valid" (no padding), "same" (TF: out = ceil(in / stride)), or explicit pixels. */
export type Padding = "valid" | "same" | number | readonly [number, number] | readonly [number, number, number, number];

/**
 * How a window count that is not whole is handled in valid/explicit padding:
 * "exact" (default) throws; "floor" drops the partial window (PyTorch/ONNX default);
 * "ceil" keeps it (ceil_mode), as long as it starts inside the input or the leading padding.
 */
export type Rounding = "exact" | "floor" | "ceil";

export interface Axis {
  /** input size */
  size: number;
  kernel: number;
  stride: number;
  dilation: number;
  padBefore: number;
  padAfter: number;
  out: number;
}

export function pair(v: number | readonly [number, number] | undefined, dflt: number, what: string, where: string): [number, number] {
  const p: [number, number] = v === undefined ? [dflt, dflt] : typeof v === "number" ? [v, v] : Array.isArray(v) && v.length === 2 ? [v[0], v[1]] : [NaN, NaN];
  if (!p.every((x) => Number.isInteger(x) && x >= 1)) {
    throw new ConfigError(`${where}: ${what} must be whole numbers >= 1, got ${show(v)}`);
  }
  return p;
}

/** [top, bottom, left, right] from an explicit padding option. */
export function explicitPads(padding: Exclude<Padding, "valid" | "same">, where: string): [number, number, number, number] {
  let p: [number, number, number, number];
  if (typeof padding === "number") p = [padding, padding, padding, padding];
  else if (!Array.isArray(padding)) throw new ConfigError(`${where}: padding must be "valid", "same", a number, [h, w] or [top, bottom, left, right], got ${show(padding)}`);
  else if (padding.length === 2) p = [padding[0], padding[0], padding[1], padding[1]];
  else if (padding.length === 4) p = [padding[0], padding[1], padding[2], padding[3]];
  else throw new ConfigError(`${where}: padding must be "valid", "same", a number, [h, w] or [top, bottom, left, right]`);
  if (!p.every((x) => Number.isInteger(x) && x >= 0)) {
    throw new ConfigError(`${where}: padding must be whole numbers >= 0, got ${show(padding)}`);
  }
  return p;
}

/** The largest input extent (with padding), kernel extent or stride of one axis: 2^24. */
export const MAX_EXTENT = 2 ** 24;

function fmt(x: number): string {
  return Number.isInteger(x) ? String(x) : x.toFixed(2);
}

/**
 * Output size of one axis. `label` is e.g. `conv2d "c1"`, `dims` e.g. "7x7" for the message.
 */
export function windowAxis(
  label: string, size: number, kernel: number, stride: number, dilation: number,
  padding: "valid" | "same" | [number, number], rounding: Rounding, kdesc: string, idesc: string,
): Axis {
  const eff = (kernel - 1) * dilation + 1;
  // the kernels index with 32-bit integers: every window number (and their sums) stays far below 2^31
  const [pb0, pa0] = padding === "valid" || padding === "same" ? [0, 0] : padding;
  if (Math.max(size + pb0 + pa0, eff, stride) > MAX_EXTENT) {
    throw new ShapeError(`${label}: input ${size} (padded by ${pb0}+${pa0}), kernel extent ${eff} (${kdesc}, dilation ${dilation}) and stride ${stride} must stay within ${MAX_EXTENT}`);
  }
  if (padding === "same") {
    const out = Math.ceil(size / stride);
    const total = Math.max((out - 1) * stride + eff - size, 0);
    const before = Math.floor(total / 2);
    return { size, kernel, stride, dilation, padBefore: before, padAfter: total - before, out };
  }
  const [pb, pa] = padding === "valid" ? [0, 0] : padding;
  const span = size + pb + pa - eff;
  const padTxt = pb + pa > 0 ? `${size}+${pb + pa}` : `${size}`;
  const kTxt = dilation > 1 ? `${kdesc} kernel (dilation ${dilation}, effective ${eff})` : `${kdesc} kernel`;
  if (span < 0) {
    throw new ShapeError(
      `${label}: a ${kTxt} does not fit a ${idesc} input${pb + pa > 0 ? ` padded by ${pb}+${pa}` : ""} (${padTxt} < ${eff})`,
    );
  }
  const exact = span / stride + 1;
  let out: number;
  if (Number.isInteger(exact)) out = exact;
  else if (rounding === "floor") out = Math.floor(exact);
  else if (rounding === "ceil") {
    out = Math.ceil(exact);
    // the last window must start inside the input or the leading padding (PyTorch's rule)
    if ((out - 1) * stride >= size + pb) out--;
  } else {
    throw new ShapeError(
      `${label}: a ${kTxt} with stride ${stride} does not fit a ${idesc} input ` +
        `((${padTxt}-${eff})/${stride}+1 = ${fmt(exact)} is not whole); pad the input or set rounding "floor" or "ceil"`,
    );
  }
  return { size, kernel, stride, dilation, padBefore: pb, padAfter: pa, out };
}

/** Both axes of a 2-D window op. */
export function window2d(
  label: string, H: number, W: number, kernel: [number, number], strides: [number, number],
  dilations: [number, number], padding: Padding, rounding: Rounding,
): { h: Axis; w: Axis } {
  const kdesc = `${kernel[0]}x${kernel[1]}`, idesc = `${H}x${W}`;
  if (padding === "valid" || padding === "same") {
    return {
      h: windowAxis(label, H, kernel[0], strides[0], dilations[0], padding, rounding, kdesc, idesc),
      w: windowAxis(label, W, kernel[1], strides[1], dilations[1], padding, rounding, kdesc, idesc),
    };
  }
  const [t, b, l, r] = explicitPads(padding, label);
  return {
    h: windowAxis(label, H, kernel[0], strides[0], dilations[0], [t, b], rounding, kdesc, idesc),
    w: windowAxis(label, W, kernel[1], strides[1], dilations[1], [l, r], rounding, kdesc, idesc),
  };
}

/**
 * Padding [top, bottom, left, right] under which the floor rule (ONNX without ceil_mode, tfjs "valid")
 * gives this geometry's output size: its own padding, extended at the bottom/right where ceil
 * rounding reached past it. The extra rows are never read into an output (zero or -∞ fill both work).
 */
export function floorRulePads(g: { H: number; W: number; OH: number; OW: number; KH: number; KW: number; SH: number; SW: number; DH?: number; DW?: number; padTop: number; padBottom: number; padLeft: number; padRight: number }): [number, number, number, number] {
  const span = (o: number, s: number, k: number, d: number) => (o - 1) * s + (k - 1) * d + 1;
  return [
    g.padTop, Math.max(g.padBottom, span(g.OH, g.SH, g.KH, g.DH ?? 1) - g.H - g.padTop),
    g.padLeft, Math.max(g.padRight, span(g.OW, g.SW, g.KW, g.DW ?? 1) - g.W - g.padLeft),
  ];
}
