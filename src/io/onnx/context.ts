// What an op's import and export handlers are given: one ONNX node with its attributes and inputs
// (import), or one fovea layer with the graph being written (export).
import { FormatError } from "../../errors.js";
import type { Layer } from "../../layers/layer.js";
import type { GraphNode } from "../../model/graph.js";
import type { SymbolicTensor } from "../../layers/symbolic.js";
import * as L from "../../layers/index.js";
import { N, isImage, num, same, type ConstValue, type OnnxAttr, type OnnxModel, type OnnxNode, type TensorValue, type Value } from "./model.js";

/**
 * The padding total auto_pad SAME_* gives a window of k taps (dilation d) at stride s over `size`:
 * (⌈size / s⌉ − 1)·s + (k − 1)·d + 1 − size. Negative where the stride passes the window (k 1,
 * s 3): a conv then pads nothing, as onnxruntime does; a pool is refused, since onnxruntime's pools
 * refuse it and the ONNX reference starts the windows later instead (no answer to pick silently).
 */
export function sameTotal(x: ImportNode, autoPad: string, size: number, k: number, s: number, d: number): number {
  const total = (Math.ceil(size / s) - 1) * s + (k - 1) * d + 1 - size;
  if (total < 0 && (x.op === "MaxPool" || x.op === "AveragePool")) {
    x.fail(`auto_pad ${autoPad} with stride ${s} past the window of ${k}${d > 1 ? ` (dilation ${d})` : ""} over ${size} gives a padding total of ${total}: onnxruntime refuses such a pool and the ONNX reference starts its windows ${-Math.floor(total / 2)} later; give pads instead`);
  }
  return Math.max(total, 0);
}

/** The ops that take a held zero pad into their own padding (a 2-D conv's or average pool's); a Pad adds to it. */
const FOLDS_PAD = new Set(["Conv", "AveragePool", "Pad"]);

/**
 * An image t padded by a pad layer named `name`: by `padding` [top, bottom, left, right] in `mode`
 * (constant: `value`), by default the zero padding it holds (TensorValue.pad), which it then no longer holds.
 */
export function withPadLayer(t: TensorValue, name: string, padding = t.pad!, mode: "constant" | "edge" | "reflect" = "constant", value = 0): TensorValue {
  const [C, H, W] = t.onnx as [number, number, number], p = padding;
  const { pad: _, reluOf: __, ...rest } = t;
  return { ...rest, sym: L.pad({ padding: p, mode, value, name }).apply(t.sym), onnx: [C, H + p[0] + p[1], W + p[2] + p[3]] };
}

/** Per graph: the values by name, the weights converted so far, a counter for unique layer names. */
export interface ImportGraph {
  model: OnnxModel;
  src: string;
  opset: number;
  values: Map<string, Value>;
  /** The parameters' values; `from`: the file's tensor they are (ImportNode.source), where a layer trains them. */
  weights: { layer: string; name: string; values: ArrayLike<number>; from?: string }[];
  count: number;
  /** The data input's declared batch size, when the file fixes it (a Reshape to it keeps the batch axis). */
  batch: number | null;
  /**
   * 1: ONNX's axis 0 is the batch axis, outside every example (TensorValue.onnx leaves it out);
   * 0: the graph mixes its axis 0, so each input's whole fixed shape is one example (see import.ts).
   */
  lead: 0 | 1;
  /** Imports nodes in order (a branch of an If whose condition is a constant). */
  importNodes(nodes: readonly OnnxNode[]): void;
  /**
   * Pools with ceil_mode whose last window on some axis would start past the input and is
   * dropped, as PyTorch and onnxruntime drop it (ops/pool.ts ceilDropped): ONNX's formula before opset 19 counts
   * it, and so do the output sizes exporters such as PyTorch 1.13 declare past such a pool.
   */
  ceilDrops: string[];
  /** The outputs of the Mul and Add nodes whose constant a trainable scale layer took (marked learned): where importOnnx's `trainable` must find each reader of a constant it names. */
  trained: Set<string>;
}

const producersOf = new WeakMap<ImportGraph, Map<string, OnnxNode>>();

/**
 * The tensor of the file a value is (ImportNode.source): through an Identity whose output the
 * exporter named (`onnx::Mul_78`, `/…`, a number: its copy of a folded constant for another use of
 * one module — PyTorch folds a PReLU's slope, a GroupNorm's affine or a sequence Linear's transposed
 * weight once a use and hands the equal copies over through Identities), and through an Unsqueeze
 * or Transpose (marked after the name, past a \u0001: the values are moved). An Identity named as a module's state
 * (`lin3.bias`) is a parameter of its own: the exporter's copy of another of equal values.
 */
function originOf(g: ImportGraph, name: string): string {
  let producers = producersOf.get(g);
  if (!producers) producersOf.set(g, (producers = new Map(g.model.graph.node.flatMap((n) => n.output.map((o): [string, OnnxNode] => [o, n])))));
  let v = name, moved = "";
  for (let hops = 0; hops < 16; hops++) {
    const p = producers.get(v), from = p?.input[0];
    if (!p || !from) break;
    if (p.opType === "Identity" && /^(onnx::|\/|\d+$)/.test(v)) v = from;
    else if (p.opType === "Unsqueeze" || p.opType === "Transpose") {
      // (how: the attributes, and the axes an Unsqueeze takes as an input from opset 13, by their values)
      const axes = p.input[1] ? g.values.get(p.input[1]) : undefined;
      moved = `\u0001${p.opType}${JSON.stringify(p.attribute.map((a) => [a.name, a.ints.map(Number)]))}${p.input[1] ? `(${axes?.kind === "const" ? Array.from(axes.data).join(",") : p.input[1]})` : ""}${moved}`;
      v = from;
    } else break;
  }
  return v + moved;
}

/** Constants of a graph before import, for rewrites: initializers and Constant nodes' tensors. */
export interface RewriteContext {
  src: string;
  /** The node that computes a value (undefined for inputs and initializers). */
  producer(name: string): OnnxNode | undefined;
  /** How many nodes read a value (graph outputs count as readers). */
  readers(name: string): number;
  /** The nodes that read a value. */
  consumers(name: string): OnnxNode[];
  /** A value's constant data, when it is an initializer or a Constant node's output. */
  constant(name: string): ConstValue | null;
  /** Whether importOnnx's `trainable` names this initializer (a parameter beyond `….weight` / `….bias`). */
  trainable(initializer: string): boolean;
}

/** A rewrite of the node list before import (a decomposed op recognised as one node), by its family. */
export type Rewrite = (nodes: OnnxNode[], c: RewriteContext) => OnnxNode[];

const uniqIn = (g: ImportGraph, base: string) => `${base.replace(/[^A-Za-z0-9_./:-]/g, "_")}#${g.count++}`;

/** t with its data in ONNX's order and its symbolic shape = its ONNX dims (layers added only where the data moves or the shape differs). */
export function toPlain(g: ImportGraph, t: TensorValue, base: string): TensorValue {
  const { flatOf: _, reluOf: __, ...rest } = t;
  if (isImage(t)) return { ...rest, plain: true, sym: L.permute({ perm: [2, 0, 1], name: uniqIn(g, `${base}/to_nchw`) }).apply(t.sym) };
  if (t.flatOf) {
    const [C, H, W] = t.flatOf;
    const hwc = L.reshape({ targetShape: [H, W, C], name: uniqIn(g, `${base}/unflatten`) }).apply(t.sym);
    const chw = L.permute({ perm: [2, 0, 1], name: uniqIn(g, `${base}/to_chw`) }).apply(hwc);
    return { ...rest, sym: L.flatten({ name: uniqIn(g, `${base}/flatten_chw`) }).apply(chw) };
  }
  if (t.onnx.length > 0 && !same([...t.sym.shape], t.onnx)) return { ...rest, ...(t.onnx.length === 3 ? { plain: true as const } : {}), sym: L.reshape({ targetShape: t.onnx, name: uniqIn(g, `${base}/reshape`) }).apply(t.sym) };
  return t.onnx.length === 3 ? { ...rest, plain: true } : rest;
}

/** A rank-3 t as an image [C, H, W] held NHWC. */
export function toImage(g: ImportGraph, t: TensorValue, base: string): TensorValue {
  if (isImage(t)) return t;
  if (t.onnx.length === 3 && t.onnx[1] === 1 && t.onnx[2] === 1 && !t.flatOf) {
    // [C, 1, 1] (a pooled vector): the same order held NHWC, only the shape changes
    const { plain: _, ...rest } = t;
    return { ...rest, sym: L.reshape({ targetShape: [1, 1, t.onnx[0]!], name: uniqIn(g, `${base}/to_image`) }).apply(t.sym) };
  }
  const p = toPlain(g, t, base);
  const { plain: _, ...rest } = p;
  return { ...rest, sym: L.permute({ perm: [1, 2, 0], name: uniqIn(g, `${base}/to_nhwc`) }).apply(p.sym) };
}

/** The FormatErrors of ops that would mix the examples of a batch (import.ts may then take each input whole, as one example). */
export const MIXES_BATCH = new WeakSet<Error>();

/** One ONNX node being imported: typed access to its attributes and inputs, and its output. */
export class ImportNode {
  readonly where: string;
  constructor(readonly g: ImportGraph, readonly n: OnnxNode) {
    this.where = `${g.src}: node "${n.name || n.output[0]}" (${n.opType})`;
  }

  get op(): string {
    return this.n.opType;
  }

  get opset(): number {
    return this.g.opset;
  }

  fail(why: string): never {
    throw new FormatError(`${this.where}: ${why}`);
  }

  /** Fails because the op would mix the examples of a batch (a FormatError import.ts recognises). */
  mixesBatch(why: string): never {
    const e = new FormatError(`${this.where}: ${why}`);
    MIXES_BATCH.add(e);
    throw e;
  }

  /** ONNX's axes of a value whose dims per example are `dims`: the per-example rank plus the batch axis (when it is one). */
  rank(dims: readonly number[]): number {
    return dims.length + this.g.lead;
  }

  /**
   * ONNX axis `axis` (negative: from the end) of a value with per-example dims `dims`, as an index
   * into those dims; −1 is the batch axis.
   */
  axis(axis: number, dims: readonly number[]): number {
    const r = this.rank(dims), a = axis < 0 ? axis + r : axis;
    if (!Number.isInteger(a) || a < 0 || a >= r) this.fail(`axis ${axis} is outside the input's ${r} axes`);
    return a - this.g.lead;
  }

  /** [N, d1, …] (or [d0, d1, …] when the input is whole) for messages. */
  dims(t: { onnx: readonly number[] }): string {
    return `[${[...(this.g.lead ? ["N"] : []), ...t.onnx].join(", ")}]`;
  }

  attr(k: string) {
    return this.n.attribute.find((a) => a.name === k);
  }

  ints(k: string): number[] | undefined;
  ints(k: string, d: number[]): number[];
  ints(k: string, d?: number[]): number[] | undefined {
    const a = this.attr(k);
    return a ? (a.ints ?? []).map(num) : d;
  }

  int(k: string, d: number): number {
    const a = this.attr(k);
    return a ? num(a.i) : d;
  }

  flt(k: string, d: number): number {
    return this.attr(k)?.f ?? d;
  }

  str(k: string, d: string): string {
    const s = this.attr(k)?.s;
    return s ? new TextDecoder().decode(s) : d;
  }

  /** Whether input i is given (optional inputs may be empty names). */
  has(i: number): boolean {
    return !!this.n.input[i];
  }

  get inputs(): number {
    return this.n.input.length;
  }

  /**
   * Input i. Zero padding a Pad node held back for the next conv or average pool (TensorValue.pad)
   * becomes a pad layer here for any other op, once for all of the value's later readers: every
   * op sees the padded tensor, whether or not it reads `pad` (Split, Gather and the reductions did
   * not, and ran on the unpadded one).
   */
  get(i: number): Value {
    const name = this.n.input[i]!, v = this.g.values.get(name) ?? this.fail(`input "${name}" is not defined`);
    if (v.kind !== "tensor" || !v.pad?.some((p) => p) || FOLDS_PAD.has(this.op)) return v;
    const padded = withPadLayer(v, `pad_${name}#${this.g.count++}`);
    this.g.values.set(name, padded);
    return padded;
  }

  /** Input i, which the model computes. */
  tensor(i: number): TensorValue {
    const v = this.get(i);
    if (v.kind !== "tensor") this.fail(`input ${i} must be computed, not a constant`);
    return v;
  }

  /** t with its data in ONNX's order, its symbolic shape its ONNX dims. */
  plain(t: TensorValue): TensorValue {
    return toPlain(this.g, t, this.n.name || this.n.output[0] || this.op);
  }

  /** t as an image held NHWC (a rank-3 value in ONNX's order is transposed once). */
  asImage(t: TensorValue): TensorValue {
    if (t.onnx.length !== 3) this.fail(`needs an image input [C, H, W], got [${t.onnx.join(", ")}]`);
    return toImage(this.g, t, this.n.name || this.n.output[0] || this.op);
  }

  /** Input i, a constant. */
  constant(i: number): ConstValue {
    const v = this.get(i);
    if (v.kind !== "const") this.fail(`input ${i} ("${this.n.input[i]}") must be a constant`);
    return v;
  }

  /** Whether this node's window op runs on a sequence [C, L] as an image [C, L, 1] (see windowInput). */
  oneD = false;

  /** A window op's input (conv, pool, batch norm): an image, or a sequence [C, L] (Conv1d, pool1d, BatchNorm1d) as the image [C, L, 1]. */
  windowInput(t0: TensorValue): TensorValue {
    if (t0.onnx.length === 2) {
      this.oneD = true;
      const p = isImage(t0) ? t0 : this.plain(t0);
      return this.asImage({ ...p, onnx: [...t0.onnx, 1], plain: true });
    }
    return this.asImage(t0);
  }

  /** A window attribute, with the second axis of a 1-D op added: pads [b, e] → [b, 0, e, 0], others [v] → [v, fill]. */
  wints(k: string, d: number[], fill = 1): number[] {
    const v = this.ints(k, d);
    if (!this.oneD || v.length !== (k === "pads" ? 2 : 1)) return v;
    return k === "pads" ? [v[0]!, 0, v[1]!, 0] : [v[0]!, fill];
  }

  /** A window op's output: a 1-D op's image [C, L', 1] back to the sequence [C, L'] (in ONNX's order). */
  windowOut(v: TensorValue): void {
    if (!this.oneD) return this.out(v);
    const p = toPlain(this.g, v, this.n.name || this.n.output[0] || this.op);
    const { plain: _, ...rest } = p;
    this.out({ ...rest, onnx: p.onnx.slice(0, 2) });
  }

  /**
   * A volume [C, D, H, W] in ONNX's order (3-D conv / pool data; C may be a whole input's N·C) as
   * fovea's [D, H, W, C]: its rows [C, D·H·W] transposed.
   */
  asVolume(t: TensorValue, [C, D, H, W]: readonly number[]): SymbolicTensor {
    const base = this.n.name || this.n.output[0] || this.op;
    const rows = L.reshape({ targetShape: [C!, D! * H! * W!, 1], name: uniqIn(this.g, `${base}/volume_rows`) }).apply(this.plain(t).sym);
    const last = L.permute({ perm: [1, 0, 2], name: uniqIn(this.g, `${base}/channels_last`) }).apply(rows);
    return L.reshape({ targetShape: [D!, H!, W!, C!], name: uniqIn(this.g, `${base}/to_ndhwc`) }).apply(last);
  }

  /** fovea's [OD, OH, OW, C] back in ONNX's order: the value whose dims are `onnx` ([C, OD, OH, OW], or a whole input's [N, C, OD, OH, OW]). */
  volumeOut(v: SymbolicTensor, onnx: number[]): TensorValue {
    const base = this.n.name || this.n.output[0] || this.op, [OD, OH, OW, C] = v.shape as [number, number, number, number];
    const rows = L.reshape({ targetShape: [OD * OH * OW, C, 1], name: uniqIn(this.g, `${base}/volume_out`) }).apply(v);
    return { kind: "tensor", sym: L.permute({ perm: [1, 0, 2], name: uniqIn(this.g, `${base}/channels_first`) }).apply(rows), onnx };
  }

  /** An image's [C, H, W] (fails for anything but an image held NHWC: see asImage). */
  image(t: TensorValue): [number, number, number] {
    if (!isImage(t)) this.fail(`needs an image input [C, H, W], got [${t.onnx.join(", ")}]`);
    return t.onnx as [number, number, number];
  }

  /** A pending Pad cannot fold into this op (one that reads held pads, FOLDS_PAD, but not in this form: a 3-D average pool). */
  noPad(t: TensorValue): void {
    if (t.pad && t.pad.some((p) => p)) this.fail("a Pad before this op cannot fold into it");
  }

  /** ONNX pads [top, left, bottom, right] of a conv / pool, auto_pad resolved against the (Pad-extended) input. */
  windowPads(t: TensorValue, k: number[], s: number[], d: number[]): number[] {
    // 2-D windows only: a 1-D or 3-D kernel_shape / strides / dilations is refused, not cut to two
    for (const [what, v] of [["kernel_shape", k], ["strides", s], ["dilations", d]] as const) if (v.length !== 2) this.fail(`${what} [${v.join(", ")}]: 2 values expected (2-D windows)`);
    const autoPad = this.str("auto_pad", "NOTSET");
    if (autoPad === "NOTSET") {
      const pads = this.wints("pads", [0, 0, 0, 0]);
      if (pads.length !== 4) this.fail(`pads [${pads.join(", ")}]: 4 values expected (top, left, bottom, right)`);
      return pads;
    }
    if (autoPad === "VALID") return [0, 0, 0, 0];
    if (autoPad !== "SAME_UPPER" && autoPad !== "SAME_LOWER") this.fail(`auto_pad ${autoPad} is not an ONNX value`);
    const [, H, W] = this.image(t), e = t.pad ?? [0, 0, 0, 0];
    const split = (size: number, i: number) => {
      const total = sameTotal(this, autoPad, size, k[i]!, s[i]!, d[i]!);
      const begin = autoPad === "SAME_UPPER" ? Math.floor(total / 2) : Math.ceil(total / 2);
      return [begin, total - begin];
    };
    const [pt, pb] = split(H + e[0] + e[1], 0), [pl, pr] = split(W + e[2] + e[3], 1);
    return [pt!, pl!, pb!, pr!];
  }

  /** A unique layer name from the node's name. */
  uniq(prefix: string): string {
    return uniqIn(this.g, this.n.name || this.n.output[0] || `${prefix}_${this.g.count}`);
  }

  /** Connects `layer` to the inputs. */
  apply(layer: Layer, ...xs: SymbolicTensor[]): SymbolicTensor {
    return layer.apply(...xs);
  }

  /** A parameter's values; `from` (source): the file's tensor they are, so that layers reading one tensor are tied (import.ts). */
  weight(layer: string, name: string, values: ArrayLike<number>, from?: string): void {
    this.g.weights.push({ layer, name, values, ...(from !== undefined ? { from } : {}) });
  }

  /**
   * Which tensor of the file input i is (originOf; a node's own mark, sourceMark, first), with its
   * role and how this node's layer holds it (`how`: the conversion and whatever it depends on):
   * layers whose weights have the same source read one tensor, which training keeps one (import.ts
   * sharedWeights, Model.tie).
   */
  source(i: number, how: string): string {
    return `${originOf(this.g, sourceOf(this.n) ?? this.n.input[i]!)}\u0000${how}`;
  }

  /**
   * Whether this node's folded output `c` is computed from the symbolic batch (ConstValue.batch):
   * a Shape holding N, or any op of an input that is — where the op only moves values, if N is
   * still among them (`x.size(1)` picked from Shape(x) is a plain number).
   */
  private fromBatch(c: ConstValue): boolean {
    const hasN = (u: ConstValue) => Array.prototype.includes.call(u.data, N);
    if (this.op === "Shape") return hasN(c);
    const tainted = this.n.input.flatMap((name) => {
      const u = name ? this.g.values.get(name) : undefined;
      return u?.kind === "const" && u.batch ? [u] : [];
    });
    // computed from N (N·C·H·W) rather than holding it: every value may depend on it
    return tainted.length > 0 && (!MOVERS.has(this.op) || tainted.some((u) => !hasN(u)) || hasN(c));
  }

  /** A constant this op computes with against data: refused if its values come from the symbolic batch size. */
  value(c: ConstValue): ConstValue {
    if (c.batch) this.fail(`a value computed from the batch size ([${c.dims.join(", ")}], from a Shape of the batch axis) is used as a number; the file's batch axis is dynamic and fovea keeps it symbolic, so such a value is not supported (export with a fixed batch, as fovea then computes with the file's batch size)`);
    return c;
  }

  /** Sets the node's (first) output. */
  out(v: Value): void {
    this.outAt(0, v);
  }

  /**
   * Sets output i. A tensor computed from integer data is integer data too (ONNX's ops keep their
   * inputs' element type), so a later Div truncates: the data inputs that give the type are every
   * computed input but Where's condition and Pow's exponent; a Cast's output has its target's type.
   */
  outAt(i: number, v0: Value): void {
    const v = v0.kind === "const" && !v0.batch && this.fromBatch(v0) ? { ...v0, batch: true as const } : v0;
    const typeFrom = this.op === "Cast" || this.op === "CastLike" ? [] : this.op === "Where" ? [1, 2] : this.op === "Pow" ? [0] : this.n.input.map((_, k) => k);
    const int = v.kind === "tensor" && !v.int && typeFrom.some((k) => {
      const u = this.n.input[k] ? this.g.values.get(this.n.input[k]!) : undefined;
      return u?.kind === "tensor" && u.int;
    });
    this.g.values.set(this.n.output[i]!, int ? { ...v, int: true } : v);
  }
}

/** Ops whose folded output only moves or picks their inputs' values (and Shape's, the dims): it holds N only where they did. */
const MOVERS = new Set(["Shape", "Gather", "Slice", "Split", "Concat", "Squeeze", "Unsqueeze", "Reshape", "Flatten", "Identity", "Cast", "CastLike", "Expand", "Tile", "Transpose", "ConstantOfShape", "Where", "Dropout", "Pad"]);

export type Importer = (x: ImportNode) => void;

/** One fovea layer being exported into the ONNX graph under construction. */
export interface ExportNode {
  layer: Layer;
  node: GraphNode;
  /** Its position in the model's nodes. */
  index: number;
  /** Whether it computes the model's output. */
  last: boolean;
  /** It is the model's leading NCHW → NHWC permute and the ONNX input is declared NCHW for it (export.ts decides): it exports as nothing. */
  leadingPermute: boolean;
  /** `exportOnnx: layer conv2d "c1"` for messages. */
  label: string;
  /** The ONNX names of its inputs. */
  inputs: string[];
  /**
   * For each input: the [C, H, W] image it was flattened from (CHW order in ONNX), or null. Only
   * the exporters a family lists in `flatAware` see such inputs; others get them in fovea's order.
   */
  inputFlatOf: ([number, number, number] | null)[];
  /** The layer's weight `name`, as saved. */
  w(name: string): Float32Array;
  /** Adds an initializer; returns its name: `name` (a trained parameter's, `<layer>.weight` / `<layer>.bias`, as PyTorch names them, so that an import of the file trains it again), else one made here. */
  init(dims: number[], data: Float32Array | number[], type?: "f32" | "i64", name?: string): string;
  /** Adds a node; returns its output's name. */
  op(opType: string, input: string[], attrs?: Record<string, number | number[] | { f: number } | { s: string }>): string;
  /** Adds a node with `count` outputs; returns their names. */
  opOutputs(opType: string, input: string[], attrs: Record<string, number | number[] | { f: number } | { s: string }>, count: number): string[];
  /** Applies a fused activation code (ACT) to x as its own node. */
  act(x: string, code: number): string;
}

/**
 * The exporter's layout convention: a rank-3 value (an image, [H, W, C] in fovea) is NCHW in
 * ONNX, features flattened from an image (flatOf) are in CHW order there, anything else is held as
 * in fovea. This turns a value into fovea's own order ([N, …shape] row-major).
 */
/** A float or int attribute as a decoded AttributeProto holds it (for the nodes rewrites and importers make). */
export function attribute(name: string, v: { f: number } | { i: number } | { ints: number[] }): OnnxAttr {
  return {
    name, f: "f" in v ? v.f : 0, i: "i" in v ? v.i : 0, s: new Uint8Array(0), floats: [], ints: "ints" in v ? v.ints : [], strings: [], tensors: [], graphs: [],
    docString: "", type: "f" in v ? 1 : "i" in v ? 2 : 7, refAttrName: "",
  };
}

/**
 * A mark fovea puts on a node it makes or rewrites (never read from a file, whose attributes are
 * checked before rewrites): whether the node's constant operand is a learned parameter that
 * fine-tuning trains (1: an InstanceNorm's affine, the bias a Linear adds after its MatMul) or
 * values held fixed (0: an InstanceNorm's normalisation without an affine of its own). A file
 * does not say which of its constants were learned: other constants stay fixed.
 */
export const learnedMark = (learned: boolean): OnnxAttr => ({ ...attribute("learned", { i: learned ? 1 : 0 }), name: "fovea:learned" });

/** The tensor a node's learned constant is, marked on it for its import (ImportNode.source): a learned Mul's or Add's initializer (merge.ts, also through an Unsqueeze or Transpose), an InstanceNorm's affine on the Mul and Add it imports as (norm.ts). */
export const sourceMark = (init: string): OnnxAttr => ({ ...attribute("source", { i: 0 }), name: "fovea:source", s: new TextEncoder().encode(init), type: 3 });
export const sourceOf = (n: OnnxNode): string | null => {
  const a = n.attribute.find((u) => u.name === "fovea:source");
  return a ? new TextDecoder().decode(a.s) : null;
};

/**
 * Whether a value is an initializer, or the output of an Identity (a chain of them) of one: PyTorch's
 * exporter stores parameters of identical values once (zero biases, layer scales at their initial
 * value) and gives each of the others an Identity of it, named as that parameter.
 */
export function isParameterValue(c: RewriteContext, name: string): boolean {
  let v = name;
  for (let hops = 0; hops < 8; hops++) {
    const p = c.producer(v);
    if (!p) return c.constant(v) !== null;
    if (p.opType !== "Identity" || !p.input[0]) return false;
    v = p.input[0];
  }
  return false;
}

/** The parameter value a value is (isParameterValue), or (without constant folding) an Unsqueeze or Transpose of: its name, else null. */
export function initializerOf(c: RewriteContext, name: string | undefined): string | null {
  if (!name) return null;
  if (isParameterValue(c, name)) return name;
  const p = c.producer(name), src = p?.input[0];
  return p && (p.opType === "Unsqueeze" || p.opType === "Transpose") && src && isParameterValue(c, src) ? src : null;
}

/** Whether an initializer's name is one PyTorch gives a module's parameter (the state dict's `….weight` / `….bias`; fovea's export names them so too). */
export const parameterNamed = (init: string) => /(^|[./])(weight|bias)$/.test(init);

/**
 * The initializer a value is (or an Unsqueeze / Transpose of), where it is one of the module's
 * parameters: named as PyTorch's export names them (parameterNamed; a buffer such as `running_mean`
 * or a constant of the exporter's is not one), or named in importOnnx's `trainable`. Else null.
 */
export function parameterOf(c: RewriteContext, name: string | undefined): string | null {
  const init = initializerOf(c, name);
  return init !== null && (parameterNamed(init) || c.trainable(init)) ? init : null;
}

/**
 * Whether a value is a constant the exporter made rather than one of the module's values: a
 * Constant node's output (PyTorch's ones and zeros for a norm without an affine), also when a tool
 * has turned it into an initializer of the same name (`/Constant_1_output_0`).
 */
export function isExporterConstant(c: RewriteContext, name: string | undefined): boolean {
  if (!name) return true;
  return c.producer(name)?.opType === "Constant" || /(^|\/)Constant(_\d+)?_output_\d+$/.test(name);
}

/**
 * A scale layer over t (`scale` / `shift` its weights, `trainable` which of them fine-tuning trains);
 * with one value of each for every value of t (a PReLU's one slope, an InstanceNorm of one channel's
 * affine) one parameter each: the scale of t's values viewed as a column [size, 1].
 */
export function scaleOver(x: ImportNode, t: SymbolicTensor, scale: Float32Array, shift: Float32Array, trainable: ("scale" | "shift")[], base: string, from?: string): SymbolicTensor {
  const lname = x.uniq(base), one = scale.length === 1 && t.shape[t.shape.length - 1] !== 1;
  // (`from`: the file's tensor the one trained parameter is, ImportNode.source)
  x.weight(lname, "scale", scale, trainable.length === 1 && trainable[0] === "scale" ? from : undefined);
  x.weight(lname, "shift", shift, trainable.length === 1 && trainable[0] === "shift" ? from : undefined);
  const shape = [...t.shape], size = shape.reduce((a, b) => a * b, 1);
  const column = one ? x.apply(L.reshape({ targetShape: [size, 1], name: x.uniq(`${base}_values`) }), t) : t;
  const scaled = x.apply(L.scale({ name: lname, ...(trainable.length ? { trainable } : {}) }), column);
  return one ? x.apply(L.reshape({ targetShape: shape, name: x.uniq(`${base}_out`) }), scaled) : scaled;
}

/** y = a·x + b elementwise: a scale layer of fixed values over t's last axis (not trained). */
export function fixedAffine(x: ImportNode, t: SymbolicTensor, a: number, b: number, base = "affine"): SymbolicTensor {
  const C = t.shape[t.shape.length - 1]!;
  return scaleOver(x, t, new Float32Array(C).fill(a), new Float32Array(C).fill(b), [], base);
}

/** The node's learned mark (learnedMark), or null. */
export const learnedOf = (n: OnnxNode): boolean | null => {
  const a = n.attribute.find((u) => u.name === "fovea:learned");
  return a ? a.i !== 0 : null;
};

/** A node that computes part of x's node (named after it, with `attribute`), imported as its op is: an op that equals a few others. */
export const subNode = (x: ImportNode, opType: string, input: string[], output: string, attribute: OnnxAttr[] = []): OnnxNode =>
  ({ opType, input, output: [output], name: `${x.n.name}#${output}`, attribute, docString: "", domain: "" });

export function toFoveaOrder(x: Pick<ExportNode, "op" | "init">, v: string, shape: readonly number[], flatOf: readonly number[] | null): string {
  if (shape.length === 3) return x.op("Transpose", [v], { perm: [0, 2, 3, 1] });
  if (flatOf) return x.op("Reshape", [x.op("Transpose", [x.op("Reshape", [v, x.init([4], [0, ...flatOf], "i64")])], { perm: [0, 2, 3, 1] }), x.init([2], [0, -1], "i64")]);
  return v;
}

/** What an exporter made: the output's name, and the [C, H, W] its features were flattened from (if so). */
export interface Exported { out: string; flatOf?: [number, number, number] | null }

export type Exporter = (x: ExportNode) => Exported;
