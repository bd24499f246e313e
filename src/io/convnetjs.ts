// ConvNetJS snapshots (net.toJSON(), as the ConvNetJS demos and DeepTraffic save them) to fovea
// models. ConvNetJS stores volumes as [y][x][depth] — the same order as NHWC — so conv filters
// map straight to HWIO and fc weights need no flatten permutation.
import { FormatError, FoveaError, checkOptionKeys, show, naming } from "../errors.js";
import { getLimits } from "../runtime/limits.js";
import * as L from "../layers/index.js";
import type { Layer } from "../layers/layer.js";
import { sequential, type Model } from "../model/model.js";
import type { LossName } from "../train/losses.js";
import { withWeights } from "./weights.js";

interface Vol { sx: number; sy: number; depth: number; w: Record<string, number> | number[] }
type CnjLayer = Record<string, unknown> & { layer_type: string };

/** A volume's weights, checked against the count the layer needs (sx·sy·depth, every entry a finite number). */
const values = (v: Vol | undefined, n: number, where: string): Float32Array => {
  if (typeof v !== "object" || v === null || v.w === null || typeof v.w !== "object") throw new FormatError(`${where}: expected a volume { sx, sy, depth, w }, got ${show(v)}`);
  if (v.sx * v.sy * v.depth !== n) throw new FormatError(`${where}: a ${show(v.sx)}×${show(v.sy)}×${show(v.depth)} volume where ${n} weights are needed`);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const x = (v.w as Record<string, number>)[i];
    if (typeof x !== "number" || !Number.isFinite(x)) throw new FormatError(`${where}: weight ${i} is ${show(x)}`);
    out[i] = x;
  }
  return out;
};

/** A weight count within the model limit, before a typed array of it is made. */
const within = (n: number, where: string): number => {
  const limit = getLimits().maxModelBytes;
  if (n * 4 > limit) throw new FormatError(`${where}: ${n} weights (${n * 4} bytes) exceed the limit of ${limit} bytes (setLimits({ maxModelBytes }))`);
  return n;
};

/** The model a ConvNetJS snapshot describes, with its weights, and the loss its head implies. */
export function importConvnetjs(json: string | { layers: CnjLayer[] }, options: { source?: string; seed?: number } = {}): { model: Model; loss: LossName } {
  checkOptionKeys("importConvnetjs", options, ["source", "seed"]);
  const src = options.source ?? "convnetjs.json";
  return naming(src, () => convert(json, src, options.seed));
}

function convert(json: string | { layers: CnjLayer[] }, src: string, seed: number | undefined): { model: Model; loss: LossName } {
  let net: { layers: CnjLayer[] };
  try {
    net = typeof json === "string" ? JSON.parse(json) : json;
  } catch (e) {
    throw new FormatError(`${src}: not valid JSON (${(e as Error).message})`);
  }
  if (!Array.isArray(net?.layers) || net.layers[0]?.layer_type !== "input") throw new FormatError(`${src}: not a ConvNetJS net (layers[0] must be the input layer)`);
  const first = net.layers[0]!;
  const num = (l: CnjLayer, k: string) => {
    const v = l[k];
    if (typeof v !== "number" || !Number.isFinite(v)) throw new FormatError(`${src}: ${l.layer_type}.${k} must be a number, got ${show(v)}`);
    return v;
  };
  // sizes: whole numbers, so the weight arrays below are never allocated from a lie
  const count = (l: CnjLayer, k: string, min = 1) => {
    const v = num(l, k);
    if (!Number.isSafeInteger(v) || v < min || v > 2 ** 28) throw new FormatError(`${src}: ${l.layer_type}.${k} must be a whole number in [${min}, 2^28], got ${v}`);
    return v;
  };
  if (!net.layers.every((l) => typeof l === "object" && l !== null && typeof l.layer_type === "string")) {
    throw new FormatError(`${src}: every layer must be an object with a layer_type`);
  }
  const layers: Layer[] = [];
  const weights: { layer: string; name: string; values: Float32Array }[] = [];
  let loss: LossName = "mse";
  let flat = false;
  // ConvNetJS scales a dropout's output by drop_prob at test time (its DropoutLayer.forward);
  // fovea's dropout is inverted (identity at inference), so the factor goes into the next
  // conv / fc weights — through ReLU, maxout and max pooling, which commute with a positive scale
  let scale = 1;
  const take = () => { const s = scale; scale = 1; return s; };
  const name = () => `cnj${layers.length}`;
  net.layers.slice(1).forEach((l, i) => {
    const where = `${src}: layer ${i + 1} (${l.layer_type})`;
    switch (l.layer_type) {
      case "conv": {
        const n = name(), OC = count(l, "out_depth"), KW = count(l, "sx"), KH = count(l, "sy"), Cin = count(l, "in_depth");
        layers.push(L.conv2d({ name: n, filters: OC, kernelSize: [KH, KW], strides: count(l, "stride"), padding: count(l, "pad", 0), rounding: "floor" }));
        const filters = l.filters as Vol[];
        if (!Array.isArray(filters) || filters.length !== OC) throw new FormatError(`${where}: ${filters?.length} filters for ${OC} outputs`);
        const hwio = new Float32Array(within(KH * KW * Cin * OC, where));
        const s = take();
        filters.forEach((f, o) => {
          const v = values(f, KH * KW * Cin, `${where} filter ${o}`);
          for (let p = 0; p < KH * KW * Cin; p++) hwio[p * OC + o] = s * v[p]!;
        });
        weights.push({ layer: n, name: "kernel", values: hwio }, { layer: n, name: "bias", values: values(l.biases as Vol, OC, `${where} biases`) });
        flat = false;
        break;
      }
      case "fc": {
        if (!flat) layers.push(L.flatten({ name: name() }));
        flat = true;
        const n = name(), U = count(l, "out_depth"), F = count(l, "num_inputs");
        layers.push(L.dense({ name: n, units: U }));
        const filters = l.filters as Vol[];
        if (!Array.isArray(filters) || filters.length !== U) throw new FormatError(`${where}: ${filters?.length} filters for ${U} outputs`);
        const k = new Float32Array(within(F * U, where));
        const s = take();
        filters.forEach((f, o) => values(f, F, `${where} filter ${o}`).forEach((v, p) => (k[p * U + o] = s * v)));
        weights.push({ layer: n, name: "kernel", values: k }, { layer: n, name: "bias", values: values(l.biases as Vol, U, `${where} biases`) });
        break;
      }
      case "pool":
        layers.push(L.maxPool2d({ name: name(), poolSize: [count(l, "sy"), count(l, "sx")], strides: count(l, "stride"), padding: count(l, "pad", 0), rounding: "floor" }));
        break;
      case "relu": layers.push(L.relu({ name: name() })); break;
      case "sigmoid": case "tanh": case "lrn": case "softmax":
        if (scale !== 1) throw new FormatError(`${where}: a dropout before ${l.layer_type} cannot carry ConvNetJS's test-time scaling into the next weights`);
        if (l.layer_type === "sigmoid") layers.push(L.sigmoid({ name: name() }));
        else if (l.layer_type === "tanh") layers.push(L.tanh({ name: name() }));
        else if (l.layer_type === "lrn") layers.push(L.lrn({ name: name(), size: num(l, "n"), k: num(l, "k"), alpha: num(l, "alpha"), beta: num(l, "beta") }));
        else {
          layers.push(L.softmax({ name: name() }));
          loss = "softmaxCrossEntropy";
        }
        break;
      case "maxout": layers.push(L.maxout({ name: name(), pieces: count(l, "group_size") })); break;
      case "dropout":
        layers.push(L.dropout({ name: name(), rate: num(l, "drop_prob") }));
        scale *= num(l, "drop_prob");
        break;
      case "svm":
        loss = "hinge";
        break;
      case "regression": loss = "mse"; break;
      default: throw new FormatError(`${where}: unknown ConvNetJS layer type`);
    }
  });
  if (scale !== 1) throw new FormatError(`${src}: a dropout at the end leaves ConvNetJS's test-time scaling nowhere to go`);
  const inputShape = [count(first, "out_sy"), count(first, "out_sx"), count(first, "out_depth")];
  const model = sequential(layers, { inputShape, name: "convnetjs", seed });
  return { model: withWeights(model, weights, src), loss };
}
