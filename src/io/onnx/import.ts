// ONNX import: a CNN graph (opsets 9–17) becomes a fovea model in NHWC. Each op's handler (see
// registry.ts) converts its weights once (OIHW → HWIO, Gemm → dense with the NCHW-flatten
// permutation); the Shape/Gather/Unsqueeze/Concat chains PyTorch emits around flatten are folded,
// and every unsupported op is listed in one FormatError before anything is built. The bytes are
// decoded by proto.ts.
import { ConfigError, FormatError, FoveaError, checkOptionKeys, show, naming } from "../../errors.js";
import * as L from "../../layers/index.js";
import { size } from "../../layers/layer.js";
import { markApart, Model } from "../../model/model.js";
import { foveaFileKind } from "../../model/save.js";
import type { NamedIO } from "../../model/named.js";
import { input, type SymbolicTensor } from "../../layers/symbolic.js";
import { getBackend, withBackend, type Backend } from "../../runtime/backend.js";
import { getLimits } from "../../runtime/limits.js";
import { withWeights } from "../weights.js";
import { ImportNode, MIXES_BATCH, parameterNamed, toImage, toPlain, withPadLayer, type ImportGraph } from "./context.js";
import type { GraphProto } from "./proto.js";
import { N, isImage, num, opsetOf, resolveExternalData, same, tensorValues, type ConstValue, type ExternalData, type OnnxModel, type OnnxNode, type Value } from "./model.js";
import { decodeModel } from "./proto.js";
import { IMPORTERS, REWRITES } from "./registry.js";
import { ONNX_ATTRIBUTES } from "./attributes.js";

export interface OnnxImportOptions {
  /**
   * Layout of the data you will pass: "NCHW" or "NHWC" (fovea's own). Default: the file's own input
   * layout — NCHW as PyTorch exports, or NHWC for a model whose NHWC input is transposed to NCHW
   * first (tf2onnx and Keras exports).
   */
  inputLayout?: "NCHW" | "NHWC";
  /**
   * Layout of the outputs: "NCHW" (default: the file's own — feature maps [C, H, W], features of a
   * flattened image in CHW order) or "NHWC" (fovea's own: [H, W, C], HWC order; no reordering at the
   * end where fovea holds the output as an image, a permute where it holds it in the file's order,
   * past a reshape or a channel shuffle). `model.outputShape` says which.
   */
  outputLayout?: "NCHW" | "NHWC";
  name?: string;
  /** Names the file in error messages. */
  source?: string;
  /** The backend to build on (default: the initialised one). */
  backend?: Backend;
  /**
   * Graph inputs given fixed values at import, by name: they become constants, as initializers are
   * (weights, bounds or shapes that a file takes as inputs).
   */
  constants?: Record<string, { dims: number[]; data: ArrayLike<number> }>;
  /**
   * The files of a model saved with external data (onnx.save_model(save_as_external_data=True),
   * torch.onnx.export past 2 GB): by the location the file names ({ "model.onnx.data": bytes }),
   * or a function that reads one — in Node, `(location) => fovea.data.readBytes(join(folder, location))`.
   */
  externalData?: ExternalData;
  /**
   * Sizes for data inputs' symbolic axes: the sizes of an input's axes after the batch axis, in the
   * file's order — `[3, 224, 224]` for a file whose one data input is [N, 3, H, W], or by input
   * name (`{ input: [3, 224, 224] }`, any of several). fovea plans every buffer for one example
   * size, so a file exported with its height and width dynamic imports at the sizes given here (as
   * onnxsim's --overwrite-input-shape fixes them); an axis the file fixes must be given its own
   * size. The batch axis stays as the file has it.
   */
  inputShapes?: ArrayLike<number> | Record<string, ArrayLike<number>>;
  /**
   * Constants that fine-tuning trains beyond those PyTorch's export names as parameters (`….weight`,
   * `….bias`): initializer names, or a test of one — `(name) => name.endsWith("layer_scale")` for
   * torchvision's ConvNeXt, whose layer scales PyTorch trains and a file cannot tell from buffers.
   * Each must be read by a Mul or Add that scales or shifts data by one value, one a channel or one
   * a last index (as a parameter of that kind is), else a FormatError names it and its reader.
   */
  trainable?: readonly string[] | ((initializer: string) => boolean);
}

export async function importOnnx(bytes: Uint8Array, options: OnnxImportOptions = {}): Promise<Model> {
  checkOptionKeys("importOnnx", options, ["inputLayout", "outputLayout", "name", "source", "backend", "constants", "externalData", "inputShapes", "trainable"]);
  const src = options.source ?? "model.onnx";
  const layout = options.inputLayout;
  for (const k of ["inputLayout", "outputLayout"] as const) {
    const v = options[k];
    if (v !== undefined && v !== "NCHW" && v !== "NHWC") throw new ConfigError(`importOnnx: ${k} must be "NCHW" or "NHWC", got ${show(v)}`);
  }
  // fovea's own files are not protobuf: say what they are rather than how they fail to decode
  const kind = bytes instanceof Uint8Array ? foveaFileKind(bytes) : null;
  if (kind === "checkpoint") throw new FormatError(`${src}: a fovea training checkpoint, not an ONNX model (fovea.train.readCheckpoint reads it)`);
  if (kind === "model") throw new FormatError(`${src}: a fovea model (.fovea), not an ONNX model (fovea.loadModel reads it)`);
  const decoded = decodeModel(bytes, src);
  if (!decoded.graph || decoded.graph.node.length === 0) throw new FormatError(`${src}: the ONNX model has no graph`);
  const ext = options.externalData;
  if (ext !== undefined && typeof ext !== "function" && !(ext !== null && typeof ext === "object" && Object.values(ext).every((v) => v instanceof Uint8Array))) {
    throw new ConfigError(`importOnnx: externalData must be the files' bytes by location ({ "model.onnx.data": Uint8Array }) or a function that reads one, got ${show(ext)}`);
  }
  await resolveExternalData(decoded, ext, src);
  const opset = opsetOf({ ...decoded, graph: decoded.graph });
  if (opset < 1 || opset > 17) throw new FormatError(`${src}: opset ${opset} is not supported (1–17)`);
  // ONNX names every value once: a graph input or output listed twice could not be fed or read by name
  for (const [what, list] of [["input", decoded.graph.input], ["output", decoded.graph.output]] as const) {
    const seen = new Set<string>();
    for (const v of list) {
      if (seen.has(v.name)) throw new FormatError(`${src}: the graph ${what} "${v.name}" is listed twice (${what}s: ${list.map((i) => `"${i.name}"`).join(", ")}); every value of an ONNX graph has one name`);
      seen.add(v.name);
    }
  }
  // ... and is computed once: a value two nodes compute, or a node computes over a graph input or
  // an initializer, has no one meaning (onnxruntime refuses it too)
  const producer = new Map<string, string>();
  for (const i of decoded.graph.input) producer.set(i.name, `the graph input "${i.name}"`);
  for (const t of decoded.graph.initializer) if (!producer.has(t.name)) producer.set(t.name, `the initializer "${t.name}"`);
  decoded.graph.node.forEach((n, k) => {
    const who = `node ${k} "${n.name}" (${n.opType || "no op_type"})`;
    for (const o of n.output) {
      if (o === "") continue; // an optional output left out
      const was = producer.get(o);
      if (was !== undefined) throw new FormatError(`${src}: the value "${o}" comes from ${was} and again from ${who}; an ONNX graph defines each value once`);
      producer.set(o, who);
    }
  });
  // every attribute is one its op has at this opset: one it does not (a misspelt "pad" on a Conv) is
  // not read, so ignoring it would compute something else than the file's author meant
  const wrong: string[] = [];
  subgraphNodes(decoded.graph.node).forEach((n) => {
    const own = isDefaultDomain(n) ? attributesAt(n.opType, opset) : undefined;
    if (!own) return; // an op fovea does not import: the check below names it
    for (const a of n.attribute) {
      const who = `node "${n.name || n.output[0]}" (${n.opType})`;
      if (a.name === "") wrong.push(`${who} has an attribute without a name`);
      else if (!own.includes(a.name)) wrong.push(`${who}: "${a.name}" is not an attribute of ${n.opType} at opset ${opset} (${own.length ? own.join(", ") : "it has none"})`);
    }
  });
  if (wrong.length) throw new FormatError(`${src}: ${wrong.join("; ")}`);
  const trainable = trainableTest(decoded.graph, options.trainable, src);
  const m0: OnnxModel = { ...decoded, graph: { ...decoded.graph, node: live(rewrite(decoded.graph, src, trainable), decoded.graph) } };
  const bad = new Map<string, string[]>();
  for (const n of subgraphNodes(m0.graph.node)) {
    const op = isDefaultDomain(n) ? n.opType : `${n.domain}:${n.opType}`;
    if (!isDefaultDomain(n) || !Object.hasOwn(IMPORTERS, n.opType)) bad.set(op, [...(bad.get(op) ?? []), n.name || n.output[0]!]);
  }
  if (bad.size) {
    throw new FormatError(`${src}: unsupported ONNX ops: ${[...bad].map(([op, names]) => `${op === "" ? "(no op_type)" : op} (${names.map((x) => `"${x}"`).join(", ")})`).join("; ")}`);
  }
  const be = options.backend ?? getBackend();
  const name = options.name ?? (options.source ? src.replace(/^.*[\\/]/, "").replace(/\.onnx$/i, "") : m0.graph.name || "onnx");
  const constants = new Map<string, ConstValue>();
  for (const [k, c] of Object.entries(options.constants ?? {})) {
    if (!m0.graph.input.some((i) => i.name === k)) throw new FormatError(`${src}: constants: the graph has no input "${k}" (inputs: ${m0.graph.input.map((i) => `"${i.name}"`).join(", ")})`);
    const dims = Array.from(c.dims ?? []), count = dims.reduce((a, b) => a * b, 1);
    if (!dims.every((d) => Number.isSafeInteger(d) && d >= 0) || c.data?.length !== count) throw new FormatError(`${src}: constants: "${k}" has ${c.data?.length} values for dims ${show(dims)}`);
    // of the input's declared type: float data stays float (an integer constant's Div truncates)
    const ty = m0.graph.input.find((i) => i.name === k)!.type?.tensorType?.elemType;
    const float = ty === undefined || ty === 0 ? c.data instanceof Float32Array || c.data instanceof Float64Array : [1, 10, 11, 16].includes(ty);
    constants.set(k, { kind: "const", dims, data: float ? Float32Array.from(c.data) : Array.from(c.data) });
  }
  const inits = new Set(m0.graph.initializer.map((t) => t.name));
  const m = withInputShapes(m0, options.inputShapes, (n) => constants.has(n) || inits.has(n), src);
  // an input whose shape in the file has a zero dimension holds no values whatever is fed: it is
  // the empty tensor, a constant (not asked for)
  for (const i of m.graph.input) {
    const dim = i.type?.tensorType?.shape?.dim;
    if (constants.has(i.name) || inits.has(i.name) || !dim?.length || !dim.every((d) => d.dimValue !== undefined) || !dim.some((d) => num(d.dimValue) === 0)) continue;
    constants.set(i.name, { kind: "const", dims: dim.map((d) => num(d.dimValue)), data: [] });
  }
  // the model is returned warm (Model.warm): predict's plan for the file's batch (1 where it is
  // not fixed, or the graph is taken whole) built and run, so the first predict is not a cold one
  const data = dataInputs(m, (n) => constants.has(n) || inits.has(n));
  const fixed = num(data[0]?.type?.tensorType?.shape?.dim?.[0]?.dimValue ?? 0);
  const run = (lead: 0 | 1) => {
    const model = naming(src, () => withBackend(be, () => build(m, src, layout, options.outputLayout ?? "NCHW", name, opset, new Map(constants), lead, trainable)));
    try {
      // the file's fixed batch is planned at once: its input alone must fit the limit on a model's memory
      const bytes = lead && fixed > 0 ? fixed * model.inputSize * 4 : 0, { maxModelBytes } = getLimits();
      if (bytes > maxModelBytes) throw new FormatError(`${src}: the file fixes its batch at ${fixed} examples of ${model.inputSize} values: ${bytes} bytes of input alone, more than the limit on a model's memory (maxModelBytes ${maxModelBytes}; fovea.setLimits raises it)`);
      return model.warm(lead && fixed > 0 ? fixed : 1);
    } catch (e) {
      model.free();
      throw e;
    }
  };
  // no data input: the outputs are constants, the graph one example (no batch axis)
  if (data.length === 0) return run(0);
  try {
    return run(1);
  } catch (e) {
    // a graph that mixes its axis 0 (concat, softmax, a reshape or transpose across it, a scalar
    // input): when every data input's shape is fixed in the file, each is taken whole, as one
    // example — model.io.whole says so and inputShape is the file's whole shape
    if (!(e instanceof Error) || !MIXES_BATCH.has(e) || !fixedInputs(m, constants)) throw e;
    try {
      return run(0);
    } catch (whole) {
      // both ways fail: say why taking it whole did not work either (a conv needs [C, H, W] examples…)
      if (!(whole instanceof FormatError)) throw e;
      throw new FormatError(`${e.message}; taken whole, as one example (the file fixes its shapes), it does not import either: ${whole.message.replace(`${src}: `, "")}`);
    }
  }
}

/**
 * The model with the sizes `inputShapes` gives (the axes after the batch axis, in the file's order;
 * by input name, or one list for the file's one data input) written into its data inputs' declared
 * shapes, where the file leaves them symbolic.
 */
function withInputShapes(m: OnnxModel, shapes: OnnxImportOptions["inputShapes"], constant: (name: string) => boolean, src: string): OnnxModel {
  if (shapes === undefined) return m;
  const list = (v: unknown) => Array.isArray(v) || (ArrayBuffer.isView(v) && !(v instanceof DataView));
  const plain = shapes !== null && typeof shapes === "object" && [Object.prototype, null].includes(Object.getPrototypeOf(shapes));
  if (!list(shapes) && !plain) throw new ConfigError(`importOnnx: inputShapes must be the sizes after the batch axis ([3, 224, 224], for a file of one data input) or such sizes by input name ({ "input": [3, 224, 224] }), got ${show(shapes)}`);
  const inputs = m.graph.input.filter((i) => !constant(i.name));
  const names = (vs: readonly { name: string }[]) => vs.map((v) => `"${v.name}"`).join(", ") || "none";
  let entries: [string, unknown][];
  if (list(shapes)) {
    const data = dataInputs(m, constant);
    if (data.length !== 1) throw new FormatError(`${src}: inputShapes: the graph has ${data.length} data inputs (${names(data)}); give the sizes by input name ({ "${data[0]?.name ?? "input"}": [${Array.from(shapes as ArrayLike<number>).join(", ")}] })`);
    entries = [[data[0]!.name, shapes]];
  } else entries = Object.entries(shapes);
  const fixed = new Map<string, (typeof inputs)[number]>();
  for (const [k, value] of entries) {
    const i = inputs.find((v) => v.name === k);
    if (!i) {
      const what = m.graph.input.some((v) => v.name === k) ? `"${k}" is a constant (an initializer or given in constants)` : `the graph has no input "${k}"`;
      throw new FormatError(`${src}: inputShapes: ${what} (data inputs: ${names(inputs)})`);
    }
    const given = list(value) ? Array.from(value as ArrayLike<number>) : null;
    if (!given || !given.every((d) => Number.isSafeInteger(d) && d > 0)) {
      throw new ConfigError(`importOnnx: inputShapes: "${k}" must be positive whole sizes of the axes after the batch axis, got ${given ? `[${given.join(", ")}]` : show(value)}`);
    }
    if (!i.type?.tensorType) throw new FormatError(`${src}: inputShapes: the graph input "${k}" is not a tensor (a sequence, map or optional)`);
    const dims = i.type.tensorType.shape?.dim;
    if (dims?.length === 0) throw new FormatError(`${src}: inputShapes: the graph input "${k}" is a scalar (rank 0): it has no batch axis and no sizes to give`);
    const declared = dims ? `[${dims.map((d, a) => (d.dimValue !== undefined && num(d.dimValue) > 0 ? num(d.dimValue) : d.dimParam || (a === 0 ? "N" : "?"))).join(", ")}]` : "of no declared shape";
    if (dims && given.length !== dims.length - 1) {
      throw new FormatError(`${src}: inputShapes: the input "${k}" is ${declared}: give the ${dims.length - 1} sizes after its batch axis, in that order (got [${given.join(", ")}])`);
    }
    const clash = (dims ?? []).slice(1).findIndex((d, a) => d.dimValue !== undefined && num(d.dimValue) > 0 && num(d.dimValue) !== given[a]);
    if (clash >= 0) throw new FormatError(`${src}: inputShapes: the input "${k}" is ${declared}, whose axis ${clash + 1} is ${num(dims![clash + 1]!.dimValue)} in the file; [${given.join(", ")}] gives it ${given[clash]}`);
    const batch = dims?.[0] ?? { dimParam: "N", denotation: "" };
    fixed.set(k, { ...i, type: { ...i.type, tensorType: { ...i.type.tensorType, shape: { dim: [batch, ...given.map((d) => ({ dimValue: d, denotation: "" }))] } } } });
  }
  return { ...m, graph: { ...m.graph, input: m.graph.input.map((i) => fixed.get(i.name) ?? i) } };
}

/** Whether every data input's shape is fixed in the file (its axis 0 too). */
function fixedInputs(m: OnnxModel, constants: Map<string, ConstValue>): boolean {
  const inits = new Set(m.graph.initializer.map((t) => t.name));
  return m.graph.input.filter((i) => !inits.has(i.name) && !constants.has(i.name)).every((i) => (i.type?.tensorType?.shape?.dim ?? []).every((d) => d.dimValue !== undefined && num(d.dimValue) > 0));
}

function build(m: OnnxModel, src: string, layoutOption: "NCHW" | "NHWC" | undefined, outLayout: "NCHW" | "NHWC", name: string, opset: number, constants: Map<string, ConstValue>, lead: 0 | 1, trainable: (initializer: string) => boolean): Model {
  const values = new Map<string, Value>(constants);
  const io: NamedIO = { inputs: [], outputs: [], ...(lead ? {} : { whole: true as const }) };
  for (const t of m.graph.initializer) values.set(t.name, { kind: "const", dims: t.dims.map(num), data: tensorValues(t, `${src}: initializer "${t.name}"`) });
  const inputs = dataInputs(m, (n) => values.has(n));
  const shapes = inputs.map((i) => {
    const type = i.type;
    if (!type?.tensorType) throw new FormatError(`${src}: the graph input "${i.name}" is not a tensor (a sequence, map or optional)`);
    const dims = (type.tensorType.shape?.dim ?? []).map((d) => (d.dimValue !== undefined && num(d.dimValue) > 0 ? num(d.dimValue) : N));
    if (!lead) return [1, ...dims]; // whole: the file's shape is one example
    const per = dims.slice(1);
    if (dims.length === 0) {
      const e = new FormatError(`${src}: the graph input "${i.name}" is a scalar (rank 0): it has no batch axis`);
      MIXES_BATCH.add(e);
      throw e;
    }
    if (per.some((d) => d === 0)) throw new FormatError(`${src}: the input "${i.name}"'s per-example shape ${show(per)} is empty`);
    if (per.some((d) => d <= 0)) {
      // (a symbolic dimension reads as a negative placeholder here)
      const axes = per.flatMap((d, k) => (d <= 0 ? [k + 1] : []));
      throw new FormatError(`${src}: the input "${i.name}" has symbolic ${axes.length > 1 ? "axes" : "axis"} ${axes.join(", ")} ([N, ${per.map((d) => (d <= 0 ? "?" : d)).join(", ")}]): fovea plans every buffer for one example size; give the sizes after the batch axis at import (importOnnx's inputShapes: { "${i.name}": [${per.map((d) => (d <= 0 ? "…" : d)).join(", ")}] }; the CLI's --input-shape), or export the file with them fixed; only the batch axis may vary`);
    }
    return dims;
  });
  const dims = shapes[0] ?? [], per = dims.slice(1);
  // integer and bool inputs (their values are exact in float32 up to 2^24; an integer division is not)
  const intInput = (k: number) => [2, 3, 4, 5, 6, 7, 9, 12, 13].includes(inputs[k]!.type?.tensorType?.elemType ?? 1);
  const typed = (k: number) => (intInput(k) ? { int: true as const } : {});
  let inp: SymbolicTensor;
  if (inputs.length === 0) {
    // no data input (every input a constant, or none): every output is a constant; the model's
    // input is a placeholder of one value that nothing reads (io.inputs is empty: predict() takes no data)
    inp = input([1], { name: "no_input" });
  } else if (inputs.length > 1) {
    // several inputs: one after another in each example, sliced apart (in ONNX's order)
    if (layoutOption === "NHWC") throw new FormatError(`${src}: inputLayout NHWC is for a model with one image input; this one has ${inputs.length} inputs`);
    const pers = shapes.map((d) => (d.length === 1 ? [1] : d.slice(1)));
    const sizes = pers.map((p) => p.reduce((a, b) => a * b, 1));
    inp = input([sizes.reduce((a, b) => a + b, 0)]);
    let begin = 0;
    inputs.forEach((vi, k) => {
      const sym = L.slice({ begin, size: sizes[k]!, name: `input_${vi.name}`.replace(/[^A-Za-z0-9_./:-]/g, "_") }).apply(inp);
      const onnx = shapes[k]!.length === 1 ? [] : pers[k]!;
      values.set(vi.name, { kind: "tensor", sym, onnx, ...(onnx.length === 3 ? { plain: true as const } : {}), ...typed(k) });
      begin += sizes[k]!;
    });
    io.inputs = inputs.map((vi, k) => ({ name: vi.name, shape: pers[k]! }));
  } else {
    // an NHWC input that every consumer transposes to NCHW (tf2onnx, Keras): fovea's own layout
    const users = m.graph.node.filter((n) => n.input.includes(inputs[0]!.name));
    const nhwcFile = per.length === 3 && users.length > 0 && users.every((n) => n.opType === "Transpose" && same((n.attribute.find((a) => a.name === "perm")?.ints ?? []).map(num), [0, 3, 1, 2]));
    const layout = layoutOption ?? (nhwcFile ? "NHWC" : "NCHW");
    if (per.length === 3 && lead) {
      const [C, H, W] = (nhwcFile ? [per[2], per[0], per[1]] : per) as [number, number, number];
      inp = input(layout === "NCHW" ? [C, H, W] : [H, W, C]);
      const first = layout === "NCHW" ? L.permute({ perm: [1, 2, 0], name: "nchw_to_nhwc" }).apply(inp) : inp;
      values.set(inputs[0]!.name, { kind: "tensor", sym: first, ...(nhwcFile ? { onnx: [H, W, C], plain: true as const } : { onnx: [C, H, W] }), ...typed(0) });
    } else if (per.length >= 1) {
      if (layoutOption === "NHWC") throw new FormatError(`${src}: inputLayout NHWC: the input [${[...(lead ? ["N"] : []), ...per].join(", ")}] is not an image`);
      inp = input(per);
      values.set(inputs[0]!.name, { kind: "tensor", sym: inp, onnx: per, ...(per.length === 3 ? { plain: true as const } : {}), ...typed(0) });
    } else {
      // one number per example ([N]): fovea's per-example shape [1]
      inp = input([1]);
      values.set(inputs[0]!.name, { kind: "tensor", sym: inp, onnx: [], ...typed(0) });
    }
    io.inputs = [{ name: inputs[0]!.name, shape: [...inp.shape], ...(nhwcFile && layout === "NHWC" && per.length === 3 && lead ? { nhwc: true as const } : {}) }];
  }

  const batch = lead && dims[0]! > 0 ? dims[0]! : null;
  const g: ImportGraph = {
    model: m, src, opset, values, weights: [], count: 0, batch, lead, ceilDrops: [], trained: new Set(),
    importNodes(nodes) {
      for (const n of nodes) IMPORTERS[n.opType]!(new ImportNode(g, n));
    },
  };
  g.importNodes(m.graph.node);
  // every constant `trainable` names beyond ….weight / ….bias trains, and as one tensor, or the option would be
  // ignored: each of its readers a Mul or Add whose scale layer took it (ImportGraph.trained), through an
  // Unsqueeze or Transpose without constant folding; an Identity's output is a parameter of its own
  const nodes = subgraphNodes(m.graph.node), readers = (t: string) => nodes.filter((n) => n.input.includes(t));
  // whether `count` layers took initializer t's values as parameters, the same way (one source: tied below) or, all its
  // values the same, as their own (sharedWeights)
  const oneSource = (t: string, count: number) => {
    const ws = g.weights.filter((w) => w.from?.startsWith(`${t}\u0000`));
    return ws.length === count && (ws.every((w) => w.from === ws[0]!.from) || uniform(ws[0]!.values));
  };
  const named = (n: OnnxNode) => `${n.opType} "${n.name || n.output[0]}"`, wrong: string[] = [];
  for (const t of parameterValues(m.graph).filter((v) => trainable(v) && !parameterNamed(v))) {
    const uses = readers(t).filter((n) => n.opType !== "Identity").flatMap((n) => (n.opType === "Unsqueeze" || n.opType === "Transpose" ? readers(n.output[0]!) : [n]));
    const bad = uses.filter((n) => !g.trained.has(n.output[0]!));
    if (bad.length) wrong.push(`"${t}" is read by ${bad.map(named).join(", ")}`);
    else if (uses.length > 1 && !oneSource(t, uses.length)) wrong.push(`"${t}" is read by ${uses.length} nodes (${uses.map(named).join(", ")}) that hold it differently (fovea ties layers that read a tensor the same way), which would each train a copy of it where PyTorch trains one tensor`);
    else if (uses.length === 0) wrong.push(`"${t}" is read by no node the outputs need`);
  }
  if (wrong.length) throw new FormatError(`${src}: trainable: ${wrong.join("; ")}: trainable takes constants that one Mul or Add reads, to scale or shift data by one value, one a channel or one a last index (a layer's weights train, or not, as their layer does)`);

  const images = new Set<string>(); // outputs held as images (outputLayout "NHWC")
  const outs = m.graph.output.map((o) => {
    const res0 = values.get(o.name);
    if (res0?.kind === "const") {
      // computed from shapes alone: it has no batch axis (and may hold the batch's size), so only a
      // whole input's graph (one example) has it as an output — a constant layer
      if (lead) {
        const e = new FormatError(`${src}: the graph output "${o.name}" is a constant ([${res0.dims.join(", ")}]) without a batch axis; a fovea model computes its outputs from its input`);
        MIXES_BATCH.add(e);
        throw e;
      }
      const lname = uniqOut(g, `constant_${o.name}`);
      g.weights.push({ layer: lname, name: "value", values: Float32Array.from(res0.data) });
      return L.constant({ shape: res0.dims.length ? res0.dims : [1], name: lname }).apply(inp);
    }
    const res = res0;
    if (!res) throw new FormatError(`${src}: the graph output "${o.name}" is not computed by supported nodes`);
    // zero padding that no conv took: a pad layer
    const r = res.pad?.some((v) => v) ? withPadLayer(res, uniqOut(g, `pad_${o.name}`)) : res;
    // the sizes the file declares for it (those it gives) are the ones fovea computes, or it would answer differently
    const declared = o.type?.tensorType?.shape?.dim;
    if (declared?.length) {
      const want = declared.map((d) => (d.dimValue !== undefined && num(d.dimValue) >= 0 ? num(d.dimValue) : null)), got = [...(lead ? [null] : []), ...r.onnx];
      // (past a ceil_mode pool that dropped a window starting past its input, the file's sizes may be
      // ONNX's formula before opset 19, which counts it: PyTorch 1.13 declares those; not checked there)
      if (!g.ceilDrops.length && (want.length !== got.length || want.some((d, i) => d !== null && got[i] !== null && d !== got[i]))) {
        const show = (ds: (number | null)[]) => `[${ds.map((d, i) => (d === null ? (lead && i === 0 ? "N" : "?") : d)).join(", ")}]`;
        throw new FormatError(`${src}: the graph output "${o.name}" is declared ${show(want)}, but its nodes as fovea imports them give ${show(got)}`);
      }
    }
    // the file's own layout (NCHW feature maps, CHW flatten order) unless NHWC is asked for
    // (NHWC: a feature map held in the file's order, past a reshape or a channel shuffle, is made an image too)
    const t = outLayout === "NHWC" && (isImage(r) || r.flatOf) ? r : outLayout === "NHWC" && r.onnx.length === 3 ? toImage(g, r, `output_${o.name}`) : toPlain(g, r, `output_${o.name}`);
    if (outLayout === "NHWC" && isImage(t)) images.add(o.name);
    return t.sym === inp ? L.reshape({ targetShape: [...inp.shape], name: uniqOut(g, "output_copy") }).apply(inp) : t.sym;
  });
  io.outputs = m.graph.output.map((o, k) => ({ name: o.name, shape: [...outs[k]!.shape], ...(images.has(o.name) ? { image: true as const } : {}) }));
  // several outputs: one after another in each example (an output with no values takes no place)
  const flat = outs.filter((o) => size(o.shape) > 0).map((o) => (o.shape.length === 1 ? o : L.flatten({ name: uniqOut(g, "output_flatten") }).apply(o)));
  const out = outs.length === 1 || flat.length === 0 ? outs[0]! : flat.length === 1 ? flat[0]! : L.concat({ name: "outputs" }).apply(...flat);
  // a parameter with no values (an empty output's constant) has nothing to set, and may be of a layer the outputs left out
  const model = withWeights((preset) => new Model({ inputs: inp, outputs: out, name, preset }), g.weights.filter((w) => w.values.length > 0), src);
  try {
    naming(src, () => {
      model.tie(sharedWeights(g.weights));
      markApart(model, heldApart(g.weights));
    });
  } catch (e) {
    model.free();
    throw e;
  }
  model.io = io;
  return model;
}

const uniqOut = (g: ImportGraph, base: string) => `${base}#${g.count++}`;

/**
 * The weights of one tensor of the file (not `uniform`) that layers hold differently — sources that
 * differ past its name (a Linear's weight and its transpose): no tie keeps them one, so training
 * them is refused (ParamBuffer.apart), as [layer, parameter, tensor].
 */
function heldApart(weights: ImportGraph["weights"]): [string, string, string][] {
  const byTensor = new Map<string, ImportGraph["weights"]>();
  for (const w of weights) {
    if (w.from === undefined || w.values.length === 0) continue;
    const t = w.from.slice(0, w.from.indexOf("\u0000")).split("\u0001")[0]!; // the tensor, however it was moved (originOf)
    byTensor.set(t, [...(byTensor.get(t) ?? []), w]);
  }
  return [...byTensor].filter(([, ws]) => new Set(ws.map((w) => w.from)).size > 1 && !ws.every((w) => uniform(w.values))).flatMap(([t, ws]) => ws.map((w): [string, string, string] => [w.layer, w.name, t]));
}

/**
 * Whether every value is the first's and that one is a constant an initialiser writes (0, 1, 0.25,
 * 1e-6: a float32 of three significant digits), as a fresh model's zero biases, batch norms and
 * PReLU slopes hold: what a simplifier may have stored once for several parameters. A trained
 * value (a one-slope PReLU's 0.2137…) is not one.
 */
const uniform = (v: ArrayLike<number>): boolean => {
  const a = v[0]!;
  return Math.fround(Number(a.toPrecision(3))) === a && Array.prototype.every.call(v, (u: number) => Object.is(u, a));
};

/**
 * The weights of one tensor of the file that several layers read the same way (ImportNode.source):
 * a module the net runs twice, which training keeps one (Model.tie). But tools that simplify a file
 * (onnxsim, onnxoptimizer) store initializers of equal values once, so a tensor that holds one round
 * value everywhere (`uniform`: zeros, ones — a fresh bias, a batch norm's statistics) says nothing
 * about sharing: it is tied only between layers that also share a tensor of other values (its
 * module's weights), else left as the layers' own parameters, as PyTorch's exporter writes distinct
 * ones (an Identity each).
 */
function sharedWeights(weights: ImportGraph["weights"]): [string, string][][] {
  const groups = new Map<string, { members: [string, string][]; values: ArrayLike<number> }>();
  for (const w of weights) {
    if (w.from === undefined || w.values.length === 0) continue;
    const e = groups.get(w.from) ?? { members: [], values: w.values };
    e.members.push([w.layer, w.name]);
    groups.set(w.from, e);
  }
  const shared = [...groups.values()].filter((e) => e.members.length > 1);
  const layers = (e: { members: [string, string][] }) => e.members.map(([l]) => l).sort().join("\u0000");
  const evident = new Set(shared.filter((e) => !uniform(e.values)).map(layers));
  return shared.filter((e) => evident.has(layers(e))).map((e) => e.members);
}

/** The graph's nodes after every family's rewrites (decompositions recognised as one op). */
/**
 * importOnnx's `trainable` as a test of an initializer's name (nothing where not given); a name it
 * lists that is no initializer of the file is a FormatError.
 */
function trainableTest(graph: GraphProto, trainable: OnnxImportOptions["trainable"], src: string): (initializer: string) => boolean {
  if (trainable === undefined) return () => false;
  if (typeof trainable === "function") {
    return (name) => {
      try {
        return Boolean(trainable(name));
      } catch (e) {
        throw new ConfigError(`importOnnx: trainable threw on "${name}": ${e instanceof Error ? e.message : String(e)}`);
      }
    };
  }
  if (!Array.isArray(trainable) || !trainable.every((n) => typeof n === "string")) throw new ConfigError(`importOnnx: trainable must be initializer names (strings) or a function of one, got ${show(trainable)}`);
  const values = new Set(parameterValues(graph)), missing = trainable.filter((n) => !values.has(n));
  if (missing.length) throw new FormatError(`${src}: trainable: ${missing.map((n) => `"${n}"`).join(", ")} ${missing.length > 1 ? "are" : "is"} not ${missing.length > 1 ? "initializers" : "an initializer"} of the file (nor an Identity of one)`);
  const names = new Set(trainable);
  return (name) => names.has(name);
}

/** The graph's initializers and the Identity outputs of them (isParameterValue: PyTorch's copies of parameters of identical values), by name. */
function parameterValues(graph: GraphProto): string[] {
  const values = new Set(graph.initializer.map((t) => t.name));
  for (let grew = true; grew;) {
    grew = false;
    for (const n of graph.node) if (n.opType === "Identity" && values.has(n.input[0] ?? "") && n.output[0] && !values.has(n.output[0])) { values.add(n.output[0]); grew = true; }
  }
  return [...values];
}

function rewrite(graph: GraphProto, src: string, trainable: (initializer: string) => boolean): OnnxNode[] {
  let nodes = [...graph.node];
  const cache = new Map<string, ConstValue | null>();
  for (const r of REWRITES) {
    const producers = new Map<string, OnnxNode>(), readers = new Map<string, number>(), consumers = new Map<string, OnnxNode[]>();
    for (const n of nodes) {
      n.output.forEach((o) => producers.set(o, n));
      for (const i of n.input) {
        readers.set(i, (readers.get(i) ?? 0) + 1);
        consumers.set(i, [...(consumers.get(i) ?? []), n]);
      }
    }
    for (const o of graph.output) readers.set(o.name, (readers.get(o.name) ?? 0) + 1);
    const inits = new Map(graph.initializer.map((t) => [t.name, t]));
    nodes = r(nodes, {
      src, trainable, producer: (name) => producers.get(name), readers: (name) => readers.get(name) ?? 0, consumers: (name) => consumers.get(name) ?? [],
      constant(name) {
        if (!cache.has(name)) {
          // through Identity nodes (PyTorch passes a weight shared by several layers through one each)
          let from = name;
          for (let hops = 0; producers.get(from)?.opType === "Identity" && hops < 8; hops++) from = producers.get(from)!.input[0]!;
          const t = inits.get(from) ?? (producers.get(from)?.opType === "Constant" ? producers.get(from)!.attribute.find((a) => a.name === "value")?.t : undefined);
          // a tensor fovea cannot read is no constant to a rewrite (the import itself names it later)
          let v: ConstValue | null = null;
          try {
            if (t) v = { kind: "const", dims: t.dims.map(num), data: tensorValues(t, `${src}: "${name}"`) };
          } catch (e) {
            if (!(e instanceof FormatError)) throw e;
          }
          cache.set(name, v);
        }
        return cache.get(name)!;
      },
    });
  }
  return nodes;
}

/** The graph inputs the model computes from: not constants, and read by some node or output (an input nothing reads, CastLike's type donor, is not asked for). */
function dataInputs(m: OnnxModel, constant: (name: string) => boolean) {
  const read = new Set([...m.graph.output.map((o) => o.name), ...m.graph.node.flatMap(reads)]);
  return m.graph.input.filter((i) => !constant(i.name) && read.has(i.name));
}

/** The values a node reads (a branch's reads of outer values included). */
/** The nodes, and those of every subgraph (If's branches) inside them, depth first. */
const subgraphNodes = (nodes: readonly OnnxNode[]): OnnxNode[] =>
  nodes.flatMap((n) => [n, ...n.attribute.flatMap((a) => [...(a.g ? [a.g] : []), ...a.graphs]).flatMap((g) => subgraphNodes(g.node))]);

/** ONNX's own ops ("" or "ai.onnx"); others (com.microsoft, a converter's) are not the op of that name. */
const isDefaultDomain = (n: OnnxNode) => n.domain === "" || n.domain === "ai.onnx";

/**
 * The attributes `op` may carry at `opset` (its schema version then; the first one for an op newer
 * than the file, which the importer still takes); undefined for an op fovea does not import.
 */
function attributesAt(op: string, opset: number): string[] | undefined {
  const versions = Object.hasOwn(ONNX_ATTRIBUTES, op) ? ONNX_ATTRIBUTES[op]! : undefined;
  if (!versions) return undefined;
  const at = versions.filter(([since]) => since <= opset).at(-1) ?? versions[0]!;
  return at[1] === "" ? [] : at[1].split(" ");
}

const reads = (n: OnnxNode): string[] => [...n.input, ...n.attribute.flatMap((a) => [...(a.g ? [a.g] : []), ...a.graphs]).flatMap((sg) => [...sg.node.flatMap(reads), ...sg.output.map((o) => o.name)])];

/** The nodes the graph's outputs depend on (a branch's reads of outer values included), in order. */
function live(nodes: OnnxNode[], graph: GraphProto): OnnxNode[] {
  const used = new Set(graph.output.map((o) => o.name));
  const keep = new Array<boolean>(nodes.length).fill(false);
  for (let i = nodes.length - 1; i >= 0; i--) {
    const n = nodes[i]!;
    if (!n.output.some((o) => used.has(o))) continue;
    keep[i] = true;
    for (const r of reads(n)) used.add(r);
  }
  return nodes.filter((_, i) => keep[i]);
}
