// ONNX import: a CNN graph (opsets 9–17) becomes a fovea model in NHWC. Weights are converted
// once (OIHW → HWIO, Gemm → dense with the NCHW-flatten permutation), the Shape/Gather/
// Unsqueeze/Concat chains PyTorch emits around flatten are folded, and every unsupported op is
// listed in one FormatError before anything is built. Parsed with onnx-proto (protobufjs),
// loaded only when ONNX is used.

import { FormatError, FoveaError, checkOptionKeys } from "../errors.js";
import * as L from "../layers/index.js";
import type { Layer } from "../layers/layer.js";
import { model as functionalModel, type Model } from "../model/model.js";
import { input, type SymbolicTensor } from "../model/symbolic.js";
import { getBackend, withBackend, type Backend } from "../runtime/backend.js";
import { withWeights } from "./weights.js";

export interface OnnxImportOptions {
  /**
   * Layout of the data you will pass: "NCHW" or "NHWC" (fovea's own). Default: the file's own input
   * layout — NCHW as PyTorch exports, or NHWC for a model whose NHWC input is transposed to NCHW
   * first (tf2onnx and Keras exports).
   */
  inputLayout?: "NCHW" | "NHWC";
  name?: string;
  /** Names the file in error messages. */
  source?: string;
  /** The backend to build on (default: the initialised one). */
  backend?: Backend;
}

const SUPPORTED = new Set([
  "Conv", "MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool", "Gemm", "MatMul", "Add", "Sub", "Mul", "Div", "Relu", "LeakyRelu", "Elu",
  "Sigmoid", "Tanh", "Clip", "Softmax", "LogSoftmax", "BatchNormalization", "LRN", "Concat", "Flatten", "Reshape", "Dropout",
  "Identity", "Pad", "Constant", "Shape", "Gather", "Unsqueeze", "Squeeze", "Cast", "Transpose",
]);

/** A value of the graph: a constant, a shape under folding, or a tensor of the model. */
type Value =
  | { kind: "const"; dims: number[]; data: number[] | Float32Array }
  | {
    kind: "tensor";
    sym: SymbolicTensor;
    /** What ONNX sees: [C, H, W] for images (stored NHWC here) or [F] for features. */
    onnx: number[];
    /** Features that came from flattening a [C, H, W] image (stored HWC): the Gemm after must permute. */
    flatOf?: [number, number, number];
    /** Zero padding [top, bottom, left, right] of a Pad node, waiting to fold into the next conv / average pool. */
    pad?: [number, number, number, number];
    /** Output of a Relu: its input, so a following Clip(max 6) (opsets < 11 export relu6 so) becomes one ReLU6. */
    reluOf?: SymbolicTensor;
    /** ONNX holds this image transposed to NHWC (onnx is then [H, W, C]): only a flatten or the transpose back may follow. */
    nhwc?: true;
  };

const N = -2; // the batch dimension in folded shapes

interface OnnxNode { opType: string; name: string; input: string[]; output: string[]; attribute: OnnxAttr[] }
interface OnnxAttr { name: string; type: number; i?: unknown; f?: number; ints?: unknown[]; floats?: number[]; t?: OnnxTensor; s?: Uint8Array }
interface OnnxTensor { dims: unknown[]; dataType: number; rawData?: Uint8Array; floatData?: number[]; int64Data?: unknown[]; int32Data?: number[] }
interface OnnxModel {
  opsetImport: { domain?: string; version: unknown }[];
  graph: {
    name?: string; node: OnnxNode[]; initializer: (OnnxTensor & { name: string })[];
    input: { name: string; type?: { tensorType?: { shape?: { dim: { dimValue?: unknown; dimParam?: string }[] } } } }[];
    output: { name: string }[];
  };
}

const num = (v: unknown) => (typeof v === "number" ? v : Number(v)); // protobufjs Long → number

function tensorValues(t: OnnxTensor, where: string): number[] | Float32Array {
  const count = t.dims.map(num).reduce((a, b) => a * b, 1);
  if (t.rawData && t.rawData.length) {
    const dv = new DataView(t.rawData.buffer, t.rawData.byteOffset, t.rawData.byteLength);
    if (t.dataType === 1) {
      if (t.rawData.length !== count * 4) throw new FormatError(`${where}: ${t.rawData.length} bytes for ${count} floats`);
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) out[i] = dv.getFloat32(i * 4, true);
      return out;
    }
    if (t.dataType === 7) return Array.from({ length: count }, (_, i) => Number(dv.getBigInt64(i * 8, true)));
    if (t.dataType === 6) return Array.from({ length: count }, (_, i) => dv.getInt32(i * 4, true));
    throw new FormatError(`${where}: tensor data type ${t.dataType} is not supported (float32, int32, int64)`);
  }
  if (t.dataType === 1) return Float32Array.from(t.floatData ?? []);
  if (t.dataType === 7) return (t.int64Data ?? []).map(num);
  if (t.dataType === 6) return t.int32Data ?? [];
  throw new FormatError(`${where}: tensor data type ${t.dataType} is not supported`);
}

export async function importOnnx(bytes: Uint8Array, options: OnnxImportOptions = {}): Promise<Model> {
  checkOptionKeys("importOnnx", options, ["inputLayout", "name", "source", "backend"]);
  const src = options.source ?? "model.onnx";
  const layout = options.inputLayout;
  if (layout !== undefined && layout !== "NCHW" && layout !== "NHWC") throw new FormatError(`${src}: inputLayout must be NCHW or NHWC`);
  const { onnx: proto } = (await import("onnx-proto")).default;
  let m: OnnxModel;
  try {
    const decoded: unknown = proto.ModelProto.decode(bytes);
    m = decoded as OnnxModel;
  } catch (e) {
    throw new FormatError(`${src}: not a readable ONNX model (${(e as Error).message})`);
  }
  if (!m.graph || !Array.isArray(m.graph.node) || m.graph.node.length === 0) throw new FormatError(`${src}: the ONNX model has no graph`);
  const opset = Math.max(0, ...m.opsetImport.filter((o) => !o.domain).map((o) => num(o.version)));
  if (opset < 9 || opset > 17) throw new FormatError(`${src}: opset ${opset} is not supported (9–17)`);
  const bad = new Map<string, string[]>();
  for (const n of m.graph.node) if (!SUPPORTED.has(n.opType)) bad.set(n.opType, [...(bad.get(n.opType) ?? []), n.name || n.output[0]!]);
  if (bad.size) {
    throw new FormatError(`${src}: unsupported ONNX ops: ${[...bad].map(([op, names]) => `${op} (${names.map((x) => `"${x}"`).join(", ")})`).join("; ")}`);
  }
  try {
    const be = options.backend ?? getBackend();
    const name = options.name ?? (options.source ? src.replace(/^.*[\\/]/, "").replace(/\.onnx$/i, "") : m.graph.name || "onnx");
    return withBackend(be, () => build(m, src, layout, name));
  } catch (e) {
    if (e instanceof FoveaError && !(e instanceof FormatError)) throw new FormatError(`${src}: ${e.message}`);
    throw e;
  }
}

const same = (a: number[], b: number[]) => a.length === b.length && a.every((v, i) => v === b[i]);

function build(m: OnnxModel, src: string, layoutOption: "NCHW" | "NHWC" | undefined, name: string): Model {
  const values = new Map<string, Value>();
  for (const t of m.graph.initializer) values.set(t.name, { kind: "const", dims: t.dims.map(num), data: tensorValues(t, `${src}: initializer "${t.name}"`) });
  const inputs = m.graph.input.filter((i) => !values.has(i.name));
  if (inputs.length !== 1) throw new FormatError(`${src}: ${inputs.length} graph inputs; one is supported`);
  const dims = (inputs[0]!.type?.tensorType?.shape?.dim ?? []).map((d) => (d.dimValue !== undefined && num(d.dimValue) > 0 ? num(d.dimValue) : N));
  const per = dims.slice(1);
  if (per.some((d) => d <= 0)) throw new FormatError(`${src}: the input's per-example shape ${JSON.stringify(per)} is not fixed`);
  let inp: SymbolicTensor, first: SymbolicTensor;
  // an NHWC input that every consumer transposes to NCHW (tf2onnx, Keras): fovea's own layout
  const users = m.graph.node.filter((n) => n.input.includes(inputs[0]!.name));
  const nhwcFile = per.length === 3 && users.length > 0 && users.every((n) => n.opType === "Transpose" && same((n.attribute.find((a) => a.name === "perm")?.ints ?? []).map(num), [0, 3, 1, 2]));
  const layout = layoutOption ?? (nhwcFile ? "NHWC" : "NCHW");
  if (per.length === 3) {
    const [C, H, W] = (nhwcFile ? [per[2], per[0], per[1]] : per) as [number, number, number];
    inp = input(layout === "NCHW" ? [C, H, W] : [H, W, C]);
    first = layout === "NCHW" ? L.permute({ perm: [1, 2, 0], name: "nchw_to_nhwc" }).apply(inp) : inp;
    values.set(inputs[0]!.name, { kind: "tensor", sym: first, ...(nhwcFile ? { onnx: [H, W, C], nhwc: true as const } : { onnx: [C, H, W] }) });
  } else if (per.length === 1) {
    inp = input(per);
    values.set(inputs[0]!.name, { kind: "tensor", sym: inp, onnx: per });
  } else throw new FormatError(`${src}: an input of rank ${dims.length} is not supported (4: images, 2: features)`);

  const weights: { layer: string; name: string; values: ArrayLike<number> }[] = [];
  let count = 0;
  const uniq = (n: OnnxNode, op: string) => `${(n.name || n.output[0] || `${op}_${count}`).replace(/[^A-Za-z0-9_./:-]/g, "_")}#${count++}`;

  for (const n of m.graph.node) {
    const where = `${src}: node "${n.name || n.output[0]}" (${n.opType})`;
    const fail = (why: string): never => { throw new FormatError(`${where}: ${why}`); };
    const attr = (k: string) => n.attribute.find((a) => a.name === k);
    const ints = (k: string, d?: number[]) => { const a = attr(k); return a ? (a.ints ?? []).map(num) : d; };
    const int = (k: string, d: number) => { const a = attr(k); return a ? num(a.i) : d; };
    const flt = (k: string, d: number) => attr(k)?.f ?? d;
    const get = (i: number): Value => values.get(n.input[i]!) ?? fail(`input "${n.input[i]}" is not defined`);
    const tensor = (i: number) => {
      const v = get(i);
      if (v.kind !== "tensor") fail(`input ${i} must be computed, not a constant`);
      const t = v as Extract<Value, { kind: "tensor" }>;
      if (t.nhwc && !["Transpose", "Flatten", "Reshape"].includes(n.opType)) fail(`input ${i} ("${n.input[i]}") is an image transposed to NHWC: only a flatten or the transpose back to NCHW may use it`);
      return t;
    };
    const constant = (i: number) => { const v = get(i); if (v.kind !== "const") fail(`input ${i} ("${n.input[i]}") must be a constant`); return v as Extract<Value, { kind: "const" }>; };
    const out = (v: Value) => values.set(n.output[0]!, v);
    const apply = (layer: Layer, ...xs: SymbolicTensor[]) => layer.apply(...xs);
    const image = (t: Extract<Value, { kind: "tensor" }>) => { if (t.onnx.length !== 3) fail(`needs an image input [C, H, W], got [${t.onnx.join(", ")}]`); return t.onnx as [number, number, number]; };
    // ONNX pads [top, left, bottom, right] of a conv / pool, auto_pad resolved against the (Pad-extended) input
    const windowPads = (t: Extract<Value, { kind: "tensor" }>, k: number[], s: number[], d: number[]): number[] => {
      const autoPad = attr("auto_pad")?.s ? new TextDecoder().decode(attr("auto_pad")!.s) : "NOTSET";
      if (autoPad === "NOTSET") return ints("pads", [0, 0, 0, 0])!;
      if (autoPad === "VALID") return [0, 0, 0, 0];
      if (autoPad !== "SAME_UPPER" && autoPad !== "SAME_LOWER") fail(`auto_pad ${autoPad} is not an ONNX value`);
      const [, H, W] = image(t), e = t.pad ?? [0, 0, 0, 0];
      const split = (size: number, i: number) => {
        const total = Math.max((Math.ceil(size / s[i]!) - 1) * s[i]! + (k[i]! - 1) * d[i]! + 1 - size, 0);
        const begin = autoPad === "SAME_UPPER" ? Math.floor(total / 2) : Math.ceil(total / 2);
        return [begin, total - begin];
      };
      const [pt, pb] = split(H + e[0] + e[1], 0), [pl, pr] = split(W + e[2] + e[3], 1);
      return [pt!, pl!, pb!, pr!];
    };
    const noPad = (t: Extract<Value, { kind: "tensor" }>) => { if (t.pad && t.pad.some((p) => p)) fail("a Pad before this op cannot fold into it"); };

    switch (n.opType) {
      case "Constant": {
        const t = attr("value")?.t ?? fail("only the `value` tensor form is supported");
        out({ kind: "const", dims: t.dims.map(num), data: tensorValues(t, where) });
        break;
      }
      case "Identity": case "Dropout": case "Cast":
        out(get(0));
        break;
      case "Shape": {
        const t = tensor(0);
        out({ kind: "const", dims: [t.onnx.length + 1], data: [N, ...t.onnx] });
        break;
      }
      case "Gather": {
        const d = constant(0), idx = constant(1);
        if (int("axis", 0) !== 0 || d.dims.length !== 1) fail("only gathering from a 1-D constant is supported");
        const picked = Array.from(idx.data, (i) => d.data[i < 0 ? i + d.data.length : i]!);
        out({ kind: "const", dims: idx.dims, data: picked });
        break;
      }
      case "Unsqueeze": case "Squeeze": {
        const d = get(0);
        if (d.kind !== "const") fail("only constants (shape arithmetic) are supported");
        const c = d as Extract<Value, { kind: "const" }>;
        out({ kind: "const", dims: [c.data.length], data: c.data });
        break;
      }
      case "Concat": {
        const vs = n.input.map((_, i) => get(i));
        if (vs.every((v) => v.kind === "const")) {
          out({ kind: "const", dims: [vs.reduce((a, v) => a + (v as { data: ArrayLike<number> }).data.length, 0)], data: vs.flatMap((v) => Array.from((v as { data: ArrayLike<number> }).data)) });
          break;
        }
        const ts = vs.map((_, i) => tensor(i));
        const axis = int("axis", 1), rank = ts[0]!.onnx.length + 1;
        if ((axis < 0 ? axis + rank : axis) !== 1) fail(`concat on axis ${axis}: only the channel / feature axis (1) is supported`);
        ts.forEach(noPad);
        const sym = apply(L.concat({ name: uniq(n, "concat") }), ...ts.map((t) => t.sym));
        out({ kind: "tensor", sym, onnx: [ts.reduce((a, t) => a + t.onnx[0]!, 0), ...ts[0]!.onnx.slice(1)] });
        break;
      }
      case "Reshape": case "Flatten": {
        const t = tensor(0);
        noPad(t);
        let target: number[];
        if (n.opType === "Flatten") {
          if (int("axis", 1) !== 1) fail("only axis 1 (keep the batch) is supported");
          target = [N, -1];
        } else target = Array.from(constant(1).data);
        const size = t.onnx.reduce((a, b) => a * b, 1);
        const rest = target.slice(1);
        const flat = (target[0] === N || target[0] === 0 || target[0] === -1) && rest.length === 1 && (rest[0] === -1 || rest[0] === size);
        if (!flat) fail(`reshape to ${JSON.stringify(target.map((d) => (d === N ? "N" : d)))}: only flattening to [N, features] is supported`);
        if (t.onnx.length === 1) out(t);
        else if (t.nhwc) {
          // ONNX flattens H, W, C in that order: fovea's own order, so the Gemm after needs no permutation
          out({ kind: "tensor", sym: apply(L.flatten({ name: uniq(n, "flatten") }), t.sym), onnx: [size] });
        } else {
          const [C, H, W] = image(t);
          // a 1×1 image flattens the same way in NCHW and NHWC
          const sym = apply(L.flatten({ name: uniq(n, "flatten") }), t.sym);
          out({ kind: "tensor", sym, onnx: [size], ...(H * W > 1 ? { flatOf: [C, H, W] as [number, number, number] } : {}) });
        }
        break;
      }
      case "Transpose": {
        const c = get(0);
        if (c.kind === "const") {
          // constant folding (weights stored transposed)
          const r = c.dims.length, p = ints("perm") ?? Array.from({ length: r }, (_, i) => r - 1 - i);
          if (!same([...p].sort((a, b) => a - b), Array.from({ length: r }, (_, i) => i))) fail(`perm [${p.join(", ")}] is not a permutation of ${r} axes`);
          const dims = p.map((a) => c.dims[a]!);
          const inStride = c.dims.map((_, i) => c.dims.slice(i + 1).reduce((a, b) => a * b, 1));
          const data = new Float32Array(c.data.length);
          const idx = new Array<number>(r).fill(0);
          for (let o = 0; o < data.length; o++) {
            let from = 0;
            for (let k = 0; k < r; k++) from += idx[k]! * inStride[p[k]!]!;
            data[o] = c.data[from]!;
            for (let k = r - 1; k >= 0 && ++idx[k]! === dims[k]; k--) idx[k] = 0;
          }
          out({ kind: "const", dims, data });
          break;
        }
        // on tensors, layout changes only: NCHW ⇄ NHWC around a flatten or at the input, identity perms
        const t = tensor(0);
        noPad(t);
        const perm = ints("perm") ?? Array.from({ length: t.onnx.length + 1 }, (_, i) => t.onnx.length - i);
        const rank = perm.length;
        if (same(perm, Array.from({ length: rank }, (_, i) => i))) out(t);
        // a globally pooled [N, C, 1, 1] (held as [C] features): any order of C and the 1s is the same data
        else if (t.onnx.length === 1 && rank === 4 && perm[0] === 0 && same([...perm].sort(), [0, 1, 2, 3])) out(t);
        else if (rank === 4 && !t.nhwc && same(perm, [0, 2, 3, 1])) {
          const [C, H, W] = t.onnx as [number, number, number];
          out({ ...t, onnx: [H, W, C], nhwc: true });
        } else if (rank === 4 && t.nhwc && same(perm, [0, 3, 1, 2])) {
          const [H, W, C] = t.onnx as [number, number, number];
          const { nhwc: _, ...rest } = t;
          out({ ...rest, onnx: [C, H, W] });
        } else fail(`perm [${perm.join(", ")}] of [N, ${t.onnx.join(", ")}] is not a layout change fovea can absorb (NCHW ⇄ NHWC only)`);
        break;
      }
      case "Pad": {
        const t = tensor(0);
        const mode = attr("mode")?.s ? new TextDecoder().decode(attr("mode")!.s) : "constant";
        const pads = n.input[1] ? Array.from(constant(1).data) : ints("pads", [])!;
        const value = n.input[2] ? Array.from(constant(2).data)[0] ?? 0 : flt("value", 0);
        if (mode !== "constant" || value !== 0) fail(`only zero padding is supported (mode ${mode}, value ${value})`);
        if (pads.length !== 8 || pads[0] || pads[1] || pads[4] || pads[5]) fail("only spatial padding of NCHW images is supported");
        const prev = t.pad ?? [0, 0, 0, 0];
        out({ ...t, pad: [prev[0] + pads[2]!, prev[1] + pads[6]!, prev[2] + pads[3]!, prev[3] + pads[7]!] });
        break;
      }
      case "Conv": {
        const t = tensor(0), w = constant(1), b = n.input[2] ? constant(2) : null;
        const [C] = image(t);
        const [OC, Cg, KH, KW] = w.dims as [number, number, number, number];
        const group = int("group", 1);
        if (Cg * group !== C) fail(`weights [${w.dims.join(", ")}] with group ${group} do not fit ${C} input channels`);
        const strides = ints("strides", [1, 1])!, dilations = ints("dilations", [1, 1])!;
        const pads = windowPads(t, [KH, KW], strides, dilations);
        const extra = t.pad ?? [0, 0, 0, 0];
        const padding = [pads[0]! + extra[0], pads[2]! + extra[1], pads[1]! + extra[2], pads[3]! + extra[3]] as [number, number, number, number];
        const common = { kernelSize: [KH, KW] as [number, number], strides: strides as [number, number], dilation: dilations as [number, number], padding, useBias: !!b, rounding: "floor" as const };
        const lname = uniq(n, "conv");
        const layer = group === C && Cg === 1 && group > 1
          ? L.depthwiseConv2d({ ...common, depthMultiplier: OC / C, name: lname })
          : L.conv2d({ ...common, filters: OC, groups: group, name: lname });
        const sym = apply(layer, t.sym);
        // OIHW → HWIO
        const hwio = new Float32Array(w.data.length);
        for (let o = 0; o < OC; o++) for (let ci = 0; ci < Cg; ci++) for (let kh = 0; kh < KH; kh++) for (let kw = 0; kw < KW; kw++) {
          hwio[((kh * KW + kw) * Cg + ci) * OC + o] = w.data[((o * Cg + ci) * KH + kh) * KW + kw]!;
        }
        weights.push({ layer: lname, name: "kernel", values: hwio });
        if (b) weights.push({ layer: lname, name: "bias", values: b.data });
        out({ kind: "tensor", sym, onnx: [OC, sym.shape[0]!, sym.shape[1]!] });
        break;
      }
      case "BatchNormalization": {
        const t = tensor(0);
        noPad(t);
        const lname = uniq(n, "bn");
        const sym = apply(L.batchNorm({ epsilon: flt("epsilon", 1e-5), name: lname }), t.sym);
        ["gamma", "beta", "movingMean", "movingVariance"].forEach((p, i) => weights.push({ layer: lname, name: p, values: constant(i + 1).data }));
        out({ ...t, sym });
        break;
      }
      case "Relu": case "LeakyRelu": case "Elu": case "Sigmoid": case "Tanh": case "Clip": case "Softmax": case "LogSoftmax": {
        const t = tensor(0);
        noPad(t);
        let layer: Layer;
        const lname = uniq(n, n.opType.toLowerCase());
        if (n.opType === "Clip") {
          const lo = n.input[1] ? Array.from(constant(1).data)[0]! : flt("min", -3.4e38);
          const hi = n.input[2] ? Array.from(constant(2).data)[0]! : flt("max", 3.4e38);
          if (lo <= 0 && hi === 6 && t.reluOf && !t.pad?.some((p) => p)) {
            // Relu then Clip(·, 6): one ReLU6 on the Relu's input (the Relu itself is left unused)
            out({ kind: "tensor", sym: apply(L.relu6({ name: lname }), t.reluOf), onnx: t.onnx, ...(t.flatOf ? { flatOf: t.flatOf } : {}) });
            break;
          }
          if (lo === 0 && hi === 6) layer = L.relu6({ name: lname });
          else if (lo === 0 && hi >= 3.4e38) layer = L.relu({ name: lname });
          else fail(`Clip(${lo}, ${hi}): only ReLU6 (0, 6), ReLU (0, ∞) and Relu followed by Clip(·, 6) are supported`);
        } else if (n.opType === "Softmax" || n.opType === "LogSoftmax") {
          const rank = t.onnx.length + 1, axis = int("axis", opset(m) >= 13 ? -1 : 1);
          const a = axis < 0 ? axis + rank : axis;
          if (a !== 1 || (rank === 4 && opset(m) >= 13 && axis === -1)) fail(`softmax over axis ${axis}: only the channel / feature axis is supported`);
          layer = n.opType === "Softmax" ? L.softmax({ name: lname }) : L.logSoftmax({ name: lname });
        } else {
          const map = { Relu: () => L.relu({ name: lname }), LeakyRelu: () => L.leakyRelu({ alpha: flt("alpha", 0.01), name: lname }), Elu: () => L.elu({ alpha: flt("alpha", 1), name: lname }), Sigmoid: () => L.sigmoid({ name: lname }), Tanh: () => L.tanh({ name: lname }) };
          layer = map[n.opType as keyof typeof map]();
        }
        const { reluOf: _, ...rest } = t;
        out({ ...rest, sym: apply(layer!, t.sym), ...(n.opType === "Relu" ? { reluOf: t.sym } : {}) });
        break;
      }
      case "MaxPool": case "AveragePool": {
        const t = tensor(0);
        image(t);
        const k = ints("kernel_shape") ?? fail("kernel_shape is required");
        if ((ints("dilations", [1, 1]) ?? []).some((d) => d !== 1)) fail("dilated pooling is not supported");
        const pads = windowPads(t, k, ints("strides", [1, 1])!, [1, 1]);
        let extra = t.pad ?? [0, 0, 0, 0];
        let cip = int("count_include_pad", 0) === 1;
        if (extra.some((p) => p)) {
          if (n.opType === "MaxPool") fail("zero padding before a max pool changes its maximum; not supported");
          if (pads.some((p) => p) && !cip) fail("a Pad before an average pool with its own uncounted padding");
          cip = true; // padded zeros are real values to the pool
        } else extra = [0, 0, 0, 0];
        const lname = uniq(n, n.opType === "MaxPool" ? "maxpool" : "avgpool");
        const cfg = {
          poolSize: [k[0]!, k[1]!] as [number, number], strides: ints("strides", [1, 1]) as [number, number],
          padding: [pads[0]! + extra[0], pads[2]! + extra[1], pads[1]! + extra[2], pads[3]! + extra[3]] as [number, number, number, number],
          rounding: int("ceil_mode", 0) ? ("ceil" as const) : ("floor" as const), name: lname,
        };
        const sym = apply(n.opType === "MaxPool" ? L.maxPool2d(cfg) : L.avgPool2d({ ...cfg, countIncludePad: cip }), t.sym);
        out({ kind: "tensor", sym, onnx: [t.onnx[0]!, sym.shape[0]!, sym.shape[1]!] });
        break;
      }
      case "GlobalAveragePool": case "GlobalMaxPool": {
        const t = tensor(0);
        noPad(t);
        const [C] = image(t);
        const lname = uniq(n, "globalpool");
        const sym = apply(n.opType === "GlobalAveragePool" ? L.globalAvgPool2d({ name: lname }) : L.globalMaxPool2d({ name: lname }), t.sym);
        // ONNX keeps [C, 1, 1]; the features are stored flat, and flatten order does not matter for 1×1
        out({ kind: "tensor", sym, onnx: [C] });
        break;
      }
      case "Gemm": case "MatMul": {
        const a = tensor(0), bw = constant(1), c = n.opType === "Gemm" && n.input[2] ? constant(2) : null;
        if (a.onnx.length !== 1) fail(`needs features [F], got [${a.onnx.join(", ")}] (flatten first)`);
        if (n.opType === "Gemm" && int("transA", 0)) fail("transA is not supported");
        const transB = n.opType === "Gemm" ? int("transB", 0) : 0;
        const alpha = n.opType === "Gemm" ? flt("alpha", 1) : 1, beta = n.opType === "Gemm" ? flt("beta", 1) : 1;
        const [r, cc] = bw.dims as [number, number];
        const [F, U] = transB ? [cc, r] : [r, cc];
        if (F !== a.onnx[0]) fail(`weights [${bw.dims.join(", ")}] do not fit ${a.onnx[0]} input features`);
        const kernel = new Float32Array(F * U);
        // fovea's flatten is HWC order; ONNX's was CHW: feature c·H·W + h·W + w sits at (h·W + w)·C + c
        const at = (f: number) => {
          if (!a.flatOf) return f;
          const [C, H, W] = a.flatOf;
          const ch = Math.floor(f / (H * W)), hw = f % (H * W);
          return hw * C + ch;
        };
        for (let f = 0; f < F; f++) for (let u = 0; u < U; u++) kernel[at(f) * U + u] = alpha * (transB ? bw.data[u * F + f]! : bw.data[f * U + u]!);
        const lname = uniq(n, "dense");
        const sym = apply(L.dense({ units: U, useBias: !!c, name: lname }), a.sym);
        weights.push({ layer: lname, name: "kernel", values: kernel });
        if (c) {
          if (c.data.length !== U && c.data.length !== 1) fail(`bias of ${c.data.length} values for ${U} units`);
          weights.push({ layer: lname, name: "bias", values: Float32Array.from({ length: U }, (_, u) => beta * c.data[c.data.length === 1 ? 0 : u]!) });
        }
        out({ kind: "tensor", sym, onnx: [U] });
        break;
      }
      case "Add": case "Sub": case "Mul": case "Div": {
        const [x, y] = [get(0), get(1)];
        if (x.kind === "tensor" && y.kind === "tensor") {
          if (n.opType !== "Add") fail("only Add of two computed tensors is supported (residual connections)");
          const a = x as Extract<Value, { kind: "tensor" }>, b = y as Extract<Value, { kind: "tensor" }>;
          [a, b].forEach(noPad);
          if (a.onnx.join() !== b.onnx.join()) fail(`shapes [${a.onnx.join(", ")}] and [${b.onnx.join(", ")}] differ (broadcasting is not supported)`);
          out({ ...a, sym: apply(L.add({ name: uniq(n, "add") }), a.sym, b.sym) });
          break;
        }
        // a tensor and a constant that broadcasts per channel (scalar, [C], [C,1,1] or [1,C,1,1]): a scale layer
        const tIdx = x.kind === "tensor" ? 0 : 1;
        const t = tensor(tIdx), c = constant(1 - tIdx);
        noPad(t);
        const C = t.onnx[0]!, rank = t.onnx.length + 1;
        const cd = [...c.dims];
        while (cd.length < rank) cd.unshift(1); // numpy broadcasting aligns from the right
        const perChannel = c.data.length === 1 || (cd.length === rank && cd.every((d, i) => (i === 1 ? d === C : d === 1)));
        if (!perChannel) fail(`a constant of shape [${c.dims.join(", ")}] does not broadcast per channel over [N, ${t.onnx.join(", ")}]`);
        const v = (i: number) => c.data[c.data.length === 1 ? 0 : i]!;
        const sc = new Float32Array(C).fill(1), sh = new Float32Array(C);
        for (let i = 0; i < C; i++) {
          if (n.opType === "Mul") sc[i] = v(i);
          else if (n.opType === "Add") sh[i] = v(i);
          else if (n.opType === "Sub") { if (tIdx === 0) sh[i] = -v(i); else { sc[i] = -1; sh[i] = v(i); } }
          else { if (tIdx !== 0) fail("dividing a constant by a tensor is not supported"); sc[i] = 1 / v(i); }
        }
        const lname = uniq(n, "scale");
        weights.push({ layer: lname, name: "scale", values: sc }, { layer: lname, name: "shift", values: sh });
        out({ ...t, sym: apply(L.scale({ name: lname }), t.sym) });
        break;
      }
      case "LRN": {
        const t = tensor(0);
        noPad(t);
        const sym = apply(L.lrn({ size: int("size", 5), alpha: flt("alpha", 1e-4), beta: flt("beta", 0.75), k: flt("bias", 1), name: uniq(n, "lrn") }), t.sym);
        out({ ...t, sym });
        break;
      }
      default:
        fail("not supported");
    }
  }
  if (m.graph.output.length !== 1) throw new FormatError(`${src}: ${m.graph.output.length} graph outputs (${m.graph.output.map((o) => `"${o.name}"`).join(", ")}); one is supported`);
  const outName = m.graph.output[0]!.name;
  const res = values.get(outName);
  if (!res || res.kind !== "tensor") throw new FormatError(`${src}: the graph output "${outName}" is not computed by supported nodes`);
  const model = functionalModel({ inputs: inp, outputs: res.sym, name });
  return withWeights(model, weights, src);
}

function opset(m: OnnxModel): number {
  return Math.max(0, ...m.opsetImport.filter((o) => !o.domain).map((o) => num(o.version)));
}
