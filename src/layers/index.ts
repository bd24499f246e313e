// Layer configs as one discriminated union, the factory, and the builder functions of the
// functional API (each returns a Layer; call .apply(x) on it).
import { ConfigError, show } from "../errors.js";
import { ActivationLayer, Maxout, type ActivationConfig, type MaxoutConfig } from "./activation.js";
import { Conv2d, type Conv2dConfig, type DepthwiseConv2dConfig } from "./conv.js";
import { Conv2dTranspose, type Conv2dTransposeConfig } from "./conv-transpose.js";
import { Conv3dTranspose, type Conv3dTransposeConfig } from "./conv-transpose3d.js";
import { Dense, type DenseConfig } from "./dense.js";
import { Dropout, type DropoutConfig } from "./dropout.js";
import type { Layer } from "./layer.js";
import { Add, Concat, type AddConfig, type ConcatConfig } from "./merge.js";
import { BatchNorm, Lrn, Scale, type BatchNormConfig, type LrnConfig, type ScaleConfig } from "./norm.js";
import { GlobalPool2d, Pool, type GlobalPoolConfig, type Pool2dConfig, type Pool3dConfig } from "./pool.js";
import { Permute, Reshape, type FlattenConfig, type PermuteConfig, type ReshapeConfig } from "./reshape.js";
import { Multiply, type MultiplyConfig } from "./multiply.js";
import { Slice, type SliceConfig } from "./slice.js";
import { Resize, type ResizeConfig } from "./resize.js";
import { Pad, savedPadConfig, type PadConfig } from "./pad.js";
import { Matmul, type MatmulConfig } from "./matmul.js";
import { LayerNorm, type LayerNormConfig } from "./layer-norm.js";
import { Binary, Where, type BinaryConfig, type WhereConfig } from "./binary.js";
import { Constant, type ConstantConfig } from "./constant.js";
import { ArgMax, type ArgMaxConfig } from "./argmax.js";

export type LayerConfig =
  | Conv2dConfig | DepthwiseConv2dConfig | Conv2dTransposeConfig | Conv3dTransposeConfig | DenseConfig | Pool2dConfig | Pool3dConfig | GlobalPoolConfig | FlattenConfig | ReshapeConfig | PermuteConfig
  | ActivationConfig | MaxoutConfig | DropoutConfig | BatchNormConfig | LrnConfig | ScaleConfig | AddConfig | ConcatConfig | MultiplyConfig | SliceConfig | ResizeConfig | PadConfig | MatmulConfig
  | LayerNormConfig | BinaryConfig | WhereConfig | ConstantConfig | ArgMaxConfig;

export type LayerType = LayerConfig["type"];

const counters = new Map<string, number>();

/** A fresh name like "conv2d_3" (Keras style) when the config has none. */
function autoName(type: string): string {
  const n = (counters.get(type) ?? 0) + 1;
  counters.set(type, n);
  return `${type}_${n}`;
}

/** Builds a layer from its config; an unknown type or option is a ConfigError (configs read from files are checked here). */
export function createLayer(config: LayerConfig | { type: string; [key: string]: unknown }): Layer {
  if (typeof config !== "object" || config === null || typeof (config as { type?: unknown }).type !== "string") {
    throw new ConfigError(`layer config must be an object with a "type", got ${show(config)}`);
  }
  const name = config.name ?? autoName(config.type);
  if (typeof name !== "string" || name === "") throw new ConfigError(`${config.type}: name must be a non-empty string`);
  return build(config as LayerConfig, name);
}

/** The layers whose saved configs older files wrote differently: each layer's own reading of them. */
const SAVED = new Map<string, (c: { type: string; [key: string]: unknown }) => { type: string; [key: string]: unknown }>([["pad", savedPadConfig]]);

/** createLayer for a config read from a saved model (.fovea, model.json), as its layer reads files older fovea wrote. */
export function createSavedLayer(config: { type: string; [key: string]: unknown }): Layer {
  // a Map: a type read from a file such as "hasOwnProperty" names no reading of its own
  const upgrade = typeof config === "object" && config !== null ? SAVED.get(config.type) : undefined;
  return createLayer(upgrade ? upgrade(config) : config);
}

function build(config: LayerConfig, name: string): Layer {
  switch (config.type) {
    case "conv2d": case "depthwiseConv2d": return new Conv2d(config, name);
    case "conv2dTranspose": return new Conv2dTranspose(config, name);
    case "conv3dTranspose": return new Conv3dTranspose(config, name);
    case "dense": return new Dense(config, name);
    case "maxPool2d": case "avgPool2d": case "maxPool2dIndices": case "maxPool3d": case "avgPool3d": return new Pool(config, name);
    case "globalAvgPool2d": case "globalMaxPool2d": return new GlobalPool2d(config, name);
    case "flatten": case "reshape": return new Reshape(config, name);
    case "permute": return new Permute(config, name);
    case "argMax": return new ArgMax(config, name);
    case "relu": case "relu6": case "leakyRelu": case "elu": case "sigmoid": case "tanh": case "softmax": case "logSoftmax": case "gelu": case "erf": case "sqrt": case "softplus": case "softsign": case "exp": case "log": case "floor": case "ceil": case "round": case "sign": case "toFloat16": case "toBfloat16":
      return new ActivationLayer(config, name);
    case "maxout": return new Maxout(config, name);
    case "dropout": return new Dropout(config, name);
    case "batchNorm": return new BatchNorm(config, name);
    case "lrn": return new Lrn(config, name);
    case "scale": return new Scale(config, name);
    case "add": return new Add(config, name);
    case "concat": return new Concat(config, name);
    case "multiply": return new Multiply(config, name);
    case "slice": return new Slice(config, name);
    case "resize": return new Resize(config, name);
    case "pad": return new Pad(config, name);
    case "matmul": return new Matmul(config, name);
    case "layerNorm": return new LayerNorm(config, name);
    case "binary": return new Binary(config, name);
    case "where": return new Where(config, name);
    case "constant": return new Constant(config, name);
    default:
      throw new ConfigError(`unknown layer type "${(config as { type: string }).type}"`);
  }
}

/** A layer config without its `type` (the builder function names it). */
export type Opt<C> = Omit<C, "type">;
export const conv2d = (c: Opt<Conv2dConfig>) => createLayer({ type: "conv2d", ...c });
export const depthwiseConv2d = (c: Opt<DepthwiseConv2dConfig>) => createLayer({ type: "depthwiseConv2d", ...c });
export const conv2dTranspose = (c: Opt<Conv2dTransposeConfig>) => createLayer({ type: "conv2dTranspose", ...c });
export const conv3dTranspose = (c: Opt<Conv3dTransposeConfig>) => createLayer({ type: "conv3dTranspose", ...c });
export const dense = (c: Opt<DenseConfig>) => createLayer({ type: "dense", ...c });
export const maxPool2d = (c: Opt<Pool2dConfig>) => createLayer({ ...c, type: "maxPool2d" });
export const avgPool2d = (c: Opt<Pool2dConfig>) => createLayer({ ...c, type: "avgPool2d" });
export const maxPool2dIndices = (c: Opt<Pool2dConfig>) => createLayer({ ...c, type: "maxPool2dIndices" });
export const maxPool3d = (c: Opt<Pool3dConfig>) => createLayer({ ...c, type: "maxPool3d" });
export const avgPool3d = (c: Opt<Pool3dConfig>) => createLayer({ ...c, type: "avgPool3d" });
export const globalAvgPool2d = (c: Opt<GlobalPoolConfig> = {}) => createLayer({ ...c, type: "globalAvgPool2d" });
export const globalMaxPool2d = (c: Opt<GlobalPoolConfig> = {}) => createLayer({ ...c, type: "globalMaxPool2d" });
export const flatten = (c: Opt<FlattenConfig> = {}) => createLayer({ type: "flatten", ...c });
export const reshape = (c: Opt<ReshapeConfig>) => createLayer({ type: "reshape", ...c });
export const permute = (c: Opt<PermuteConfig>) => createLayer({ type: "permute", ...c });
export const relu = (c: Opt<ActivationConfig> = {}) => createLayer({ ...c, type: "relu" });
export const relu6 = (c: Opt<ActivationConfig> = {}) => createLayer({ ...c, type: "relu6" });
export const leakyRelu = (c: Opt<ActivationConfig> = {}) => createLayer({ ...c, type: "leakyRelu" });
export const elu = (c: Opt<ActivationConfig> = {}) => createLayer({ ...c, type: "elu" });
export const sigmoid = (c: Opt<ActivationConfig> = {}) => createLayer({ ...c, type: "sigmoid" });
export const tanh = (c: Opt<ActivationConfig> = {}) => createLayer({ ...c, type: "tanh" });
export const softmax = (c: Opt<ActivationConfig> = {}) => createLayer({ ...c, type: "softmax" });
export const logSoftmax = (c: Opt<ActivationConfig> = {}) => createLayer({ ...c, type: "logSoftmax" });
export const gelu = (c: Opt<ActivationConfig> = {}) => createLayer({ ...c, type: "gelu" });
export const erf = (c: Opt<ActivationConfig> = {}) => createLayer({ ...c, type: "erf" });
export const sqrt = (c: Opt<ActivationConfig> = {}) => createLayer({ ...c, type: "sqrt" });
export const softplus = (c: Opt<ActivationConfig> = {}) => createLayer({ ...c, type: "softplus" });
export const softsign = (c: Opt<ActivationConfig> = {}) => createLayer({ ...c, type: "softsign" });
export const exp = (c: Opt<ActivationConfig> = {}) => createLayer({ ...c, type: "exp" });
export const log = (c: Opt<ActivationConfig> = {}) => createLayer({ ...c, type: "log" });
export const floor = (c: Opt<ActivationConfig> = {}) => createLayer({ ...c, type: "floor" });
export const ceil = (c: Opt<ActivationConfig> = {}) => createLayer({ ...c, type: "ceil" });
export const round = (c: Opt<ActivationConfig> = {}) => createLayer({ ...c, type: "round" });
export const sign = (c: Opt<ActivationConfig> = {}) => createLayer({ ...c, type: "sign" });
export const toFloat16 = (c: Opt<ActivationConfig> = {}) => createLayer({ ...c, type: "toFloat16" });
export const toBfloat16 = (c: Opt<ActivationConfig> = {}) => createLayer({ ...c, type: "toBfloat16" });
export const maxout = (c: Opt<MaxoutConfig>) => createLayer({ type: "maxout", ...c });
export const dropout = (c: Opt<DropoutConfig>) => createLayer({ type: "dropout", ...c });
export const batchNorm = (c: Opt<BatchNormConfig> = {}) => createLayer({ type: "batchNorm", ...c });
export const lrn = (c: Opt<LrnConfig> = {}) => createLayer({ type: "lrn", ...c });
export const scale = (c: Opt<ScaleConfig> = {}) => createLayer({ type: "scale", ...c });
export const add = (c: Opt<AddConfig> = {}) => createLayer({ type: "add", ...c });
export const concat = (c: Opt<ConcatConfig> = {}) => createLayer({ type: "concat", ...c });
export const multiply = (c: Opt<MultiplyConfig> = {}) => createLayer({ type: "multiply", ...c });
export const slice = (c: Opt<SliceConfig>) => createLayer({ type: "slice", ...c });
export const resize = (c: Opt<ResizeConfig>) => createLayer({ type: "resize", ...c });
export const pad = (c: Opt<PadConfig>) => createLayer({ type: "pad", ...c });
export const matmul = (c: Opt<MatmulConfig> = {}) => createLayer({ type: "matmul", ...c });
export const layerNorm = (c: Opt<LayerNormConfig> = {}) => createLayer({ type: "layerNorm", ...c });
export const binary = (c: Opt<BinaryConfig>) => createLayer({ type: "binary", ...c });
export const constant = (c: Opt<ConstantConfig>) => createLayer({ type: "constant", ...c });
export const where = (c: Opt<WhereConfig> = {}) => createLayer({ type: "where", ...c });
export const argMax = (c: Opt<ArgMaxConfig> = {}) => createLayer({ type: "argMax", ...c });

export type {
  Conv2dConfig, DepthwiseConv2dConfig, DenseConfig, Pool2dConfig, Pool3dConfig, GlobalPoolConfig, FlattenConfig, ReshapeConfig, PermuteConfig,
  ActivationConfig, MaxoutConfig, DropoutConfig, BatchNormConfig, LrnConfig, ScaleConfig, AddConfig, ConcatConfig, MultiplyConfig, SliceConfig, ResizeConfig, PadConfig, MatmulConfig,
  LayerNormConfig, BinaryConfig, WhereConfig, ConstantConfig, ArgMaxConfig,
};
export { Layer } from "./layer.js";
