// ONNX export: a fovea model becomes an NCHW ONNX graph (opset 13) that onnxruntime serves.
// Weights are converted once (HWIO → OIHW; dense weights after a flatten go back to the CHW
// order ONNX's Flatten produces); fused activations become their own nodes; batch norm
// exports with its moving statistics. An NHWC model input is declared NCHW ([N, C, H, W]).

import { ConfigError, checkOptionKeys } from "../errors.js";
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

type Attr = { name: string; type: number; i?: number; f?: number; ints?: number[] };
type Node = { opType: string; name: string; input: string[]; output: string[]; attribute: Attr[] };

/** A model as ONNX bytes. */
export async function exportOnnx(model: Model, options: { name?: string } = {}): Promise<Uint8Array> {
  checkOptionKeys("exportOnnx", options, ["name"]);
  const { onnx } = (await import("onnx-proto")).default;
  const A = { INT: 2, FLOAT: 1, INTS: 7 };
  const nodes: Node[] = [];
  const inits: { name: string; dims: number[]; dataType: number; rawData: Uint8Array }[] = [];
  const weights = new Map(model.getWeights().map((w) => [`${w.layer}/${w.name}`, w.values]));
  let k = 0;
  const init = (dims: number[], data: Float32Array | number[], type: "f32" | "i64" = "f32") => {
    const name = `w${inits.length}`;
    const raw = type === "f32" ? new Uint8Array(Float32Array.from(data).buffer) : new Uint8Array(BigInt64Array.from(Array.from(data, BigInt)).buffer);
    inits.push({ name, dims, dataType: type === "f32" ? 1 : 7, rawData: raw });
    return name;
  };
  const op = (opType: string, input: string[], attrs: Record<string, number | number[] | { f: number }> = {}) => {
    const out = `t${k++}`;
    const attribute = Object.entries(attrs).map(([name, v]): Attr => (Array.isArray(v) ? { name, type: A.INTS, ints: v } : typeof v === "number" ? { name, type: A.INT, i: v } : { name, type: A.FLOAT, f: v.f }));
    nodes.push({ opType, name: `${opType}_${k}`, input, output: [out], attribute });
    return out;
  };
  const act = (x: string, code: number) => (code === 1 ? op("Relu", [x]) : code === 2 ? op("Clip", [x, init([], [0]), init([], [6])]) : x);

  const ns = model.nodes;
  // what each fovea tensor is in ONNX: its name and, for features flattened from an image, the [C, H, W] it came from
  const names: string[] = [];
  const flatOf: ([number, number, number] | null)[] = [];
  const inShape = model.inputShape;
  const leadingPermute = ns[0]!.layer instanceof Permute && (ns[0]!.layer as Permute).perm.join() === "1,2,0";
  const onnxIn = inShape.length === 3 ? (leadingPermute ? [...inShape] : [inShape[2]!, inShape[0]!, inShape[1]!]) : [...inShape];
  const x = (i: number) => (i < 0 ? "input" : names[i]!);
  ns.forEach((n, j) => {
    const l = n.layer, xin = x(n.inputs[0]!);
    const label = `exportOnnx: layer ${l.label}`;
    let out: string;
    let flat: [number, number, number] | null = null;
    const w = (p: string) => weights.get(`${l.name}/${p}`)!;
    if (l instanceof Permute) {
      if (!(j === 0 && leadingPermute)) throw new ConfigError(`${label}: only a leading NCHW→NHWC permute exports (the ONNX input is NCHW)`);
      out = xin;
    } else if (l instanceof Conv2d) {
      const g = l.geometry(n.inShapes[0]!);
      const [KH, KW, Cg, OC] = n.params[0]!.spec.shape as [number, number, number, number];
      const hwio = w("kernel"), oihw = new Float32Array(hwio.length);
      for (let o = 0; o < OC; o++) for (let ci = 0; ci < Cg; ci++) for (let kh = 0; kh < KH; kh++) for (let kw = 0; kw < KW; kw++) {
        oihw[((o * Cg + ci) * KH + kh) * KW + kw] = hwio[((kh * KW + kw) * Cg + ci) * OC + o]!;
      }
      // bottom/right padding that reproduces the output size under ONNX's floor rule (covers ceil rounding)
      const [pt, pb, pl, pr] = floorRulePads(g);
      const ins = [xin, init([OC, Cg, KH, KW], oihw)];
      if (n.params[1]) ins.push(init([OC], w("bias")));
      out = act(op("Conv", ins, { kernel_shape: [KH, KW], strides: [g.SH, g.SW], dilations: [g.DH, g.DW], pads: [pt, pl, pb, pr], group: g.groups }), l.act);
    } else if (l instanceof Dense) {
      const [F, U] = n.params[0]!.spec.shape as [number, number];
      const src = w("kernel"), kernel = new Float32Array(src.length);
      const from = flatOf[n.inputs[0]!] ?? null;
      for (let f = 0; f < F; f++) {
        // ONNX feature f (CHW order) is fovea's row (h·W + w)·C + c
        let row = f;
        if (from) {
          const [C, H, W] = from;
          row = (f % (H * W)) * C + Math.floor(f / (H * W));
        }
        for (let u = 0; u < U; u++) kernel[f * U + u] = src[row * U + u]!;
      }
      const ins = [xin, init([F, U], kernel)];
      if (n.params[1]) ins.push(init([U], w("bias")));
      out = act(op("Gemm", ins), l.act);
    } else if (l instanceof Pool2d) {
      const g = l.geometry(n.inShapes[0]!);
      const attrs: Record<string, number | number[]> = { kernel_shape: [g.KH, g.KW], strides: [g.SH, g.SW], pads: [g.padTop, g.padLeft, g.padBottom, g.padRight], ceil_mode: l.cfg.rounding === "ceil" ? 1 : 0 };
      if (l.type === "avgPool2d") attrs.count_include_pad = g.countIncludePad ? 1 : 0;
      out = op(l.type === "maxPool2d" ? "MaxPool" : "AveragePool", [xin], attrs);
    } else if (l instanceof GlobalPool2d) {
      out = op("Flatten", [op(l.type === "globalAvgPool2d" ? "GlobalAveragePool" : "GlobalMaxPool", [xin])], { axis: 1 });
    } else if (l instanceof Reshape) {
      if (l.type !== "flatten") throw new ConfigError(`${label}: reshape does not export (only flatten)`);
      const s = n.inShapes[0]!;
      if (s.length === 3 && s[0]! * s[1]! > 1) flat = [s[2]!, s[0]!, s[1]!];
      out = s.length === 1 ? xin : op("Flatten", [xin], { axis: 1 });
    } else if (l instanceof ActivationLayer) {
      const t = l.type;
      out = t === "relu" ? op("Relu", [xin]) : t === "relu6" ? act(xin, 2) : t === "leakyRelu" ? op("LeakyRelu", [xin], { alpha: { f: l.alpha } })
        : t === "elu" ? op("Elu", [xin], { alpha: { f: l.alpha } }) : t === "sigmoid" ? op("Sigmoid", [xin]) : t === "tanh" ? op("Tanh", [xin])
        : op(t === "softmax" ? "Softmax" : "LogSoftmax", [xin], { axis: 1 });
      if ((t === "softmax" || t === "logSoftmax") && n.outShape.length !== 1) throw new ConfigError(`${label}: channel softmax of images does not export`);
    } else if (l instanceof Dropout) {
      out = xin;
    } else if (l instanceof BatchNorm) {
      const C = n.outShape[n.outShape.length - 1]!;
      out = op("BatchNormalization", [xin, init([C], w("gamma")), init([C], w("beta")), init([C], w("movingMean")), init([C], w("movingVariance"))], { epsilon: { f: l.epsilon } });
    } else if (l instanceof Scale) {
      const C = n.outShape[n.outShape.length - 1]!;
      const d = n.outShape.length === 3 ? [1, C, 1, 1] : [1, C];
      out = op("Add", [op("Mul", [xin, init(d, w("scale"))]), init(d, w("shift"))]);
    } else if (l instanceof Lrn) {
      out = op("LRN", [xin], { size: l.size, alpha: { f: l.alpha }, beta: { f: l.beta }, bias: { f: l.k } });
    } else if (l instanceof Add) {
      out = op("Add", n.inputs.slice(0, 2).map(x));
      for (const i of n.inputs.slice(2)) out = op("Add", [out, x(i)]);
    } else if (l instanceof Concat) {
      out = op("Concat", n.inputs.map(x), { axis: 1 });
    } else if (l instanceof Maxout) {
      // groups of `pieces` consecutive channels: [N, C, (H, W)] → [N, C/k, k, (H, W)], max over the k axis
      const s = n.inShapes[0]!, C = s[s.length - 1]!, k = l.pieces;
      const spatial = s.length === 3 ? [s[0]!, s[1]!] : [];
      const grouped = op("Reshape", [xin, init([3 + spatial.length], [0, C / k, k, ...spatial], "i64")]);
      out = op("ReduceMax", [grouped], { axes: [2], keepdims: 0 });
    } else throw new ConfigError(`${label}: does not export to ONNX`);
    names[j] = out;
    flatOf[j] = flat ?? (l instanceof Dropout || l instanceof ActivationLayer || l instanceof BatchNorm || l instanceof Scale ? flatOf[n.inputs[0]!] ?? null : null);
  });
  const outShape = model.outputShape;
  const vi = (name: string, dims: (number | string)[]) => ({ name, type: { tensorType: { elemType: 1, shape: { dim: dims.map((d) => (typeof d === "string" ? { dimParam: d } : { dimValue: d })) } } } });
  const onnxOut = outShape.length === 3 ? [outShape[2]!, outShape[0]!, outShape[1]!] : [...outShape];
  const last = names[ns.length - 1]!;
  // the graph output gets its own name
  nodes.push({ opType: "Identity", name: "output_identity", input: [last], output: ["output"], attribute: [] });
  const m = onnx.ModelProto.create({
    irVersion: 7, producerName: "fovea", opsetImport: [{ domain: "", version: 13 }],
    graph: { name: options.name ?? model.name, node: nodes, initializer: inits, input: [vi("input", ["N", ...onnxIn])], output: [vi("output", ["N", ...onnxOut])] },
  });
  return onnx.ModelProto.encode(m).finish();
}
