// Constants, shape arithmetic and layout: Constant, Identity/Dropout/Cast, Shape, Gather,
// (Un)Squeeze, Reshape/Flatten (of data too, keeping the batch axis first), Transpose (of data:
// one permute, or none where only the layout's bookkeeping changes), Pad — and the export of
// flatten, permute and dropout.
import * as L from "../../../layers/index.js";
import type { Permute } from "../../../layers/reshape.js";
import type { Pad as PadLayer } from "../../../layers/pad.js";
import type { Constant } from "../../../layers/constant.js";
import type { Slice as SliceLayer } from "../../../layers/slice.js";
import { attribute, fixedAffine, subNode, toFoveaOrder, withPadLayer, type ExportNode, type Exporter, type ImportNode, type Importer } from "../context.js";
import { N, dtypeName, isImage, num, same, tensorValues, type TensorValue } from "../model.js";
import { foldBinary, foldSlice } from "../fold.js";
import { hwcToChw } from "../../layouts.js";
import { binaryConstant, binaryData, constantData, operand } from "./merge.js";
import { broadcastShape, simplifyPermute } from "../../../ops/eltwise.js";
import { permutedAxes } from "../../../tensor.js";

/** Axes of an (Un)Squeeze: the `axes` input (opset 13+) or attribute. */
function axesOf(x: ImportNode): number[] | null {
  if (x.has(1)) return Array.from(x.constant(1).data);
  return x.ints("axes") ?? null;
}

const FLOAT_TYPES = new Set([1, 11]); // float32, float64: what a float32 tensor casts to unchanged

export const importers: Record<string, Importer> = {
  Constant(x) {
    const a = x.n.attribute[0] ?? x.fail("no value attribute");
    if (a.name === "value") {
      const t = a.t ?? x.fail("the value attribute holds no tensor");
      x.out({ kind: "const", dims: t.dims.map(num), data: tensorValues(t, x.where) });
    }
    else if (a.name === "value_float") x.out({ kind: "const", dims: [], data: Float32Array.of(a.f) });
    else if (a.name === "value_floats") x.out({ kind: "const", dims: [a.floats.length], data: Float32Array.from(a.floats) });
    else if (a.name === "value_int") x.out({ kind: "const", dims: [], data: [num(a.i)] });
    else if (a.name === "value_ints") x.out({ kind: "const", dims: [a.ints.length], data: a.ints.map(num) });
    else x.fail(`the ${a.name} form is not supported (value, value_float(s), value_int(s))`);
  },
  Identity: (x) => x.out(x.get(0)),
  Dropout(x) {
    const training = x.has(2) ? Array.from(x.constant(2).data)[0]! !== 0 : x.opset < 7 && x.int("is_test", 0) === 0;
    const ratio = x.has(1) ? Array.from(x.constant(1).data)[0]! : x.flt("ratio", 0.5);
    if (training && ratio !== 0) x.fail(`training-mode dropout (ratio ${ratio}) drops values at random; fovea imports inference graphs`);
    const v = x.get(0);
    x.out(v);
    if (x.n.output[1]) {
      // the mask keeps everything: ones shaped as the input (0·x + 1)
      if (v.kind !== "tensor") return x.fail("the mask of a constant is not supported");
      const { reluOf: _, ...rest } = v;
      x.g.values.set(x.n.output[1], { ...rest, sym: fixedAffine(x, v.sym, 0, 1, "dropout_mask") });
    }
  },
  Cast(x) {
    const to = x.int("to", 0), v = x.get(0);
    if (v.kind === "const") {
      // integer and bool targets truncate toward zero / test against zero (an integer constant: a
      // later Div truncates); float targets make a float constant (float32, as fovea computes: a
      // Range of sizes cast to float and divided must not truncate)
      const float = FLOAT_TYPES.has(to) || to === 10 || to === 16;
      const f = to === 9 ? (d: number) => (d !== 0 ? 1 : 0) : Math.trunc;
      x.out({ kind: "const", dims: v.dims, data: float ? Float32Array.from(v.data) : Array.from(v.data, f) });
    } else if (FLOAT_TYPES.has(to)) {
      const { int: _, ...rest } = v; // integer data cast to float: the same values, now float
      x.out(rest);
    } else if (to === 10 || to === 16) {
      // the values float16 (nearest, ties to even) or bfloat16 (truncated, as ONNX 1.12's reference) keeps, held in float32
      const { reluOf: _, ...rest } = v;
      x.out({ ...rest, sym: x.apply(to === 10 ? L.toFloat16({ name: x.uniq("float16") }) : L.toBfloat16({ name: x.uniq("bfloat16") }), v.sym) });
    } else if (v.int && (to === 6 || to === 7)) {
      // integer data (ArgMax's indices, an integer input) to int32 / int64: the same whole numbers
      x.out(v);
    } else if (to === 9) {
      // to bool (masked_fill's mask from a comparison, held as 1 and 0): 1 where x ≠ 0 (NaN too), Not of Not
      const once = `${x.n.output[0]}#not`;
      x.g.importNodes([subNode(x, "Not", [x.n.input[0]!], once), subNode(x, "Not", [once], x.n.output[0]!)]);
    } else x.fail(`casting a computed ${v.int ? "integer" : "float32"} tensor to ${dtypeName(to)} is not supported (it would round${v.int ? " or wrap" : ""} differently from float32)`);
  },
  Shape(x) {
    // of a constant: its dims; of data: the batch axis (N) and the dims of an example
    const v = x.get(0), dims = v.kind === "const" ? v.dims : [...(x.g.lead ? [N] : []), ...v.onnx];
    const clamp = (i: number) => Math.min(Math.max(i < 0 ? i + dims.length : i, 0), dims.length);
    const start = clamp(x.int("start", 0)), end = clamp(x.int("end", dims.length));
    x.out({ kind: "const", dims: [Math.max(end - start, 0)], data: dims.slice(start, end) });
  },
  Gather(x) {
    const d0 = x.get(0), idx = x.constant(1);
    if (d0.kind === "tensor") {
      // computed data: one index (the axis goes) or a list of them (joined) along an axis after the batch's
      const t = d0, k = x.axis(x.int("axis", 0), t.onnx);
      if (k < 0) x.mixesBatch("gathering along the batch axis is not supported; fovea keeps the examples of a batch apart");
      const n = t.onnx[k]!, at = Array.from(idx.data, (i) => (i < 0 ? i + n : i));
      if (at.length === 0) x.fail(`indices of shape [${idx.dims.join(", ")}] select nothing (an empty tensor)`);
      if (at.some((i) => i < 0 || i >= n)) x.fail(`indices [${Array.from(idx.data).join(", ")}] outside an axis of ${n}`);
      const parts = at.map((i) => sliceData(x, t, k, i, 1));
      if (idx.dims.length === 0) {
        const p = parts[0]!, dims = t.onnx.filter((_, j) => j !== k);
        // the axis of size 1 goes: the same values (an image's channel becomes plain data)
        const q = isImage(p) ? x.plain(p) : p;
        return x.out({ ...q, onnx: dims, ...(dims.length === 3 ? { plain: true as const } : {}) });
      }
      // indices of any shape: the axis becomes their dims (the gathered rows in the indices' order)
      const dims = [...t.onnx.slice(0, k), ...idx.dims, ...t.onnx.slice(k + 1)];
      if (parts.length === 1 && idx.dims.length === 1) return x.out(parts[0]!);
      return x.out({ ...joinParts(x, t, k, parts), onnx: dims, ...(dims.length === 3 ? { plain: true as const } : {}) });
    }
    // of a constant: along any axis, indices of any shape (their dims in place of the axis)
    const d = d0, r = d.dims.length, a0 = x.int("axis", 0), a = a0 < 0 ? a0 + r : a0;
    if (!(a >= 0 && a < r)) x.fail(`axis ${a0} is outside the constant's ${r} axes`);
    const n = d.dims[a]!, outer = d.dims.slice(0, a).reduce((p, q) => p * q, 1), inner = d.dims.slice(a + 1).reduce((p, q) => p * q, 1);
    const at = Array.from(idx.data, (i) => (i < 0 ? i + n : i));
    const bad = at.findIndex((i) => !(Number.isInteger(i) && i >= 0 && i < n));
    if (bad >= 0) x.fail(`index ${idx.data[bad]} is outside the constant's axis ${a0} of size ${n}`);
    const picked: number[] = [];
    for (let o = 0; o < outer; o++) for (const i of at) for (let k = 0; k < inner; k++) picked.push(d.data[(o * n + i) * inner + k]!);
    x.out({ kind: "const", dims: [...d.dims.slice(0, a), ...idx.dims, ...d.dims.slice(a + 1)], data: d.data instanceof Float32Array ? Float32Array.from(picked) : picked });
  },
  Unsqueeze: squeeze,
  Squeeze: squeeze,
  Slice(x) {
    const c = x.get(0);
    const list = (i: number, attr: string, d: number[] | null) => (x.opset >= 10 ? (x.has(i) ? Array.from(x.constant(i).data) : d) : x.ints(attr) ?? d);
    const starts = list(1, "starts", null) ?? x.fail("starts are required"), ends = list(2, "ends", null) ?? x.fail("ends are required");
    const axes = list(3, "axes", starts.map((_, i) => i))!, steps = list(4, "steps", starts.map(() => 1))!;
    if (steps.some((s) => s === 0)) x.fail("a step of 0");
    if (new Set([starts.length, ends.length, axes.length, steps.length]).size > 1) {
      x.fail(`starts, ends, axes and steps of different lengths (${starts.length}, ${ends.length}, ${axes.length}, ${steps.length})`);
    }
    if ([...starts, ...ends, ...steps].some((v) => Number.isNaN(v))) x.fail("a start, end or step that is not a number");
    const checkAxes = (r: number) => {
      const seen = new Set<number>();
      for (const a0 of axes) {
        const a = a0 < 0 ? a0 + r : a0;
        if (!Number.isInteger(a) || a < 0 || a >= r || seen.has(a)) x.fail(`axes [${axes.join(", ")}] of a rank-${r} input: each must lie in [${-r}, ${r}) and appear once`);
        seen.add(a);
      }
    };
    if (c.kind === "const") {
      checkAxes(c.dims.length);
      return x.out(foldSlice(c, starts, ends, axes, steps));
    }
    // computed data: a range of one axis after the batch's, step 1 (a channel split)
    const t = x.tensor(0);
    checkAxes(x.rank(t.onnx));
    // the batch axis may only be taken whole (start 0, end past any batch, or the file's fixed batch)
    if (axes.some((a0, j) => x.axis(a0, t.onnx) < 0 && !(starts[j] === 0 && ends[j]! >= (x.g.batch ?? 2 ** 31 - 1) && steps[j] === 1))) {
      x.mixesBatch("slicing the batch axis is not supported; fovea keeps the examples of a batch apart");
    }
    // per axis, the indices taken (ONNX's clamping: to [0, d] with a positive step, [−1, d − 1] with a negative one)
    const ranges = axes.map((a0, j) => {
      const a = x.axis(a0, t.onnx), d = t.onnx[a] ?? 0, step = steps[j]!;
      const clamp = (v: number) => { const w = v < 0 ? v + d : v; return step > 0 ? Math.min(Math.max(w, 0), d) : Math.min(Math.max(w, -1), d - 1); };
      const b = clamp(starts[j]!), e = clamp(ends[j]!), at: number[] = [];
      for (let i = b; step > 0 ? i < e : i > e; i += step) at.push(i);
      return { a, b, at, d, step };
    }).filter((r) => r.a >= 0 && !(r.at.length === r.d && r.step === 1));
    if (ranges.some((r) => r.at.length === 0)) {
      // nothing is taken along some axis: an output with no values, whatever the input (a constant layer of none)
      const dims = [...t.onnx];
      for (const { a, at } of ranges) dims[a] = at.length;
      const lname = x.uniq("empty");
      x.weight(lname, "value", new Float32Array(0));
      return x.out({ kind: "tensor", sym: x.apply(L.constant({ shape: dims.length ? dims : [1], name: lname }), t.sym), onnx: dims, ...(dims.length === 3 ? { plain: true as const } : {}) });
    }
    let v = t;
    for (const { a, b, at, step } of ranges) {
      // a range is one slice; other steps gather the indices one by one
      if (step === 1) v = sliceData(x, v, a, b, at.length);
      else {
        const dims = [...v.onnx];
        dims[a] = at.length;
        v = { ...joinParts(x, v, a, at.map((i) => sliceData(x, v, a, i, 1))), onnx: dims, ...(dims.length === 3 ? { plain: true as const } : {}) };
      }
    }
    x.out(v);
  },
  Split(x) {
    const c = x.get(0);
    if (c.kind === "const") {
      // of a constant: slices of it along the axis
      const r = c.dims.length, ax0 = x.int("axis", 0), ax = ax0 < 0 ? ax0 + r : ax0, d = c.dims[ax] ?? x.fail(`axis ${ax0} is outside the constant's ${r} axes`), n = x.n.output.length;
      const split = x.has(1) ? Array.from(x.constant(1).data) : x.ints("split") ?? Array.from({ length: n }, (_, i) => Math.ceil(d / n) - (i === n - 1 ? Math.ceil(d / n) * n - d : 0));
      if (split.length !== n || split.some((q) => !Number.isSafeInteger(q) || q < 0) || split.reduce((p, q) => p + q, 0) !== d) x.fail(`split [${split.join(", ")}] of an axis of ${d} into ${n} outputs`);
      let b = 0;
      split.forEach((q, i) => {
        x.g.values.set(x.n.output[i]!, foldSlice(c, [b], [b + q], [ax], [1]));
        b += q;
      });
      return;
    }
    const t = x.tensor(0), a = x.axis(x.int("axis", 0), t.onnx);
    if (a < 0) x.mixesBatch("splitting the batch axis is not supported; fovea keeps the examples of a batch apart");
    const d = t.onnx[a]!, n = x.n.output.length;
    const split = x.has(1) ? Array.from(x.constant(1).data) : x.ints("split") ?? Array.from({ length: n }, (_, i) => Math.ceil(d / n) - (i === n - 1 ? Math.ceil(d / n) * n - d : 0));
    if (split.length !== n || split.reduce((p, q) => p + q, 0) !== d) x.fail(`split [${split.join(", ")}] of an axis of ${d} into ${n} outputs`);
    let b = 0;
    split.forEach((s, i) => {
      x.outAt(i, sliceData(x, t, a, b, s));
      b += s;
    });
  },
  ConstantOfShape(x) {
    // a symbolic batch first (zeros_like of data under dynamic axes): the same values in every
    // example, a constant of batch 1 that broadcasts against the data
    const shape = Array.from(x.constant(0).data, (d, i) => (i === 0 && d === N && x.g.lead ? 1 : d)), t = x.attr("value")?.t;
    if (!shape.every((d) => Number.isSafeInteger(d) && d >= 0)) x.fail(`shape [${shape.map((d) => (d === N ? "N" : d)).join(", ")}] must be whole numbers >= 0${shape.includes(N) ? " (a symbolic size past the batch axis)" : ""}`);
    const vs = t ? tensorValues(t, x.where) : Float32Array.of(0), v = vs[0] ?? 0, n = shape.reduce((a, b) => a * b, 1);
    if (n > 1 << 24) x.fail(`a constant of ${n} values`);
    // of the value's type: float32 zeros where none is given, as ONNX defines
    x.out({ kind: "const", dims: shape, data: vs instanceof Float32Array ? new Float32Array(n).fill(v) : new Array<number>(n).fill(v) });
  },
  Range(x) {
    const cs = [0, 1, 2].map((i) => x.constant(i)), [start, limit, delta] = cs.map((c) => Array.from(c.data)[0]!) as [number, number, number];
    const n = Math.max(Math.ceil((limit - start) / delta), 0);
    if (!Number.isFinite(n) || n > 1 << 24) x.fail(`Range(${start}, ${limit}, ${delta}) makes ${n} values`);
    // a float range (torch.arange(w, dtype=float32)) stays float: a later Div must not truncate
    const vs = Array.from({ length: n }, (_, i) => start + i * delta);
    x.out({ kind: "const", dims: [n], data: cs.some((c) => c.data instanceof Float32Array) ? Float32Array.from(vs) : vs });
  },
  Where(x) {
    const vs = [x.get(0), x.get(1), x.get(2)];
    if (vs.some((v) => v.kind === "tensor")) {
      // of data: the where layer, the three broadcast per example (the same rank: the batch axes
      // meet); a constant operand (torch.where(c, x, 0.0), masked_fill) a constant layer of the
      // data's rank, ones in front, its batch axis 1
      const beside = vs.find((v) => v.kind === "tensor") as TensorValue, r = x.rank(beside.onnx);
      const ts = vs.map((v) => {
        if (v.kind === "tensor") return v;
        if (v.dims.length > r) x.fail(`a constant of shape [${v.dims.join(", ")}] has more axes than ${x.dims(beside)}`);
        return constantData(x, { ...v, dims: [...Array<number>(r - v.dims.length).fill(1), ...v.dims] }, beside, true);
      });
      if (x.g.lead && ts.some((t) => t.onnx.length !== ts[0]!.onnx.length)) x.mixesBatch(`shapes ${ts.map((t) => x.dims(t)).join(", ")} of different ranks: a batch axis would meet an axis of another's examples`);
      const ab = broadcastShape(ts[1]!.onnx, ts[2]!.onnx), dims = ab && broadcastShape(ts[0]!.onnx, ab);
      if (!dims) return x.fail(`shapes ${ts.map((t) => x.dims(t)).join(", ")} do not broadcast`);
      const held = ts.map((t) => {
        const p = x.plain(t), d = t.onnx.length ? t.onnx : [1];
        return same([...p.sym.shape], d) ? p.sym : x.apply(L.reshape({ targetShape: d, name: x.uniq("where_in") }), p.sym);
      });
      return x.out({ kind: "tensor", sym: x.apply(L.where({ name: x.uniq("where") }), ...held), onnx: dims, ...(dims.length === 3 ? { plain: true as const } : {}) });
    }
    const [c, a, b] = [x.constant(0), x.constant(1), x.constant(2)];
    // where(c, a, b) elementwise, all three broadcast to one shape
    const ca = foldBinary(c, a, (_, q) => q, false), cc = foldBinary(c, a, (p) => p, false);
    const A = ca && foldBinary(ca, b, (p) => p, false), C = cc && foldBinary(cc, b, (p) => p, false), B = cc && foldBinary(cc, b, (_, q) => q, false);
    if (!A || !B || !C) return x.fail(`shapes [${c.dims.join(", ")}], [${a.dims.join(", ")}] and [${b.dims.join(", ")}] do not broadcast`);
    const picked = Array.from(C.data, (v, i) => (v ? A.data[i]! : B.data[i]!));
    x.out({ kind: "const", dims: C.dims, data: a.data instanceof Float32Array || b.data instanceof Float32Array ? Float32Array.from(picked) : picked });
  },
  Equal: compare,
  Less: compare,
  Greater: compare,
  LessOrEqual: compare,
  GreaterOrEqual: compare,
  Not(x) {
    // of data (booleans as 1 and 0): x = 0, the binary layer's equal with a constant 0
    const v = x.get(0);
    if (v.kind === "tensor") return binaryConstant(x, v, { kind: "const", dims: [], data: Float32Array.of(0) }, false, "equal");
    x.out({ kind: "const", dims: v.dims, data: Array.from(v.data, (u) => (u ? 0 : 1)) });
  },
  If(x) {
    const c = x.get(0);
    if (c.kind !== "const" || c.data.length !== 1) return x.fail("the condition must be a constant scalar (computed from shapes); a condition on data is not supported");
    const branch = x.attr(c.data[0] ? "then_branch" : "else_branch")?.g ?? x.fail(`no ${c.data[0] ? "then" : "else"}_branch`);
    // the branch's own constants, then its nodes, which read the outer values by name
    for (const t of branch.initializer) x.g.values.set(t.name, { kind: "const", dims: t.dims.map(num), data: tensorValues(t, `${x.where}: initializer "${t.name}"`) });
    x.g.importNodes(branch.node);
    if (branch.output.length !== x.n.output.length) x.fail(`the branch has ${branch.output.length} outputs for the node's ${x.n.output.length}`);
    branch.output.forEach((o, i) => x.g.values.set(x.n.output[i]!, x.g.values.get(o.name) ?? x.fail(`the branch output "${o.name}" is not computed`)));
  },
  Reshape: reshape,
  Flatten: reshape,
  Transpose(x) {
    const c = x.get(0);
    if (c.kind === "const") {
      // constant folding (weights stored transposed)
      const r = c.dims.length, p = x.ints("perm") ?? Array.from({ length: r }, (_, i) => r - 1 - i);
      if (!same([...p].sort((a, b) => a - b), Array.from({ length: r }, (_, i) => i))) x.fail(`perm [${p.join(", ")}] is not a permutation of ${r} axes`);
      x.out({ kind: "const", dims: p.map((a) => c.dims[a]!), data: permutedAxes(c.data, c.dims, p, new Float32Array(c.data.length)) });
      return;
    }
    const t = x.tensor(0);
    const rank = x.rank(t.onnx), lead = x.g.lead;
    const perm = x.ints("perm") ?? Array.from({ length: rank }, (_, i) => rank - 1 - i);
    if (!same([...perm].sort((a, b) => a - b), Array.from({ length: rank }, (_, i) => i))) x.fail(`perm [${perm.join(", ")}] is not a permutation of ${rank} axes`);
    if (lead && perm[0] !== 0) x.mixesBatch(`perm [${perm.join(", ")}] moves the batch axis; fovea keeps the examples of a batch first`);
    const q = perm.slice(lead).map((a) => a - lead), dims = q.map((a) => t.onnx[a]!);
    if (same(q, q.map((_, i) => i))) return x.out(t);
    // the axes longer than 1 keep their order: the same values in the same order
    const big = q.filter((a) => t.onnx[a]! > 1);
    if (!isImage(t) && !t.flatOf && same(big, [...big].sort((a, b) => a - b))) return x.out({ ...t, onnx: dims, ...(dims.length === 3 ? { plain: true as const } : {}) });
    if (isImage(t) && same(q, [1, 2, 0])) {
      // NCHW → NHWC: what fovea holds already (tf2onnx / Keras exports transpose back before flattening)
      const { reluOf: _, ...rest } = t;
      return x.out({ ...rest, onnx: dims, plain: true });
    }
    if (t.onnx.length === 3 && t.plain && same(q, [2, 0, 1])) {
      // NHWC → NCHW (a channels-last file's input): an image as fovea holds it, its symbolic shape
      // the data's [H, W, C] (a plain value's may differ: after a permute and a Reshape it was the
      // permute's own, and a conv after it read [W, H, C] or failed on a rank-4 shape)
      const { plain: _, reluOf: __, ...rest } = x.plain(t);
      return x.out({ ...rest, onnx: dims });
    }
    if (isImage(t)) {
      // one permute of the held axes: an image holds ONNX axes (1, 2, 0) as (0, 1, 2)
      const sym = x.apply(L.permute({ perm: q.map((a) => [2, 0, 1][a]!), name: x.uniq("transpose") }), t.sym);
      return x.out({ kind: "tensor", sym, onnx: dims, plain: true });
    }
    // one permute of the axes in the file's order, those that stay next to each other merged
    // ([g, C/g, H, W] by [1, 0, 2, 3], a channel shuffle, is [g, C/g, H·W] by [1, 0, 2]); the
    // six axes of PyTorch's pixel_shuffle / pixel_unshuffle are five, their batch axis apart
    const m = simplifyPermute(t.onnx, q);
    if (m.dims.length > 6) x.fail(`perm [${perm.join(", ")}] of [N, ${t.onnx.join(", ")}] moves ${m.dims.length} groups of axes; at most 6 are supported`);
    const p = x.plain(t);
    const cube = same([...p.sym.shape], m.dims) ? p.sym : x.apply(L.reshape({ targetShape: m.dims, name: x.uniq("transpose_in") }), p.sym);
    const sym = x.apply(L.permute({ perm: m.perm, name: x.uniq("transpose") }), cube);
    x.out({ kind: "tensor", sym, onnx: dims, ...(dims.length === 3 ? { plain: true as const } : {}) });
  },
  // PixelShuffle / PixelUnshuffle as ONNX writes them, on the image fovea holds ([H, W, C]): its
  // channels split into the block's rows and columns (DCR: (i·b + j)·C' + c; CRD: c·b² + i·b + j),
  // moved next to the pixels' rows and columns by one permute
  DepthToSpace(x) {
    const t = x.asImage(x.tensor(0));
    const [C, H, W] = x.image(t), b = x.int("blocksize", 0), mode = x.opset < 11 ? "DCR" : x.str("mode", "DCR");
    if (!Number.isInteger(b) || b < 1) x.fail(`blocksize ${b} must be a whole number >= 1`);
    if (mode !== "DCR" && mode !== "CRD") x.fail(`mode ${mode} is not a DepthToSpace mode (DCR, CRD)`);
    if (C % (b * b)) x.fail(`${C} channels do not split into blocks of ${b}×${b} (blocksize ${b})`);
    const c = C / (b * b);
    // DCR: [H, W, i, j·C'] → [H, i, W, j·C']; CRD: [H, W, C', i, j] → [H, i, W, j, C']
    const [held, perm] = mode === "DCR" ? [[H, W, b, b * c], [0, 2, 1, 3]] : [[H, W, c, b, b], [0, 3, 1, 4, 2]];
    x.out(moveBlocks(x, t, held, perm, [c, H * b, W * b], "depth_to_space"));
  },
  SpaceToDepth(x) {
    const t = x.asImage(x.tensor(0));
    const [C, H, W] = x.image(t), b = x.int("blocksize", 0);
    if (!Number.isInteger(b) || b < 1) x.fail(`blocksize ${b} must be a whole number >= 1`);
    if (H % b || W % b) x.fail(`the ${H}×${W} image does not split into blocks of ${b}×${b} (blocksize ${b})`);
    // [H/b, i, W/b, j·C] → [H/b, W/b, i, j·C]: channel (i·b + j)·C + c
    x.out(moveBlocks(x, t, [H / b, b, W / b, b * C], [0, 2, 1, 3], [C * b * b, H / b, W / b], "space_to_depth"));
  },
  Pad(x) {
    const t0 = x.tensor(0);
    const mode = x.str("mode", "constant");
    const pads = x.has(1) ? Array.from(x.constant(1).data) : x.ints(x.opset < 2 ? "paddings" : "pads", []);
    const value = x.has(2) ? Array.from(x.constant(2).data)[0] ?? 0 : x.flt("value", 0);
    if (mode !== "constant" && mode !== "edge" && mode !== "reflect") x.fail(`mode ${mode} is not an ONNX Pad mode`);
    if (pads.length !== 8 || pads[0] || pads[1] || pads[4] || pads[5]) x.fail(`pads [${pads.join(", ")}]: only spatial padding of NCHW images is supported`);
    if (pads.some((p) => p < 0)) {
      // negative pads crop (nn.ZeroPad2d((-1, …)), F.pad(x, (-1, …))): a Slice of the rows and
      // columns, then the Pad of the positive ones (edge and reflect read the cropped image's edges:
      // refused, ONNX leaves the order unsaid)
      if (mode !== "constant") x.fail(`pads [${pads.join(", ")}]: negative pads (cropping) in mode ${mode} are not supported (in mode constant they are)`);
      // (the size the Slice sees: zeros an earlier Pad holds for the next conv are added first)
      const [, H0, W0] = x.asImage(t0).onnx as [number, number, number], held = t0.pad ?? [0, 0, 0, 0];
      const H = H0 + held[0] + held[1], W = W0 + held[2] + held[3], cut = pads.map((p) => Math.max(-p, 0));
      if (cut[2]! + cut[6]! >= H || cut[3]! + cut[7]! >= W) x.fail(`pads [${pads.join(", ")}] crop all of the ${H}×${W} image`);
      const base = `${x.n.output[0]}#crop`, starts = [cut[2]!, cut[3]!], ends = [H - cut[6]!, W - cut[7]!];
      x.g.values.set(`${base}_starts`, { kind: "const", dims: [2], data: starts });
      x.g.values.set(`${base}_ends`, { kind: "const", dims: [2], data: ends });
      x.g.values.set(`${base}_axes`, { kind: "const", dims: [2], data: [2, 3] });
      x.g.values.set(`${base}_pads`, { kind: "const", dims: [8], data: pads.map((p) => Math.max(p, 0)) });
      x.g.values.set(`${base}_value`, { kind: "const", dims: [], data: Float32Array.of(value) });
      // Slice takes them as inputs from opset 10, as attributes before
      const slice = x.opset >= 10 ? subNode(x, "Slice", [x.n.input[0]!, `${base}_starts`, `${base}_ends`, `${base}_axes`], `${base}_cropped`)
        : subNode(x, "Slice", [x.n.input[0]!], `${base}_cropped`, [attribute("starts", { ints: starts }), attribute("ends", { ints: ends }), attribute("axes", { ints: [2, 3] })]);
      return x.g.importNodes([
        slice,
        subNode(x, "Pad", [`${base}_cropped`, `${base}_pads`, `${base}_value`], x.n.output[0]!),
      ]);
    }
    const t = x.asImage(t0);
    const prev = t.pad ?? [0, 0, 0, 0], own: [number, number, number, number] = [pads[2]!, pads[6]!, pads[3]!, pads[7]!];
    // zeros wait to fold into the next conv / average pool; other values and modes are a pad layer
    // (after a pad layer of the zeros held before it, if any)
    if (mode === "constant" && value === 0) return x.out({ ...t, pad: [prev[0] + own[0], prev[1] + own[1], prev[2] + own[2], prev[3] + own[3]] });
    const base = prev.some((p) => p) ? withPadLayer(t, x.uniq("pad_zeros")) : t;
    // ONNX uses constant_value in mode constant only (onnxruntime ignores it in the others)
    x.out(withPadLayer(base, x.uniq("pad"), own, mode as "constant" | "edge" | "reflect", mode === "constant" ? value : 0));
  },
};

/** Values [b, b + size) of t's per-example axis k: an image's channels directly, otherwise rows in ONNX's order. */
function sliceData(x: ImportNode, t: TensorValue, k: number, b: number, size: number): TensorValue {
  const dims = [...t.onnx];
  dims[k] = size;
  if (isImage(t) && k === 0) {
    // channels: the last axis held
    const { reluOf: _, flatOf: __, ...rest } = t;
    return { ...rest, sym: x.apply(L.slice({ begin: b, size, name: x.uniq("slice") }), t.sym), onnx: dims };
  }
  // in ONNX's order: rows of everything from the axis on, a range of each
  const p = x.plain(t), inner = t.onnx.slice(k + 1).reduce((u, v) => u * v, 1), outer = t.onnx.slice(0, k).reduce((u, v) => u * v, 1);
  const rows = x.apply(L.reshape({ targetShape: [outer, t.onnx[k]! * inner], name: x.uniq("slice_rows") }), p.sym);
  const sym = x.apply(L.slice({ begin: b * inner, size: size * inner, name: x.uniq("slice") }), rows);
  return { kind: "tensor", sym, onnx: dims, ...(dims.length === 3 ? { plain: true as const } : {}) };
}

/** Slices of one index each along t's axis k, joined along it in order (data in ONNX's order). */
function joinParts(x: ImportNode, t: TensorValue, k: number, parts: TensorValue[]): TensorValue {
  const outer = t.onnx.slice(0, k).reduce((u, v) => u * v, 1), inner = t.onnx.slice(k + 1).reduce((u, v) => u * v, 1);
  const rows = parts.map((p) => x.apply(L.reshape({ targetShape: [outer, inner], name: x.uniq("gather_rows") }), x.plain(p).sym));
  const sym = rows.length === 1 ? rows[0]! : x.apply(L.concat({ name: x.uniq("gather") }), ...rows);
  const dims = [...t.onnx];
  dims[k] = parts.length;
  return { kind: "tensor", sym, onnx: dims, ...(dims.length === 3 ? { plain: true as const } : {}) };
}

/** Equal / Less / Greater / LessOrEqual / GreaterOrEqual of constants (shape arithmetic): 1 where true; of data: a binary layer. */
function compare(x: ImportNode): void {
  const [a, b] = [x.get(0), x.get(1)];
  if (a.kind === "tensor" && b.kind === "tensor") return binaryData(x, a, b);
  if (a.kind === "tensor") return binaryConstant(x, a, x.constant(1), false);
  if (b.kind === "tensor") return binaryConstant(x, b, x.constant(0), true);
  const f = ({ Equal: (p: number, q: number) => +(p === q), Less: (p: number, q: number) => +(p < q), Greater: (p: number, q: number) => +(p > q),
    LessOrEqual: (p: number, q: number) => +(p <= q), GreaterOrEqual: (p: number, q: number) => +(p >= q) } as Record<string, (p: number, q: number) => number>)[x.op]!;
  x.out(foldBinary(x.constant(0), x.constant(1), f, false) ?? x.fail("the shapes do not broadcast"));
}

function squeeze(x: ImportNode): void {
  const d = x.get(0), unsq = x.op === "Unsqueeze";
  const axes = axesOf(x);
  if (unsq && !axes) x.fail("axes are required");
  if (d.kind === "const") {
    // the same values under the dims the axes give (a per-channel [C] unsqueezed to [C, 1, 1] broadcasts over channels)
    const r = d.dims.length, out = unsq ? r + (axes?.length ?? 0) : r;
    const at = (axes ?? []).map((a) => (a < 0 ? a + out : a));
    if (at.some((a) => a < 0 || a >= out) || new Set(at).size !== at.length) x.fail(`axes [${(axes ?? []).join(", ")}] are not distinct axes of a rank-${out} tensor`);
    x.out({ kind: "const", dims: squeezed(x, d.dims, axes ? at : null, `the constant [${d.dims.join(", ")}]`), data: d.data });
    return;
  }
  const t = x.tensor(0);
  const lead = x.g.lead, inRank = x.rank(t.onnx), outRank = unsq ? inRank + (axes?.length ?? 0) : inRank - (axes?.length ?? t.onnx.filter((v) => v === 1).length);
  const norm = (axes ?? []).map((a) => (a < 0 ? a + (unsq ? outRank : inRank) : a) - lead);
  if (norm.includes(-1)) x.mixesBatch(`axes [${(axes ?? []).join(", ")}] include the batch axis; fovea keeps the examples of a batch first`);
  const dims = squeezed(x, t.onnx, axes ? norm : null, x.dims(t));
  // the values keep their order: the same data under new dims (an image is first put in ONNX's order)
  const p = isImage(t) || t.flatOf ? x.plain(t) : t;
  x.out({ ...p, onnx: dims, ...(dims.length === 3 ? { plain: true as const } : {}) });
}

/**
 * Unsqueeze's dims (a 1 inserted at each of `at`, axes of the result) or Squeeze's (the 1s at `at`
 * dropped, or every 1 where at is null) of `dims`; `what` names the input in an error.
 */
function squeezed(x: ImportNode, dims: readonly number[], at: readonly number[] | null, what: string): number[] {
  if (x.op === "Unsqueeze") {
    const out = [...dims];
    for (const a of [...at!].sort((p, q) => p - q)) out.splice(a, 0, 1);
    return out;
  }
  const drop = at ?? dims.flatMap((v, i) => (v === 1 ? [i] : []));
  if (drop.some((i) => dims[i] !== 1)) x.fail(`axes [${(axesOf(x) ?? []).join(", ")}] of ${what} are not all 1`);
  return dims.filter((_, i) => !drop.includes(i));
}

/** Flatten, and Reshape to a constant shape that keeps the batch axis first. */
function reshape(x: ImportNode): void {
  const c = x.get(0);
  if (c.kind === "const") {
    // shape arithmetic: the same values under new dims (0 copies a dim, -1 takes the rest)
    const n = c.data.length;
    let dims: number[];
    if (x.op === "Flatten") {
      const r = c.dims.length, ax0 = x.int("axis", 1), ax = ax0 < 0 ? ax0 + r : ax0;
      const lead = c.dims.slice(0, ax).reduce((p, q) => p * q, 1);
      dims = [lead, lead ? n / lead : 0];
    } else {
      const target = Array.from(x.constant(1).data), allowZero = x.int("allowzero", 0) === 1;
      const d = target.map((v, i) => (v === 0 && !allowZero ? c.dims[i] ?? x.fail(`shape [${target.join(", ")}] copies a dim the constant [${c.dims.join(", ")}] does not have`) : v));
      const known = d.filter((v) => v !== -1).reduce((p, q) => p * q, 1);
      dims = d.map((v) => (v === -1 ? n / known : v));
    }
    if (!dims.every((v) => Number.isSafeInteger(v) && v >= 0) || dims.reduce((p, q) => p * q, 1) !== n) x.fail(`cannot reshape a constant of ${n} values to [${dims.join(", ")}]`);
    return x.out({ kind: "const", dims, data: c.data });
  }
  const t = x.tensor(0);
  const rank = x.rank(t.onnx), size = t.onnx.reduce((a, b) => a * b, 1);
  let dims: number[];
  if (x.op === "Flatten") {
    const axis = x.int("axis", 1), a = axis < 0 ? axis + rank : axis;
    if (a < 0 || a > rank) x.fail(`axis ${axis} is outside [${-rank}, ${rank}] for a rank-${rank} input`);
    if (!x.g.lead) {
      // the whole input: [d0·…·d(a−1), da·…] as ONNX has it
      const outer = t.onnx.slice(0, a).reduce((p, q) => p * q, 1);
      dims = [outer, size / outer];
    } else if (a !== 1) x.mixesBatch(`axis ${axis} of a rank-${rank} input: only flattening after the batch axis (axis 1, or ${1 - rank}) keeps the examples of a batch apart`);
    else dims = [size];
  } else if (!x.g.lead) {
    // the whole input: the target is every axis (0 copies a dim unless allowzero, −1 takes the rest)
    const target = Array.from(x.constant(1).data), allowZero = x.int("allowzero", 0) === 1;
    const d = target.map((v, i) => (v === 0 && !allowZero ? t.onnx[i] ?? x.fail(`shape [${target.join(", ")}] copies dim ${i}, which the input ${x.dims(t)} does not have`) : v));
    if (d.filter((v) => v === -1).length > 1 || d.some((v) => v < -1)) x.fail(`shape [${target.join(", ")}]: at most one -1 and sizes >= 0`);
    const known = d.filter((v) => v !== -1).reduce((p, q) => p * q, 1);
    dims = d.map((v) => (v === -1 ? size / known : v));
    if (!dims.every((v) => Number.isInteger(v) && v >= 1) || dims.reduce((p, q) => p * q, 1) !== size) x.fail(`cannot reshape ${x.dims(t)} (${size} values) to [${target.join(", ")}]`);
  } else {
    if (x.opset < 5) x.fail("the shape attribute form (opsets < 5) is not supported");
    const tc = x.constant(1), target = Array.from(tc.data), allowZero = x.int("allowzero", 0) === 1;
    const first = target[0];
    const rest = target.slice(1).map((d, i) => (d === 0 && !allowZero ? (t.onnx[i] ?? x.fail(`shape [${target.join(", ")}] copies dim ${i + 1}, which the input [N, ${t.onnx.join(", ")}] does not have`)) : d));
    const known = rest.filter((d) => d !== -1).reduce((a, b) => a * b, 1);
    const keepsBatch = first === N || (first === 0 && !allowZero) || (first === x.g.batch && first !== null) || (first === -1 && !rest.includes(-1) && known === size);
    // N, or a size computed from it (N·3 for x.view(x.shape[0] * 3, …)): not numbers of the file's
    const show = target.map((d) => (d === N ? "N" : tc.batch && d < -1 ? "(a size computed from N)" : d)).join(", ");
    if (!keepsBatch) x.mixesBatch(`reshape of [N, ${t.onnx.join(", ")}] to [${show}] does not keep the batch axis first; fovea keeps the examples of a batch apart`);
    if (rest.filter((d) => d === -1).length > 1 || rest.some((d) => d < -1 || d === N)) x.fail(`shape [${show}]: at most one -1 and sizes >= 0`);
    dims = rest.map((d) => (d === -1 ? size / known : d));
    if (!dims.every((d) => Number.isInteger(d) && d >= 1) || dims.reduce((a, b) => a * b, 1) !== size) x.fail(`cannot reshape [N, ${t.onnx.join(", ")}] (${size} values each) to [${show}]`);
  }
  if (dims.length === 1 && isImage(t)) {
    // an image flattened: fovea's HWC order; the Gemm after permutes its weights (a 1×1 image is the same either way)
    const [C, H, W] = t.onnx as [number, number, number];
    const sym = x.apply(L.flatten({ name: x.uniq("flatten") }), t.sym);
    x.out({ kind: "tensor", sym, onnx: dims, ...(H * W > 1 ? { flatOf: [C, H, W] as [number, number, number] } : {}) });
    return;
  }
  if (dims.length === 1 && t.flatOf) return x.out({ ...t, onnx: dims });
  // the same values in ONNX's order under new dims: no data moves
  const p = isImage(t) || t.flatOf ? x.plain(t) : t;
  const { reluOf: _, ...rest } = p;
  x.out({ ...rest, onnx: dims, ...(dims.length === 3 ? { plain: true as const } : {}) });
}

/** An image [H, W, C] as fovea holds it, reshaped to `held`, its axes moved by `perm`, then the image [onnx[1], onnx[2], onnx[0]]. */
function moveBlocks(x: ImportNode, t: TensorValue, held: number[], perm: number[], onnx: [number, number, number], what: string): TensorValue {
  const [C, H, W] = onnx;
  const cube = x.apply(L.reshape({ targetShape: held, name: x.uniq(`${what}_in`) }), t.sym);
  const moved = x.apply(L.permute({ perm, name: x.uniq(what) }), cube);
  return { kind: "tensor", sym: x.apply(L.reshape({ targetShape: [H, W, C], name: x.uniq(`${what}_out`) }), moved), onnx };
}

/** The other way: a value in fovea's order back to the convention (an image to NCHW). */
const toOnnxOrder = (x: ExportNode, v: string, shape: readonly number[]): string => (shape.length === 3 ? x.op("Transpose", [v], { perm: [0, 3, 1, 2] }) : v);

const flattenExport: Exporter = (x) => {
  const inS = x.node.inShapes[0]!, outS = x.node.outShape;
  // a vector [C] as the image [1, 1, C] (a pooled vector going into a 1×1 conv): [N, C, 1, 1] in ONNX
  if (x.layer.type === "reshape" && inS.length === 1 && outS.length === 3 && outS[0] === 1 && outS[1] === 1 && !x.inputFlatOf[0]) return { out: x.op("Reshape", [x.inputs[0]!, x.init([4], [0, outS[2]!, 1, 1], "i64")]) };
  if (x.layer.type === "flatten" || (outS.length === 1 && inS.length === 3)) {
    return {
      out: inS.length === 1 ? x.inputs[0]! : x.op("Flatten", [x.inputs[0]!], { axis: 1 }),
      flatOf: inS.length === 3 && inS[0]! * inS[1]! > 1 ? [inS[2]!, inS[0]!, inS[1]!] : inS.length === 1 ? x.inputFlatOf[0] : null,
    };
  }
  // any other reshape: in fovea's order, then back to ONNX's convention
  const v = x.op("Reshape", [toFoveaOrder(x, x.inputs[0]!, inS, x.inputFlatOf[0] ?? null), x.init([outS.length + 1], [0, ...outS], "i64")]);
  return { out: toOnnxOrder(x, v, outS) };
};

/** The exporters that take features flattened from an image as ONNX holds them (CHW order): flatten and reshape reorder them, dropout passes them on. */
export const flatAware = ["flatten", "reshape", "dropout"];

export const exporters: Record<string, Exporter> = {
  constant(x) {
    // the value repeated for every example: Expand to [N, …] with N from the input's Shape
    const shape = (x.layer as Constant).shape;
    let v = x.w("value"), dims = [...shape];
    if (shape.length === 3) {
      // an image [H, W, C] as fovea holds it → [C, H, W]
      const [H, W, C] = shape as [number, number, number];
      v = hwcToChw(v, H, W, C);
      dims = [C, H, W];
    }
    const batch = x.op("Slice", [x.op("Shape", [x.inputs[0]!]), x.init([1], [0], "i64"), x.init([1], [1], "i64")]);
    const target = x.op("Concat", [batch, x.init([dims.length], dims, "i64")], { axis: 0 });
    return { out: x.op("Expand", [x.init([1, ...dims], v), target]) };
  },
  where(x) {
    // the condition to bool (≠ 0), then Where, each operand broadcast as the binary layer's are (operand())
    const out = x.node.outShape, [c, a, b] = x.node.inShapes.map((s, k) => operand(x, x.inputs[k]!, s, out)) as [string, string, string];
    return { out: x.op("Where", [x.op("Cast", [c], { to: 9 }), a, b]) };
  },
  flatten: flattenExport,
  slice(x) {
    // fovea's last axis: the channels of an image (axis 1 of NCHW), else the last axis as it is
    const l = x.layer as SliceLayer, s = x.node.inShapes[0]!;
    const axis = s.length === 3 ? 1 : s.length;
    return { out: x.op("Slice", [x.inputs[0]!, x.init([1], [l.begin], "i64"), x.init([1], [l.begin + l.size], "i64"), x.init([1], [axis], "i64")]) };
  },
  reshape: flattenExport,
  permute(x) {
    // ONNX's images are NCHW: the model's leading NCHW → NHWC permute and an imported model's
    // closing NHWC → NCHW one (its output in the file's layout) export as nothing
    const p = (x.layer as Permute).perm, perm = p.join();
    if (x.leadingPermute || (x.last && perm === "2,0,1")) return { out: x.inputs[0]! };
    // any other: a Transpose in fovea's order, between the layout conversions
    const v = x.op("Transpose", [toFoveaOrder(x, x.inputs[0]!, x.node.inShapes[0]!, x.inputFlatOf[0] ?? null)], { perm: [0, ...p.map((a) => a + 1)] });
    return { out: toOnnxOrder(x, v, x.node.outShape) };
  },
  dropout: (x) => ({ out: x.inputs[0]!, flatOf: x.inputFlatOf[0] }),
  pad(x) {
    const l = x.layer as PadLayer, [t, b, le, r] = l.padding;
    const ins = [x.inputs[0]!, x.init([8], [0, 0, t, le, 0, 0, b, r], "i64")];
    if (l.mode === "constant") ins.push(x.init([], [l.value]));
    return { out: x.op("Pad", ins, { mode: { s: l.mode } }) };
  },
};
