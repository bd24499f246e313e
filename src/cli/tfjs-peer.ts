// The same model, same weights, on TensorFlow.js ops — the tfjs-wasm column of `fovea bench` and
// `npm run bench -- models`. Built as the tfjs-converter would leave a graph model: batch norms
// folded into the conv/dense before them, bias and ReLU/ReLU6 fused into tf.fused ops, NHWC
// throughout (fovea's own layout, so inputs and outputs compare element for element).

import { ConfigError } from "../errors.js";
import { ActivationLayer, Maxout } from "../layers/activation.js";
import { Conv2d } from "../layers/conv.js";
import { Dense } from "../layers/dense.js";
import { Dropout } from "../layers/dropout.js";
import { Add, Concat } from "../layers/merge.js";
import { BatchNorm, Lrn, Scale } from "../layers/norm.js";
import { GlobalPool2d, Pool2d } from "../layers/pool.js";
import { Permute, Reshape } from "../layers/reshape.js";
import type { Model } from "../model/model.js";
import { floorRulePads } from "../ops/window.js";

/** The parts of the tfjs namespace used here (tfjs is a devDependency; fovea does not import it). */
/* eslint-disable @typescript-eslint/no-explicit-any */
export type Tf = Record<string, any>;
type T = any;

/** A function running `model` in tfjs: NHWC (or flat) Float32Array batch in, the output out. */
export function tfjsPeer(model: Model, tf: Tf): { run(x: Float32Array, batch: number): Float32Array; dispose(): void } {
  const ns = model.nodes;
  const weights = new Map(model.getWeights().map((w) => [`${w.layer}/${w.name}`, w.values]));
  const consumers = ns.map(() => 0);
  ns.forEach((n) => n.inputs.forEach((i) => { if (i >= 0) consumers[i]!++; }));
  const held: T[] = [];
  const keep = (t: T) => (held.push(t), t);
  // per node: how to compute it from its inputs (or null when it was fused into the node before)
  const steps: (((xs: T[]) => T) | null)[] = [];
  const into = ns.map((_, j) => j); // the node whose value stands for node j (a fused chain's first node)
  const fused = ns.map(() => false); // a batch norm or activation computed inside the conv/dense before it
  ns.forEach((n, j) => {
    const l = n.layer;
    const label = `tfjs peer: layer ${l.label}`;
    const w = (p: string) => weights.get(`${l.name}/${p}`)!;
    if (fused[j]) return;
    if (l instanceof Conv2d || l instanceof Dense) {
      // fold a batch norm that is this layer's only consumer, then fuse a following relu/relu6
      let scale: Float32Array | null = null, shift: Float32Array | null = null;
      let act = l.act === 1 ? "relu" : l.act === 2 ? "relu6" : "linear";
      let last = j;
      const only = (k: number) => consumers[k] === 1 && ns.findIndex((m) => m.inputs.includes(k)) > k ? ns.findIndex((m) => m.inputs.includes(k)) : -1;
      const b = only(j);
      if (act === "linear" && b >= 0 && ns[b]!.layer instanceof BatchNorm) {
        const bn = ns[b]!.layer as BatchNorm, q = (p: string) => weights.get(`${bn.name}/${p}`)!;
        const g = q("gamma"), be = q("beta"), mu = q("movingMean"), v = q("movingVariance");
        scale = g.map((gi, c) => gi / Math.sqrt(v[c]! + bn.epsilon));
        shift = be.map((bi, c) => bi - mu[c]! * scale![c]!);
        fused[b] = true;
        into[b] = j;
        last = b;
      }
      const a = act === "linear" ? only(last) : -1;
      if (a >= 0 && ns[a]!.layer instanceof ActivationLayer && ["relu", "relu6"].includes((ns[a]!.layer as ActivationLayer).type)) {
        act = (ns[a]!.layer as ActivationLayer).type;
        fused[a] = true;
        into[a] = j;
        last = a;
      }
      const kernel = Float32Array.from(w("kernel"));
      const shape = n.params[0]!.spec.shape as number[];
      const O = shape[shape.length - 1]!;
      const bias = new Float32Array(O);
      if (n.params[1]) bias.set(w("bias"));
      if (scale) {
        for (let i = 0; i < kernel.length; i++) kernel[i] = kernel[i]! * scale[i % O]!;
        for (let o = 0; o < O; o++) bias[o] = bias[o]! * scale[o]! + shift![o]!;
      }
      if (l instanceof Dense) {
        const k = keep(tf.tensor2d(kernel, shape)), bb = keep(tf.tensor1d(bias));
        steps[j] = ([x]) => tf.fused.matMul({ a: x, b: k, bias: bb, activation: act });
        return;
      }
      const [KH, KW, Cg, OC] = shape as [number, number, number, number];
      const g = l.geometry(n.inShapes[0]!);
      const { C, groups, depthwise } = g;
      const [pt, pb, pl, pr] = floorRulePads(g);
      const pad = [[0, 0], [pt, pb], [pl, pr], [0, 0]];
      const common = { strides: [g.SH, g.SW], pad, dilations: [g.DH, g.DW], dataFormat: "NHWC", activation: act };
      if (depthwise) {
        // fovea: [KH, KW, 1, C·m] with output c·m + j; tfjs: [KH, KW, C, m] — the same order
        const f = keep(tf.tensor4d(kernel, [KH, KW, C, OC / C])), bb = keep(tf.tensor1d(bias));
        steps[j] = ([x]) => tf.fused.depthwiseConv2d({ x, filter: f, bias: bb, ...common });
      } else if (groups === 1) {
        const f = keep(tf.tensor4d(kernel, shape)), bb = keep(tf.tensor1d(bias));
        steps[j] = ([x]) => tf.fused.conv2d({ x, filter: f, bias: bb, ...common });
      } else {
        // tfjs has no grouped conv: one conv per group on its channel slice, concatenated
        const Og = OC / groups;
        const fs = Array.from({ length: groups }, (_, gi) => {
          const part = new Float32Array(KH * KW * Cg * Og);
          for (let r = 0; r < KH * KW * Cg; r++) part.set(kernel.subarray(r * OC + gi * Og, r * OC + (gi + 1) * Og), r * Og);
          return [keep(tf.tensor4d(part, [KH, KW, Cg, Og])), keep(tf.tensor1d(bias.slice(gi * Og, (gi + 1) * Og)))];
        });
        steps[j] = ([x]) => tf.concat(tf.split(x, groups, 3).map((xg: T, gi: number) => tf.fused.conv2d({ x: xg, filter: fs[gi]![0], bias: fs[gi]![1], ...common })), 3);
      }
      return;
    }
    if (l instanceof Pool2d) {
      const g = l.geometry(n.inShapes[0]!);
      const { H, W } = g;
      const [pt, pb, pl, pr] = floorRulePads(g);
      const padded = pt + pb + pl + pr > 0;
      const max = l.type === "maxPool2d";
      const pool = (x: T) => (max ? tf.maxPool : tf.avgPool)(x, [g.KH, g.KW], [g.SH, g.SW], "valid");
      // padding the window can reach: -∞ for max (never chosen), 0 for an average
      const padTo = (x: T) => (padded ? tf.pad(x, [[0, 0], [pt, pb], [pl, pr], [0, 0]], max ? -Infinity : 0) : x);
      // an average over KH·KW that should have been over fewer pixels (the window clipped to the input,
      // or with count_include_pad to the padded input) is rescaled by a constant per-position map
      const rescale = new Float32Array(g.OH * g.OW);
      let uneven = false;
      for (let oh = 0; oh < g.OH; oh++) for (let ow = 0; ow < g.OW; ow++) {
        const s0 = oh * g.SH - g.padTop, t0 = ow * g.SW - g.padLeft;
        const rows = g.countIncludePad ? Math.min(s0 + g.KH, H + g.padBottom) - s0 : Math.min(s0 + g.KH, H) - Math.max(s0, 0);
        const cols = g.countIncludePad ? Math.min(t0 + g.KW, W + g.padRight) - t0 : Math.min(t0 + g.KW, W) - Math.max(t0, 0);
        rescale[oh * g.OW + ow] = (g.KH * g.KW) / (rows * cols);
        if (rows * cols !== g.KH * g.KW) uneven = true;
      }
      if (max || !uneven) steps[j] = ([x]) => pool(padTo(x));
      else {
        const r = keep(tf.tensor4d(rescale, [1, g.OH, g.OW, 1]));
        steps[j] = ([x]) => tf.mul(pool(padTo(x)), r);
      }
      return;
    }
    if (l instanceof GlobalPool2d) {
      steps[j] = l.type === "globalAvgPool2d" ? ([x]) => tf.mean(x, [1, 2]) : ([x]) => tf.max(x, [1, 2]);
      return;
    }
    if (l instanceof Reshape || l instanceof Dropout) {
      const s = n.outShape;
      steps[j] = ([x]) => tf.reshape(x, [-1, ...s]);
      return;
    }
    if (l instanceof Permute) {
      const p = l.perm;
      steps[j] = ([x]) => tf.transpose(x, [0, p[0] + 1, p[1] + 1, p[2] + 1]);
      return;
    }
    if (l instanceof ActivationLayer) {
      const t = l.type, al = l.alpha;
      const f: Record<string, (x: T) => T> = {
        relu: (x) => tf.relu(x), relu6: (x) => tf.relu6(x), leakyRelu: (x) => tf.leakyRelu(x, al), elu: (x) => (al === 1 ? tf.elu(x) : tf.where(tf.greater(x, 0), x, tf.mul(al, tf.sub(tf.exp(x), 1)))),
        sigmoid: (x) => tf.sigmoid(x), tanh: (x) => tf.tanh(x), softmax: (x) => tf.softmax(x), logSoftmax: (x) => tf.logSoftmax(x),
      };
      steps[j] = ([x]) => f[t]!(x);
      return;
    }
    if (l instanceof BatchNorm || l instanceof Scale) {
      let sc: Float32Array, sh: Float32Array;
      if (l instanceof Scale) [sc, sh] = [w("scale"), w("shift")];
      else {
        const g = w("gamma"), v = w("movingVariance"), mu = w("movingMean"), be = w("beta");
        sc = g.map((gi, c) => gi / Math.sqrt(v[c]! + l.epsilon));
        sh = be.map((bi, c) => bi - mu[c]! * sc[c]!);
      }
      const a = keep(tf.tensor1d(sc)), b = keep(tf.tensor1d(sh));
      steps[j] = ([x]) => tf.add(tf.mul(x, a), b);
      return;
    }
    if (l instanceof Lrn) {
      if (l.size % 2 === 0) throw new ConfigError(`${label}: an even LRN window (size ${l.size}) has no tfjs equivalent`);
      steps[j] = ([x]) => tf.localResponseNormalization(x, (l.size - 1) / 2, l.k, l.alpha / l.size, l.beta);
      return;
    }
    if (l instanceof Add) {
      steps[j] = (xs) => tf.addN(xs);
      return;
    }
    if (l instanceof Concat) {
      steps[j] = (xs) => tf.concat(xs, -1);
      return;
    }
    if (l instanceof Maxout) {
      const s = n.outShape, k = l.pieces;
      steps[j] = ([x]) => tf.reshape(tf.max(tf.reshape(x, [-1, ...s, k]), -1), [-1, ...s]);
      return;
    }
    throw new ConfigError(`${label}: no tfjs equivalent`);
  });
  const inShape = [...model.inputShape];
  const run = (x: Float32Array, batch: number): Float32Array => {
    const y = tf.tidy(() => {
      const vals: T[] = [];
      const input = tf.tensor(x, [batch, ...inShape]);
      ns.forEach((n, j) => {
        const s = steps[j];
        if (!s) return;
        vals[j] = s(n.inputs.map((i) => (i < 0 ? input : vals[into[i]!])));
      });
      return vals[into[ns.length - 1]!];
    });
    const out = (y.dataSync() as Float32Array).slice();
    y.dispose();
    return out;
  };
  return { run, dispose: () => held.forEach((t) => t.dispose()) };
}
