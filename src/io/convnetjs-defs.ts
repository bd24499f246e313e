// ConvNetJS `layer_defs` as another way to build a model, with ConvNetJS's semantics:
// its output-size rule (floor), pool stride default 2, fc layers that flatten their input,
// activation shorthands (relu, sigmoid, tanh, maxout), drop_prob on fc, and the heads
// softmax (fc + softmax, cross-entropy), svm (fc, multiclass hinge) and regression (fc, MSE).
// Initialisation follows ConvNetJS: weights ~ N(0, 1/fanIn), biases = bias_pref (default 0, or
// 0.1 on a layer with a relu activation, as ConvNetJS's desugaring sets it).

import { ConfigError, show } from "../errors.js";
import * as L from "../layers/index.js";
import type { Layer } from "../layers/layer.js";
import type { LossName } from "../train/losses.js";
import { sequential, type Model } from "../model/model.js";
import type { Regularizer } from "../train/trainer.js";

export type ConvNetJSLayerDef = Record<string, unknown> & { type: string };

export interface ConvNetJSModel {
  model: Model;
  /** The loss the head implies: softmax → softmaxCrossEntropy, svm → hinge, regression → mse. */
  loss: LossName;
  /**
   * Per-layer l1/l2 decay multipliers (ConvNetJS l1_decay_mul / l2_decay_mul) with the decays you give.
   * ConvNetJS's Trainer divides its l1_decay / l2_decay by batch_size (they are added to the batch's
   * summed gradient); fovea's regularizer adds to the mean gradient: pass l2_decay / batch_size for its steps.
   */
  regularizer: (decay: { l1?: number; l2?: number }) => Regularizer;
}

const KNOWN: Record<string, string[]> = {
  // (ConvNetJS's InputLayer takes in_sx / in_sy / in_depth where out_* are not given; its FullyConnLayer
  // filters where num_neurons is not; makeLayers adds an activation and a dropout after any layer)
  input: ["out_sx", "out_sy", "out_depth", "in_sx", "in_sy", "in_depth"],
  conv: ["sx", "sy", "filters", "stride", "pad", "activation", "group_size", "drop_prob", "l1_decay_mul", "l2_decay_mul", "bias_pref"],
  fc: ["num_neurons", "filters", "activation", "group_size", "drop_prob", "l1_decay_mul", "l2_decay_mul", "bias_pref"],
  pool: ["sx", "sy", "stride", "pad", "activation", "group_size", "drop_prob"],
  softmax: ["num_classes"],
  svm: ["num_classes"],
  regression: ["num_neurons"],
  dropout: ["drop_prob"],
  maxout: ["group_size"],
  lrn: ["k", "n", "alpha", "beta", "activation", "group_size", "drop_prob"],
  relu: [], sigmoid: [], tanh: [],
};

/** The input volume ConvNetJS's makeLayers records in each def after the first (sx, sy, depth). */
const IN_KEYS = ["in_sx", "in_sy", "in_depth"];

/** Biases' initial value: bias_pref, or ConvNetJS's default (0.1 under a relu activation, else 0). */
const biasPref = (d: ConvNetJSLayerDef): number => (d.bias_pref as number | undefined) ?? (d.activation === "relu" ? 0.1 : 0);

/**
 * ConvNetJS's LRN (LocalResponseNormalizationLayer) as a fovea lrn: ConvNetJS sums channel c's
 * window c − ⌊n/2⌋ … c + ⌊n/2⌋, which is n + 1 channels for an even n, and divides alpha by n; fovea's
 * lrn (PyTorch's) sums `size` channels, c − ⌊size/2⌋ … c + ⌊(size − 1)/2⌋, and divides alpha by size.
 * An odd n is the same window; an even one is fovea's size n + 1 with alpha · (n + 1) / n.
 */
export function convnetjsLrn(name: string, n: number, k: number, alpha: number, beta: number): Layer {
  if (!(Number.isSafeInteger(n) && n >= 1)) throw new ConfigError(`convnetjs: lrn.n must be a whole number >= 1, got ${show(n)}`);
  const even = n % 2 === 0;
  return L.lrn({ name, size: even ? n + 1 : n, k, alpha: even ? (alpha * (n + 1)) / n : alpha, beta });
}

/** ConvNetJS's fc output is a 1 × 1 × N volume: before a conv, pool or LRN, fovea's [N] becomes [1, 1, N]. */
export const convnetjsVolume = (name: string): Layer => L.reshape({ name, targetShape: [1, 1, -1] });

/** ConvNetJS's per-layer decay multipliers (by fovea layer name) as a regularizer factory. */
export function decayRegularizer(decay: Record<string, { l1: number; l2: number }>): ConvNetJSModel["regularizer"] {
  return ({ l1 = 0, l2 = 0 }) => ({ l1, l2, layers: { ...decay } });
}

export function convnetjs(defs: ConvNetJSLayerDef[], options: { seed?: number; name?: string } = {}): ConvNetJSModel {
  if (!Array.isArray(defs) || defs.length < 2) throw new ConfigError("convnetjs: layer_defs needs an input layer and at least one more");
  defs.forEach((d, i) => {
    const keys = KNOWN[d?.type];
    if (!keys) throw new ConfigError(`convnetjs: layer ${i} has unknown type ${show(d?.type)} (${Object.keys(KNOWN).join(", ")})`);
    // in_sx / in_sy / in_depth: what ConvNetJS's net.makeLayers writes into the defs it is given (checked below)
    for (const k of Object.keys(d)) if (k !== "type" && !keys.includes(k) && !(i > 0 && IN_KEYS.includes(k))) throw new ConfigError(`convnetjs: layer ${i} (${d.type}): unknown option "${k}"`);
  });
  const first = defs[0]!;
  if (first.type !== "input") throw new ConfigError(`convnetjs: layer 0 must be the input layer, got "${first.type}"`);
  const num = (d: ConvNetJSLayerDef, k: string, dflt?: number): number => {
    const v = d[k] ?? dflt;
    if (typeof v !== "number" || !Number.isFinite(v)) throw new ConfigError(`convnetjs: ${d.type}.${k} must be a number, got ${show(d[k])}`);
    return v;
  };
  const io = (k: string) => {
    if (first[`out_${k}`] !== undefined && first[`in_${k}`] !== undefined && first[`out_${k}`] !== first[`in_${k}`]) {
      throw new ConfigError(`convnetjs: layer 0 (input): out_${k} ${show(first[`out_${k}`])} and in_${k} ${show(first[`in_${k}`])} differ (ConvNetJS reads out_${k})`);
    }
    return first[`out_${k}`] === undefined ? `in_${k}` : `out_${k}`;
  };
  const inputShape = [num(first, io("sy"), num(first, io("sx"))), num(first, io("sx")), num(first, io("depth"))];
  const layers: Layer[] = [];
  const decay: Record<string, { l1: number; l2: number }> = {};
  let flat = false;
  let loss: LossName | null = null;
  const n = () => `cnj${layers.length}`;
  const activation = (d: ConvNetJSLayerDef) => {
    const a = d.activation;
    if (a === undefined) return;
    if (a === "relu") layers.push(L.relu({ name: n() }));
    else if (a === "sigmoid") layers.push(L.sigmoid({ name: n() }));
    else if (a === "tanh") layers.push(L.tanh({ name: n() }));
    else if (a === "maxout") layers.push(L.maxout({ pieces: num(d, "group_size", 2), name: n() }));
    else throw new ConfigError(`convnetjs: ${d.type}: unknown activation ${show(a)}`);
  };
  // a conv, pool or LRN after an fc layer reads its output as ConvNetJS's 1 × 1 × N volume
  const volume = () => {
    if (flat) layers.push(convnetjsVolume(n()));
    flat = false;
  };
  // what makeLayers adds after a layer: its activation, then a dropout of its drop_prob
  const activationAndDropout = (d: ConvNetJSLayerDef) => {
    activation(d);
    if (d.drop_prob !== undefined) layers.push(L.dropout({ rate: num(d, "drop_prob"), name: n() }));
  };
  const fc = (d: ConvNetJSLayerDef, units: number) => {
    if (!flat) layers.push(L.flatten({ name: n() }));
    flat = true;
    const name = n();
    layers.push(L.dense({ units, name, kernelInitializer: "lecunNormal", biasInitializer: { type: "constant", value: biasPref(d) } }));
    decay[name] = { l1: (d.l1_decay_mul as number) ?? 0, l2: (d.l2_decay_mul as number) ?? 1 };
  };
  const starts: number[] = [];
  defs.slice(1).forEach((d, i) => {
    starts.push(layers.length);
    if (loss) throw new ConfigError(`convnetjs: layer ${i + 1} (${d.type}) comes after the ${loss} head`);
    switch (d.type) {
      case "conv": {
        volume();
        const name = n();
        const sx = num(d, "sx");
        layers.push(L.conv2d({
          name, filters: num(d, "filters"), kernelSize: [num(d, "sy", sx), sx], strides: num(d, "stride", 1), padding: num(d, "pad", 0),
          rounding: "floor", kernelInitializer: "lecunNormal", biasInitializer: { type: "constant", value: biasPref(d) },
        }));
        decay[name] = { l1: (d.l1_decay_mul as number) ?? 0, l2: (d.l2_decay_mul as number) ?? 1 };
        activationAndDropout(d);
        break;
      }
      case "fc":
        fc(d, num(d, d.num_neurons === undefined ? "filters" : "num_neurons"));
        activationAndDropout(d);
        break;
      case "pool": {
        volume();
        const sx = num(d, "sx");
        layers.push(L.maxPool2d({ name: n(), poolSize: [num(d, "sy", sx), sx], strides: num(d, "stride", 2), padding: num(d, "pad", 0), rounding: "floor" }));
        activationAndDropout(d);
        break;
      }
      case "softmax":
        fc(d, num(d, "num_classes"));
        layers.push(L.softmax({ name: n() }));
        loss = "softmaxCrossEntropy";
        break;
      case "svm":
        fc(d, num(d, "num_classes"));
        loss = "hinge";
        break;
      case "regression":
        fc(d, num(d, "num_neurons"));
        loss = "mse";
        break;
      case "dropout":
        layers.push(L.dropout({ rate: num(d, "drop_prob", 0.5), name: n() }));
        break;
      case "maxout":
        layers.push(L.maxout({ pieces: num(d, "group_size", 2), name: n() }));
        break;
      case "lrn":
        volume();
        layers.push(convnetjsLrn(n(), num(d, "n"), num(d, "k"), num(d, "alpha"), num(d, "beta")));
        activationAndDropout(d);
        break;
      case "relu": case "sigmoid": case "tanh":
        activation({ type: d.type, activation: d.type });
        break;
      case "input":
        throw new ConfigError(`convnetjs: layer ${i + 1}: only the first layer can be an input`);
    }
  });
  if (!loss) throw new ConfigError("convnetjs: the last layer must be a softmax, svm or regression head");
  const model = sequential(layers, { inputShape, seed: options.seed, name: options.name ?? "convnetjs" });
  try {
    checkInputVolumes(defs, starts, model, layers, inputShape);
  } catch (e) {
    model.free();
    throw e;
  }
  return { model, loss, regularizer: decayRegularizer(decay) };
}

/**
 * Defs that went through ConvNetJS's makeLayers carry the volume each layer takes (in_sx, in_sy,
 * in_depth); they must be the ones it takes here. A head (softmax, svm, regression) takes the
 * output of the fc layer ConvNetJS puts before it: 1 × 1 × its classes.
 */
function checkInputVolumes(defs: ConvNetJSLayerDef[], starts: number[], model: Model, layers: Layer[], inputShape: number[]): void {
  defs.slice(1).forEach((d, j) => {
    if (!IN_KEYS.some((k) => d[k] !== undefined)) return;
    let want: number[];
    if (d.type === "softmax" || d.type === "svm") want = [1, 1, d.num_classes as number];
    else if (d.type === "regression") want = [1, 1, d.num_neurons as number];
    else {
      const k = starts[j]!, shape = k === 0 ? inputShape : [...model.nodes.find((nd) => nd.layer === layers[k - 1])!.outShape];
      want = shape.length === 3 ? [shape[1]!, shape[0]!, shape[2]!] : [1, 1, shape.reduce((a, b) => a * b, 1)];
    }
    const got = IN_KEYS.map((k) => d[k]);
    if (got.some((v, i) => v !== undefined && v !== want[i])) {
      throw new ConfigError(`convnetjs: layer ${j + 1} (${d.type}): in_sx, in_sy, in_depth ${got.map((v) => show(v)).join(", ")} (as ConvNetJS's makeLayers writes them) are not the ${want.join(" × ")} volume it takes here`);
    }
  });
}
