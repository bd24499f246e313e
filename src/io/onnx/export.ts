// ONNX export: a fovea model becomes an NCHW ONNX graph (opset 13) that onnxruntime serves. Each
// layer type's exporter (registry.ts) converts its weights once (HWIO → OIHW; dense weights after
// a flatten go back to the CHW order ONNX's Flatten produces); fused activations become their own
// nodes; batch norm exports with its moving statistics. An NHWC model input is declared NCHW.
import { ConfigError, checkOptionKeys, show, checkName, checkModel } from "../../errors.js";
import type { Permute } from "../../layers/reshape.js";
import type { Model } from "../../model/model.js";
import { ACT } from "../../runtime/generated/layout.js";
import { toFoveaOrder, type ExportNode } from "./context.js";
import { encodeModel, type AttributeProto, type NodeProto, type ProtoInit } from "./proto.js";
import { EXPORTERS, FLAT_AWARE } from "./registry.js";
import { float32LEBytes } from "../../tensor.js";

/** Whole numbers as ONNX's int64 raw data: little-endian 8-byte integers. */
function int64LEBytes(values: ArrayLike<number>): Uint8Array {
  const out = new Uint8Array(values.length * 8), dv = new DataView(out.buffer);
  for (let i = 0; i < values.length; i++) dv.setBigInt64(i * 8, BigInt(values[i]!), true);
  return out;
}

type Attr = ProtoInit<AttributeProto>;
type Node = ProtoInit<NodeProto>;

/** A model as ONNX bytes. */
export async function exportOnnx(model: Model, options: { name?: string } = {}): Promise<Uint8Array> {
  checkModel(model, "exportOnnx");
  checkOptionKeys("exportOnnx", options, ["name"]);
  checkName("exportOnnx", options.name);
  if (model.io?.inputs.length === 0) return constantGraph(model, options.name ?? model.name);
  const A = { INT: 2, FLOAT: 1, STRING: 3, INTS: 7 };
  const nodes: Node[] = [];
  const inits: { name: string; dims: number[]; dataType: number; rawData: Uint8Array }[] = [];
  const weights = new Map(model.getWeights().map((w) => [`${w.layer}/${w.name}`, w.values]));
  let k = 0;
  const init = (dims: number[], data: Float32Array | number[], type: "f32" | "i64" = "f32", given?: string) => {
    const name = given ?? `w${inits.length}`;
    const raw = type === "f32" ? float32LEBytes(data) : int64LEBytes(data);
    inits.push({ name, dims, dataType: type === "f32" ? 1 : 7, rawData: raw });
    return name;
  };
  const opOutputs = (opType: string, input: string[], attrs: Record<string, number | number[] | { f: number } | { s: string }>, count: number) => {
    const out = Array.from({ length: count }, () => `t${k++}`);
    const attribute = Object.entries(attrs).map(([name, v]): Attr => (Array.isArray(v) ? { name, type: A.INTS, ints: v } : typeof v === "number" ? { name, type: A.INT, i: v }
      : "s" in v ? { name, type: A.STRING, s: new TextEncoder().encode(v.s) } : { name, type: A.FLOAT, f: v.f }));
    nodes.push({ opType, name: `${opType}_${k}`, input, output: out, attribute });
    return out;
  };
  const op = (opType: string, input: string[], attrs: Record<string, number | number[] | { f: number } | { s: string }> = {}) => opOutputs(opType, input, attrs, 1)[0]!;
  const act = (x: string, code: number) => (code === ACT.RELU ? op("Relu", [x]) : code === ACT.RELU6 ? op("Clip", [x, init([], [0]), init([], [6])]) : x);

  // tied parameters (Model.tie): one tensor, written once — each tied layer's initializers made from it (those after it asks
  // for the parameter, float32) reuse the first copy's where the values are the same, so that a re-import ties them again
  const tieGroup = new Map(model.ties.flatMap((g, k) => g.map(([l, p]): [string, number] => [`${l}/${p}`, k])));
  const tiedInits = new Map<string, { raw: Uint8Array; name: string }[]>();
  const initOfTied = (group: number, dims: number[], data: Float32Array | number[], given?: string): string => {
    const key = `${group}|${dims.join(",")}`, raw = float32LEBytes(data), seen = tiedInits.get(key) ?? [];
    const same = seen.find((e) => e.raw.length === raw.length && e.raw.every((b, i) => b === raw[i]));
    if (same) return same.name;
    const name = init(dims, data, "f32", given);
    tiedInits.set(key, [...seen, { raw, name }]);
    return name;
  };

  const ns = model.nodes;
  // what each fovea tensor is in ONNX: its name and, for features flattened from an image, the [C, H, W] it came from
  const names: string[] = [];
  const flatOf: ([number, number, number] | null)[] = [];
  const inShape = model.inputShape;
  // an imported NCHW model's leading NCHW → NHWC permute: the ONNX input is then the file's own
  // NCHW, which only that permute may read (another reader of the input expects fovea's layout)
  const leadingPermute = ns[0]!.layer.type === "permute" && (ns[0]!.layer as Permute).perm.join() === "1,2,0" && ns.filter((n) => n.inputs.includes(-1)).length === 1;
  // a channels-last file's input (NamedShape.nhwc) stays NHWC, transposed to NCHW first as the file did
  const nhwcIn = inShape.length === 3 && !leadingPermute && model.io?.inputs.length === 1 && model.io.inputs[0]!.nhwc === true;
  const onnxIn = inShape.length === 3 ? (leadingPermute || nhwcIn ? [...inShape] : [inShape[2]!, inShape[0]!, inShape[1]!]) : [...inShape];
  // the graph's input and output keep an imported model's names (code feeds onnxruntime by them),
  // unless one could be taken for a name made here (t…, w…); else "input" and "output"
  const kept = (list: readonly { name: string }[] | undefined, fallback: string) => (list?.length === 1 && list[0]!.name !== "" && !/^[tw]\d+$/.test(list[0]!.name) ? list[0]!.name : fallback);
  const inName = kept(model.io?.inputs, "input"), wanted = kept(model.io?.outputs, "output");
  const outName = wanted !== inName ? wanted : inName === "output" ? "output_1" : "output";
  const input = nhwcIn ? op("Transpose", [inName], { perm: [0, 3, 1, 2] }) : inName;
  const name = (i: number) => (i < 0 ? input : names[i]!);
  ns.forEach((n, j) => {
    const l = n.layer;
    const label = `exportOnnx: layer ${l.label}`;
    const exporter = Object.hasOwn(EXPORTERS, l.type) ? EXPORTERS[l.type]! : null;
    if (!exporter) throw new ConfigError(`${label}: does not export to ONNX`);
    // features flattened from an image are in CHW order in ONNX: in fovea's order for an exporter that does not take them so
    const aware = FLAT_AWARE.has(l.type);
    const inputs = n.inputs.map((i, k) => (i >= 0 && flatOf[i] && !aware ? toFoveaOrder({ op, init }, name(i), n.inShapes[k]!, flatOf[i]!) : name(i)));
    let asked: number | undefined; // the tie group of the parameter the exporter asked for last
    const x: ExportNode = {
      layer: l, node: n, index: j, last: j === ns.length - 1, leadingPermute: j === 0 && leadingPermute, label, inputs, inputFlatOf: n.inputs.map((i) => (i < 0 || !aware ? null : flatOf[i] ?? null)),
      w: (p) => {
        asked = tieGroup.get(`${l.name}/${p}`);
        return weights.get(`${l.name}/${p}`)!;
      },
      init: (dims, data, type = "f32", given) => (asked !== undefined && type === "f32" ? initOfTied(asked, dims, data, given) : init(dims, data, type, given)),
      op, opOutputs, act,
    };
    const r = exporter(x);
    names[j] = r.out;
    flatOf[j] = r.flatOf ?? null;
  });
  const outShape = model.outputShape;
  const vi = (nm: string, dims: (number | string)[]) => ({ name: nm, type: { tensorType: { elemType: 1, shape: { dim: dims.map((d) => (typeof d === "string" ? { dimParam: d } : { dimValue: d })) } } } });
  // an image held NHWC is NCHW in ONNX; after a closing NHWC → NCHW permute it is already. An
  // imported model's rank-3 output is in the file's order unless it is held as an image
  // (NamedShape.image): past layers after the last permute (a channel shuffle's reshape, a ReLU)
  // it is brought back from the NCHW every rank-3 tensor is in ONNX here to that order
  const closing = ns[ns.length - 1]!.layer.type === "permute" && (ns[ns.length - 1]!.layer as Permute).perm.join() === "2,0,1";
  const held = !model.io || model.io.outputs[0]?.image === true;
  const onnxOut = outShape.length === 3 && !closing && held ? [outShape[2]!, outShape[0]!, outShape[1]!] : [...outShape];
  // the graph output gets its own name (features flattened from an image in fovea's order, as predict gives them)
  const last = ns.length - 1;
  const result = flatOf[last] ? toFoveaOrder({ op, init }, names[last]!, outShape, flatOf[last]!)
    : outShape.length === 3 && !closing && !held ? toFoveaOrder({ op, init }, names[last]!, outShape, null) : names[last]!;
  let outputs: ReturnType<typeof vi>[];
  const several = model.io && model.io.outputs.length > 1 ? model.io.outputs : null;
  if (several) {
    // an imported model's several outputs, packed one after another in each example (model.io): each
    // its range of the packed values, shaped and named as the file had it (an image held NHWC as io says)
    if (model.io!.whole) throw new ConfigError(`exportOnnx: model "${model.name}" mixes its examples (an imported graph whose outputs are whole file shapes); its ${several.length} outputs do not export`);
    const empty = several.find((o) => o.shape.includes(0));
    if (empty) throw new ConfigError(`exportOnnx: model "${model.name}"'s output "${empty.name}" holds no values ([${empty.shape.join(", ")}]); it does not export`);
    const clash = several.find((o) => o.name === inName || /^[tw]\d+$/.test(o.name) || o.name === "");
    if (clash) throw new ConfigError(`exportOnnx: model "${model.name}"'s output name ${show(clash.name)} is the input's or one of the names made here (t…, w…); rename it in model.io`);
    let off = 0;
    outputs = several.map((o) => {
      const n = o.shape.reduce((a, b) => a * b, 1);
      const part = op("Slice", [result, init([1], [off], "i64"), init([1], [off + n], "i64"), init([1], [1], "i64")]);
      off += n;
      // an image held NHWC (outputLayout "NHWC") goes back to NCHW, as a single output does
      const image = o.image === true && o.shape.length === 3;
      const shaped = op("Reshape", [part, init([o.shape.length + 1], [0, ...o.shape], "i64")]);
      nodes.push({ opType: image ? "Transpose" : "Identity", name: `output_${o.name}`, input: [shaped], output: [o.name], attribute: image ? [{ name: "perm", type: A.INTS, ints: [0, 3, 1, 2] }] : [] });
      return vi(o.name, ["N", ...(image ? [o.shape[2]!, o.shape[0]!, o.shape[1]!] : o.shape)]);
    });
  } else {
    nodes.push({ opType: "Identity", name: "output_identity", input: [result], output: [outName], attribute: [] });
    outputs = [vi(outName, ["N", ...onnxOut])];
  }
  return encodeModel({
    irVersion: 7, producerName: "fovea", opsetImport: [{ domain: "", version: 13 }],
    graph: { name: options.name ?? model.name, node: nodes, initializer: inits, input: [vi(inName, ["N", ...onnxIn])], output: outputs },
  });
}

/**
 * A model without inputs (model.io: an imported graph whose outputs are constants): a graph without
 * inputs whose outputs, named and shaped as model.io has them, are Constant nodes of predict's values.
 */
function constantGraph(model: Model, name: string): Uint8Array {
  const io = model.io!, ys = model.predict({});
  const vi = (nm: string, dims: number[]) => ({ name: nm, type: { tensorType: { elemType: 1, shape: { dim: dims.map((d) => ({ dimValue: d })) } } } });
  const node = io.outputs.map((o): Node => ({
    opType: "Constant", name: `Constant_${o.name}`, input: [], output: [o.name],
    attribute: [{ name: "value", type: 4, t: { dims: o.shape, dataType: 1, rawData: float32LEBytes(ys[o.name]!) } }],
  }));
  return encodeModel({
    irVersion: 7, producerName: "fovea", opsetImport: [{ domain: "", version: 13 }],
    graph: { name, node, initializer: [], input: [], output: io.outputs.map((o) => vi(o.name, o.shape)) },
  });
}
