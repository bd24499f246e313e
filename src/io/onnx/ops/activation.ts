// Relu, LeakyRelu, Elu, Sigmoid, Tanh, Clip (any bounds: ReLU6 / ReLU, Relu followed by Clip(max 6)
// as old opsets export ReLU6, otherwise a ReLU or ReLU6 between two affine scale layers),
// Softmax / LogSoftmax (over channels, the last axis, or — opsets < 13 — everything from an axis on),
// Erf, Sqrt, and GELU (PyTorch's export x·(1 + erf(x/√2))·0.5 recognised as one node, see `rewrites`)
// ⇄ the activation layers.
import * as L from "../../../layers/index.js";
import type { ActivationLayer } from "../../../layers/activation.js";
import type { Layer } from "../../../layers/layer.js";
import { ACT } from "../../../runtime/generated/layout.js";
import { ConfigError } from "../../../errors.js";
import { fixedAffine, scaleOver, type Exporter, type ImportNode, type Importer, type Rewrite, type RewriteContext } from "../context.js";
import { isImage, same, type OnnxNode, type TensorValue } from "../model.js";
import { broadcastShape } from "../../../ops/eltwise.js";


/** Clip(x, lo, hi) = min(max(x, lo), hi) (hi everywhere where lo ≥ hi). */
function clip(x: ImportNode, t: TensorValue): void {
  const bound = (i: number, attr: string, d: number) => {
    if (x.has(i)) {
      const c = x.constant(i);
      if (c.data.length !== 1) x.fail(`${attr} must be a scalar, got ${c.data.length} values`);
      return c.data[0]!;
    }
    return x.opset < 11 ? x.flt(attr, d) : d;
  };
  const lo = bound(1, "min", -Infinity), hi = bound(2, "max", Infinity);
  const lname = x.uniq("clip");
  const { reluOf: _, ...rest } = t;
  const out = (sym: TensorValue["sym"]) => x.out({ ...rest, sym });
  const low = lo > -3.4e38 ? lo : -Infinity, high = hi < 3.4e38 ? hi : Infinity;
  if (low <= 0 && high === 6 && t.reluOf) {
    // Relu then Clip(·, 6): one ReLU6 on the Relu's input (the Relu itself is left unused)
    out(x.apply(L.relu6({ name: lname }), t.reluOf));
    return;
  }
  if (Number.isNaN(low) || Number.isNaN(high)) x.fail(`Clip(${lo}, ${hi}): a bound is NaN`);
  if (low === 0 && high === 6) out(x.apply(L.relu6({ name: lname }), t.sym));
  else if (low === 0 && high === Infinity) out(x.apply(L.relu({ name: lname }), t.sym));
  else if (low === -Infinity && high === Infinity) out(fixedAffine(x, t.sym, 1, 0));
  else if (high === Infinity) out(fixedAffine(x, x.apply(L.relu({ name: lname }), fixedAffine(x, t.sym, 1, -low)), 1, low)); // lo + relu(x − lo)
  else if (low === -Infinity) out(fixedAffine(x, x.apply(L.relu({ name: lname }), fixedAffine(x, t.sym, -1, high)), -1, high)); // hi − relu(hi − x)
  else if (low >= high) out(fixedAffine(x, t.sym, 0, high)); // min(max(x, lo), hi): hi everywhere, a lower bound above it too (ONNX, onnxruntime, torch.clamp)
  else {
    // lo + (hi − lo)/6 · relu6(6·(x − lo)/(hi − lo))
    const s = 6 / (high - low);
    out(fixedAffine(x, x.apply(L.relu6({ name: lname }), fixedAffine(x, t.sym, s, -s * low)), 1 / s, low));
  }
}

function softmax(x: ImportNode, t0: TensorValue): void {
  const rank = x.rank(t0.onnx), lead = x.g.lead, k = x.axis(x.int("axis", x.opset >= 13 ? -1 : 1), t0.onnx), a = k + lead;
  if (k < 0) x.mixesBatch("softmax over axis 0 mixes the examples of a batch; fovea keeps them apart");
  const make = () => (x.op === "Softmax" ? L.softmax({ name: x.uniq("softmax") }) : L.logSoftmax({ name: x.uniq("logsoftmax") }));
  const { reluOf: _, ...rest } = t0;
  if (isImage(t0) && (x.opset >= 13 ? k === 0 : t0.onnx[1]! * t0.onnx[2]! === 1 && k === 0)) {
    x.out({ ...rest, sym: x.apply(make(), t0.sym) }); // over channels: the last axis held
    return;
  }
  const t = x.plain(t0), d = t.onnx;
  if (x.opset >= 13 && a !== rank - 1) {
    // a middle axis: [outer, d, inner] → [outer, inner, d], softmax over the last axis, and back
    const outer = d.slice(0, k).reduce((p, q) => p * q, 1), n = d[k]!, inner = d.slice(k + 1).reduce((p, q) => p * q, 1);
    const cube = x.apply(L.reshape({ targetShape: [outer, n, inner], name: x.uniq("softmax_in") }), t.sym);
    const last = x.apply(L.permute({ perm: [0, 2, 1], name: x.uniq("softmax_to_last") }), cube);
    const back = x.apply(L.permute({ perm: [0, 2, 1], name: x.uniq("softmax_back") }), x.apply(make(), last));
    x.out({ ...t, sym: back }); // plain: [outer, n, inner] holds the ONNX order
    return;
  }
  // opsets < 13: over everything from axis a on (the input seen as a matrix); 13+: over the last axis
  const inner = d.slice(k).reduce((p, q) => p * q, 1), outer = d.slice(0, k).reduce((p, q) => p * q, 1);
  const shaped = d.length === 1 || (x.opset >= 13) ? t.sym : x.apply(L.reshape({ targetShape: [outer, inner], name: x.uniq("softmax_rows") }), t.sym);
  x.out({ ...t, sym: x.apply(make(), shaped) }); // plain: the symbolic shape may differ from the ONNX dims
}

/** HardSigmoid max(0, min(1, αx + β)) = relu6(6αx + 6β) / 6, and HardSwish x · HardSigmoid(x) (α 1/6, β 1/2). */
function hard(x: ImportNode, t: TensorValue): void {
  const swish = x.op === "HardSwish", alpha = swish ? 1 / 6 : x.flt("alpha", 0.2), beta = swish ? 0.5 : x.flt("beta", 0.5);
  const gate = fixedAffine(x, x.apply(L.relu6({ name: x.uniq("hard_sigmoid") }), fixedAffine(x, t.sym, 6 * alpha, 6 * beta)), 1 / 6, 0);
  const { reluOf: _, ...rest } = t;
  x.out({ ...rest, sym: swish ? x.apply(L.multiply({ name: x.uniq("hard_swish") }), t.sym, gate) : gate });
}

/**
 * PRelu: relu(x) − slope · relu(−x), the slope a scalar, one per channel, or one per index of the
 * last axis (scale layers); any other slope that broadcasts to x (numpy's rule, the batch axis kept
 * apart) multiplies relu(−x) through a binary layer.
 */
function prelu(x: ImportNode, t0: TensorValue): void {
  const s = x.constant(1), rank = x.rank(t0.onnx), lead = x.g.lead;
  const sd = [...s.dims];
  while (sd.length < rank) sd.unshift(1); // numpy broadcasting aligns from the right
  const along = (k: number) => sd.length === rank && sd.every((d, i) => (i === k ? d === t0.onnx[k - lead] : d === 1));
  // per channel: of an image, of features, or of a sequence [C, L] (held as an image of one row, as the 1-D ops hold it)
  const perChannel = s.data.length > 1 && along(lead) && (t0.onnx.length === 3 || t0.onnx.length === 1 || t0.onnx.length === 2);
  const perLast = s.data.length > 1 && !perChannel && along(rank - 1);
  if (s.data.length !== 1 && !perChannel && !perLast) {
    if (sd.length > rank || (lead && sd[0] !== 1)) x.mixesBatch(`a slope of shape [${s.dims.join(", ")}] varies along the batch axis of ${x.dims(t0)}; fovea keeps the examples of a batch apart`);
    const cd = sd.slice(lead);
    const dims = broadcastShape(t0.onnx, cd);
    if (!dims || dims.join() !== t0.onnx.join()) x.fail(`a slope of shape [${s.dims.join(", ")}] does not broadcast to ${x.dims(t0)}`);
    const p = x.plain(t0), d = t0.onnx.length ? t0.onnx : [1];
    const h = same([...p.sym.shape], d) ? p.sym : x.apply(L.reshape({ targetShape: d, name: x.uniq("prelu_in") }), p.sym);
    const lname = x.uniq("prelu_slope");
    const neg = x.apply(L.binary({ op: "mul", constantShape: cd.length ? cd : [1], name: lname }), x.apply(L.relu({ name: x.uniq("prelu_neg") }), fixedAffine(x, h, -1, 0)));
    x.weight(lname, "constant", Float32Array.from(s.data, (v) => -v));
    const { reluOf: _, flatOf: __, ...rest } = p;
    return x.out({ ...rest, sym: x.apply(L.add({ name: x.uniq("prelu") }), x.apply(L.relu({ name: x.uniq("prelu_pos") }), h), neg) });
  }
  const seq = perChannel && t0.onnx.length === 2;
  const t = seq ? x.windowInput(t0) : perChannel && t0.onnx.length === 3 ? x.asImage(t0) : perChannel || perLast ? x.plain(t0) : t0;
  const neg = x.apply(L.relu({ name: x.uniq("prelu_neg") }), fixedAffine(x, t.sym, -1, 0));
  // the slope is learned: fine-tuning trains it (the scale holds −slope; nn.PReLU()'s one slope is one parameter: scaleOver)
  const C = s.data.length === 1 ? 1 : t.sym.shape[t.sym.shape.length - 1]!;
  const sloped = scaleOver(x, neg, Float32Array.from({ length: C }, (_, i) => -s.data[perChannel || perLast ? i : 0]!), new Float32Array(C), ["scale"], "prelu_slope", x.source(1, `prelu ${C} ${perChannel} ${perLast} ${seq}`));
  const { reluOf: _, ...rest } = t;
  const out = { ...rest, sym: x.apply(L.add({ name: x.uniq("prelu") }), x.apply(L.relu({ name: x.uniq("prelu_pos") }), t.sym), sloped) };
  if (seq) x.windowOut(out);
  else x.out(out);
}

/** Selu γ·elu_α(x) (α 1.67326…, γ 1.0507…) and Celu α·elu_1(x/α): an elu between scale layers. */
function scaledElu(x: ImportNode, t: TensorValue): void {
  const selu = x.op === "Selu";
  const alpha = x.flt("alpha", selu ? 1.67326319217681884765625 : 1), gamma = selu ? x.flt("gamma", 1.05070102214813232421875) : alpha;
  if (!selu && !(alpha > 0)) x.fail(`alpha ${alpha}: Celu divides by it`);
  const inner = selu ? t.sym : fixedAffine(x, t.sym, 1 / alpha, 0);
  const e = x.apply(L.elu({ alpha: selu ? alpha : 1, name: x.uniq(selu ? "selu" : "celu") }), inner);
  const { reluOf: _, ...rest } = t;
  x.out({ ...rest, sym: fixedAffine(x, e, gamma, 0) });
}

/** Elementwise ops folded on constants (shape arithmetic: `F.interpolate(recompute_scale_factor=True)` floors a constant size, attention scales by `sqrt(size)`). */
const FOLD: Record<string, (v: number, x: ImportNode) => number> = {
  Relu: (v) => (v < 0 ? 0 : v), LeakyRelu: (v, x) => (v < 0 ? x.flt("alpha", 0.01) * v : v), Elu: (v, x) => (v < 0 ? x.flt("alpha", 1) * Math.expm1(v) : v),
  Sigmoid: (v) => 1 / (1 + Math.exp(-v)), Tanh: Math.tanh, Sqrt: Math.sqrt, Exp: Math.exp, Log: Math.log,
  Softplus: (v) => (v > 30 ? v : Math.log1p(Math.exp(v))), Softsign: (v) => v / (1 + Math.abs(v)),
  Floor: Math.floor, Ceil: Math.ceil, Sign: Math.sign,
  // ONNX's Round: halves to even
  Round: (v) => (Math.abs(v % 1) === 0.5 ? 2 * Math.round(v / 2) : Math.round(v)),
};
/** Of those, the ones that keep whole numbers whole (an integer constant stays one). */
const KEEPS_INTEGER = new Set(["Relu", "Floor", "Ceil", "Round", "Sign"]);

const activation: Importer = (x) => {
  const c = x.get(0), f = FOLD[x.op];
  if (c.kind === "const" && f) {
    const vs = Array.from(c.data, (v) => f(v, x));
    return x.out({ kind: "const", dims: c.dims, data: c.data instanceof Float32Array || !KEEPS_INTEGER.has(x.op) ? Float32Array.from(vs) : vs });
  }
  const t = x.tensor(0);
  if (x.op === "Clip") return clip(x, t);
  if (x.op === "HardSigmoid" || x.op === "HardSwish") return hard(x, t);
  if (x.op === "PRelu") return prelu(x, t);
  if (x.op === "Selu" || x.op === "Celu") return scaledElu(x, t);
  if (x.op === "Softmax" || x.op === "LogSoftmax") return softmax(x, t);
  const lname = x.uniq(x.op.toLowerCase());
  const map: Record<string, () => Layer> = {
    Relu: () => L.relu({ name: lname }),
    LeakyRelu: () => {
      const alpha = x.flt("alpha", 0.01);
      return alpha >= 0 ? L.leakyRelu({ alpha, name: lname }) : x.fail(`alpha ${alpha}: a negative slope is not supported (fovea's leakyRelu takes slopes >= 0: its backward reads each value's side from the output)`);
    },
    Elu: () => L.elu({ alpha: x.flt("alpha", 1), name: lname }), Sigmoid: () => L.sigmoid({ name: lname }), Tanh: () => L.tanh({ name: lname }),
    Erf: () => L.erf({ name: lname }), Sqrt: () => L.sqrt({ name: lname }), Softplus: () => L.softplus({ name: lname }), Softsign: () => L.softsign({ name: lname }),
    Exp: () => L.exp({ name: lname }), Log: () => L.log({ name: lname }), Floor: () => L.floor({ name: lname }), Ceil: () => L.ceil({ name: lname }),
    Round: () => L.round({ name: lname }), Sign: () => L.sign({ name: lname }),
    Gelu: () => (x.str("approximate", "none") === "none" ? L.gelu({ name: lname }) : x.fail(`approximate "${x.str("approximate", "none")}": the exact GELU (approximate "none") is supported`)),
  };
  const { reluOf: _, ...rest } = t;
  x.out({ ...rest, sym: x.apply(map[x.op]!(), t.sym), ...(x.op === "Relu" ? { reluOf: t.sym } : {}) });
};

export const importers: Record<string, Importer> = Object.fromEntries(
  ["Relu", "LeakyRelu", "Elu", "Sigmoid", "Tanh", "Clip", "Softmax", "LogSoftmax", "HardSigmoid", "HardSwish", "PRelu", "Erf", "Sqrt", "Gelu", "Softplus", "Softsign", "Selu", "Celu", "Exp", "Log", "Floor", "Ceil", "Round", "Sign"].map((op) => [op, activation]),
);

/**
 * PyTorch's export of the exact GELU (opsets ≤ 17 have no Gelu op): Mul(Mul(x, Add(Erf(Div(x, √2)), 1)), 0.5),
 * operands in either order, or Mul(x, 1/√2) for the Div — the last Mul becomes one Gelu node (ONNX
 * opset 20's, approximate "none") on x; the rest is left without readers.
 */
function geluAt(n: OnnxNode, c: RewriteContext): OnnxNode | null {
  const scalar = (name: string | undefined) => {
    const v = name ? c.constant(name) : null;
    return v && v.data.length === 1 ? v.data[0]! : null;
  };
  const near = (v: number | null, want: number) => v !== null && Math.abs(v - want) <= 1e-6 * Math.abs(want);
  /** The node's operand that is not the scalar `want`, when the other one is. */
  const other = (m: OnnxNode | undefined, op: string, want: number) => {
    if (!m || m.opType !== op || m.input.length !== 2) return null;
    return near(scalar(m.input[1]), want) ? m.input[0]! : near(scalar(m.input[0]), want) ? m.input[1]! : null;
  };
  const p = other(n, "Mul", 0.5);
  const prod = p ? c.producer(p) : undefined;
  if (!prod || prod.opType !== "Mul" || prod.input.length !== 2) return null;
  const [i0, i1] = prod.input as [string, string];
  for (const [xName, aName] of [[i0, i1], [i1, i0]] as const) {
    const e = other(c.producer(aName), "Add", 1);
    const erf = e ? c.producer(e) : undefined;
    if (erf?.opType !== "Erf") continue;
    const d = erf.input[0] ? c.producer(erf.input[0]) : undefined;
    const scaled = other(d, "Div", Math.SQRT2) ?? other(d, "Mul", Math.SQRT1_2);
    if (scaled === xName) return { ...n, opType: "Gelu", input: [xName], attribute: [] };
  }
  return null;
}

export const rewrites: Rewrite[] = [(nodes, c) => nodes.map((n) => (n.opType === "Mul" ? geluAt(n, c) ?? n : n))];

const activationExport: Exporter = (x) => {
  const l = x.layer as ActivationLayer, t = l.type, xin = x.inputs[0]!;
  if (t === "gelu") {
    // x·(1 + erf(x/√2))·0.5: opset 13 has no Gelu
    const e = x.op("Erf", [x.op("Div", [xin, x.init([], [Math.SQRT2])])]);
    return { out: x.op("Mul", [x.op("Mul", [xin, x.op("Add", [e, x.init([], [1])])]), x.init([], [0.5])]), flatOf: x.inputFlatOf[0] };
  }
  const unary = ({ erf: "Erf", sqrt: "Sqrt", softplus: "Softplus", softsign: "Softsign", exp: "Exp", log: "Log", floor: "Floor", ceil: "Ceil", round: "Round", sign: "Sign" } as Partial<Record<string, string>>)[t];
  if (unary) return { out: x.op(unary, [xin]), flatOf: x.inputFlatOf[0] };
  if (t === "toFloat16") return { out: x.op("Cast", [x.op("Cast", [xin], { to: 10 })], { to: 1 }), flatOf: x.inputFlatOf[0] };
  if (t === "toBfloat16") throw new ConfigError(`${x.label}: bfloat16 truncation (ONNX 1.12's reference Cast) does not export: ONNX leaves a Cast's rounding to the runtime`);
  const out = t === "relu" ? x.op("Relu", [xin]) : t === "relu6" ? x.act(xin, ACT.RELU6) : t === "leakyRelu" ? x.op("LeakyRelu", [xin], { alpha: { f: l.alpha } })
    : t === "elu" ? x.op("Elu", [xin], { alpha: { f: l.alpha } }) : t === "sigmoid" ? x.op("Sigmoid", [xin]) : t === "tanh" ? x.op("Tanh", [xin])
    // over fovea's last axis: an image's channels (axis 1 of NCHW), else the last (opset 13's Softmax is over one axis)
    : x.op(t === "softmax" ? "Softmax" : "LogSoftmax", [xin], { axis: x.node.outShape.length === 3 ? 1 : -1 });
  return { out, flatOf: x.inputFlatOf[0] };
};

/** Every activation takes features flattened from an image as ONNX holds them: each acts on every value alike (softmax over all of them). */
export const exporters: Record<string, Exporter> = Object.fromEntries(
  ["relu", "relu6", "leakyRelu", "elu", "sigmoid", "tanh", "softmax", "logSoftmax", "gelu", "erf", "sqrt", "softplus", "softsign", "exp", "log", "floor", "ceil", "round", "sign", "toFloat16", "toBfloat16"].map((t) => [t, activationExport]),
);
export const flatAware = Object.keys(exporters);
