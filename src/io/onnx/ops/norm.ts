// BatchNormalization (inference, moving statistics) ⇄ batchNorm, LRN ⇄ lrn, LayerNormalization (and
// the ReduceMean / Sub / Pow / Sqrt / Div chain older opsets export for it, see `rewrites`) ⇄
// layerNorm; the scale layer exports as Mul + Add by per-channel constants (it imports from those,
// see merge.ts).
import { ConfigError } from "../../../errors.js";
import * as L from "../../../layers/index.js";
import type { BatchNorm, Lrn, Scale } from "../../../layers/norm.js";
import type { LayerNorm } from "../../../layers/layer-norm.js";
import { attribute, initializerOf, isExporterConstant, learnedMark, learnedOf, sourceMark, subNode, type Exporter, type ImportNode, type Importer, type Rewrite, type RewriteContext } from "../context.js";
import type { SymbolicTensor } from "../../../layers/symbolic.js";
import { foldBinary } from "../fold.js";
import { num, same, type ConstValue, type OnnxAttr, type OnnxNode } from "../model.js";

export const importers: Record<string, Importer> = {
  BatchNormalization(x) {
    if (x.int("training_mode", 0) !== 0 || x.n.output.filter(Boolean).length > 1) {
      if (x.g.lead) x.mixesBatch("training_mode=1 normalises by the batch's own statistics (its running-statistics outputs too); fovea keeps the examples of a batch apart");
      return batchNormOfWhole(x);
    }
    if (x.opset < 9 && x.int("spatial", 1) !== 1) x.fail("spatial=0 (statistics per position) is not supported");
    const t0 = x.tensor(0), t = t0.onnx.length === 3 || t0.onnx.length === 2 ? x.windowInput(t0) : x.plain(t0);
    if (t.onnx.length !== 1 && t.onnx.length !== 3) x.fail(`input [N, ${t.onnx.join(", ")}]: batch normalisation of images [N, C, H, W], sequences [N, C, L] or features [N, C] is supported`);
    const lname = x.uniq("bn");
    // ONNX's momentum is fovea's (moving = momentum·moving + (1 − momentum)·batch; PyTorch's 0.1 is written 0.9): it moves the statistics when the model is fine-tuned
    const sym = x.apply(L.batchNorm({ epsilon: x.flt("epsilon", 1e-5), momentum: x.flt("momentum", 0.9), name: lname }), t.sym);
    ["gamma", "beta", "movingMean", "movingVariance"].forEach((p, i) => x.weight(lname, p, x.constant(i + 1).data, x.source(i + 1, `batchnorm ${p}`)));
    x.windowOut({ ...t, sym });
  },
  LayerNormalization(x) {
    const t0 = x.tensor(0), k = x.axis(x.int("axis", -1), t0.onnx);
    if (k < 0) x.mixesBatch("normalising over every axis from 0 on mixes the examples of a batch; fovea keeps them apart");
    // the normalised axes (k and after) as one last axis of the data in ONNX's order
    const norm = t0.onnx.slice(k), inner = norm.reduce((p, q) => p * q, 1), held = [...t0.onnx.slice(0, k), inner];
    const p = x.plain(t0);
    const sym0 = same([...p.sym.shape], held) ? p.sym : x.apply(L.reshape({ targetShape: held, name: x.uniq("layernorm_in") }), p.sym);
    /** Scale or bias broadcast to the normalised shape (numpy's rule), in order. */
    const param = (i: number, dflt: number): ArrayLike<number> => {
      if (!x.has(i)) return new Float32Array(inner).fill(dflt);
      const c = x.constant(i), full = foldBinary(c, { kind: "const", dims: norm, data: new Float32Array(inner) }, (v) => v, true);
      if (!full || !same(full.dims, norm)) x.fail(`input ${i} of shape [${c.dims.join(", ")}] does not broadcast to the normalised shape [${norm.join(", ")}]`);
      return full!.data;
    };
    const lname = x.uniq("layernorm");
    // an InstanceNorm's normalisation (learnedMark false): γ and β held at 1 and 0, its affine after it
    const sym = x.apply(L.layerNorm({ epsilon: x.flt("epsilon", 1e-5), ...(learnedOf(x.n) === false ? { affine: false } : {}), name: lname }), sym0);
    const from = (i: number) => (x.has(i) ? x.source(i, `layernorm ${i} ${norm.join(" ")} ${learnedOf(x.n) === false ? "fixed" : "affine"}`) : undefined);
    x.weight(lname, "gamma", param(1, 1), from(1));
    x.weight(lname, "beta", param(2, 0), from(2));
    x.out({ kind: "tensor", sym, onnx: t0.onnx, ...(t0.onnx.length === 3 ? { plain: true as const } : {}) });
    if (x.n.output[1] || x.n.output[2]) layerNormStatistics(x, sym0, k, norm.length, x.flt("epsilon", 1e-5));
  },
  /**
   * InstanceNormalization (PyTorch's InstanceNorm2d, and GroupNorm, which it exports as a Reshape
   * to groups around one): each example's channels normalised over their other axes, then scaled and
   * shifted per channel — the LayerNormalization over axis 2 on that it equals (no affine), then a
   * Mul and an Add of the per-channel values, which fine-tuning trains where they are the module's.
   */
  InstanceNormalization(x) {
    const t0 = x.tensor(0), C = t0.onnx[0]!;
    if (t0.onnx.length < 2) x.fail(`needs [C, …] per example (channels and at least one axis to normalise), got [${t0.onnx.join(", ")}]`);
    const scale = x.constant(1), bias = x.constant(2);
    if (scale.data.length !== C || bias.data.length !== C) x.fail(`scale and B must hold one value per channel (${C}), got ${scale.data.length} and ${bias.data.length}`);
    const base = `${x.n.output[0]}#instance_norm`, perChannel = [1, C, ...t0.onnx.slice(1).map(() => 1)];
    const set = (name: string, dims: number[], data: ArrayLike<number>) => void x.g.values.set(`${base}_${name}`, { kind: "const", dims, data: Float32Array.from(data) });
    set("one", [1], [1]);
    set("zero", [1], [0]);
    set("scale", perChannel, scale.data);
    set("bias", perChannel, bias.data);
    x.g.importNodes([
      subNode(x, "LayerNormalization", [x.n.input[0]!, `${base}_one`, `${base}_zero`], `${base}_norm`, [attribute("axis", { i: 2 }), attribute("epsilon", { f: x.flt("epsilon", 1e-5) }), learnedMark(false)]),
      // scale and B, where they are the module's parameters (the rewrite's mark), are trained when the model is fine-tuned
      // (each marked with the tensor it is: a module run twice reads one, ImportNode.source)
      subNode(x, "Mul", [`${base}_norm`, `${base}_scale`], `${base}_scaled`, [learnedMark(learnedOf(x.n) === true), sourceMark(x.n.input[1]!)]),
      subNode(x, "Add", [`${base}_scaled`, `${base}_bias`], x.n.output[0]!, [learnedMark(learnedOf(x.n) === true), sourceMark(x.n.input[2]!)]),
    ]);
  },
  LRN(x) {
    const t = x.asImage(x.tensor(0));
    // ONNX's window of an even size reaches size/2 − 1 channels below and size/2 above: not fovea's (PyTorch's)
    const size = x.int("size", 5);
    if (size % 2 === 0 && !x.n.attribute.some((a) => a.name === TORCH_WINDOW.name)) {
      x.fail(`an even size (${size}): ONNX's LRN window reaches ${size / 2 - 1} channels below and ${size / 2} above, where fovea's (PyTorch's) reaches ${size / 2} below; not supported (onnxruntime refuses even sizes too)`);
    }
    const sym = x.apply(L.lrn({ size: x.int("size", 5), alpha: x.flt("alpha", 1e-4), beta: x.flt("beta", 0.75), k: x.flt("bias", 1), name: x.uniq("lrn") }), t.sym);
    x.out({ ...t, sym });
  },
};

/** Each row's mean of rows [R, n]: [R, 1], a 1×1 conv by 1/n. */
function rowMeans(x: ImportNode, rows: SymbolicTensor, what: string): SymbolicTensor {
  const [R, n] = rows.shape as [number, number];
  const img = x.apply(L.reshape({ targetShape: [R, 1, n], name: x.uniq(`${what}_rows`) }), rows);
  const lname = x.uniq(what);
  x.weight(lname, "kernel", new Float32Array(n).fill(1 / n));
  return x.apply(L.reshape({ targetShape: [R, 1], name: x.uniq(`${what}_col`) }), x.apply(L.conv2d({ filters: 1, kernelSize: 1, useBias: false, name: lname }), img));
}

/** rows op a constant of one value per row ([R, 1]), by a binary layer. */
function perRow(x: ImportNode, rows: SymbolicTensor, op: "add" | "mul", values: ArrayLike<number>, what: string): SymbolicTensor {
  const lname = x.uniq(what);
  x.weight(lname, "constant", Float32Array.from(values));
  return x.apply(L.binary({ op, constantShape: [values.length, 1], name: lname }), rows);
}

/**
 * BatchNormalization with training_mode=1 of an input taken whole ([N, C, …] is one example, see
 * import.ts): per channel the batch's mean μ and biased variance σ² (over N and the positions, as
 * the rows [C, N·HW]), y = (x − μ)/√(σ² + ε)·γ + β, and the running statistics' outputs
 * momentum·mean + (1 − momentum)·μ and momentum·var + (1 − momentum)·σ².
 */
function batchNormOfWhole(x: ImportNode): void {
  const t = x.plain(x.tensor(0)), d = t.onnx;
  if (d.length < 2) x.fail(`input ${x.dims(t)}: [N, C, …] expected`);
  const [N, C] = d as [number, number], inner = d.slice(2).reduce((p, q) => p * q, 1), eps = x.flt("epsilon", 1e-5), mom = x.flt("momentum", 0.9);
  const [gamma, beta, mean0, var0] = [1, 2, 3, 4].map((i) => x.constant(i).data);
  if ([gamma, beta, mean0, var0].some((v) => v!.length !== C)) x.fail(`scale, bias, mean and var must hold ${C} values each`);
  const cube = x.apply(L.reshape({ targetShape: [N, C, inner], name: x.uniq("bn_in") }), t.sym);
  const rows = x.apply(L.reshape({ targetShape: [C, N * inner], name: x.uniq("bn_rows") }), x.apply(L.permute({ perm: [1, 0, 2], name: x.uniq("bn_by_channel") }), cube));
  const mu = rowMeans(x, rows, "bn_mean");
  const dev = x.apply(L.binary({ op: "sub", name: x.uniq("bn_dev") }), rows, mu);
  const variance = rowMeans(x, x.apply(L.binary({ op: "mul", name: x.uniq("bn_sq") }), dev, dev), "bn_var");
  const sd = x.apply(L.sqrt({ name: x.uniq("bn_sd") }), perRow(x, variance, "add", new Float32Array(C).fill(eps), "bn_eps"));
  const norm = x.apply(L.binary({ op: "div", name: x.uniq("bn_norm") }), dev, sd);
  const y = perRow(x, perRow(x, norm, "mul", gamma!, "bn_gamma"), "add", beta!, "bn_beta");
  const back = x.apply(L.permute({ perm: [1, 0, 2], name: x.uniq("bn_back") }), x.apply(L.reshape({ targetShape: [C, N, inner], name: x.uniq("bn_out") }), y));
  x.out({ kind: "tensor", sym: back, onnx: d, ...(d.length === 3 ? { plain: true as const } : {}) });
  const running = (i: number, stat: SymbolicTensor, was: ArrayLike<number>, what: string) => {
    if (!x.n.output[i]) return;
    const sym = perRow(x, perRow(x, stat, "mul", new Float32Array(C).fill(1 - mom), `${what}_new`), "add", Float32Array.from(was, (v) => mom * v), `${what}_old`);
    x.g.values.set(x.n.output[i]!, { kind: "tensor", sym, onnx: [C] });
  };
  running(1, mu, mean0!, "bn_running_mean");
  running(2, variance, var0!, "bn_running_var");
}

/**
 * LayerNormalization's optional outputs, Mean and InvStdDev = 1/√(σ² + ε) over the normalised axes
 * (those axes kept as 1s), from the rows `rows` [..., inner] of the data: each row's mean as a 1×1
 * conv by 1/inner, σ² the mean of the squared deviations (binary layers), then √ and 1/·.
 */
function layerNormStatistics(x: ImportNode, rows: SymbolicTensor, k: number, normRank: number, eps: number): void {
  const s = rows.shape, inner = s[s.length - 1]!, outer = s.slice(0, -1).reduce((p, q) => p * q, 1);
  const dims = [...x.tensor(0).onnx.slice(0, k), ...Array<number>(normRank).fill(1)];
  const flat = x.apply(L.reshape({ targetShape: [outer, inner], name: x.uniq("layernorm_stat_in") }), rows);
  const mean = rowMeans(x, flat, "layernorm_mean");
  const set = (i: number, v: SymbolicTensor) => {
    if (x.n.output[i]) x.g.values.set(x.n.output[i]!, { kind: "tensor", sym: v, onnx: dims, ...(dims.length === 3 ? { plain: true as const } : {}) });
  };
  set(1, mean);
  if (!x.n.output[2]) return;
  const dev = x.apply(L.binary({ op: "sub", name: x.uniq("layernorm_dev") }), flat, mean);
  const variance = rowMeans(x, x.apply(L.binary({ op: "mul", name: x.uniq("layernorm_sq") }), dev, dev), "layernorm_var");
  const plus = x.uniq("layernorm_eps"), inv = x.uniq("layernorm_inv");
  x.weight(plus, "constant", [eps]);
  x.weight(inv, "constant", [1]);
  const sd = x.apply(L.sqrt({ name: x.uniq("layernorm_sd") }), x.apply(L.binary({ op: "add", constantShape: [1], name: plus }), variance));
  set(2, x.apply(L.binary({ op: "div", constantShape: [1], constantFirst: true, name: inv }), sd));
}


/** The node that writes `name`, when it is an `op` node (the rewrites' pattern step). */
function producerOf(c: RewriteContext, name: string | undefined, op: string): OnnxNode | null {
  const p = name ? c.producer(name) : undefined;
  return p && p.opType === op ? p : null;
}

/** The value of `name` when it is a one-value constant, else null. */
function scalarOf(c: RewriteContext, name: string | undefined): number | null {
  const v = name ? c.constant(name) : null;
  return v && v.data.length === 1 ? v.data[0]! : null;
}

/**
 * PyTorch's export of local_response_norm (opsets 11–17): x / (k + α·avg_pool3d(pad(x²))) ^ β over
 * a window of `size` channels — Mul(x, x), Unsqueeze, Reshape, Pad(s), AveragePool [size, 1, 1],
 * Squeeze (inside an If on the shape, or not), Reshape, Mul α, Add k, Pow β, Div — is ONNX's LRN
 * (bias k, α, β, size): the Div becomes one LRN node; the rest is left without readers.
 */
function lrnAt(div: OnnxNode, c: RewriteContext): OnnxNode | null {
  const by = (name: string | undefined, op: string) => producerOf(c, name, op);
  const scalar = (name: string | undefined) => scalarOf(c, name);
  /** The node's input that is not a scalar constant, and the constant. */
  const split = (n: OnnxNode | null) => {
    if (!n) return null;
    const [a, b] = n.input as [string, string];
    const sb = scalar(b), sa = scalar(a);
    return sb !== null ? { other: a, v: sb } : sa !== null ? { other: b, v: sa } : null;
  };
  const x = div.input[0]!, pow = by(div.input[1], "Pow"), beta = pow ? scalar(pow.input[1]) : null;
  const add = split(by(pow?.input[0], "Add")), mul = split(by(add?.other, "Mul"));
  if (beta === null || !add || !mul) return null;
  // PyTorch reshapes the Squeeze's result; fovea's own export of an even size does not
  const reshape = by(mul.other, "Reshape");
  const sq = reshape ? c.producer(reshape.input[0]!) : c.producer(mul.other);
  let avgName: string | undefined;
  if (sq?.opType === "Squeeze") avgName = sq.input[0];
  else if (sq?.opType === "If") {
    const then = sq.attribute.find((a) => a.name === "then_branch")?.g;
    avgName = then?.node.find((n) => n.opType === "Squeeze")?.input[0];
  }
  const avg = by(avgName, "AveragePool");
  const k = avg?.attribute.find((a) => a.name === "kernel_shape")?.ints.map(num);
  if (!avg || !k || k.length !== 3 || k[1] !== 1 || k[2] !== 1) return null;
  let p = c.producer(avg.input[0]!);
  // at most a few Pads (a malformed graph may loop a Pad onto itself); where their pads are constants
  // (fovea's export: PyTorch's come from the shape), the channels' padding must be PyTorch's window
  let below = 0, above = 0, known = true;
  for (let hops = 0; p?.opType === "Pad" && hops < 8; hops++) {
    const pads = p.input[1] ? c.constant(p.input[1]) : null;
    if (pads && pads.data.length === 10) [below, above] = [below + Number(pads.data[2]), above + Number(pads.data[7])];
    else known = false;
    p = c.producer(p.input[0]!);
  }
  if (known && (below !== Math.floor(k[0]! / 2) || above !== Math.floor((k[0]! - 1) / 2))) return null;
  const unsqueeze = p?.opType === "Reshape" ? by(p.input[0], "Unsqueeze") : p?.opType === "Unsqueeze" ? p : null;
  const square = by(unsqueeze?.input[0], "Mul");
  if (!square || square.input[0] !== x || square.input[1] !== x) return null;
  return {
    ...div, opType: "LRN", input: [x],
    attribute: [attribute("size", { i: k[0]! }), attribute("alpha", { f: mul.v }), attribute("beta", { f: beta }), attribute("bias", { f: add.v }), TORCH_WINDOW],
  };
}

/**
 * Marks an LRN node made from PyTorch's decomposition (lrnAt): its window of an even size reaches
 * size/2 channels below and size/2 − 1 above, as fovea's lrn layer's does, where ONNX's own LRN
 * leans the other way. (The attributes are checked against the schema before the rewrites: no file
 * can carry it.)
 */
const TORCH_WINDOW: OnnxAttr = { ...attribute("size", { i: 0 }), name: "fovea:pytorch_window" };

/**
 * PyTorch's export of layer_norm before opset 17: μ = ReduceMean(x, [-1]), d = Sub(x, μ),
 * Div(d, Sqrt(Add(ReduceMean(Pow(d, 2), [-1]), ε))), then (nn.LayerNorm's affine) Mul by the scale
 * and Add of the bias — one LayerNormalization node on x (axis −1, epsilon ε, with the scale and
 * bias when the Mul and Add read only the Div's result); the rest is left without readers.
 * Returns the node it replaces (the Div, or the Mul / Add of the affine) and the new node.
 */
function layerNormAt(div: OnnxNode, c: RewriteContext): [OnnxNode, OnnxNode] | null {
  const by = (name: string | undefined, op: string) => producerOf(c, name, op);
  const scalar = (name: string | undefined) => scalarOf(c, name);
  const lastAxisMean = (n: OnnxNode | null) => {
    const a = n?.attribute.find((t) => t.name === "axes"), k = n?.attribute.find((t) => t.name === "keepdims");
    return !!n && n.input.length === 1 && !!a && same(a.ints.map(num), [-1]) && (!k || num(k.i) === 1);
  };
  const d = div.input[0]!, sqrt = by(div.input[1], "Sqrt"), add = by(sqrt?.input[0], "Add");
  if (!add) return null;
  const [e0, e1] = add.input as [string, string];
  const eps = scalar(e1) ?? scalar(e0), varMean = by(scalar(e1) !== null ? e0 : e1, "ReduceMean");
  const pow = lastAxisMean(varMean) ? by(varMean!.input[0], "Pow") : null;
  const sub = by(d, "Sub");
  if (eps === null || !pow || pow.input[0] !== d || scalar(pow.input[1]) !== 2 || !sub) return null;
  const [xName, m] = sub.input as [string, string];
  const mean = by(m, "ReduceMean");
  if (!lastAxisMean(mean) || mean!.input[0] !== xName) return null;
  const node = (at: OnnxNode, inputs: string[]): [OnnxNode, OnnxNode] => [at, { ...at, opType: "LayerNormalization", input: [xName, ...inputs], attribute: [attribute("axis", { i: -1 }), attribute("epsilon", { f: eps })] }];
  // the affine, when it reads the normalised values alone: Mul by a constant, then Add of a constant
  const only = (name: string, op: string) => (c.readers(name) === 1 ? c.consumers(name).find((n) => n.opType === op && n.input.length === 2) ?? null : null);
  const constantOther = (n: OnnxNode, name: string): [string, ConstValue] | null => {
    const o = n.input[0] === name ? n.input[1]! : n.input[0]!, v = c.constant(o);
    return v && v.dims.length === 1 ? [o, v] : null;
  };
  const mul = only(div.output[0]!, "Mul"), w = mul && constantOther(mul, div.output[0]!);
  if (!mul || !w) return node(div, []);
  const bias = only(mul.output[0]!, "Add"), b = bias && constantOther(bias, mul.output[0]!);
  if (!bias || !b || b[1].data.length !== w[1].data.length) return node(mul, [w[0]]);
  return node(bias, [w[0], b[0]]);
}

/**
 * Which constants of the norms are learned (learnedMark), so that fine-tuning trains what PyTorch
 * trains: an InstanceNormalization's or LayerNormalization's scale and B unless the exporter made
 * them (PyTorch's ones and zeros as Constant nodes where the module has no affine: then neither is
 * trained); GroupNorm's per-channel Mul and Add after the Reshape back from its groups (its own
 * InstanceNormalization's scale and B being the exporter's ones and zeros over the groups).
 */
function learnedNorms(nodes: OnnxNode[], c: RewriteContext): OnnxNode[] {
  const mark = (n: OnnxNode, learned: boolean): OnnxNode => ({ ...n, attribute: [...n.attribute, learnedMark(learned)] });
  const learnt = (name: string | undefined) => !!name && !isExporterConstant(c, name);
  // GroupNorm: Reshape(InstanceNormalization(…, ones, zeros)) → Mul(·, weight) → Add(·, bias), each read once
  const once = (name: string | undefined): name is string => !!name && c.readers(name) === 1;
  const groupsEnd = (name: string | undefined) => {
    const r = producerOf(c, name, "Reshape"), inorm = r ? producerOf(c, r.input[0], "InstanceNormalization") : null;
    return once(name) && !!inorm && !learnt(inorm.input[1]);
  };
  const byLearnt = (n: OnnxNode, data: (name: string | undefined) => boolean) => n.input.length === 2 && ([[0, 1], [1, 0]] as const).some(([i, j]) => data(n.input[i]) && learnt(n.input[j]) && (c.constant(n.input[j]!) !== null || initializerOf(c, n.input[j]) !== null));
  const gnMul = (n: OnnxNode | undefined) => n?.opType === "Mul" && byLearnt(n, groupsEnd);
  return nodes.map((n) => {
    if (n.opType === "InstanceNormalization" || n.opType === "LayerNormalization") return mark(n, learnt(n.input[1]) && (n.input[2] === undefined || n.input[2] === "" || learnt(n.input[2])));
    if (gnMul(n)) return mark(n, true);
    if (n.opType === "Add" && byLearnt(n, (name) => once(name) && gnMul(c.producer(name)))) return mark(n, true);
    return n;
  });
}

export const rewrites: Rewrite[] = [
  (nodes, c) => nodes.map((n) => (n.opType === "Div" ? lrnAt(n, c) ?? n : n)),
  (nodes, c) => {
    const at = new Map(nodes.filter((n) => n.opType === "Div").map((n) => layerNormAt(n, c)).filter((r) => r !== null));
    return nodes.map((n) => at.get(n) ?? n);
  },
  learnedNorms, // (after the LayerNorm chain is one node)
];

export const exporters: Record<string, Exporter> = {
  batchNorm(x) {
    const C = x.node.outShape[x.node.outShape.length - 1]!;
    const p = (name: string) => x.init([C], x.w(name));
    return { out: x.op("BatchNormalization", [x.inputs[0]!, p("gamma"), p("beta"), p("movingMean"), p("movingVariance")], { epsilon: { f: (x.layer as BatchNorm).epsilon }, momentum: { f: (x.layer as BatchNorm).momentum } }) };
  },
  scale(x) {
    const C = x.node.outShape[x.node.outShape.length - 1]!, l = x.layer as Scale;
    const d = x.node.outShape.length === 3 ? [1, C, 1, 1] : [1, C];
    // trained parameters under PyTorch's names for them, so that an import trains them again (learnedArithmetic)
    const named = (p: "scale" | "shift") => (l.trainable.includes(p) ? `${l.name}.${p === "scale" ? "weight" : "bias"}` : undefined);
    return { out: x.op("Add", [x.op("Mul", [x.inputs[0]!, x.init(d, x.w("scale"), "f32", named("scale"))]), x.init(d, x.w("shift"), "f32", named("shift"))]) };
  },
  layerNorm(x) {
    // over the channels of an image (ONNX axis 1 of NCHW) or the last axis: (x − μ)/√(σ² + ε)·γ + β
    // as opset 13 writes it (LayerNormalization is opset 17's, and over an axis and all after it)
    const s = x.node.outShape, C = s[s.length - 1]!, axes = [s.length === 3 ? 1 : -1];
    const d = s.length === 3 ? [1, C, 1, 1] : [C];
    const xin = x.inputs[0]!;
    const dev = x.op("Sub", [xin, x.op("ReduceMean", [xin], { axes })]);
    const variance = x.op("ReduceMean", [x.op("Mul", [dev, dev])], { axes });
    const l = x.layer as LayerNorm;
    const norm = x.op("Div", [dev, x.op("Sqrt", [x.op("Add", [variance, x.init([], [l.epsilon])])])]);
    // γ and β (trained: under PyTorch's names, so an import trains them again); without an affine, none
    if (!l.affine) return { out: norm };
    return { out: x.op("Add", [x.op("Mul", [norm, x.init(d, x.w("gamma"), "f32", `${l.name}.weight`)]), x.init(d, x.w("beta"), "f32", `${l.name}.bias`)]) };
  },
  lrn(x) {
    const l = x.layer as Lrn, xin = x.inputs[0]!;
    if (l.size % 2) return { out: x.op("LRN", [xin], { size: l.size, alpha: { f: l.alpha }, beta: { f: l.beta }, bias: { f: l.k } }) };
    // an even window is not centred: fovea's (PyTorch's) reaches size/2 channels below and size/2 − 1
    // above, ONNX's LRN the other way round (and onnxruntime takes odd sizes only). So, as
    // torch.onnx.export writes nn.LocalResponseNorm: x / (k + α·mean of x² over the window)^β, the mean
    // an AveragePool over the channels of [N, 1, C, H, W] padded with size/2 zeros below, size/2 − 1 above
    const axis1 = x.init([1], [1], "i64"), half = l.size / 2;
    const sq = x.op("Unsqueeze", [x.op("Mul", [xin, xin]), axis1]);
    const padded = x.op("Pad", [sq, x.init([10], [0, 0, half, 0, 0, 0, 0, half - 1, 0, 0], "i64")]);
    const mean = x.op("Squeeze", [x.op("AveragePool", [padded], { kernel_shape: [l.size, 1, 1] }), axis1]);
    const scale = x.op("Pow", [x.op("Add", [x.op("Mul", [mean, x.init([], [l.alpha])]), x.init([], [l.k])]), x.init([], [l.beta])]);
    return { out: x.op("Div", [xin, scale]) };
  },
};
