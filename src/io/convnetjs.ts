// ConvNetJS snapshots (net.toJSON(), as the ConvNetJS demos and DeepTraffic save them) to fovea
// models and back. ConvNetJS stores volumes as [y][x][depth] — the same order as NHWC — so conv
// filters map straight to HWIO and fc weights need no flatten permutation.
import { ConfigError, FormatError, FoveaError, checkOptionKeys, show, naming, checkModel } from "../errors.js";
import { checkSeed } from "../rng.js";
import { getLimits } from "../runtime/limits.js";
import * as L from "../layers/index.js";
import type { Layer } from "../layers/layer.js";
import { Conv2d } from "../layers/conv.js";
import { Dense } from "../layers/dense.js";
import { Pool } from "../layers/pool.js";
import { ActivationLayer, Maxout } from "../layers/activation.js";
import { Lrn } from "../layers/norm.js";
import { Dropout } from "../layers/dropout.js";
import { Model } from "../model/model.js";
import type { LossName } from "../train/losses.js";
import type { Regularizer } from "../train/trainer.js";
import { convnetjsLrn, convnetjsVolume, decayRegularizer, type ConvNetJSModel } from "./convnetjs-defs.js";
import { withWeights } from "./weights.js";

interface Vol { sx: number; sy: number; depth: number; w: Record<string, number> | number[] }
/** A layer of a ConvNetJS snapshot (Net.toJSON()). */
export type CnjLayer = Record<string, unknown> & { layer_type: string };

/** What a layer's filters entry holds, for a message: "3 filters", or that it is no list. */
const filterCount = (f: unknown) => (Array.isArray(f) ? `${f.length} filters` : `filters ${f === undefined ? "missing" : `not a list (${show(f)})`}`);

/** A volume's weights, checked against the count the layer needs (sx·sy·depth, every entry a finite number). */
const values = (v: Vol | undefined, n: number, where: string): Float32Array => {
  if (typeof v !== "object" || v === null || v.w === null || typeof v.w !== "object") throw new FormatError(`${where}: expected a volume { sx, sy, depth, w }, got ${show(v)}`);
  if (v.sx * v.sy * v.depth !== n) {
    const dim = (k: "sx" | "sy" | "depth") => (v[k] === undefined ? `no ${k}` : show(v[k]));
    throw new FormatError(`${where}: a ${dim("sx")}×${dim("sy")}×${dim("depth")} volume where ${n} weights are needed`);
  }
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

/**
 * The model a ConvNetJS snapshot describes, with its weights, the loss its head implies and its
 * layers' decay multipliers (l1_decay_mul / l2_decay_mul; 1 where a layer has none, as ConvNetJS's
 * fromJSON reads them).
 */
export function importConvnetjs(json: string | { layers: CnjLayer[] }, options: { source?: string; seed?: number } = {}): ConvNetJSModel {
  checkOptionKeys("importConvnetjs", options, ["source", "seed"]);
  if (options.seed !== undefined) checkSeed("importConvnetjs", options.seed);
  const src = options.source ?? "convnetjs.json";
  return naming(src, () => convert(json, src, options.seed));
}

function convert(json: string | { layers: CnjLayer[] }, src: string, seed: number | undefined): ConvNetJSModel {
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
  // a conv's or pool's padding: snapshots from before ConvNetJS wrote it have none, which its fromJSON reads as 0
  const padOf = (l: CnjLayer) => (l.pad === undefined ? 0 : count(l, "pad", 0));
  if (!net.layers.every((l) => typeof l === "object" && l !== null && typeof l.layer_type === "string")) {
    throw new FormatError(`${src}: every layer must be an object with a layer_type`);
  }
  const layers: Layer[] = [];
  const weights: { layer: string; name: string; values: Float32Array }[] = [];
  const decay: Record<string, { l1: number; l2: number }> = {};
  const decayOf = (l: CnjLayer, n: string) => {
    const mul = (k: string) => {
      if (l[k] === undefined) return 1;
      const v = num(l, k);
      if (v < 0) throw new FormatError(`${src}: ${l.layer_type}.${k} must be >= 0, got ${v}`);
      return v;
    };
    decay[n] = { l1: mul("l1_decay_mul"), l2: mul("l2_decay_mul") };
  };
  let loss: LossName = "mse";
  let flat = false;
  // ConvNetJS scales a dropout's output by drop_prob at test time (its DropoutLayer.forward);
  // fovea's dropout is inverted (identity at inference), so the factor goes into the next
  // conv / fc weights — through ReLU, maxout and max pooling, which commute with a positive scale
  let scale = 1;
  const take = () => { const s = scale; scale = 1; return s; };
  // a conv, pool or LRN after an fc layer reads its output as ConvNetJS's 1 × 1 × N volume
  const volume = () => {
    if (flat) layers.push(convnetjsVolume(name()));
    flat = false;
  };
  const name = () => `cnj${layers.length}`;
  // the fovea layer whose output is each ConvNetJS layer's (after layers[0]): the last one made so far
  const producedBy: (string | undefined)[] = [];
  net.layers.slice(1).forEach((l, i) => {
    if (i > 0) producedBy.push(layers.at(-1)?.name);
    const where = `${src}: layer ${i + 1} (${l.layer_type})`;
    switch (l.layer_type) {
      case "conv": {
        volume();
        const n = name(), OC = count(l, "out_depth"), KW = count(l, "sx"), KH = count(l, "sy"), Cin = count(l, "in_depth");
        layers.push(L.conv2d({ name: n, filters: OC, kernelSize: [KH, KW], strides: count(l, "stride"), padding: padOf(l), rounding: "floor" }));
        const filters = l.filters as Vol[];
        if (!Array.isArray(filters) || filters.length !== OC) throw new FormatError(`${where}: ${filterCount(filters)} for ${OC} outputs`);
        const hwio = new Float32Array(within(KH * KW * Cin * OC, where));
        const s = take();
        filters.forEach((f, o) => {
          const v = values(f, KH * KW * Cin, `${where} filter ${o}`);
          for (let p = 0; p < KH * KW * Cin; p++) hwio[p * OC + o] = s * v[p]!;
        });
        weights.push({ layer: n, name: "kernel", values: hwio }, { layer: n, name: "bias", values: values(l.biases as Vol, OC, `${where} biases`) });
        decayOf(l, n);
        break;
      }
      case "fc": {
        if (!flat) layers.push(L.flatten({ name: name() }));
        flat = true;
        const n = name(), U = count(l, "out_depth"), F = count(l, "num_inputs");
        // the layer before declares its output: num_inputs must be its size, not read on trust
        const prev = net.layers[i]!, [px, py, pd] = [count(prev, "out_sx"), count(prev, "out_sy"), count(prev, "out_depth")];
        if (F !== px * py * pd) throw new FormatError(`${where}: num_inputs is ${F}, but layer ${i} (${prev.layer_type}) gives ${px}×${py}×${pd} = ${px * py * pd} values`);
        layers.push(L.dense({ name: n, units: U }));
        const filters = l.filters as Vol[];
        if (!Array.isArray(filters) || filters.length !== U) throw new FormatError(`${where}: ${filterCount(filters)} for ${U} outputs`);
        const k = new Float32Array(within(F * U, where));
        const s = take();
        filters.forEach((f, o) => values(f, F, `${where} filter ${o}`).forEach((v, p) => (k[p * U + o] = s * v)));
        weights.push({ layer: n, name: "kernel", values: k }, { layer: n, name: "bias", values: values(l.biases as Vol, U, `${where} biases`) });
        decayOf(l, n);
        break;
      }
      case "pool":
        volume();
        layers.push(L.maxPool2d({ name: name(), poolSize: [count(l, "sy"), count(l, "sx")], strides: count(l, "stride"), padding: padOf(l), rounding: "floor" }));
        break;
      case "relu": layers.push(L.relu({ name: name() })); break;
      case "sigmoid": case "tanh": case "lrn": case "softmax":
        if (scale !== 1) {
          // a dropout's test-time factor cannot pass a curve to the next weights: a fixed scale layer carries it here
          const prev = net.layers[i]!, C = flat ? count(prev, "out_sx") * count(prev, "out_sy") * count(prev, "out_depth") : count(prev, "out_depth");
          const n = name();
          layers.push(L.scale({ name: n }));
          weights.push({ layer: n, name: "scale", values: new Float32Array(within(C, where)).fill(take()) }, { layer: n, name: "shift", values: new Float32Array(C) });
        }
        if (l.layer_type === "sigmoid") layers.push(L.sigmoid({ name: name() }));
        else if (l.layer_type === "tanh") layers.push(L.tanh({ name: name() }));
        else if (l.layer_type === "lrn") {
          volume();
          layers.push(convnetjsLrn(name(), count(l, "n"), num(l, "k"), num(l, "alpha"), num(l, "beta")));
        }
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
  producedBy.push(layers.at(-1)?.name);
  if (scale !== 1) throw new FormatError(`${src}: a dropout at the end leaves ConvNetJS's test-time scaling nowhere to go`);
  const inputShape = [count(first, "out_sy"), count(first, "out_sx"), count(first, "out_depth")];
  const model = withWeights((preset) => new Model({ layers, inputShape, name: "convnetjs", seed, preset }), weights, src);
  // each layer's declared output (out_sx × out_sy × out_depth, as ConvNetJS writes it) is what its
  // input and settings give: a file that says otherwise is corrupt, not a net to guess at
  try {
    net.layers.forEach((l, i) => {
      if (i === 0 || !["out_sx", "out_sy", "out_depth"].every((k) => k in l)) return;
      const node = model.nodes.find((n) => n.layer.name === producedBy[i - 1]);
      const s = node ? node.outShape : inputShape, [h, w, d] = s.length === 3 ? s : [1, 1, s.reduce((a, b) => a * b, 1)];
      const [x, y, z] = [count(l, "out_sx"), count(l, "out_sy"), count(l, "out_depth")];
      if (x !== w || y !== h || z !== d) throw new FormatError(`${src}: layer ${i} (${l.layer_type}) declares out_sx × out_sy × out_depth = ${x}×${y}×${z}, but its input and settings give ${w}×${h}×${d}`);
    });
  } catch (e) {
    model.free();
    throw e;
  }
  return { model, loss, regularizer: decayRegularizer(decay) };
}

/** A ConvNetJS volume as its toJSON() writes it; w a Float64Array (serialised as {"0": …}, as ConvNetJS's). */
interface VolJSON { sx: number; sy: number; depth: number; w: Float64Array }
export type ConvNetJSLayerJSON = Record<string, unknown> & { layer_type: string; out_sx: number; out_sy: number; out_depth: number };

export interface ConvNetJSExportOptions {
  /**
   * The loss layer to end with. Default: the model's loss — mse and the selected-output losses
   * give "regression", hinge "svm"; a model ending in a softmax layer ends in ConvNetJS's softmax.
   */
  head?: "regression" | "svm" | "softmax";
  /** Decay multipliers to record per layer name (ConvNetJS l1_decay_mul / l2_decay_mul); default l1 0, l2 1 (ConvNetJS's). */
  decay?: Regularizer["layers"];
}

/** A float32 as the shortest decimal that reads back to it (9 significant digits always do). */
const short = (v: number) => +v.toPrecision(9);
const vol = (sx: number, sy: number, depth: number, w: ArrayLike<number>): VolJSON => ({ sx, sy, depth, w: Float64Array.from(w, short) });

/**
 * A fovea model as a ConvNetJS snapshot ({ layers: [...] }, what ConvNetJS's net.toJSON() returns;
 * JSON.stringify it to save it, net.fromJSON(...) loads it in ConvNetJS, importConvnetjs reads it back).
 * The model must be a chain of dense, conv2d (one stride, the same padding on every side, no
 * dilation or groups), maxPool2d (the same), relu / sigmoid / tanh, maxout, lrn, dropout, flatten
 * and a final softmax; anything else is a ConfigError naming the layer. Outputs match at inference:
 * a dropout's next weights are divided by its rate, which ConvNetJS multiplies in at test time.
 * Given importConvnetjs's (or convnetjs()'s) whole result, the head comes from its loss and each
 * layer's decay multipliers from its regularizer, so a snapshot goes back as it came.
 */
export function exportConvnetjs(from: Model | ConvNetJSModel, options: ConvNetJSExportOptions = {}): { layers: ConvNetJSLayerJSON[] } {
  // importConvnetjs's or convnetjs()'s result: its head from its loss, its layers' decay multipliers, unless options say otherwise
  const imported = !(from instanceof Model) && typeof from === "object" && from !== null && "model" in from ? from : null;
  if (imported && !(imported.model instanceof Model && typeof imported.loss === "string" && typeof imported.regularizer === "function")) {
    throw new ConfigError(`exportConvnetjs: expected a model, or importConvnetjs's or convnetjs()'s result { model, loss, regularizer }, got ${show(from)}`);
  }
  const model = imported ? imported.model : (from as Model);
  checkModel(model, "exportConvnetjs");
  checkOptionKeys("exportConvnetjs", options, ["head", "decay"]);
  if (imported) options = { ...options, decay: options.decay ?? imported.regularizer({}).layers };
  const nodes = model.nodes;
  const where = `exportConvnetjs: model "${model.name}"`;
  const dims = (s: readonly number[]) => (s.length === 3 ? { out_sx: s[1]!, out_sy: s[0]!, out_depth: s[2]! } : { out_sx: 1, out_sy: 1, out_depth: s.reduce((a, b) => a * b, 1) });
  const last = nodes[nodes.length - 1]!.layer;
  const lossHead = (l: LossName | null): "regression" | "svm" | undefined =>
    l === "hinge" ? "svm" : l === "mse" || l === "selectedSquared" || l === "selectedHuber" ? "regression" : undefined;
  const head = options.head ?? (last.type === "softmax" ? "softmax" : lossHead(model.loss ?? imported?.loss ?? null));
  if (head === undefined) throw new ConfigError(`${where}: pass head ("regression", "svm" or "softmax"); its loss ${show(model.loss)} names no ConvNetJS loss layer`);
  if (!["regression", "svm", "softmax"].includes(head)) throw new ConfigError(`${where}: head must be "regression", "svm" or "softmax", got ${show(head)}`);
  if ((head === "softmax") !== (last.type === "softmax")) throw new ConfigError(`${where}: ${head === "softmax" ? "a softmax head needs a model ending in a softmax layer" : `ends in a softmax layer, not a ${head} head`}`);
  // every entry names a layer and gives multipliers >= 0 (a number, or { l1, l2 }): a misspelt one is refused, not left at the default
  const names = new Set(nodes.map((n) => n.layer.name)), mul = (v: unknown) => typeof v === "number" && Number.isFinite(v) && v >= 0;
  for (const [k, v] of Object.entries(options.decay ?? {})) {
    if (!names.has(k)) throw new ConfigError(`${where}: decay names layer "${k}", which the model does not have`);
    const ok = mul(v) || (typeof v === "object" && v !== null && Object.keys(v).every((q) => q === "l1" || q === "l2") && Object.values(v).every(mul));
    if (!ok) throw new ConfigError(`${where}: decay of layer "${k}" must be a multiplier >= 0 or { l1, l2 } of them, got ${show(v)}`);
  }
  const decayOf = (name: string) => {
    const m = options.decay?.[name];
    return typeof m === "number" ? { l1_decay_mul: m, l2_decay_mul: m } : { l1_decay_mul: m?.l1 ?? 0, l2_decay_mul: m?.l2 ?? 1 };
  };
  const heap = model.backend.heap;
  const out: ConvNetJSLayerJSON[] = [{ ...dims(model.inputShape), layer_type: "input" }];
  let scale = 1; // 1 / the rate of a dropout not yet folded into the next weights
  nodes.forEach((n, j) => {
    const l = n.layer, label = `${where}: layer ${l.label}`;
    if (n.inputs.length !== 1 || n.inputs[0] !== j - 1) throw new ConfigError(`${label} is not in a chain (ConvNetJS nets are one layer after another)`);
    const inShape = n.inShapes[0]!, o = dims(n.outShape);
    const act = (a: string) => {
      if (a === "relu") out.push({ ...o, layer_type: "relu" });
      else if (a !== "none") throw new ConfigError(`${label}: a fused ${a} has no ConvNetJS counterpart`);
    };
    if (scale !== 1 && l.type === "scale" && n.params.every((p) => !p.spec.trainable) && heap.f32(n.params[1]!.w, n.params[1]!.size).every((v) => v === 0) &&
      heap.f32(n.params[0]!.w, n.params[0]!.size).every((v) => Math.abs(v * scale - 1) <= 1e-6)) {
      // the import's carrier of a dropout's test-time factor before a curve: ConvNetJS's dropout applies it itself
      scale = 1;
      return;
    }
    if (scale !== 1 && (l.type === "sigmoid" || l.type === "tanh" || l.type === "lrn" || l.type === "softmax")) {
      throw new ConfigError(`${label}: ConvNetJS's test-time dropout scaling before a ${l.type} cannot be carried into the next weights`);
    }
    const w = (i: number) => heap.f32(n.params[i]!.w, n.params[i]!.size);
    const bias = (size: number) => {
      if (n.params.length < 2) throw new ConfigError(`${label}: ConvNetJS layers have biases; this one has none`);
      return vol(1, 1, size, w(1));
    };
    if (l instanceof Dense) {
      const F = inShape.reduce((a, b) => a * b, 1), U = l.cfg.units, k = w(0), s = scale;
      const filters = Array.from({ length: U }, (_, u) => vol(1, 1, F, Float32Array.from({ length: F }, (_, p) => k[p * U + u]! * s)));
      out.push({ ...o, layer_type: "fc", num_inputs: F, ...decayOf(l.name), filters, biases: bias(U) });
      scale = 1;
      act(l.cfg.activation);
    } else if (l instanceof Conv2d && l.type === "conv2d") {
      const g = l.geometry(inShape);
      const pad = g.padTop;
      if (g.SH !== g.SW || g.DH !== 1 || g.DW !== 1 || g.groups !== 1 || g.padLeft !== pad ||
        Math.floor((g.H + 2 * pad - g.KH) / g.SH + 1) !== g.OH || Math.floor((g.W + 2 * pad - g.KW) / g.SW + 1) !== g.OW) {
        throw new ConfigError(`${label}: ConvNetJS convs have one stride, the same padding on every side and no dilation or groups`);
      }
      const per = g.KH * g.KW * g.C, k = w(0), s = scale;
      const filters = Array.from({ length: g.OC }, (_, f) => vol(g.KW, g.KH, g.C, Float32Array.from({ length: per }, (_, p) => k[p * g.OC + f]! * s)));
      out.push({ ...o, layer_type: "conv", sx: g.KW, sy: g.KH, stride: g.SH, pad, in_depth: g.C, ...decayOf(l.name), filters, biases: bias(g.OC) });
      scale = 1;
      act(l.cfg.activation);
    } else if (l instanceof Pool && l.type === "maxPool2d") {
      const g = l.geometry(inShape);
      const pad = g.padTop;
      if (g.SH !== g.SW || g.padLeft !== pad || Math.floor((g.H + 2 * pad - g.KH) / g.SH + 1) !== g.OH || Math.floor((g.W + 2 * pad - g.KW) / g.SW + 1) !== g.OW) {
        throw new ConfigError(`${label}: ConvNetJS pools have one stride and the same padding on every side`);
      }
      out.push({ ...o, layer_type: "pool", sx: g.KW, sy: g.KH, stride: g.SH, pad, in_depth: g.C });
    } else if (l instanceof ActivationLayer && (l.type === "relu" || l.type === "sigmoid" || l.type === "tanh")) {
      out.push({ ...o, layer_type: l.type });
    } else if (l instanceof ActivationLayer && l.type === "softmax" && j === nodes.length - 1) {
      out.push({ ...o, layer_type: "softmax", num_inputs: o.out_depth });
    } else if (l instanceof Maxout) {
      out.push({ ...o, layer_type: "maxout", group_size: l.pieces });
    } else if (l instanceof Lrn) {
      // ConvNetJS's window is symmetric (n + 1 channels for an even n: convnetjsLrn); an even size's (PyTorch's) is not
      if (l.size % 2 === 0) throw new ConfigError(`${label}: an lrn of even size ${l.size} sums channels c − ${l.size / 2} … c + ${l.size / 2 - 1}; ConvNetJS's LRN window is symmetric (an odd size exports)`);
      out.push({ ...o, layer_type: "lrn", k: l.k, n: l.size, alpha: l.alpha, beta: l.beta });
    } else if (l instanceof Dropout) {
      if (l.rate === 0) return; // identity in both
      out.push({ ...o, layer_type: "dropout", drop_prob: l.rate });
      scale /= l.rate;
    } else if (l.type === "reshape" && inShape.length === 1 && n.outShape.length === 3 && n.outShape[0] === 1 && n.outShape[1] === 1 && out.at(-1)!.out_sx === 1 && out.at(-1)!.out_sy === 1) {
      // [N] as [1, 1, N] where ConvNetJS's volume is 1 × 1 × N already (after an fc layer: convnetjsVolume), not after a flatten of a map
    } else if (l.type !== "flatten") { // ConvNetJS's fc layers flatten their input in the same (y, x, depth) order
      throw new ConfigError(`${label} (${l.type}) has no ConvNetJS counterpart`);
    }
  });
  if (scale !== 1) throw new ConfigError(`${where}: a dropout after the last fc or conv leaves ConvNetJS's test-time scaling nowhere to go`);
  if (head !== "softmax") out.push({ ...dims(model.outputShape), layer_type: head, num_inputs: model.outputSize });
  return { layers: out };
}
