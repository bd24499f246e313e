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
export interface TfjsArtifacts {
  modelTopology: { class_name?: string; config?: unknown; model_config?: { class_name: string; config: unknown } } | Record<string, unknown>;
  weightSpecs?: { name: string; shape: number[]; dtype: string }[];
  weightsManifest?: { paths: string[]; weights: { name: string; shape: number[]; dtype: string }[] }[];
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

/** The weight specs of model.json (weightSpecs, or the manifest's groups), each checked; the shard paths. */
function manifest(json: TfjsArtifacts, fail: (why: string) => never): { specs: { name: string; shape: number[]; dtype: string }[]; paths: string[] } {
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
  });
  return { specs, paths: groups.flatMap((g) => g.paths) };
}

function convert(json: TfjsArtifacts, weightData: ArrayBuffer | Uint8Array, src: string, modelName: string | undefined): Model {
  const fail = (why: string): never => { throw new FormatError(`${src}: ${why}`); };
  const { specs } = manifest(json, fail);
  let topo = json.modelTopology as { class_name?: string; config?: unknown; model_config?: { class_name: string; config: unknown } };
  if (isRecord(topo) && isRecord(topo.model_config)) topo = topo.model_config;
  if (!isRecord(topo) || typeof topo.class_name !== "string") fail("no modelTopology.class_name (expected a tfjs-layers model.json)");
  if (!(weightData instanceof Uint8Array) && !(weightData instanceof ArrayBuffer)) fail("the weight data must be an ArrayBuffer or Uint8Array");
  const bytes = weightData instanceof Uint8Array ? weightData : new Uint8Array(weightData);
  const tensors = new Map<string, Float32Array>();
  let off = 0;
  for (const s of specs) {
    if (s.dtype !== "float32") fail(`weight "${s.name}" has dtype ${show(s.dtype)}; only float32 weights are read`);
    const n = s.shape.reduce((a, b) => a * b, 1);
    if (off + n * 4 > bytes.length) fail(`the weight data ends at ${bytes.length} bytes; "${s.name}" needs bytes ${off}–${off + n * 4}`);
    tensors.set(s.name, readFloat32LE(bytes.subarray(off, off + n * 4)));
    off += n * 4;
  }
  if (off !== bytes.length) fail(`${bytes.length - off} weight bytes are not described by the manifest`);

  const cfg = topo.config as { layers?: KLayer[]; input_layers?: unknown[][]; output_layers?: unknown[][] } | KLayer[];
  if (!Array.isArray(cfg) && !isRecord(cfg)) fail("modelTopology.config must be an object or a list of layers");
  const klayers: KLayer[] = Array.isArray(cfg) ? cfg : (cfg.layers ?? fail("no layers in the topology"));
  if (!Array.isArray(klayers) || !klayers.every((l) => isRecord(l) && typeof l.class_name === "string" && isRecord(l.config) && typeof l.config.name === "string" && l.config.name !== "")) {
    fail("the layers must be a list of { class_name, config: { name, ... } }");
  }
  const sequentialModel = topo.class_name === "Sequential";
  const weights: { layer: string; name: string; values: Float32Array }[] = [];
  const made = new Map<string, SymbolicTensor>();
  let inp: SymbolicTensor | null = null;
  let last: SymbolicTensor | null = null;

  // weights by their last two name parts ("<layer>/<weight>", under any scope), found in one lookup
  const byLayer = new Map<string, Float32Array | null>();
  for (const [k, v] of tensors) {
    const key = k.split("/").slice(-2).join("/");
    byLayer.set(key, byLayer.has(key) ? null : v); // null: two weights end the same way
  }
  const weightOf = (layer: string, w: string) => {
    const v = byLayer.get(`${layer}/${w}`);
    if (v === null) return fail(`two weights in the manifest end in "${layer}/${w}"`);
    return v ?? fail(`no weight "${layer}/${w}" in the weights manifest`);
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
      const m = new Map<unknown, () => Layer>([["sigmoid", () => L.sigmoid({ name: `${c.name}_act` })], ["tanh", () => L.tanh({ name: `${c.name}_act` })],
        ["softmax", () => L.softmax({ name: `${c.name}_act` })], ["elu", () => L.elu({ name: `${c.name}_act` })]]);
      const make = m.get(a);
      return make ? [make()] : bad(`activation ${show(a)} is not supported`);
    };
    const fused = (a: unknown): Activation => { const f = act(a); return f === "other" ? "none" : f; };
    let ls: Layer[];
    switch (kl.class_name) {
      case "Conv2D": case "DepthwiseConv2D": {
        const depthwise = kl.class_name === "DepthwiseConv2D";
        const common = {
          name: c.name, kernelSize: pair(c.kernel_size, 1), strides: pair(c.strides, 1), dilation: pair(c.dilation_rate, 1),
          padding: padding(c, bad), useBias: useBias(c, bad), activation: fused(c.activation), rounding: "floor" as const,
        };
        ls = [depthwise ? L.depthwiseConv2d({ ...common, depthMultiplier: (c.depth_multiplier as number) ?? 1 }) : L.conv2d({ ...common, filters: c.filters as number }), ...after(c.activation)];
        weights.push({ layer: c.name, name: "kernel", values: weightOf(c.name, depthwise ? "depthwise_kernel" : "kernel") });
        if (common.useBias) weights.push({ layer: c.name, name: "bias", values: weightOf(c.name, "bias") });
        break;
      }
      case "Dense":
        ls = [L.dense({ name: c.name, units: c.units as number, useBias: useBias(c, bad), activation: fused(c.activation) }), ...after(c.activation)];
        weights.push({ layer: c.name, name: "kernel", values: weightOf(c.name, "kernel") });
        if (useBias(c, bad)) weights.push({ layer: c.name, name: "bias", values: weightOf(c.name, "bias") });
        break;
      case "MaxPooling2D": case "AveragePooling2D": {
        const pc = { name: c.name, poolSize: pair(c.pool_size, 2), strides: pair(c.strides ?? c.pool_size, 2), padding: padding(c, bad), rounding: "floor" as const };
        ls = [kl.class_name === "MaxPooling2D" ? L.maxPool2d(pc) : L.avgPool2d(pc)];
        break;
      }
      case "GlobalAveragePooling2D": ls = [L.globalAvgPool2d({ name: c.name })]; break;
      case "GlobalMaxPooling2D": ls = [L.globalMaxPool2d({ name: c.name })]; break;
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
      case "Softmax": ls = [L.softmax({ name: c.name })]; break;
      case "BatchNormalization": {
        if (c.axis !== undefined && c.axis !== -1 && c.axis !== 3) bad(`axis ${String(c.axis)}: only the channel axis (-1) is supported`);
        ls = [L.batchNorm({ name: c.name, epsilon: (c.epsilon as number) ?? 1e-3, momentum: (c.momentum as number) ?? 0.99 })];
        const C = weightOf(c.name, "moving_mean").length;
        weights.push(
          { layer: c.name, name: "gamma", values: c.scale === false ? new Float32Array(C).fill(1) : weightOf(c.name, "gamma") },
          { layer: c.name, name: "beta", values: c.center === false ? new Float32Array(C) : weightOf(c.name, "beta") },
          { layer: c.name, name: "movingMean", values: weightOf(c.name, "moving_mean") },
          { layer: c.name, name: "movingVariance", values: weightOf(c.name, "moving_variance") },
        );
        break;
      }
      case "Add": ls = [L.add({ name: c.name })]; break;
      case "Concatenate":
        if (c.axis !== undefined && c.axis !== -1 && c.axis !== 3) bad(`axis ${String(c.axis)}: only the channel axis (-1) is supported`);
        ls = [L.concat({ name: c.name })];
        break;
      default:
        return bad("not supported");
    }
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
  return withWeights((preset) => new Model({ inputs: inp!, outputs: out, name: modelName ?? "tfjs", preset }), weights, src);
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
  const { specs, paths } = manifest(json, fail);
  // the bytes the manifest describes, within the limit, before any shard is read; then one shard at a time
  const total = specs.reduce((a, w) => a + 4 * w.shape.reduce((x, d) => x * d, 1), 0), limit = getLimits().maxModelBytes;
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
