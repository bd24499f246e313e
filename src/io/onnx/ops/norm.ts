// BatchNormalization (inference, moving statistics) ⇄ batchNorm, LRN ⇄ lrn; the scale layer
// exports as Mul + Add by per-channel constants (it imports from those, see merge.ts).
import * as L from "../../../layers/index.js";
import type { BatchNorm, Lrn } from "../../../layers/norm.js";
import type { Exporter, Importer, Rewrite, RewriteContext } from "../context.js";
import { num, type OnnxAttr, type OnnxNode } from "../model.js";

export const importers: Record<string, Importer> = {
  BatchNormalization(x) {
    if (x.int("training_mode", 0) !== 0 || x.n.output.filter(Boolean).length > 1) {
      x.fail("training_mode=1 (normalising by the batch's own statistics, and its running-statistics outputs) is not supported: fovea imports inference graphs");
    }
    if (x.opset < 9 && x.int("spatial", 1) !== 1) x.fail("spatial=0 (statistics per position) is not supported");
    const t0 = x.tensor(0), t = t0.onnx.length === 3 || t0.onnx.length === 2 ? x.windowInput(t0) : x.plain(t0);
    if (t.onnx.length !== 1 && t.onnx.length !== 3) x.fail(`input [N, ${t.onnx.join(", ")}]: batch normalisation of images [N, C, H, W], sequences [N, C, L] or features [N, C] is supported`);
    x.noPad(t);
    const lname = x.uniq("bn");
    const sym = x.apply(L.batchNorm({ epsilon: x.flt("epsilon", 1e-5), name: lname }), t.sym);
    ["gamma", "beta", "movingMean", "movingVariance"].forEach((p, i) => x.weight(lname, p, x.constant(i + 1).data));
    x.windowOut({ ...t, sym });
  },
  LRN(x) {
    const t = x.asImage(x.tensor(0));
    x.noPad(t);
    const sym = x.apply(L.lrn({ size: x.int("size", 5), alpha: x.flt("alpha", 1e-4), beta: x.flt("beta", 0.75), k: x.flt("bias", 1), name: x.uniq("lrn") }), t.sym);
    x.out({ ...t, sym });
  },
};

/** A float or int attribute as a decoded AttributeProto holds it. */
function attribute(name: string, v: { f: number } | { i: number }): OnnxAttr {
  return {
    name, f: "f" in v ? v.f : 0, i: "i" in v ? v.i : 0, s: new Uint8Array(0), floats: [], ints: [], strings: [], tensors: [], graphs: [],
    docString: "", type: "f" in v ? 1 : 2, refAttrName: "",
  };
}

/**
 * PyTorch's export of local_response_norm (opsets 11–17): x / (k + α·avg_pool3d(pad(x²))) ^ β over
 * a window of `size` channels — Mul(x, x), Unsqueeze, Reshape, Pad(s), AveragePool [size, 1, 1],
 * Squeeze (inside an If on the shape, or not), Reshape, Mul α, Add k, Pow β, Div — is ONNX's LRN
 * (bias k, α, β, size): the Div becomes one LRN node; the rest is left without readers.
 */
function lrnAt(div: OnnxNode, c: RewriteContext): OnnxNode | null {
  const by = (name: string | undefined, op: string) => {
    const p = name ? c.producer(name) : undefined;
    return p && p.opType === op ? p : null;
  };
  const scalar = (name: string | undefined) => {
    const v = name ? c.constant(name) : null;
    return v && v.data.length === 1 ? v.data[0]! : null;
  };
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
  const reshape = by(mul.other, "Reshape");
  const sq = reshape && c.producer(reshape.input[0]!);
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
  // at most a few Pads (a malformed graph may loop a Pad onto itself)
  for (let hops = 0; p?.opType === "Pad" && hops < 8; hops++) p = c.producer(p.input[0]!);
  const square = p?.opType === "Reshape" ? by(by(p.input[0], "Unsqueeze")?.input[0], "Mul") : null;
  if (!square || square.input[0] !== x || square.input[1] !== x) return null;
  return {
    ...div, opType: "LRN", input: [x],
    attribute: [attribute("size", { i: k[0]! }), attribute("alpha", { f: mul.v }), attribute("beta", { f: beta }), attribute("bias", { f: add.v })],
  };
}

export const rewrites: Rewrite[] = [(nodes, c) => nodes.map((n) => (n.opType === "Div" ? lrnAt(n, c) ?? n : n))];

export const exporters: Record<string, Exporter> = {
  batchNorm(x) {
    const C = x.node.outShape[x.node.outShape.length - 1]!;
    const p = (name: string) => x.init([C], x.w(name));
    return { out: x.op("BatchNormalization", [x.inputs[0]!, p("gamma"), p("beta"), p("movingMean"), p("movingVariance")], { epsilon: { f: (x.layer as BatchNorm).epsilon } }), flatOf: x.inputFlatOf[0] };
  },
  scale(x) {
    const C = x.node.outShape[x.node.outShape.length - 1]!;
    const d = x.node.outShape.length === 3 ? [1, C, 1, 1] : [1, C];
    return { out: x.op("Add", [x.op("Mul", [x.inputs[0]!, x.init(d, x.w("scale"))]), x.init(d, x.w("shift"))]), flatOf: x.inputFlatOf[0] };
  },
  lrn(x) {
    const l = x.layer as Lrn;
    return { out: x.op("LRN", [x.inputs[0]!], { size: l.size, alpha: { f: l.alpha }, beta: { f: l.beta }, bias: { f: l.k } }) };
  },
};
