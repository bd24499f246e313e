// Add / Sub / Mul / Div: of two computed tensors (Add only: residual connections) ⇄ add, or of a
// tensor and a per-channel constant → a scale layer. Concat: of constants (shape arithmetic,
// folded), or of tensors on the channel axis ⇄ concat. maxout exports as Reshape + ReduceMax.
import * as L from "../../../layers/index.js";
import type { Maxout } from "../../../layers/activation.js";
import type { Exporter, ImportNode, Importer } from "../context.js";
import { isImage, same, type TensorValue } from "../model.js";
import { foldBinary } from "../fold.js";

/** Tensors held the same way: all images held NHWC, or all in ONNX's order (with equal symbolic shapes). */
function alike(x: ImportNode, ts: TensorValue[]): TensorValue[] {
  if (ts.every(isImage) || ts.every((t) => !isImage(t) && !t.flatOf && same([...t.sym.shape], [...ts[0]!.sym.shape]))) return ts;
  if (ts.every((t) => t.flatOf && same(t.flatOf, ts[0]!.flatOf!))) return ts;
  return ts.map((t) => x.plain(t));
}

/** a ⊙ b: the same shape, or one of them [C, 1, 1] / [C] against an image [C, H, W] (squeeze-and-excitation). */
function multiply(x: ImportNode, a0: TensorValue, b0: TensorValue): void {
  const lname = x.uniq("multiply");
  if (a0.onnx.join() === b0.onnx.join()) {
    const [a, b] = alike(x, [a0, b0]) as [TensorValue, TensorValue];
    const { reluOf: _, ...rest } = a;
    x.out({ ...rest, sym: x.apply(L.multiply({ name: lname }), a.sym, b.sym) });
    return;
  }
  const perChannel = (img: TensorValue, v: TensorValue) => img.onnx.length === 3 && v.onnx[0] === img.onnx[0] && v.onnx.slice(1).every((d) => d === 1) && !v.flatOf;
  const [img, v] = perChannel(a0, b0) ? [a0, b0] : perChannel(b0, a0) ? [b0, a0] : x.fail(`shapes [${a0.onnx.join(", ")}] and [${b0.onnx.join(", ")}]: the same shape, or one value per channel of an image, are supported`);
  const im = x.asImage(img);
  const { reluOf: _, ...rest } = im;
  // the per-channel values in channel order: an image [C, 1, 1] held NHWC and a plain [C, …] hold them so
  x.out({ ...rest, sym: x.apply(L.multiply({ name: lname }), im.sym, v.sym) });
}

const FOLD: Record<string, (p: number, q: number) => number> = {
  Add: (p, q) => p + q, Sub: (p, q) => p - q, Mul: (p, q) => p * q, Pow: (p, q) => p ** q,
  Div: (p, q) => p / q,
};

const arithmetic: Importer = (x) => {
  const [a0, b0] = [x.get(0), x.get(1)];
  if (a0.kind === "const" && b0.kind === "const") {
    // shape arithmetic: float if either is, integer division truncating as ONNX's integer Div does
    const float = a0.data instanceof Float32Array || b0.data instanceof Float32Array;
    const f = x.op === "Div" && !float ? (p: number, q: number) => Math.trunc(p / q) : FOLD[x.op]!;
    x.out(foldBinary(a0, b0, f, float) ?? x.fail(`shapes [${a0.dims.join(", ")}] and [${b0.dims.join(", ")}] do not broadcast`));
    return;
  }
  if (x.op === "Pow") x.fail("Pow of computed data is not supported");
  if (a0.kind === "tensor" && b0.kind === "tensor") {
    [a0, b0].forEach((t) => x.noPad(t));
    if (x.op === "Mul") return multiply(x, a0, b0);
    if (x.op !== "Add" && x.op !== "Sub") x.fail(`${x.op} of two computed tensors is not supported (Add, Sub and Mul are)`);
    if (a0.onnx.join() !== b0.onnx.join()) x.fail(`shapes [${a0.onnx.join(", ")}] and [${b0.onnx.join(", ")}] differ (broadcasting is not supported for ${x.op})`);
    const [a, b] = alike(x, [a0, b0]) as [TensorValue, TensorValue];
    let bs = b.sym;
    if (x.op === "Sub") {
      const C = bs.shape[bs.shape.length - 1]!, lname = x.uniq("negate");
      x.weight(lname, "scale", new Float32Array(C).fill(-1));
      x.weight(lname, "shift", new Float32Array(C));
      bs = x.apply(L.scale({ name: lname }), bs);
    }
    const { reluOf: _, ...rest } = a;
    x.out({ ...rest, sym: x.apply(L.add({ name: x.uniq("add") }), a.sym, bs) });
    return;
  }
  // a tensor and a constant that is a scalar or broadcasts along one axis — the channels (images,
  // features) or the last axis: a scale layer over the axis held last
  const tIdx = a0.kind === "tensor" ? 0 : 1;
  const t0 = x.tensor(tIdx), c = x.constant(1 - tIdx);
  x.noPad(t0);
  const rank = t0.onnx.length + 1;
  const cd = [...c.dims];
  while (cd.length < rank) cd.unshift(1); // numpy broadcasting aligns from the right
  const along = (k: number) => cd.length === rank && cd.every((d, i) => (i === k ? d === t0.onnx[k - 1] : d === 1));
  let t: TensorValue, order: ((i: number) => number) | null = null;
  if (c.data.length === 1) t = t0;
  else if (along(1) && (isImage(t0) || t0.onnx.length === 3)) t = x.asImage(t0);
  else if (along(rank - 1)) {
    t = t0.flatOf ? t0 : x.plain(t0);
    // features flattened from an image are held in HWC order: constant i (CHW order) goes to its HWC place
    if (t0.flatOf) {
      const [Ci, H, W] = t0.flatOf;
      order = (i) => (i % (H * W)) * Ci + Math.floor(i / (H * W));
    }
  } else return x.fail(`a constant of shape [${c.dims.join(", ")}] does not broadcast along the channels or the last axis of [N, ${t0.onnx.join(", ")}]`);
  const C = t.sym.shape[t.sym.shape.length - 1]!;
  const vals = new Float32Array(C);
  for (let i = 0; i < C; i++) vals[order ? order(i) : i] = c.data[c.data.length === 1 ? 0 : i]!;
  const v = (i: number) => vals[i]!;
  const sc = new Float32Array(C).fill(1), sh = new Float32Array(C);
  for (let i = 0; i < C; i++) {
    if (x.op === "Mul") sc[i] = v(i);
    else if (x.op === "Add") sh[i] = v(i);
    else if (x.op === "Sub") {
      if (tIdx === 0) sh[i] = -v(i);
      else { sc[i] = -1; sh[i] = v(i); }
    } else {
      if (tIdx !== 0) x.fail("dividing a constant by a tensor is not supported");
      sc[i] = 1 / v(i);
    }
  }
  const lname = x.uniq("scale");
  x.weight(lname, "scale", sc);
  x.weight(lname, "shift", sh);
  const { reluOf: _, ...rest } = t;
  x.out({ ...rest, sym: x.apply(L.scale({ name: lname }), t.sym) });
};

export const importers: Record<string, Importer> = {
  Add: arithmetic, Sub: arithmetic, Mul: arithmetic, Div: arithmetic, Pow: arithmetic,
  Concat(x) {
    const vs = Array.from({ length: x.inputs }, (_, i) => x.get(i));
    if (vs.every((v) => v.kind === "const")) {
      x.out({ kind: "const", dims: [vs.reduce((a, v) => a + (v as { data: ArrayLike<number> }).data.length, 0)], data: vs.flatMap((v) => Array.from((v as { data: ArrayLike<number> }).data)) });
      return;
    }
    const ts0 = vs.map((_, i) => x.tensor(i));
    ts0.forEach((t) => x.noPad(t));
    const rank = ts0[0]!.onnx.length + 1, axis = x.int("axis", 1), a = axis < 0 ? axis + rank : axis;
    if (a === 0) x.fail("concat on axis 0 joins batches; fovea keeps the examples of a batch apart");
    if (ts0.some((t) => t.onnx.length + 1 !== rank || t.onnx.some((d, i) => i !== a - 1 && d !== ts0[0]!.onnx[i]))) {
      x.fail(`shapes ${ts0.map((t) => `[N, ${t.onnx.join(", ")}]`).join(", ")} do not join on axis ${axis}`);
    }
    const dims = [...ts0[0]!.onnx];
    dims[a - 1] = ts0.reduce((s, t) => s + t.onnx[a - 1]!, 0);
    if (ts0.length === 1) return x.out(ts0[0]!);
    if (a === 1 && ts0.every(isImage)) {
      // channels: the last axis held
      const sym = x.apply(L.concat({ name: x.uniq("concat") }), ...ts0.map((t) => t.sym));
      x.out({ kind: "tensor", sym, onnx: dims });
      return;
    }
    // in ONNX's order: each input as rows of everything from the axis on, joined row by row
    const outer = dims.slice(0, a - 1).reduce((p, q) => p * q, 1);
    const rows = ts0.map((t) => {
      const p = x.plain(t), inner = t.onnx.slice(a - 1).reduce((u, v) => u * v, 1);
      return same([...p.sym.shape], [outer, inner]) || (outer === 1 && same([...p.sym.shape], [inner])) ? p.sym : x.apply(L.reshape({ targetShape: [outer, inner], name: x.uniq("concat_rows") }), p.sym);
    });
    const sym = x.apply(L.concat({ name: x.uniq("concat") }), ...rows);
    x.out({ kind: "tensor", sym, onnx: dims, ...(dims.length === 3 ? { plain: true as const } : {}) });
  },
};

export const exporters: Record<string, Exporter> = {
  add(x) {
    let out = x.op("Add", x.inputs.slice(0, 2));
    for (const i of x.inputs.slice(2)) out = x.op("Add", [out, i]);
    return { out };
  },
  concat: (x) => ({ out: x.op("Concat", x.inputs, { axis: 1 }) }),
  multiply(x) {
    const [a, b] = x.node.inShapes as [number[], number[]];
    if (a.join() === b.join()) return { out: x.op("Mul", x.inputs.slice(0, 2)), flatOf: x.inputFlatOf[0] };
    // one value per channel: [N, C] (or [N, C, 1, 1]) against [N, C, H, W]
    const C = a[a.length - 1]!;
    const v = x.op("Reshape", [x.inputs[1]!, x.init([4], [0, C, 1, 1], "i64")]);
    return { out: x.op("Mul", [x.inputs[0]!, v]) };
  },
  maxout(x) {
    // groups of `pieces` consecutive channels: [N, C, (H, W)] → [N, C/k, k, (H, W)], max over the k axis
    const s = x.node.inShapes[0]!, C = s[s.length - 1]!, k = (x.layer as Maxout).pieces;
    const spatial = s.length === 3 ? [s[0]!, s[1]!] : [];
    const grouped = x.op("Reshape", [x.inputs[0]!, x.init([3 + spatial.length], [0, C / k, k, ...spatial], "i64")]);
    return { out: x.op("ReduceMax", [grouped], { axes: [2], keepdims: 0 }) };
  },
};
