// tfjs-layers / Keras models (model.json + weight shards) to fovea models. TensorFlow.js is NHWC
// with HWIO conv kernels and [in, out] dense kernels — fovea's own layouts — so weights copy
// straight across. Sequential and functional (Model) topologies.

import { FormatError, FoveaError, checkOptionKeys } from "../errors.js";
import * as L from "../layers/index.js";
import type { Layer } from "../layers/layer.js";
import { model as functionalModel, type Model } from "../model/model.js";
import { input, type SymbolicTensor } from "../layers/symbolic.js";
import type { Activation } from "../ops/gemm.js";
import { readBytes } from "../data/files.js";
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
  const fail = (why: string): never => { throw new FormatError(`${src}: ${why}`); };
  let topo = json.modelTopology as { class_name?: string; config?: unknown; model_config?: { class_name: string; config: unknown } };
  if (topo?.model_config) topo = topo.model_config;
  if (!topo?.class_name) fail("no modelTopology.class_name (expected a tfjs-layers model.json)");
  const specs = json.weightSpecs ?? (json.weightsManifest ?? []).flatMap((g) => g.weights);
  const bytes = weightData instanceof Uint8Array ? weightData : new Uint8Array(weightData);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const tensors = new Map<string, Float32Array>();
  let off = 0;
  for (const s of specs) {
    if (s.dtype !== "float32") fail(`weight "${s.name}" is ${s.dtype}; only float32 weights are read`);
    const n = s.shape.reduce((a, b) => a * b, 1);
    if (off + n * 4 > bytes.length) fail(`the weight data ends at ${bytes.length} bytes; "${s.name}" needs bytes ${off}–${off + n * 4}`);
    const v = new Float32Array(n);
    for (let i = 0; i < n; i++) v[i] = dv.getFloat32(off + i * 4, true);
    tensors.set(s.name, v);
    off += n * 4;
  }
  if (off !== bytes.length) fail(`${bytes.length - off} weight bytes are not described by the manifest`);

  const cfg = topo.config as { layers?: KLayer[]; input_layers?: unknown[][]; output_layers?: unknown[][] } | KLayer[];
  const klayers: KLayer[] = Array.isArray(cfg) ? cfg : (cfg.layers ?? fail("no layers in the topology"));
  const sequentialModel = topo.class_name === "Sequential";
  const weights: { layer: string; name: string; values: Float32Array }[] = [];
  const made = new Map<string, SymbolicTensor>();
  let inp: SymbolicTensor | null = null;
  let last: SymbolicTensor | null = null;

  const weightOf = (layer: string, w: string) => {
    for (const [k, v] of tensors) if (k === `${layer}/${w}` || k.endsWith(`/${layer}/${w}`)) return v;
    return fail(`no weight "${layer}/${w}" in the weights manifest`);
  };
  const pair = (v: unknown, d: number): [number, number] => (v === undefined || v === null ? [d, d] : Array.isArray(v) ? [v[0] as number, v[1] as number] : [v as number, v as number]);

  for (const [i, kl] of klayers.entries()) {
    const c = kl.config, where = `layer ${i} "${c.name}" (${kl.class_name})`;
    const bad = (why: string): never => fail(`${where}: ${why}`);
    if ((c as { data_format?: string }).data_format && c.data_format !== "channels_last") bad("only channels_last data is supported");
    // inputs: the previous layer (Sequential) or the inbound nodes (functional)
    let ins: SymbolicTensor[];
    if (kl.class_name === "InputLayer") {
      const shape = ((c.batch_input_shape ?? c.batchInputShape) as (number | null)[] | undefined)?.slice(1);
      if (!shape || shape.some((d) => d === null)) bad("needs a fixed input shape");
      inp = input(shape as number[]);
      made.set(c.name, inp);
      last = inp;
      continue;
    }
    if (sequentialModel) {
      if (!inp) {
        const shape = ((c.batch_input_shape ?? c.batchInputShape) as (number | null)[] | undefined)?.slice(1);
        if (!shape || shape.some((d) => d === null)) bad("the first layer needs batch_input_shape");
        inp = input(shape as number[]);
        last = inp;
      }
      ins = [last!];
    } else {
      const nodes = (kl.inbound_nodes ?? []) as unknown[][][];
      if (nodes.length !== 1) bad(`${nodes.length} inbound nodes (shared layers are not supported)`);
      ins = nodes[0]!.map((e) => made.get(e[0] as string) ?? bad(`input "${String(e[0])}" is not defined before it`));
    }
    const act = (a: unknown): Activation | "other" => (a === undefined || a === "linear" ? "none" : a === "relu" ? "relu" : a === "relu6" ? "relu6" : "other");
    const after = (a: unknown): Layer[] => {
      if (a === undefined || a === "linear" || a === "relu" || a === "relu6") return [];
      const m: Record<string, () => Layer> = { sigmoid: () => L.sigmoid({ name: `${c.name}_act` }), tanh: () => L.tanh({ name: `${c.name}_act` }), softmax: () => L.softmax({ name: `${c.name}_act` }), elu: () => L.elu({ name: `${c.name}_act` }) };
      return m[a as string] ? [m[a as string]!()] : bad(`activation "${String(a)}" is not supported`);
    };
    const fused = (a: unknown): Activation => { const f = act(a); return f === "other" ? "none" : f; };
    let ls: Layer[];
    switch (kl.class_name) {
      case "Conv2D": case "DepthwiseConv2D": {
        const depthwise = kl.class_name === "DepthwiseConv2D";
        const common = {
          name: c.name, kernelSize: pair(c.kernel_size, 1), strides: pair(c.strides, 1), dilation: pair(c.dilation_rate, 1),
          padding: c.padding === "same" ? ("same" as const) : ("valid" as const), useBias: c.use_bias !== false, activation: fused(c.activation), rounding: "floor" as const,
        };
        ls = [depthwise ? L.depthwiseConv2d({ ...common, depthMultiplier: (c.depth_multiplier as number) ?? 1 }) : L.conv2d({ ...common, filters: c.filters as number }), ...after(c.activation)];
        weights.push({ layer: c.name, name: "kernel", values: weightOf(c.name, depthwise ? "depthwise_kernel" : "kernel") });
        if (common.useBias) weights.push({ layer: c.name, name: "bias", values: weightOf(c.name, "bias") });
        break;
      }
      case "Dense":
        ls = [L.dense({ name: c.name, units: c.units as number, useBias: c.use_bias !== false, activation: fused(c.activation) }), ...after(c.activation)];
        weights.push({ layer: c.name, name: "kernel", values: weightOf(c.name, "kernel") });
        if (c.use_bias !== false) weights.push({ layer: c.name, name: "bias", values: weightOf(c.name, "bias") });
        break;
      case "MaxPooling2D": case "AveragePooling2D": {
        const pc = { name: c.name, poolSize: pair(c.pool_size, 2), strides: pair(c.strides ?? c.pool_size, 2), padding: c.padding === "same" ? ("same" as const) : ("valid" as const), rounding: "floor" as const };
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
      case "ReLU": ls = [(c.max_value === 6 ? L.relu6 : L.relu)({ name: c.name })]; break;
      case "LeakyReLU": ls = [L.leakyRelu({ name: c.name, alpha: (c.alpha as number) ?? 0.3 })]; break;
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
    let y: SymbolicTensor;
    try {
      // a linear Activation is the identity
      y = ls.length === 0 ? ins[0]! : ls[0]!.apply(...ins);
      for (const l of ls.slice(1)) y = l.apply(y);
    } catch (e) {
      if (e instanceof FoveaError) bad(e.message);
      throw e;
    }
    made.set(c.name, y!);
    last = y!;
  }
  if (!inp || !last) fail("no layers");
  let out = last!;
  if (!sequentialModel && !Array.isArray(cfg)) {
    const outs = cfg.output_layers ?? [];
    if (outs.length !== 1) fail(`${outs.length} outputs; one is supported`);
    out = made.get(outs[0]![0] as string) ?? fail(`output "${String(outs[0]![0])}" is not a layer`);
  }
  let m: Model;
  try {
    m = functionalModel({ inputs: inp!, outputs: out, name: options.name ?? "tfjs" });
  } catch (e) {
    if (e instanceof FoveaError) fail(e.message);
    throw e;
  }
  return withWeights(m!, weights, src);
}

/** Reads a tfjs model.json and its weight shards (paths relative to it) from a file path or URL. */
export async function loadTfjsModel(path: string, options: { name?: string } = {}): Promise<Model> {
  let json: TfjsArtifacts;
  try {
    json = JSON.parse(new TextDecoder().decode(await readBytes(path))) as TfjsArtifacts;
  } catch (e) {
    if (e instanceof FoveaError) throw e;
    throw new FormatError(`${path}: not valid JSON (${(e as Error).message})`);
  }
  const base = path.includes("/") ? path.slice(0, path.lastIndexOf("/") + 1) : "";
  const shards = await Promise.all((json.weightsManifest ?? []).flatMap((g) => g.paths).map((p) => readBytes(base + p)));
  const total = shards.reduce((a, b) => a + b.length, 0);
  const data = new Uint8Array(total);
  let o = 0;
  for (const b of shards) {
    data.set(b, o);
    o += b.length;
  }
  return importTfjs(json, data, { source: path, ...options });
}
