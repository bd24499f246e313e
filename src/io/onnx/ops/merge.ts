// Add / Sub / Mul / Div / Pow: of two computed tensors of one shape (Add: residual connections ⇄
// add; Mul ⇄ multiply, also by one value per channel), of a tensor and a constant that is a scalar
// or one value per channel or per index of the last axis (→ a scale layer), and otherwise — any
// numpy broadcasting that keeps the batch axis apart, Pow, a constant divided by a tensor — the
// binary layer (⇄ the op itself). Concat: of constants (shape arithmetic, folded), or of tensors on
// the channel axis ⇄ concat, a constant among them a constant layer. maxout exports as Reshape + ReduceMax.
import * as L from "../../../layers/index.js";
import type { Maxout } from "../../../layers/activation.js";
import type { Binary } from "../../../layers/binary.js";
import { broadcastShape, type BinaryOp } from "../../../ops/eltwise.js";
import { attribute, fixedAffine, learnedMark, learnedOf, parameterOf, scaleOver, sourceMark, subNode, toFoveaOrder, type ExportNode, type Exporter, type ImportNode, type Importer, type Rewrite, type RewriteContext } from "../context.js";
import { N, isImage, same, type ConstValue, type OnnxNode, type TensorValue } from "../model.js";
import { foldBinary } from "../fold.js";
import { chwToHwc, hwcRowOfChwFeature, hwcToChw } from "../../layouts.js";

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

/** The data of t in ONNX's order, its symbolic shape its ONNX dims ([1] for one number per example). */
function held(x: ImportNode, t: TensorValue): TensorValue {
  const p = x.plain(t), d = t.onnx.length ? t.onnx : [1];
  return same([...p.sym.shape], d) ? p : { ...p, sym: x.apply(L.reshape({ targetShape: d, name: x.uniq("binary_in") }), p.sym) };
}

/**
 * The binary layer's op for x's ONNX op (see ONNX_BINARY): ONNX's Div of integer tensors (a graph
 * input the file declares integer, or a value computed from one: ImportNode.outAt) truncates: idiv;
 * Mod is mod (fmod 0) or fmod (fmod 1).
 */
const binaryOp = (x: ImportNode, ...ts: TensorValue[]): BinaryOp =>
  x.op === "Div" && ts.some((t) => t.int) ? "idiv" : x.op === "Mod" ? (x.int("fmod", 0) === 1 ? "fmod" : "mod")
    : ((Object.entries(ONNX_BINARY).find(([, o]) => o === x.op)?.[0] ?? x.op.toLowerCase()) as BinaryOp);

/** Python's % (the remainder with the divisor's sign; 0 for a divisor of 0, as numpy's integer %) and C's fmod (the dividend's sign). */
const remainder = (p: number, q: number) => {
  const r = p % q;
  return q === 0 ? 0 : r !== 0 && r < 0 !== q < 0 ? r + q : r;
};

/**
 * Mod: fmod 0, Python's % of integers (keypoint decoding's `idx % W` of an ArgMax), or fmod 1, C's
 * fmod (which ONNX requires of floats): of constants folded, of data the binary layer's mod / fmod.
 * fmod 0 of float data is a FormatError, as ONNX's schema has it (onnxruntime refuses it too).
 */
const modulo: Importer = (x) => {
  const [a, b] = [x.get(0), x.get(1)], fmod = x.int("fmod", 0);
  if (fmod !== 0 && fmod !== 1) x.fail(`fmod ${fmod}: 0 or 1`);
  const isFloat = (v: ConstValue | TensorValue) => (v.kind === "const" ? v.data instanceof Float32Array : !v.int);
  if (fmod === 0 && (isFloat(a) || isFloat(b))) x.fail("fmod 0 (the remainder with the divisor's sign) is for integer inputs; ONNX's Mod of floats takes fmod 1");
  if (a.kind === "const" && b.kind === "const") {
    x.out(foldBinary(a, b, fmod ? (p, q) => p % q : remainder, fmod === 1) ?? x.fail(`shapes [${a.dims.join(", ")}] and [${b.dims.join(", ")}] do not broadcast`));
    return;
  }
  if (a.kind === "tensor" && b.kind === "tensor") return binaryData(x, a, b);
  const t = a.kind === "tensor" ? 0 : 1;
  binaryConstant(x, x.tensor(t), x.value(x.constant(1 - t)), t === 1);
};

/** And / Or / Xor of booleans (held as 1 and 0): the Min, Max and Not-of-Equal they equal, of constants folded with them. */
const logical: Importer = (x) => {
  legacyBroadcast(x, x.get(0), x.get(1));
  const [a, b] = [x.n.input[0]!, x.n.input[1]!], out = x.n.output[0]!;
  if (x.op !== "Xor") return x.g.importNodes([subNode(x, x.op === "And" ? "Min" : "Max", [a, b], out)]);
  x.g.importNodes([subNode(x, "Equal", [a, b], `${out}#equal`), subNode(x, "Not", [`${out}#equal`], out)]);
};

/** a op b by the binary layer, numpy broadcasting per example (both operands computed: the same rank, so the batch axes meet). */
export function binaryData(x: ImportNode, a0: TensorValue, b0: TensorValue): void {
  if (x.g.lead && a0.onnx.length !== b0.onnx.length) x.mixesBatch(`shapes ${x.dims(a0)} and ${x.dims(b0)} of different ranks: the lower one's batch axis would meet an axis of the other's examples; fovea keeps the examples of a batch apart`);
  const dims = broadcastShape(a0.onnx, b0.onnx) ?? x.fail(`shapes ${x.dims(a0)} and ${x.dims(b0)} do not broadcast`);
  if (a0.flatOf && b0.flatOf && same(a0.flatOf, b0.flatOf)) {
    // features flattened from the same image, both held in HWC order: elementwise, they stay so
    return x.out({ kind: "tensor", sym: x.apply(L.binary({ op: binaryOp(x, a0, b0), name: x.uniq(x.op.toLowerCase()) }), a0.sym, b0.sym), onnx: dims, flatOf: a0.flatOf });
  }
  const [a, b] = [held(x, a0), held(x, b0)];
  const sym = x.apply(L.binary({ op: binaryOp(x, a0, b0), name: x.uniq(x.op.toLowerCase()) }), a.sym, b.sym);
  x.out({ kind: "tensor", sym, onnx: dims, ...(dims.length === 3 ? { plain: true as const } : {}) });
}

/**
 * A constant of data's rank against data whose axis 0 is the batch: every example's part, its dims
 * past the batch axis. Its batch axis is 1, or the file's fixed batch with every example's part the
 * same (a coordinate map expanded to the batch and folded at export); else it would differ from
 * example to example.
 */
function perExample(x: ImportNode, c: ConstValue, beside: TensorValue): ConstValue {
  const B = c.dims[0]!, inner = c.data.length / Math.max(B, 1);
  const same = B === 1 || (B === x.g.batch && Array.prototype.every.call(c.data, (v: number, i: number) => Object.is(v, c.data[i % inner])));
  if (!same) x.mixesBatch(`a constant of shape [${c.dims.join(", ")}] varies along the batch axis of ${x.dims(beside)}; fovea keeps the examples of a batch apart`);
  return { ...c, dims: c.dims.slice(1), data: c.data.slice(0, inner) };
}

/** t op c (or c op t) by the binary layer with c as its constant: c broadcast per example (its batch axis, if it has one, of 1). */
export function binaryConstant(x: ImportNode, t0: TensorValue, c0: ConstValue, constFirst: boolean, op: BinaryOp = binaryOp(x, t0)): void {
  const c1 = x.value(c0), rank = x.rank(t0.onnx), lead = x.g.lead;
  if (lead && c1.dims.length > rank) x.mixesBatch(`a constant of shape [${c1.dims.join(", ")}] has more axes than ${x.dims(t0)}: the batch axis would meet one of its axes`);
  const c = lead && c1.dims.length === rank ? perExample(x, c1, t0) : c1, cd = c.dims;
  const dims = broadcastShape(t0.onnx, cd) ?? x.fail(`shapes ${x.dims(t0)} and [${c1.dims.join(", ")}] do not broadcast`);
  const lname = x.uniq(x.op.toLowerCase());
  // features flattened from an image, held in HWC order, stay so: a per-feature constant's values go to their HWC places
  const flat = t0.flatOf && same(dims, t0.onnx) && (c.data.length === 1 || same(cd, t0.onnx)) ? t0.flatOf : null;
  const k = Float32Array.from(c.data);
  if (flat && k.length > 1) c.data.forEach((v, f) => (k[hwcRowOfChwFeature(f, ...flat)] = v));
  const t = flat ? t0 : held(x, t0);
  const sym = x.apply(L.binary({ op, constantShape: cd.length ? cd : [1], ...(constFirst ? { constantFirst: true } : {}), name: lname }), t.sym);
  x.weight(lname, "constant", k);
  x.out({ kind: "tensor", sym, onnx: dims, ...(flat ? { flatOf: flat } : dims.length === 3 ? { plain: true as const } : {}) });
}

const FOLD: Record<string, (p: number, q: number) => number> = {
  Add: (p, q) => p + q, Sub: (p, q) => p - q, Mul: (p, q) => p * q, Pow: (p, q) => (p === 1 ? 1 : p ** q), // (1 ** NaN is NaN in JavaScript, 1 in C's pow)
  Div: (p, q) => p / q, Max: Math.max, Min: Math.min,
};

/**
 * Before opset 7, Add / Sub / Mul / Div / Pow with broadcast = 1 and an `axis` line B's dims up with
 * A's from that axis (B [C] at axis 1 of A [N, C, H, W]: per channel); numpy broadcasting, which
 * fovea does, lines them up from the right. Refused where the two differ rather than computed the
 * numpy way (onnxruntime runs no opset-6 Add at all).
 */
function legacyBroadcast(x: ImportNode, a: ConstValue | TensorValue, b: ConstValue | TensorValue): void {
  if (x.opset >= 7 || x.int("broadcast", 0) !== 1 || !x.attr("axis")) return;
  const rank = (v: ConstValue | TensorValue) => (v.kind === "const" ? v.dims.length : x.rank(v.onnx));
  const show = (v: ConstValue | TensorValue) => (v.kind === "const" ? `[${v.dims.join(", ")}]` : x.dims(v));
  const given = x.int("axis", 0), axis = given < 0 ? given + rank(a) : given;
  if (axis !== rank(a) - rank(b)) x.fail(`broadcast = 1 with axis ${given} (opset ${x.opset}) lines B ${show(b)} up with A ${show(a)} from axis ${axis}, not from the right as numpy broadcasting does; this legacy broadcasting is not supported (convert the model to opset 7 or later)`);
}

const arithmetic: Importer = (x) => {
  const [a0, b0] = [x.get(0), x.get(1)];
  legacyBroadcast(x, a0, b0);
  if (a0.kind === "const" && b0.kind === "const") {
    // shape arithmetic: float if either is, integer division truncating as ONNX's integer Div does
    const float = a0.data instanceof Float32Array || b0.data instanceof Float32Array;
    const f = x.op === "Div" && !float ? (p: number, q: number) => Math.trunc(p / q) : FOLD[x.op]!;
    x.out(foldBinary(a0, b0, f, float) ?? x.fail(`shapes [${a0.dims.join(", ")}] and [${b0.dims.join(", ")}] do not broadcast`));
    return;
  }
  if (a0.kind === "tensor" && b0.kind === "tensor") {
    const perChannel = (img: TensorValue, v: TensorValue) => img.onnx.length === 3 && v.onnx[0] === img.onnx[0] && v.onnx.slice(1).every((d) => d === 1) && !v.flatOf;
    if (x.op === "Mul" && (a0.onnx.join() === b0.onnx.join() || perChannel(a0, b0) || perChannel(b0, a0))) return multiply(x, a0, b0);
    if ((x.op !== "Add" && x.op !== "Sub") || a0.onnx.join() !== b0.onnx.join()) return binaryData(x, a0, b0);
    const [a, b] = alike(x, [a0, b0]) as [TensorValue, TensorValue];
    let bs = b.sym;
    if (x.op === "Sub") bs = fixedAffine(x, bs, -1, 0, "negate");
    const { reluOf: _, ...rest } = a;
    x.out({ ...rest, sym: x.apply(L.add({ name: x.uniq("add") }), a.sym, bs) });
    return;
  }
  // a tensor and a constant that is a scalar or broadcasts along one axis — the channels (images,
  // features) or the last axis: a scale layer over the axis held last
  const tIdx = a0.kind === "tensor" ? 0 : 1;
  const t0 = x.tensor(tIdx), c = x.value(x.constant(1 - tIdx));
  // Pow, Max, Min, a constant divided by data, and integer division (it truncates) by the binary layer
  if (x.op === "Pow" || x.op === "Max" || x.op === "Min" || (x.op === "Div" && (tIdx === 1 || t0.int))) return binaryConstant(x, t0, c, tIdx === 1);
  const rank = x.rank(t0.onnx), lead = x.g.lead;
  if (c.dims.length > rank) return binaryConstant(x, t0, c, tIdx === 1); // the constant adds axes
  const cd = [...c.dims];
  while (cd.length < rank) cd.unshift(1); // numpy broadcasting aligns from the right
  const along = (k: number) => cd.every((d, i) => (i === k ? d === t0.onnx[k - lead] : d === 1));
  let t: TensorValue, order: ((i: number) => number) | null = null;
  // a learned value per channel of a sequence [C, L] (InstanceNorm1d's, GroupNorm's affine): a scale over
  // its channels held last, as the 1-D ops hold a sequence (ImportNode.windowInput), so that it trains
  const seq = c.data.length > 1 && along(lead) && t0.onnx.length === 2 && learnedOf(x.n) === true;
  if (c.data.length === 1) t = t0;
  else if (seq) t = x.windowInput(t0);
  else if (along(lead) && (isImage(t0) || t0.onnx.length === 3)) t = x.asImage(t0);
  else if (along(rank - 1)) {
    t = t0.flatOf ? t0 : x.plain(t0);
    // features flattened from an image are held in HWC order: constant i (CHW order) goes to its HWC place
    if (t0.flatOf) {
      const [Ci, H, W] = t0.flatOf;
      order = (i) => (i % (H * W)) * Ci + Math.floor(i / (H * W));
    }
  } else return binaryConstant(x, t0, c, tIdx === 1);
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
    } else sc[i] = 1 / v(i);
  }
  // a learned constant (learnedMark: an InstanceNorm's affine, a Linear's bias) trains: one value for
  // all (an InstanceNorm2d of one channel) as one parameter (scaleOver)
  const learned = learnedOf(x.n) === true, one = learned && c.data.length === 1;
  const trainable = learned ? [x.op === "Mul" ? ("scale" as const) : ("shift" as const)] : [];
  if (learned) x.g.trained.add(x.n.output[0]!);
  const { reluOf: _, ...rest } = t;
  // (a parameter two such nodes read the same way is one tensor: their layers are tied. A learned node is
  // a Mul or an Add, whose trained scale or shift holds the constant's values as they are: a Mul and an Add
  // of one tensor tie too)
  const from = learned ? x.source(1 - tIdx, `scale ${C} ${one} ${t0.flatOf?.join(" ") ?? ""} ${seq}`) : undefined;
  const out = { ...rest, sym: scaleOver(x, t.sym, one ? sc.subarray(0, 1) : sc, one ? sh.subarray(0, 1) : sh, trainable, "scale", from) };
  if (seq) x.windowOut(out);
  else x.out(out);
};

/**
 * Mul and Add by the module's parameters are marked learned (learnedMark), so that fine-tuning
 * trains them: a constant named as PyTorch names parameters (`….weight`, `….bias`: a custom
 * module's `x * self.weight`, fovea's own export of a trained scale), and the bias PyTorch's Linear
 * over data of rank 3 or more (a sequence's features) adds after its MatMul by the weight, and one
 * importOnnx's `trainable` names. Other constants stay fixed: the file does not say which were
 * learned. The scale layer that takes a marked node's constant records the node (ImportGraph.trained).
 */
function learnedArithmetic(n: OnnxNode, c: RewriteContext): OnnxNode | null {
  // (a norm's affine is marked by its own family's rewrite, which runs first)
  if ((n.opType !== "Mul" && n.opType !== "Add") || n.input.length !== 2 || learnedOf(n) !== null) return null;
  for (const [i, j] of [[0, 1], [1, 0]] as const) {
    const init = parameterOf(c, n.input[j]);
    if (init !== null && c.producer(n.input[i]!)?.opType !== "Constant") return { ...n, attribute: [...n.attribute, learnedMark(true), sourceMark(init)] };
  }
  return null;
}

export const rewrites: Rewrite[] = [(nodes, c) => nodes.map((n) => learnedArithmetic(n, c) ?? n)];


/**
 * Max / Min / Sum / Mean of any number of inputs with numpy broadcasting: of constants, folded; of
 * one tensor, that tensor; else a chain of binary layers (max, min) or additions (sum, mean), the
 * mean then scaled by 1/n.
 */
const variadic: Importer = (x) => {
  if (x.inputs === 2 && (x.op === "Max" || x.op === "Min")) return arithmetic(x);
  const vs = Array.from({ length: x.inputs }, (_, i) => x.get(i));
  if (vs.length === 0) x.fail(`no inputs (a ${x.op} takes one or more)`);
  const f = { Max: Math.max, Min: Math.min, Sum: (p: number, q: number) => p + q, Mean: (p: number, q: number) => p + q }[x.op]!;
  if (vs.every((v) => v.kind === "const")) {
    let acc = vs[0] as ConstValue;
    for (const v of vs.slice(1)) acc = foldBinary(acc, v as ConstValue, f, acc.data instanceof Float32Array || (v as ConstValue).data instanceof Float32Array) ?? x.fail(`shapes [${acc.dims.join(", ")}] and [${(v as ConstValue).dims.join(", ")}] do not broadcast`);
    if (x.op === "Mean") acc = foldBinary(acc, { kind: "const", dims: [], data: Float32Array.of(vs.length) }, (p, q) => p / q, true)!;
    return x.out(acc);
  }
  if (vs.length === 1) return x.out(vs[0]!);
  // a chain of two-input nodes over named intermediate values, each imported as Max / Min / Add is
  const op = x.op === "Max" || x.op === "Min" ? x.op : "Add", base = `${x.n.output[0]}#${x.op.toLowerCase()}`;
  const node = (opType: string, input: string[], output: string) => subNode(x, opType, input, output);
  let acc = x.n.input[0]!;
  const last = x.op === "Mean" ? `${base}_sum` : x.n.output[0]!;
  for (let i = 1; i < vs.length; i++) {
    const out = i === vs.length - 1 ? last : `${base}${i}`;
    x.g.importNodes([node(op, [acc, x.n.input[i]!], out)]);
    acc = out;
  }
  if (x.op === "Mean") {
    x.g.values.set(`${base}_inv`, { kind: "const", dims: [], data: Float32Array.of(1 / vs.length) });
    x.g.importNodes([node("Mul", [acc, `${base}_inv`], x.n.output[0]!)]);
  }
};

/**
 * Neg (−x: Mul by −1), Reciprocal (1 / x: Div of 1), Abs (Max(x, −x): its gradient at 0 is 0) and
 * ThresholdedRelu (x · (x > α)) of data, as the nodes they equal; of a constant, folded.
 */
const unaryArith: Importer = (x) => {
  const v = x.get(0), alpha = x.flt("alpha", 1), f = { Neg: (p: number) => -p, Reciprocal: (p: number) => 1 / p, Abs: Math.abs, ThresholdedRelu: (p: number) => (p > alpha ? p : 0) }[x.op]!;
  if (v.kind === "const") return x.out({ kind: "const", dims: v.dims, data: v.data instanceof Float32Array ? Float32Array.from(v.data, f) : Array.from(v.data, f) });
  const base = `${x.n.output[0]}#${x.op.toLowerCase()}`, src = x.n.input[0]!;
  const node = (opType: string, input: string[], output: string) => subNode(x, opType, input, output);
  // the constant each takes: 1 / x, x · −1, x > α (Abs: Max(x, x · −1))
  x.g.values.set(`${base}_k`, { kind: "const", dims: [], data: Float32Array.of(x.op === "Reciprocal" ? 1 : x.op === "ThresholdedRelu" ? alpha : -1) });
  if (x.op === "Reciprocal") return x.g.importNodes([node("Div", [`${base}_k`, src], x.n.output[0]!)]);
  if (x.op === "Neg") return x.g.importNodes([node("Mul", [src, `${base}_k`], x.n.output[0]!)]);
  if (x.op === "ThresholdedRelu") {
    // x where x > α, else 0: x · (x > α), whose gradient is 1 where x > α
    return x.g.importNodes([node("Greater", [src, `${base}_k`], `${base}_gate`), node("Mul", [src, `${base}_gate`], x.n.output[0]!)]);
  }
  x.g.importNodes([node("Mul", [src, `${base}_k`], `${base}_neg`), node("Max", [src, `${base}_neg`], x.n.output[0]!)]);
};

/**
 * Expand (x broadcast to a shape, numpy's rules as ONNX has them): of a constant, folded; of data,
 * x · 1 over ones of that shape (the same values, bit for bit), the batch axis's entry as 1 — what
 * PyTorch writes for expand_as / expand, as squeeze-and-excitation gates often are.
 */
const expand: Importer = (x) => {
  const v = x.get(0), s = x.constant(1);
  const shape = Array.from(s.data, Number);
  if (s.dims.length !== 1) x.fail(`the shape must be a list of sizes, got a constant of shape [${s.dims.join(", ")}]`);
  // (a file's shape is numbers it chose: the ones are bounded before they are made)
  const onesOf = (dims: number[]): ConstValue => {
    const count = dims.reduce((a, b) => a * b, 1);
    if (!(count <= 1 << 26)) x.fail(`shape [${shape.join(", ")}] makes ${count} values; at most 2^26`);
    return { kind: "const", dims, data: new Float32Array(count).fill(1) };
  };
  if (v.kind === "const") {
    // a constant expanded over the (symbolic) batch: the same values in every example, its batch axis 1
    const dims = shape.map((d, i) => (i === 0 && d === N ? 1 : d));
    if (dims.some((d) => !(Number.isInteger(d) && d >= 0))) x.fail(`shape [${shape.join(", ")}]: sizes must be whole numbers >= 0`);
    return x.out(foldBinary(v, onesOf(dims), (p, q) => p * q, v.data instanceof Float32Array) ?? x.fail(`[${v.dims.join(", ")}] does not broadcast to [${shape.join(", ")}]`));
  }
  const lead = x.g.lead, rank = v.onnx.length + lead;
  if (shape.length > rank && lead) x.mixesBatch(`shape [${shape.join(", ")}] has more axes than ${x.dims(v)}: the batch axis would meet one of them; fovea keeps the examples of a batch apart`);
  // the batch axis's entry (a symbolic N, 1 or the file's batch) broadcasts as 1: the examples stay
  // apart; any other number makes that many examples of each (x.expand(2, C, H, W) of one)
  const e = shape[0]!;
  if (lead && shape.length === rank && !(e === N || e === 1 || e === x.g.batch)) x.mixesBatch(`shape [${shape.map((d) => (d === N ? "N" : d)).join(", ")}] makes ${e} examples of ${x.g.batch === null ? "each" : `the file's batch of ${x.g.batch}`}; fovea keeps the examples of a batch apart`);
  const dims = shape.map((d, i) => (lead && shape.length === rank && i === 0 ? 1 : d));
  const bad = dims.findIndex((d) => !(Number.isInteger(d) && d >= 1));
  if (bad >= 0) x.fail(`shape [${shape.join(", ")}]: entry ${bad} is ${shape[bad]}; sizes >= 1 are supported`);
  // ones of no more axes, none longer than the input's (torch's repeat writes them before its Tile): the input itself
  if (dims.length <= rank && dims.every((d) => d === 1)) return x.out(v);
  const ones = `${x.n.output[0]}#expand_ones`;
  x.g.values.set(ones, onesOf(dims));
  x.g.importNodes([subNode(x, "Mul", [x.n.input[0]!, ones], x.n.output[0]!)]);
};

/**
 * Tile (x repeated along its axes): of a constant, folded; of data, a Concat of that many copies
 * along each axis repeated (torch's `repeat` / `tile`), handed back to importNodes. The batch
 * axis's entry must be 1: more copies of it would mix the examples of a batch.
 */
const tile: Importer = (x) => {
  const v = x.get(0), r = x.constant(1), rank = v.kind === "const" ? v.dims.length : v.onnx.length + x.g.lead;
  // a constant of batch 1 repeated over the symbolic batch (p.repeat(x.shape[0], 1, …)): the same values in every example, its batch axis 1
  const reps = Array.from(r.data, (n, i) => (i === 0 && n === N && x.g.lead && v.kind === "const" && v.dims[0] === 1 ? 1 : Number(n)));
  if (v.kind !== "const" && x.g.lead && reps[0] === N) x.mixesBatch(`repeats [N, ${reps.slice(1).join(", ")}] repeat each example as many times as the batch has examples; fovea keeps the examples of a batch apart`);
  if (r.dims.length !== 1 || reps.length !== rank) x.fail(`repeats [${reps.join(", ")}] must be one whole number >= 1 per axis of the rank-${rank} input`);
  const bad = reps.findIndex((n) => !(Number.isInteger(n) && n >= 1));
  if (bad >= 0) x.fail(`repeats [${reps.join(", ")}]: entry ${bad} is ${reps[bad]}; whole numbers >= 1 are supported`);
  // (a file's repeats are numbers it chose: their product is bounded before anything is made)
  const count = (v.kind === "const" ? v.dims : v.onnx).reduce((a, d) => a * d, 1) * reps.reduce((a, n) => a * n, 1);
  if (!(count <= 1 << 26) || reps.some((n) => n > 1 << 16)) x.fail(`repeats [${reps.join(", ")}] of ${v.kind === "const" ? `[${v.dims.join(", ")}]` : x.dims(v)} make ${count} values${v.kind === "const" ? "" : " an example"}; at most 2^26, each repeat at most 2^16`);
  if (v.kind === "const") {
    // an integer constant stays integer (number[]: a later Div truncates, values past 2^24 stay exact)
    const dims = v.dims.map((d, i) => d * reps[i]!);
    const data = v.data instanceof Float32Array ? new Float32Array(count) : new Array<number>(count);
    const idx = dims.map(() => 0);
    for (let o = 0; o < data.length; o++) {
      let from = 0;
      for (let k = 0; k < rank; k++) from = from * v.dims[k]! + (idx[k]! % v.dims[k]!);
      data[o] = v.data[from]!;
      for (let k = rank - 1; k >= 0 && ++idx[k]! === dims[k]; k--) idx[k] = 0;
    }
    return x.out({ kind: "const", dims, data });
  }
  if (x.g.lead && reps[0] !== 1) x.mixesBatch(`repeats [${reps.join(", ")}] repeat the batch axis; fovea keeps the examples of a batch apart`);
  let from = x.n.input[0]!;
  const last = reps.reduce((a, n, i) => (n > 1 ? i : a), -1);
  if (last < 0) return x.g.importNodes([subNode(x, "Identity", [from], x.n.output[0]!)]);
  reps.forEach((n, axis) => {
    if (n === 1) return;
    const to = axis === last ? x.n.output[0]! : `${x.n.output[0]}#tile${axis}`;
    x.g.importNodes([subNode(x, "Concat", Array<string>(n).fill(from), to, [attribute("axis", { i: axis })])]);
    from = to;
  });
};

/** Constants joined along the node's axis (ONNX's Concat: the same rank, equal sizes but along the axis); float if any of them is. */
function concatConstants(x: ImportNode, cs: ConstValue[]): ConstValue {
  const r = cs[0]!.dims.length, given = x.int("axis", 0), axis = given < 0 ? given + r : given;
  if (!(axis >= 0 && axis < r)) x.fail(`axis ${given} is outside the constants' ${r} axes`);
  if (cs.some((c) => c.dims.length !== r || c.dims.some((d, i) => i !== axis && d !== cs[0]!.dims[i]))) x.fail(`constants of shapes ${cs.map((c) => `[${c.dims.join(", ")}]`).join(", ")} do not join on axis ${given}`);
  const dims = [...cs[0]!.dims];
  dims[axis] = cs.reduce((a, c) => a + c.dims[axis]!, 0);
  // each constant as rows of everything from the axis on, joined row by row
  const outer = dims.slice(0, axis).reduce((a, d) => a * d, 1), data: number[] = [];
  for (let o = 0; o < outer; o++) {
    for (const c of cs) {
      const inner = c.dims.slice(axis).reduce((a, d) => a * d, 1);
      for (let i = o * inner; i < (o + 1) * inner; i++) data.push(c.data[i]!);
    }
  }
  return { kind: "const", dims, data: cs.some((c) => c.data instanceof Float32Array) ? Float32Array.from(data) : data };
}

/**
 * A constant used as data (joined to data, a Where's operand): the same values in every example, a
 * constant layer placed in the graph by `beside`. Its batch axis, where the graph has one, is 1. An
 * image [C, H, W] is held as fovea holds images, [H, W, C], unless `plain` (ONNX's order).
 */
export function constantData(x: ImportNode, c0: ConstValue, beside: TensorValue, plain = false): TensorValue {
  const c1 = x.value(c0), lead = x.g.lead;
  if (c1.dims.length !== x.rank(beside.onnx)) x.fail(`a constant of shape [${c1.dims.join(", ")}] and ${x.dims(beside)} have different ranks`);
  const c = lead ? perExample(x, c1, beside) : c1, dims = c.dims, lname = x.uniq("constant");
  if (!(dims.length > 0 && dims.every((d) => d > 0))) x.fail(`a constant of shape [${c.dims.join(", ")}]: every example's part must have values`);
  const [C, H, W] = dims as [number, number, number], image = dims.length === 3 && !plain;
  x.weight(lname, "value", image ? chwToHwc(c.data, C, H, W) : Float32Array.from(c.data));
  const sym = x.apply(L.constant({ shape: image ? [H, W, C] : dims, name: lname }), beside.sym);
  return { kind: "tensor", sym, onnx: dims, ...(dims.length === 3 && plain ? { plain: true as const } : {}) };
}

export const importers: Record<string, Importer> = {
  Expand: expand, Tile: tile,
  Add: arithmetic, Sub: arithmetic, Mul: arithmetic, Div: arithmetic, Pow: arithmetic,
  Mod: modulo, And: logical, Or: logical, Xor: logical,
  Max: variadic, Min: variadic, Sum: variadic, Mean: variadic, Neg: unaryArith, Reciprocal: unaryArith, Abs: unaryArith, ThresholdedRelu: unaryArith,
  Concat(x) {
    const vs = Array.from({ length: x.inputs }, (_, i) => x.get(i));
    if (vs.length === 0) x.fail("no inputs (a Concat joins one or more)");
    if (vs.every((v) => v.kind === "const")) return x.out(concatConstants(x, vs as ConstValue[]));
    // (a constant with no values adds nothing: left out, as an empty input is below)
    const ts0 = vs.flatMap((v) => (v.kind === "tensor" ? [v] : v.data.length ? [constantData(x, v, vs.find((u) => u.kind === "tensor") as TensorValue)] : []));
    const axis = x.int("axis", 1), k = x.axis(axis, ts0[0]!.onnx);
    if (k < 0) x.mixesBatch("concat on axis 0 joins batches; fovea keeps the examples of a batch apart");
    if (ts0.some((t) => t.onnx.length !== ts0[0]!.onnx.length || t.onnx.some((d, i) => i !== k && d !== ts0[0]!.onnx[i]))) {
      x.fail(`shapes ${ts0.map((t) => x.dims(t)).join(", ")} do not join on axis ${axis}`);
    }
    const dims = [...ts0[0]!.onnx];
    dims[k] = ts0.reduce((s, t) => s + t.onnx[k]!, 0);
    // an input with nothing along the axis adds nothing (torch.roll by the axis's size, x[..., W:])
    const parts = ts0.filter((t) => t.onnx[k] !== 0);
    if (parts.length <= 1) return x.out(parts[0] ?? ts0[0]!);
    if (k === 0 && parts.every(isImage)) {
      // channels: the last axis held
      const sym = x.apply(L.concat({ name: x.uniq("concat") }), ...parts.map((t) => t.sym));
      x.out({ kind: "tensor", sym, onnx: dims });
      return;
    }
    // in ONNX's order: each input as rows of everything from the axis on, joined row by row
    const outer = dims.slice(0, k).reduce((p, q) => p * q, 1);
    const rows = parts.map((t) => {
      const p = x.plain(t), inner = t.onnx.slice(k).reduce((u, v) => u * v, 1);
      return same([...p.sym.shape], [outer, inner]) || (outer === 1 && same([...p.sym.shape], [inner])) ? p.sym : x.apply(L.reshape({ targetShape: [outer, inner], name: x.uniq("concat_rows") }), p.sym);
    });
    const sym = x.apply(L.concat({ name: x.uniq("concat") }), ...rows);
    x.out({ kind: "tensor", sym, onnx: dims, ...(dims.length === 3 ? { plain: true as const } : {}) });
  },
};

/** The binary layer's ops as ONNX's (the importer maps them back). */
const ONNX_BINARY = { add: "Add", sub: "Sub", mul: "Mul", div: "Div", idiv: "Div", mod: "Mod", fmod: "Mod", pow: "Pow", equal: "Equal", max: "Max", min: "Min", less: "Less", greater: "Greater", lessOrEqual: "LessOrEqual", greaterOrEqual: "GreaterOrEqual" } as const;
const ones = (n: number) => new Array<number>(Math.max(n, 0)).fill(1);

/**
 * A value of per-example shape `s` as an operand against the output shape `out` (numpy
 * broadcasting, the batch axis apart): an image output is NCHW in ONNX, so a lower-rank value
 * [h, w, c] (ones in front) becomes [N, c, h, w]; any other output is [N, …] in fovea's order, so
 * a lower-rank value gets size-1 axes after N (and an image operand goes to fovea's order first).
 */
export function operand(x: ExportNode, v: string, s: readonly number[], out: readonly number[]): string {
  if (out.length === 3) {
    if (s.length === 3) return v;
    const [h, w, c] = [...ones(3 - s.length), ...s];
    return x.op("Transpose", [x.op("Reshape", [v, x.init([4], [0, h!, w!, c!], "i64")])], { perm: [0, 3, 1, 2] });
  }
  const f = toFoveaOrder(x, v, s, null);
  return s.length === out.length ? f : x.op("Reshape", [f, x.init([out.length + 1], [0, ...ones(out.length - s.length), ...s], "i64")]);
}

const COMPARISONS: readonly string[] = ["Equal", "Less", "Greater", "LessOrEqual", "GreaterOrEqual"];

export const exporters: Record<string, Exporter> = {
  add(x) {
    let out = x.op("Add", x.inputs.slice(0, 2));
    for (const i of x.inputs.slice(2)) out = x.op("Add", [out, i]);
    return { out };
  },
  // fovea joins the last axis: an image's channels (axis 1 of NCHW), else the last axis as held
  concat: (x) => ({ out: x.op("Concat", x.inputs, { axis: x.node.outShape.length === 3 ? 1 : -1 }) }),
  multiply(x) {
    const [a, b] = x.node.inShapes as [number[], number[]];
    if (a.join() === b.join()) return { out: x.op("Mul", x.inputs.slice(0, 2)) };
    // the second: one value per channel (a's last axis), in fovea's order, then against a as ONNX holds it
    const C = a[a.length - 1]!, perChannel = x.op("Reshape", [toFoveaOrder(x, x.inputs[1]!, b, null), x.init([2], [0, C], "i64")]);
    return { out: x.op("Mul", [x.inputs[0]!, operand(x, perChannel, [C], a)]) };
  },
  binary(x) {
    // numpy broadcasting of the per-example shapes, as fovea computes it: every operand at the
    // output's rank as ONNX holds it, the batch axis kept apart (operand())
    const l = x.layer as Binary, op = ONNX_BINARY[l.op];
    const ins = x.node.inShapes, out = x.node.outShape;
    const float = (o: string) => (COMPARISONS.includes(op) ? x.op("Cast", [o], { to: 1 }) : o);
    const apply = ([a, b]: string[]) => {
      // fovea's fmod: ONNX's Mod with fmod 1 (which floats need); its mod (the divisor's sign, 0 where
      // b = 0): that remainder moved by b where it is not 0 and its sign is not b's
      if (l.op === "fmod" || l.op === "mod") {
        const r = x.op("Mod", [a!, b!], { fmod: 1 });
        if (l.op === "fmod") return r;
        const zero = x.init([], [0]), neg = (v: string) => x.op("Less", [v, zero]);
        const moves = x.op("And", [x.op("Not", [x.op("Equal", [r, zero])]), x.op("Xor", [neg(r), neg(b!)])]);
        return x.op("Where", [x.op("Equal", [b!, zero]), zero, x.op("Where", [moves, x.op("Add", [r, b!]), r])]);
      }
      if (l.op !== "idiv") return float(x.op(op, [a!, b!]));
      // fovea's idiv: trunc(a / b) of the floats (sign · floor |q|), 0 where b = 0
      const zero = x.op("Equal", [b!, x.init([], [0])]);
      const q = x.op("Div", [a!, x.op("Where", [zero, x.init([], [1]), b!])]);
      return x.op("Where", [zero, x.init([], [0]), x.op("Mul", [x.op("Sign", [q]), x.op("Floor", [x.op("Abs", [q])])])]);
    };
    const data = ins.map((s, k) => operand(x, x.inputs[k]!, s, out));
    if (!l.constantShape) return { out: apply(data) };
    const cs = l.constantShape, n = cs.reduce((p, q) => p * q, 1), v = x.w("constant");
    let k: string;
    if (n === 1) k = x.init([], [v[0]!]);
    else if (out.length !== 3) k = x.init([1, ...ones(out.length - cs.length), ...cs], v);
    else {
      // against an image (NCHW): [h, w, c] as fovea holds it (ones in front) → [1, c, h, w]
      const [H, W, C] = [...ones(3 - cs.length), ...cs] as [number, number, number];
      k = x.init([1, C, H, W], hwcToChw(v, H, W, C));
    }
    return { out: apply(l.constantFirst ? [k, data[0]!] : [data[0]!, k]) };
  },
  maxout(x) {
    // groups of `pieces` consecutive channels: an image's [N, C, H, W] → [N, C/k, k, H, W], max over
    // axis 2; any other [N, …, C] → [N, …, C/k, k], max over the last axis
    const s = x.node.inShapes[0]!, C = s[s.length - 1]!, k = (x.layer as Maxout).pieces;
    if (s.length === 3) {
      const grouped = x.op("Reshape", [x.inputs[0]!, x.init([5], [0, C / k, k, s[0]!, s[1]!], "i64")]);
      return { out: x.op("ReduceMax", [grouped], { axes: [2], keepdims: 0 }) };
    }
    const grouped = x.op("Reshape", [x.inputs[0]!, x.init([s.length + 2], [0, ...s.slice(0, -1), C / k, k], "i64")]);
    return { out: x.op("ReduceMax", [grouped], { axes: [-1], keepdims: 0 }) };
  },
};
