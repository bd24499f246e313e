// The same model, same weights, on TensorFlow.js ops — the tfjs-wasm column of `fovea bench` and
// `npm run bench -- models`. Benchmark code: it lives here, not in the package (a fovea checkout
// has it; `fovea bench` from the published package runs without this column). Built as the
// tfjs-converter would leave a graph model: batch norms folded into the conv/dense before them,
// bias and ReLU/ReLU6 fused into tf.fused ops, NHWC throughout (fovea's own layout, so inputs and
// outputs compare element for element). Uses only fovea's public API.
import * as fovea from "../../dist/index.js";

const { floorRulePads, batchNormScaleShift } = fovea.ops;

/** BN folded on the host: { scale, shift } per channel. */
function bnAffine(w, layerName, eps) {
  const q = (p) => w.get(`${layerName}/${p}`);
  const C = q("gamma").length;
  const scale = new Float32Array(C), shift = new Float32Array(C);
  batchNormScaleShift(q("gamma"), q("beta"), q("movingMean"), q("movingVariance"), eps, scale, shift);
  return { scale, shift };
}

/**
 * A function running `model` in tfjs (`tf`: the tfjs namespace, e.g. with the wasm backend set):
 * NHWC (or flat) Float32Array batch in, the output out.
 * @returns {{ run(x: Float32Array, batch: number): Float32Array, dispose(): void }}
 */
export function tfjsPeer(model, tf) {
  const ns = model.nodes;
  const weights = new Map(model.getWeights().map((w) => [`${w.layer}/${w.name}`, w.values]));
  const consumers = ns.map(() => 0);
  ns.forEach((n) => n.inputs.forEach((i) => { if (i >= 0) consumers[i]++; }));
  const held = [];
  const keep = (t) => (held.push(t), t);
  // per node: how to compute it from its inputs (or null when it was fused into the node before)
  const steps = [];
  const into = ns.map((_, j) => j); // the node whose value stands for node j (a fused chain's first node)
  const fused = ns.map(() => false); // a batch norm or activation computed inside the conv/dense before it
  ns.forEach((n, j) => {
    const l = n.layer, type = l.type;
    const label = `tfjs peer: layer ${l.label}`;
    const w = (p) => weights.get(`${l.name}/${p}`);
    if (fused[j]) return;
    if (type === "conv2d" || type === "depthwiseConv2d" || type === "dense") {
      // fold a batch norm that is this layer's only consumer, then fuse a following relu/relu6
      let bn = null;
      let act = l.act === 1 ? "relu" : l.act === 2 ? "relu6" : "linear";
      let last = j;
      const only = (k) => (consumers[k] === 1 && ns.findIndex((m) => m.inputs.includes(k)) > k ? ns.findIndex((m) => m.inputs.includes(k)) : -1);
      const b = only(j);
      if (act === "linear" && b >= 0 && ns[b].layer.type === "batchNorm") {
        bn = bnAffine(weights, ns[b].layer.name, ns[b].layer.epsilon);
        fused[b] = true;
        into[b] = j;
        last = b;
      }
      const a = act === "linear" ? only(last) : -1;
      if (a >= 0 && ["relu", "relu6"].includes(ns[a].layer.type)) {
        act = ns[a].layer.type;
        fused[a] = true;
        into[a] = j;
        last = a;
      }
      const kernel = Float32Array.from(w("kernel"));
      const shape = n.params[0].spec.shape;
      const O = shape[shape.length - 1];
      const bias = new Float32Array(O);
      if (n.params[1]) bias.set(w("bias"));
      if (bn) {
        for (let i = 0; i < kernel.length; i++) kernel[i] = kernel[i] * bn.scale[i % O];
        for (let o = 0; o < O; o++) bias[o] = bias[o] * bn.scale[o] + bn.shift[o];
      }
      if (type === "dense") {
        const k = keep(tf.tensor2d(kernel, shape)), bb = keep(tf.tensor1d(bias));
        steps[j] = ([x]) => tf.fused.matMul({ a: x, b: k, bias: bb, activation: act });
        return;
      }
      const [KH, KW, Cg, OC] = shape;
      const g = l.geometry(n.inShapes[0]);
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
        steps[j] = ([x]) => tf.concat(tf.split(x, groups, 3).map((xg, gi) => tf.fused.conv2d({ x: xg, filter: fs[gi][0], bias: fs[gi][1], ...common })), 3);
      }
      return;
    }
    if (type === "maxPool2d" || type === "avgPool2d") {
      const g = l.geometry(n.inShapes[0]);
      const { H, W } = g;
      const [pt, pb, pl, pr] = floorRulePads(g);
      const padded = pt + pb + pl + pr > 0;
      const max = type === "maxPool2d";
      const pool = (x) => (max ? tf.maxPool : tf.avgPool)(x, [g.KH, g.KW], [g.SH, g.SW], "valid");
      // padding the window can reach: -∞ for max (never chosen), 0 for an average
      const padTo = (x) => (padded ? tf.pad(x, [[0, 0], [pt, pb], [pl, pr], [0, 0]], max ? -Infinity : 0) : x);
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
    const simple = {
      globalAvgPool2d: () => ([x]) => tf.mean(x, [1, 2]),
      globalMaxPool2d: () => ([x]) => tf.max(x, [1, 2]),
      reshape: () => ([x]) => tf.reshape(x, [-1, ...n.outShape]),
      flatten: () => ([x]) => tf.reshape(x, [-1, ...n.outShape]),
      dropout: () => ([x]) => tf.reshape(x, [-1, ...n.outShape]),
      permute: () => { const p = l.perm; return ([x]) => tf.transpose(x, [0, p[0] + 1, p[1] + 1, p[2] + 1]); },
      relu: () => ([x]) => tf.relu(x),
      relu6: () => ([x]) => tf.relu6(x),
      leakyRelu: () => ([x]) => tf.leakyRelu(x, l.alpha),
      elu: () => ([x]) => (l.alpha === 1 ? tf.elu(x) : tf.where(tf.greater(x, 0), x, tf.mul(l.alpha, tf.sub(tf.exp(x), 1)))),
      sigmoid: () => ([x]) => tf.sigmoid(x),
      tanh: () => ([x]) => tf.tanh(x),
      softmax: () => ([x]) => tf.softmax(x),
      logSoftmax: () => ([x]) => tf.logSoftmax(x),
      batchNorm: () => { const { scale, shift } = bnAffine(weights, l.name, l.epsilon); const a = keep(tf.tensor1d(scale)), b = keep(tf.tensor1d(shift)); return ([x]) => tf.add(tf.mul(x, a), b); },
      scale: () => { const a = keep(tf.tensor1d(w("scale"))), b = keep(tf.tensor1d(w("shift"))); return ([x]) => tf.add(tf.mul(x, a), b); },
      lrn: () => {
        if (l.size % 2 === 0) throw new fovea.ConfigError(`${label}: an even LRN window (size ${l.size}) has no tfjs equivalent`);
        return ([x]) => tf.localResponseNormalization(x, (l.size - 1) / 2, l.k, l.alpha / l.size, l.beta);
      },
      add: () => (xs) => tf.addN(xs),
      concat: () => (xs) => tf.concat(xs, -1),
      maxout: () => { const s = n.outShape, k = l.pieces; return ([x]) => tf.reshape(tf.max(tf.reshape(x, [-1, ...s, k]), -1), [-1, ...s]); },
    };
    if (!Object.hasOwn(simple, type)) throw new fovea.ConfigError(`${label}: no tfjs equivalent`);
    steps[j] = simple[type]();
  });
  const inShape = [...model.inputShape];
  const run = (x, batch) => {
    const y = tf.tidy(() => {
      const vals = [];
      const input = tf.tensor(x, [batch, ...inShape]);
      ns.forEach((n, j) => {
        const s = steps[j];
        if (!s) return;
        vals[j] = s(n.inputs.map((i) => (i < 0 ? input : vals[into[i]])));
      });
      return vals[into[ns.length - 1]];
    });
    const out = y.dataSync().slice();
    y.dispose();
    return out;
  };
  return { run, dispose: () => held.forEach((t) => t.dispose()) };
}
