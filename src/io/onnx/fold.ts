// Constant folding: the arithmetic of import-time constants (shape computations PyTorch exports
// around reshapes, pads and slices) — numpy broadcasting of two constants, and slicing.
import type { ConstValue } from "./model.js";

const strides = (dims: number[]) => dims.map((_, i) => dims.slice(i + 1).reduce((a, b) => a * b, 1));

/** f applied elementwise to a and b, broadcast as numpy does; null when the shapes do not broadcast. */
export function foldBinary(a: ConstValue, b: ConstValue, f: (p: number, q: number) => number, float: boolean): ConstValue | null {
  const r = Math.max(a.dims.length, b.dims.length);
  const ad = [...Array<number>(r - a.dims.length).fill(1), ...a.dims], bd = [...Array<number>(r - b.dims.length).fill(1), ...b.dims];
  const dims: number[] = [];
  for (let i = 0; i < r; i++) {
    if (ad[i] !== bd[i] && ad[i] !== 1 && bd[i] !== 1) return null;
    dims.push(ad[i] === 1 ? bd[i]! : ad[i]!);
  }
  const n = dims.reduce((p, q) => p * q, 1), as = strides(ad), bs = strides(bd), os = strides(dims);
  const out = float ? new Float32Array(n) : new Array<number>(n);
  for (let o = 0; o < n; o++) {
    let ia = 0, ib = 0;
    for (let i = 0; i < r; i++) {
      const k = Math.floor(o / os[i]!) % dims[i]!;
      if (ad[i] !== 1) ia += k * as[i]!;
      if (bd[i] !== 1) ib += k * bs[i]!;
    }
    out[o] = f(a.data[ia]!, b.data[ib]!);
  }
  return { kind: "const", dims, data: out };
}

/** ONNX Slice of a constant: per axis, start / end clamped as the operator defines them, any step. */
export function foldSlice(c: ConstValue, starts: number[], ends: number[], axes: number[], steps: number[]): ConstValue {
  const r = c.dims.length, lo = c.dims.map(() => 0), step = c.dims.map(() => 1), count = [...c.dims];
  axes.forEach((ax0, j) => {
    const ax = ax0 < 0 ? ax0 + r : ax0, d = c.dims[ax]!, s = steps[j] ?? 1;
    const clamp = (v: number, neg: boolean) => {
      const w = v < 0 ? v + d : v;
      return s > 0 ? Math.min(Math.max(w, 0), d) : Math.min(Math.max(w, neg ? -1 : 0), d - 1);
    };
    const b = clamp(starts[j]!, false), e = clamp(ends[j]!, true);
    lo[ax] = b;
    step[ax] = s;
    count[ax] = Math.max(0, s > 0 ? Math.ceil((e - b) / s) : Math.ceil((b - e) / -s));
  });
  const n = count.reduce((p, q) => p * q, 1), is = strides(c.dims), os = strides(count);
  const out = c.data instanceof Float32Array ? new Float32Array(n) : new Array<number>(n);
  for (let o = 0; o < n; o++) {
    let from = 0;
    for (let i = 0; i < r; i++) from += (lo[i]! + (Math.floor(o / os[i]!) % count[i]!) * step[i]!) * is[i]!;
    out[o] = c.data[from]!;
  }
  return { kind: "const", dims: count, data: out };
}
