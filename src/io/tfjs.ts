// tfjs-layers / Keras models (model.json + weight shards) to fovea models. TensorFlow.js is NHWC
// with HWIO conv kernels and [in, out] dense kernels — fovea's own layouts — so weights copy
// straight across. Sequential and functional (Model) topologies.

import { FormatError, FoveaError, checkOptionKeys, show, naming, isRecord, checkPath } from "../errors.js";
import * as L from "../layers/index.js";
import type { Layer } from "../layers/layer.js";
import { Model } from "../model/model.js";
import { input, type SymbolicTensor } from "../layers/symbolic.js";
import { readFloat32LE } from "../tensor.js";
import type { Activation } from "../ops/gemm.js";
import { NotFoundError, readBytes } from "../data/files.js";
import { getLimits } from "../runtime/limits.js";
import { withWeights } from "./weights.js";

interface KLayer { class_name: string; config: Record<string, unknown> & { name: string }; inbound_nodes?: unknown[] }
/** A weight as model.json describes it; `quantization` as tfjs-converter's --quantize_uint8 / _uint16 / _float16 write it. */
export interface TfjsWeightSpec {
  name: string; shape: number[]; dtype: string; group?: string;
  quantization?: { dtype: "uint8" | "uint16" | "float16"; scale?: number; min?: number };
}
export interface TfjsArtifacts {
  modelTopology: { class_name?: string; config?: unknown; model_config?: { class_name: string; config: unknown } } | Record<string, unknown>;
  weightSpecs?: TfjsWeightSpec[];
  weightsManifest?: { paths: string[]; weights: TfjsWeightSpec[] }[];
}

/**
 * A fovea model from tfjs-layers artifacts: the model.json object and its weight bytes (the
 * shards concatenated in manifest order; see loadTfjsModel for reading them from a path/URL).
 */
export function importTfjs(json: TfjsArtifacts, weightData: ArrayBuffer | Uint8Array, options: { source?: string; name?: string } = {}): Model {
  checkOptionKeys("importTfjs", options, ["source", "name"]);
  const src = options.source ?? "model.json";
  return naming(src, () => convert(json, weightData, src, options.name));
}

/** The weight specs of model.json (weightSpecs, or the manifest's groups), each checked; the shard paths; the bytes they take. */
function manifest(json: TfjsArtifacts, fail: (why: string) => never): { specs: TfjsWeightSpec[]; paths: string[]; bytes: number } {
  if (!isRecord(json)) fail(`expected a model.json object, got ${show(json)}`);
  const groups = json.weightsManifest ?? [];
  if (!Array.isArray(groups) || !groups.every((g) => isRecord(g) && Array.isArray(g.paths) && g.paths.every((p) => typeof p === "string") && Array.isArray(g.weights))) {
    fail("weightsManifest must be a list of { paths: [\"file\", ...], weights: [...] }");
  }
  const specs = json.weightSpecs ?? groups.flatMap((g) => g.weights);
  if (!Array.isArray(specs)) fail("weightSpecs must be a list");
  specs.forEach((w, i) => {
    if (!isRecord(w) || typeof w.name !== "string" || typeof w.dtype !== "string" || !Array.isArray(w.shape) || !w.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      fail(`weight spec ${i} must be { name, shape: [whole numbers], dtype }, got ${show(w)}`);
    }
    const q = w.quantization;
    if (w.group === "optimizer") {
      // model.save({ includeOptimizer: true }): an optimizer's state (its "iter" an int32), skipped by its size
      if (q !== undefined || (w.dtype !== "float32" && w.dtype !== "int32")) fail(`optimizer weight "${w.name}" has dtype ${show(w.dtype)}${q === undefined ? "" : ` quantized as ${show(q)}`}; float32 or int32 is read`);
    } else if (q === undefined) {
      if (w.dtype !== "float32") fail(`weight "${w.name}" has dtype ${show(w.dtype)}; only float32 weights are read (or uint8, uint16 and float16 quantized float32)`);
    } else if (w.dtype !== "float32" || !isRecord(q) || typeof q.dtype !== "string" || !Object.hasOwn(QUANT_BYTES, q.dtype) ||
      (q.dtype !== "float16" && !(Number.isFinite(q.scale) && Number.isFinite(q.min)))) {
      fail(`weight "${w.name}": quantization ${show(q)} of dtype ${show(w.dtype)} is not one tfjs reads (float32 weights as uint8 or uint16 with a finite scale and min, or as float16)`);
    }
  });
  const bytes = specs.reduce((a, w) => a + specBytes(w), 0);
  return { specs, paths: groups.flatMap((g) => g.paths), bytes };
}

const QUANT_BYTES = { uint8: 1, uint16: 2, float16: 2 } as const;
/** The bytes a (checked) weight spec takes in the shards. */
const specBytes = (w: TfjsWeightSpec): number => (w.quantization ? QUANT_BYTES[w.quantization.dtype] : 4) * w.shape.reduce((a, b) => a * b, 1);

/** A weight's values from its bytes, as tfjs decodes them (io_utils decodeWeight): q·scale + min, or IEEE half precision. */
function decodeWeight(w: TfjsWeightSpec, b: Uint8Array): Float32Array {
  const q = w.quantization;
  if (!q) return readFloat32LE(b);
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength), n = b.length / QUANT_BYTES[q.dtype];
  const out = new Float32Array(n);
  if (q.dtype === "uint8") for (let i = 0; i < n; i++) out[i] = b[i]! * q.scale! + q.min!;
  else if (q.dtype === "uint16") for (let i = 0; i < n; i++) out[i] = dv.getUint16(2 * i, true) * q.scale! + q.min!;
  else for (let i = 0; i < n; i++) out[i] = half(dv.getUint16(2 * i, true));
  return out;
}

/** An IEEE 754 half-precision value from its 16 bits. */
function half(h: number): number {
  const sign = h & 0x8000 ? -1 : 1, e = (h >> 10) & 0x1f, f = h & 0x3ff;
  if (e === 0) return sign * f * 2 ** -24;
  if (e === 31) return f ? NaN : sign * Infinity;
  return sign * (1 + f / 1024) * 2 ** (e - 15);
}

function convert(json: TfjsArtifacts, weightData: ArrayBuffer | Uint8Array, src: string, modelName: string | undefined): Model {
  const fail = (why: string): never => { throw new FormatError(`${src}: ${why}`); };
  const { specs } = manifest(json, fail);
  let topo = json.modelTopology as { class_name?: string; config?: unknown; model_config?: { class_name: string; config: unknown } };
  if (isRecord(topo) && isRecord(topo.model_config)) topo = topo.model_config;
  if (!isRecord(topo) || typeof topo.class_name !== "string") fail("no modelTopology.class_name (expected a tfjs-layers model.json)");
  if (!(weightData instanceof Uint8Array) && !(weightData instanceof ArrayBuffer)) fail("the weight data must be an ArrayBuffer or Uint8Array");
  const bytes = weightData instanceof Uint8Array ? weightData : new Uint8Array(weightData);
  // the layers' weights by name (an optimizer's, which model.save({ includeOptimizer }) adds as the group "optimizer", are skipped)
  const tensors = new Map<string, { spec: TfjsWeightSpec; values: Float32Array }>();
  let off = 0;
  for (const s of specs) {
    const n = specBytes(s);
    if (off + n > bytes.length) fail(`the weight data ends at ${bytes.length} bytes; "${s.name}" needs bytes ${off}–${off + n}`);
    if (s.group !== "optimizer") {
      if (tensors.has(s.name)) fail(`the weights manifest names "${s.name}" twice`);
      tensors.set(s.name, { spec: s, values: decodeWeight(s, bytes.subarray(off, off + n)) });
    }
    off += n;
  }
  if (off !== bytes.length) fail(`${bytes.length - off} weight bytes are not described by the manifest`);

  const cfg = topo.config as { layers?: KLayer[]; input_layers?: unknown[][]; output_layers?: unknown[][] } | KLayer[];
  if (!Array.isArray(cfg) && !isRecord(cfg)) fail("modelTopology.config must be an object or a list of layers");
  const sequentialModel = topo.class_name === "Sequential";
  const layersOf = (cfg: unknown): KLayer[] => {
    const list = Array.isArray(cfg) ? cfg : isRecord(cfg) ? (cfg.layers ?? fail("no layers in the topology")) : fail("modelTopology.config must be an object or a list of layers");
    if (!Array.isArray(list) || !list.every((l) => isRecord(l) && typeof l.class_name === "string" && isRecord(l.config) && typeof l.config.name === "string" && l.config.name !== "")) {
      fail("the layers must be a list of { class_name, config: { name, ... } }");
    }
    // a Sequential model inside a Sequential one is its layers in turn (its weights are named by its layers)
    return sequentialModel ? (list as KLayer[]).flatMap((l) => (l.class_name === "Sequential" ? layersOf(l.config) : [l])) : list as KLayer[];
  };
  const klayers = layersOf(cfg);
  if (!sequentialModel && !Array.isArray(cfg)) {
    const ins = cfg.input_layers;
    if (ins !== undefined && (!Array.isArray(ins) || ins.length !== 1)) {
      fail(`${Array.isArray(ins) ? `${ins.length} inputs${ins.length ? ` (${ins.map((i) => show(Array.isArray(i) ? i[0] : i)).join(", ")})` : ""}` : show(ins)}; a model with one input is supported`);
    }
  }
  const frozen: string[] = []; // the layers that model.json marks trainable: false
  // names for the layers fovea adds (an activation after its layer, reshapes): none of the file's, none twice
  const taken = new Set(klayers.map((l) => l.config.name));
  const fresh = (base: string) => {
    let n = base;
    for (let k = 2; taken.has(n); k++) n = `${base}_${k}`;
    taken.add(n);
    return n;
  };
  const weights: { layer: string; name: string; values: Float32Array }[] = [];
  const made = new Map<string, SymbolicTensor>();
  let inp: SymbolicTensor | null = null;
  let last: SymbolicTensor | null = null;

  // a layer's weight is named "<layer>/<weight>" under any scope ("sequential_1/dense/kernel"); a
  // layer's own name may hold "/" too. Every weight of the manifest must be read by a layer, in the
  // shape that layer needs (tfjs refuses either, so fovea does not guess)
  const used = new Set<string>();
  const weightOf = (layer: string, w: string, shape: readonly number[]) => {
    const want = `${layer}/${w}`;
    // the exact name first (tfjs matches names exactly), then under a scope
    const hits = tensors.has(want) ? [want] : [...tensors.keys()].filter((k) => k.endsWith(`/${want}`));
    if (hits.length > 1) fail(`${hits.length} weights in the manifest end in "${want}": ${hits.map((h) => `"${h}"`).join(", ")}`);
    if (hits.length === 0) fail(`no weight "${want}" in the weights manifest`);
    const t = tensors.get(hits[0]!)!;
    if (t.spec.shape.join() !== shape.join()) fail(`weight "${hits[0]}" is [${t.spec.shape.join(", ")}] in the weights manifest; layer "${layer}" needs [${shape.join(", ")}]`);
    used.add(hits[0]!);
    return t.values;
  };
  const pair = (v: unknown, d: number): [number, number] => (v === undefined || v === null ? [d, d] : Array.isArray(v) && v.length === 2 ? [v[0] as number, v[1] as number] : Array.isArray(v) ? [NaN, NaN] : [v as number, v as number]);
  // options fovea reads with a meaning it cannot change: other values are refused, not ignored
  const padding = (c: Record<string, unknown>, bad: (why: string) => never) => (c.padding === undefined || c.padding === "valid" ? ("valid" as const) : c.padding === "same" ? ("same" as const) : bad(`padding ${show(c.padding)} is not supported (valid, same)`));
  const useBias = (c: Record<string, unknown>, bad: (why: string) => never) => (c.use_bias === undefined ? true : typeof c.use_bias === "boolean" ? c.use_bias : bad(`use_bias must be true or false, got ${show(c.use_bias)}`));

  for (const [i, kl] of klayers.entries()) {
    const c = kl.config, where = `layer ${i} "${c.name}" (${kl.class_name})`;
    const bad = (why: string): never => fail(`${where}: ${why}`);
    if ((c as { data_format?: string }).data_format && c.data_format !== "channels_last") bad("only channels_last data is supported");
    // inputs: the previous layer (Sequential) or the inbound nodes (functional)
    let ins: SymbolicTensor[];
    if (kl.class_name === "InputLayer") {
      const shape = inputShape(c);
      if (!shape) bad("needs a fixed input shape");
      if (sequentialModel && inp) {
        // a nested Sequential's own InputLayer (Keras writes one first): the shape it takes, not a new input
        if (shape!.join() !== last!.shape.join()) bad(`takes [${shape!.join(", ")}], where the layers before it give [${last!.shape.join(", ")}]`);
        continue;
      }
      inp = input(shape as number[]);
      made.set(c.name, inp);
      last = inp;
      continue;
    }
    if (sequentialModel) {
      if (!inp) {
        const shape = inputShape(c);
        if (!shape) bad("the first layer needs a fixed batch_input_shape");
        inp = input(shape as number[]);
        last = inp;
      }
      ins = [last!];
    } else {
      const nodes = (kl.inbound_nodes ?? []) as unknown[][][];
      if (!Array.isArray(nodes) || nodes.length !== 1) bad(`${show(nodes.length)} inbound nodes (shared layers are not supported)`);
      if (!Array.isArray(nodes[0]) || !nodes[0].every((e) => Array.isArray(e) && typeof e[0] === "string")) bad(`inbound_nodes must be [[["layer", 0, 0, {}], ...]], got ${show(nodes[0])}`);
      ins = nodes[0]!.map((e) => made.get(e[0] as string) ?? bad(`input "${String(e[0])}" is not defined before it`));
    }
    const act = (a: unknown): Activation | "other" => (a === undefined || a === "linear" ? "none" : a === "relu" ? "relu" : a === "relu6" ? "relu6" : "other");
    const after = (a: unknown): Layer[] => {
      if (a === undefined || a === "linear" || a === "relu" || a === "relu6") return [];
      const make = new Map<unknown, (c: { name: string }) => Layer>([["sigmoid", L.sigmoid], ["tanh", L.tanh], ["softmax", L.softmax], ["elu", L.elu]]).get(a);
      return make ? [make({ name: fresh(`${c.name}_act`) })] : bad(`activation ${show(a)} is not supported`);
    };
    const fused = (a: unknown): Activation => { const f = act(a); return f === "other" ? "none" : f; };
    if (ins.length === 0) bad("no inputs (inbound_nodes names none)");
    const inShape = ins[0]!.shape, rank = inShape.length; // without the batch
    // an axis option: Keras counts the batch, so the last axis is -1 or `rank`
    const lastAxis = (given: unknown, what = "axis") => {
      const a = Array.isArray(given) && given.length === 1 ? given[0] : given; // Keras 2 writes BatchNormalization's as [3]
      if (a !== undefined && a !== -1 && a !== rank) bad(`${what} ${show(a)} of an input of [${inShape.join(", ")}] (rank ${rank + 1} with its batch): only the last axis (-1 or ${rank}) is supported`);
    };
    // a layer that fovea runs on [H, W, C] (a conv 1×1, a batch norm), given [L, C]: as [1, L, C] and back
    const onRows = (make: () => Layer[]): Layer[] => rank === 2
      ? [L.reshape({ name: fresh(`${c.name}_rows`), targetShape: [1, ...inShape] }), ...make(), L.reshape({ name: fresh(`${c.name}_back`), targetShape: [inShape[0]!, -1] })]
      : make();
    let ls: Layer[];
    switch (kl.class_name) {
      case "Conv2D": case "DepthwiseConv2D": {
        const depthwise = kl.class_name === "DepthwiseConv2D";
        const kernelSize = pair(c.kernel_size, 1), C = inShape[rank - 1]!, mult = (c.depth_multiplier as number) ?? 1, groups = (c.groups as number) ?? 1;
        if (!depthwise && !(Number.isSafeInteger(groups) && groups >= 1 && C % groups === 0 && (c.filters as number) % groups === 0)) {
          bad(`groups ${show(c.groups)} must be a whole number >= 1 that divides the ${C} input channels and the ${show(c.filters)} filters`);
        }
        const common = {
          name: c.name, kernelSize, strides: pair(c.strides, 1), dilation: pair(c.dilation_rate, 1),
          padding: padding(c, bad), useBias: useBias(c, bad), activation: fused(c.activation), rounding: "floor" as const,
        };
        ls = [depthwise ? L.depthwiseConv2d({ ...common, depthMultiplier: mult }) : L.conv2d({ ...common, filters: c.filters as number, groups }), ...after(c.activation)];
        // the kernels' shapes as tfjs writes them (a depthwise kernel [KH, KW, C, multiplier] is fovea's [KH, KW, 1, C·multiplier], in the same order)
        const OC = depthwise ? C * mult : (c.filters as number);
        weights.push({ layer: c.name, name: "kernel", values: weightOf(c.name, depthwise ? "depthwise_kernel" : "kernel", depthwise ? [...kernelSize, C, mult] : [...kernelSize, C / groups, OC]) });
        if (common.useBias) weights.push({ layer: c.name, name: "bias", values: weightOf(c.name, "bias", [OC]) });
        break;
      }
      case "Dense": {
        // on [H, W, C] or [L, C] a Dense layer maps the last axis alone: a conv 1×1 (its kernel [C, units] is the conv's [1, 1, C, units])
        const units = c.units as number, bias = useBias(c, bad), conv = rank > 1;
        if (rank > 3) bad(`an input of [${inShape.join(", ")}]: Dense is read on inputs of rank 2 to 4 (with the batch)`);
        ls = onRows(() => [
          conv ? L.conv2d({ name: c.name, filters: units, kernelSize: 1, useBias: bias, activation: fused(c.activation) })
            : L.dense({ name: c.name, units, useBias: bias, activation: fused(c.activation) }),
          ...after(c.activation)]);
        weights.push({ layer: c.name, name: "kernel", values: weightOf(c.name, "kernel", [inShape[rank - 1]!, units]) });
        if (bias) weights.push({ layer: c.name, name: "bias", values: weightOf(c.name, "bias", [units]) });
        break;
      }
      case "MaxPooling2D": case "AveragePooling2D": {
        const pc = { name: c.name, poolSize: pair(c.pool_size, 2), strides: pair(c.strides ?? c.pool_size, 2), padding: padding(c, bad), rounding: "floor" as const };
        ls = [kl.class_name === "MaxPooling2D" ? L.maxPool2d(pc) : L.avgPool2d(pc)];
        break;
      }
      case "GlobalAveragePooling2D": case "GlobalMaxPooling2D": {
        // Keras's keepdims (tfjs does not write it): [1, 1, C] instead of [C]
        if (c.keepdims !== undefined && typeof c.keepdims !== "boolean") bad(`keepdims must be true or false, got ${show(c.keepdims)}`);
        ls = [(kl.class_name === "GlobalAveragePooling2D" ? L.globalAvgPool2d : L.globalMaxPool2d)({ name: c.name }),
          ...(c.keepdims ? [L.reshape({ name: fresh(`${c.name}_keepdims`), targetShape: [1, 1, -1] })] : [])];
        break;
      }
      case "Flatten": ls = [L.flatten({ name: c.name })]; break;
      case "Dropout": ls = [L.dropout({ name: c.name, rate: c.rate as number })]; break;
      case "Activation": {
        const a = act(c.activation);
        ls = a === "none" ? [] : a === "relu" ? [L.relu({ name: c.name })] : a === "relu6" ? [L.relu6({ name: c.name })] : after(c.activation);
        break;
      }
      case "ReLU":
        if (![undefined, null, 6].includes(c.max_value as number) || ![undefined, null, 0].includes(c.negative_slope as number) || ![undefined, null, 0].includes(c.threshold as number)) {
          bad(`max_value ${show(c.max_value)}, negative_slope ${show(c.negative_slope)}, threshold ${show(c.threshold)}: only ReLU and ReLU6 are supported`);
        }
        ls = [(c.max_value === 6 ? L.relu6 : L.relu)({ name: c.name })];
        break;
      case "LeakyReLU": {
        // tfjs-layers and Keras 2 write alpha, Keras 3 negative_slope
        if (c.alpha !== undefined && c.negative_slope !== undefined && c.alpha !== c.negative_slope) fail(`layer "${c.name}" (LeakyReLU): alpha ${show(c.alpha)} and negative_slope ${show(c.negative_slope)} differ`);
        ls = [L.leakyRelu({ name: c.name, alpha: (c.alpha ?? c.negative_slope ?? 0.3) as number })];
        break;
      }
      case "ELU": ls = [L.elu({ name: c.name, alpha: (c.alpha as number) ?? 1 })]; break;
      case "Softmax":
        // tfjs-layers writes axis 1 by default (the last axis of features; on a feature map tfjs itself refuses it)
        lastAxis(c.axis);
        ls = [L.softmax({ name: c.name })];
        break;
      case "BatchNormalization": {
        lastAxis(c.axis);
        if (rank > 3) bad(`an input of [${inShape.join(", ")}]: BatchNormalization is read on inputs of rank 2 to 4 (with the batch)`);
        ls = onRows(() => [L.batchNorm({ name: c.name, epsilon: (c.epsilon as number) ?? 1e-3, momentum: (c.momentum as number) ?? 0.99 })]);
        const C = [inShape[rank - 1]!];
        weights.push(
          { layer: c.name, name: "gamma", values: c.scale === false ? new Float32Array(C[0]!).fill(1) : weightOf(c.name, "gamma", C) },
          { layer: c.name, name: "beta", values: c.center === false ? new Float32Array(C[0]!) : weightOf(c.name, "beta", C) },
          { layer: c.name, name: "movingMean", values: weightOf(c.name, "moving_mean", C) },
          { layer: c.name, name: "movingVariance", values: weightOf(c.name, "moving_variance", C) },
        );
        break;
      }
      case "Add": ls = [L.add({ name: c.name })]; break;
      case "Concatenate":
        lastAxis(c.axis);
        ls = [L.concat({ name: c.name })];
        break;
      default:
        return bad("not supported");
    }
    if (c.trainable === false && weights.some((w) => w.layer === c.name)) frozen.push(c.name);
    // a linear Activation is the identity
    let y = ls.length === 0 ? ins[0]! : ls[0]!.apply(...ins);
    for (const l of ls.slice(1)) y = l.apply(y);
    made.set(c.name, y);
    last = y;
  }
  if (!inp || !last) fail("no layers");
  let out = last!;
  if (!sequentialModel && !Array.isArray(cfg)) {
    const outs = cfg.output_layers ?? [];
    if (!Array.isArray(outs) || outs.length !== 1 || !Array.isArray(outs[0])) fail(`${show(outs)} outputs; one is supported`);
    out = made.get(outs[0]![0] as string) ?? fail(`output "${String(outs[0]![0])}" is not a layer`);
  }
  const unread = [...tensors.keys()].filter((k) => !used.has(k));
  if (unread.length) fail(`the weights manifest holds ${unread.length === 1 ? "a weight" : `${unread.length} weights`} that no layer reads: ${unread.slice(0, 5).map((k) => `"${k}"`).join(", ")}${unread.length > 5 ? ", …" : ""}`);
  const m = withWeights((preset) => new Model({ inputs: inp!, outputs: out, name: modelName ?? "tfjs", preset }), weights, src);
  // trainable: false (a fine-tuning recipe's frozen base): fovea's freeze; a frozen batch norm's statistics still follow the batches in training, as tfjs-layers' do
  if (frozen.length) m.freeze(frozen);
  return m;
}

/** batch_input_shape without the batch: whole numbers >= 1, or null where a dimension is not fixed. */
function inputShape(c: Record<string, unknown>): number[] | null {
  const s = c.batch_input_shape ?? c.batchInputShape;
  if (!Array.isArray(s) || s.length < 2 || !s.slice(1).every((d) => Number.isSafeInteger(d) && (d as number) >= 1)) return null;
  return s.slice(1) as number[];
}

/**
 * What a model's JSON text is: a tfjs-layers model ("tfjs": it has a `modelTopology`, which
 * loadTfjsModel reads), a ConvNetJS net ("convnetjs": `layers` with a `layer_type` each, as
 * net.toJSON() writes it, which importConvnetjs reads), other JSON ("json": fovea's own topology,
 * say), or no JSON at all ("invalid").
 */
export function modelJsonKind(text: string): "tfjs" | "convnetjs" | "json" | "invalid" {
  let j: unknown;
  try {
    j = JSON.parse(text);
  } catch {
    return "invalid"; // the reader given the file says so, naming it (loadTfjsModel, modelFromTopology)
  }
  if (isRecord(j) && "modelTopology" in j) return "tfjs";
  return isRecord(j) && Array.isArray(j.layers) && j.layers.length > 0 && j.layers.every((l) => isRecord(l) && typeof l.layer_type === "string") ? "convnetjs" : "json";
}

/** Reads a tfjs model.json and its weight shards (paths relative to it) from a file path or URL. */
export async function loadTfjsModel(path: string, options: { name?: string } = {}): Promise<Model> {
  checkPath("loadTfjsModel", path);
  let json: TfjsArtifacts;
  try {
    json = JSON.parse(new TextDecoder().decode(await readBytes(path))) as TfjsArtifacts;
  } catch (e) {
    if (e instanceof FoveaError) throw e;
    throw new FormatError(`${path}: not valid JSON (${(e as Error).message})`);
  }
  const base = path.slice(0, Math.max(path.lastIndexOf("/"), path.lastIndexOf("\\")) + 1); // (a Windows path's folder too)
  const fail = (why: string): never => { throw new FormatError(`${path}: ${why}`); };
  const { bytes: total, paths } = manifest(json, fail);
  // the bytes the manifest describes, within the limit, before any shard is read; then one shard at a time
  const limit = getLimits().maxModelBytes;
  if (total > limit) fail(`the weights manifest describes ${total} bytes, over the limit of ${limit} (setLimits({ maxModelBytes }))`);
  const data = new Uint8Array(total);
  let o = 0;
  for (const p of paths) {
    const b = await readBytes(base + p).catch((e: unknown) => {
      throw e instanceof NotFoundError ? new NotFoundError(`${e.message} (a weight shard that ${path} names)`, e.reason) : e;
    });
    if (o + b.length > total) fail(`the shards hold more than the ${total} bytes the manifest describes (at ${base + p})`);
    data.set(b, o);
    o += b.length;
  }
  return importTfjs(json, data.subarray(0, o), { source: path, ...options });
}
