// MaxPool / AveragePool, 1-D, 2-D and 3-D (ceil mode, count_include_pad, auto padding, MaxPool's
// dilations and its Indices, a Pad folded into an average pool) and the global pools ⇄ maxPool2d /
// maxPool2dIndices / avgPool2d / maxPool3d / avgPool3d / globalAvgPool2d / globalMaxPool2d.
import * as L from "../../../layers/index.js";
import type { Pool, Pool2dConfig } from "../../../layers/pool.js";
import type { SymbolicTensor } from "../../../layers/symbolic.js";
import type { ArgMax } from "../../../layers/argmax.js";
import { attribute, sameTotal, subNode, toFoveaOrder, withPadLayer, type ExportNode, type Exporter, type ImportGraph, type Importer, type ImportNode } from "../context.js";
import { isImage, same, type ConstValue, type TensorValue } from "../model.js";

/**
 * MaxPool / AveragePool. MaxPool's Indices count positions across the whole input, n·C·H·W + …:
 * a graph that asks for them is taken whole (one example: its input's fixed shape [N, C, H, W],
 * pooled as the image [N·C, H, W], whose positions are ONNX's), as for any op that mixes the batch.
 */
const windowPool: Importer = (x) => {
  const indices = x.op === "MaxPool" && !!x.n.output[1];
  const t0 = x.tensor(0);
  // [N, C, D, H, W] (or whole, one example [N, C, D, H, W]): a 3-D pool
  if (t0.onnx.length === 4 + (x.g.lead ? 0 : 1)) return pool3d(x, t0, indices);
  if (indices && x.g.lead) x.mixesBatch("MaxPool's Indices count positions across the batch (n·C·H·W + …); fovea keeps the examples of a batch apart");
  const whole = !x.g.lead && t0.onnx.length === 4 ? t0.onnx : null;
  // a whole input [N, C, H, W]: its N·C planes as the channels of one image
  const t1 = whole ? x.asImage({ ...x.plain(t0), onnx: [whole[0]! * whole[1]!, whole[2]!, whole[3]!], plain: true }) : x.windowInput(t0);
  if (!x.attr("kernel_shape")) x.fail("kernel_shape is required");
  const k = x.wints("kernel_shape", []);
  const dil = x.wints("dilations", [1, 1]);
  // ONNX's AveragePool takes dilations from opset 19 (fovea reads opsets up to 17)
  if (x.op === "AveragePool" && dil.some((d) => d !== 1)) x.fail(`dilations [${dil.join(", ")}] are for MaxPool`);
  const strides = x.wints("strides", [1, 1]);
  let cip = x.int("count_include_pad", 0) === 1;
  // zeros held from a Pad (only an average pool gets them: ImportNode.get) are real values to the
  // pool, counted: they fold into its padding unless it has padding of its own it does not count
  const own = x.windowPads(t1, k, strides, dil), held = t1.pad?.some((p) => p) ?? false;
  const t = held && own.some((p) => p) && !cip ? withPadLayer(t1, x.uniq("pad_zeros")) : t1;
  const pads = t === t1 ? own : x.windowPads(t, k, strides, dil);
  const extra: [number, number, number, number] = t.pad?.some((p) => p) ? t.pad : [0, 0, 0, 0];
  if (extra.some((p) => p)) cip = true;
  const lname = x.uniq(x.op === "MaxPool" ? "maxpool" : "avgpool");
  const cfg = {
    poolSize: [k[0]!, k[1]!] as [number, number], strides: strides as [number, number],
    padding: [pads[0]! + extra[0], pads[2]! + extra[1], pads[1]! + extra[2], pads[3]! + extra[3]] as [number, number, number, number],
    rounding: x.int("ceil_mode", 0) ? ("ceil" as const) : ("floor" as const), name: lname,
  };
  const sym = x.apply(x.op === "MaxPool" ? L.maxPool2d({ ...cfg, dilations: [dil[0]!, dil[1]!] }) : L.avgPool2d({ ...cfg, countIncludePad: cip }), t.sym);
  if (cfg.rounding === "ceil") {
    const [, H, W] = x.image(t), p = cfg.padding;
    ceilDropped(x.g, lname, [{ n: H, pads: p[0] + p[1], k: k[0]!, s: strides[0]!, d: dil[0]!, out: sym.shape[0]! }, { n: W, pads: p[2] + p[3], k: k[1]!, s: strides[1]!, d: dil[1]!, out: sym.shape[1]! }]);
  }
  const image = (v: SymbolicTensor) => ({ kind: "tensor" as const, sym: v, onnx: [t.onnx[0]!, v.shape[0]!, v.shape[1]!] });
  if (!whole) return x.windowOut(image(sym));
  // back to [N, C, OH, OW]: the planes in ONNX's order (a reshape would move no data)
  const back = (v: SymbolicTensor) => ({ ...x.plain(image(v)), onnx: [whole[0]!, whole[1]!, v.shape[0]!, v.shape[1]!] });
  x.out(back(sym));
  if (!indices) return;
  const order = x.int("storage_order", 0);
  if (order !== 0 && order !== 1) x.fail(`storage_order ${order} is not 0 (row-major) or 1 (column-major)`);
  const iname = x.uniq("maxpool_indices");
  const idx = x.apply(L.maxPool2dIndices({ ...cfg, name: iname, dilations: [dil[0]!, dil[1]!], storageOrder: order ? "column" : "row" }), t.sym);
  x.g.values.set(x.n.output[1]!, { ...back(idx), int: true });
};

/** A 3-D MaxPool / AveragePool over [N, C, D, H, W] (a whole input's N·C volumes as channels), on fovea's [D, H, W, C]. */
function pool3d(x: ImportNode, t0: TensorValue, indices: boolean): void {
  if (indices) x.fail("the Indices of a 3-D MaxPool are not supported (2-D pools give them)");
  x.noPad(t0);
  const d = t0.onnx, [C, D, H, W] = d.length === 5 ? [d[0]! * d[1]!, d[2]!, d[3]!, d[4]!] : (d as [number, number, number, number]);
  const three = (k: string, v: number[]) => {
    if (v.length !== 3) x.fail(`${k} [${v.join(", ")}]: 3 values expected (3-D windows)`);
    return v as [number, number, number];
  };
  if (!x.attr("kernel_shape")) x.fail("kernel_shape is required");
  const k = three("kernel_shape", x.ints("kernel_shape", [])), st = three("strides", x.ints("strides", [1, 1, 1])), dil = three("dilations", x.ints("dilations", [1, 1, 1]));
  if (x.op === "AveragePool" && dil.some((v) => v !== 1)) x.fail(`dilations [${dil.join(", ")}] are for MaxPool`);
  const autoPad = x.str("auto_pad", "NOTSET");
  let pads: number[];
  if (autoPad === "NOTSET") pads = x.ints("pads", [0, 0, 0, 0, 0, 0]);
  else if (autoPad === "VALID") pads = [0, 0, 0, 0, 0, 0];
  else if (autoPad === "SAME_UPPER" || autoPad === "SAME_LOWER") {
    const split = [D, H, W].map((size, i) => {
      const total = sameTotal(x, autoPad, size, k[i]!, st[i]!, dil[i]!);
      const begin = autoPad === "SAME_UPPER" ? Math.floor(total / 2) : Math.ceil(total / 2);
      return [begin, total - begin];
    });
    pads = [...split.map((p) => p[0]!), ...split.map((p) => p[1]!)];
  } else x.fail(`auto_pad ${autoPad} is not an ONNX value`);
  if (pads.length !== 6) x.fail(`pads [${pads.join(", ")}]: 6 values expected (begin and end of depth, height, width)`);
  const ndhwc = x.asVolume(t0, [C, D, H, W]);
  const cfg = {
    poolSize: k, strides: st, padding: [pads[0]!, pads[3]!, pads[1]!, pads[4]!, pads[2]!, pads[5]!] as [number, number, number, number, number, number],
    rounding: x.int("ceil_mode", 0) ? ("ceil" as const) : ("floor" as const), name: x.uniq(x.op === "MaxPool" ? "maxpool3d" : "avgpool3d"),
  };
  const y = x.apply(x.op === "MaxPool" ? L.maxPool3d({ ...cfg, dilations: dil }) : L.avgPool3d({ ...cfg, countIncludePad: x.int("count_include_pad", 0) === 1 }), ndhwc);
  const [OD, OH, OW] = y.shape as [number, number, number, number];
  if (cfg.rounding === "ceil") ceilDropped(x.g, cfg.name, [D, H, W].map((n, i) => ({ n, pads: pads[i]! + pads[i + 3]!, k: k[i]!, s: st[i]!, d: dil[i]!, out: [OD, OH, OW][i]! })));
  x.out(x.volumeOut(y, d.length === 5 ? [d[0]!, d[1]!, OD, OH, OW] : [C, OD, OH, OW]));
}

const globalPool: Importer = (x) => {
  const t = x.asImage(x.tensor(0));
  const [C] = x.image(t);
  const lname = x.uniq("globalpool");
  const sym = x.apply(x.op === "GlobalAveragePool" ? L.globalAvgPool2d({ name: lname }) : L.globalMaxPool2d({ name: lname }), t.sym);
  // ONNX keeps [C, 1, 1]: the same values in the same order as the [C] features fovea holds
  x.out({ kind: "tensor", sym, onnx: [C, 1, 1], plain: true });
};

/**
 * ReduceMean / ReduceMax over axes after the batch's that follow one another: an image's positions
 * are the global pools; otherwise the data [outer, r, inner] (in ONNX's order) is held as the image
 * [r, 1, outer·inner] (a permute when outer > 1) and pooled over its r rows.
 */
const reduce: Importer = (x) => {
  const v = x.get(0);
  if (v.kind === "const") return x.out(reduceConstant(x, v));
  const t0 = x.tensor(0), rank = x.rank(t0.onnx), lead = x.g.lead;
  const axes = (x.has(1) ? Array.from(x.constant(1).data) : x.ints("axes", Array.from({ length: rank }, (_, i) => i))).map((a) => (a < 0 ? a + rank : a)).sort((p, q) => p - q);
  const keep = x.int("keepdims", 1) === 1;
  if (lead && axes.includes(0)) x.mixesBatch(`${x.op} over axes [${axes.join(", ")}] includes the batch axis; fovea keeps the examples of a batch apart`);
  if (axes.some((a, i) => i > 0 && a !== axes[i - 1]! + 1)) x.fail(`${x.op} over axes [${axes.join(", ")}]: axes that follow one another are supported`);
  const pool = (name: string) => (x.op === "ReduceMean" ? L.globalAvgPool2d({ name }) : L.globalMaxPool2d({ name }));
  if (!(lead && rank === 4 && axes.join() === "2,3")) {
    const d = t0.onnx, a0 = axes[0]! - lead, a1 = axes[axes.length - 1]! - lead + 1;
    const outer = d.slice(0, a0).reduce((p, q) => p * q, 1), r = d.slice(a0, a1).reduce((p, q) => p * q, 1), inner = d.slice(a1).reduce((p, q) => p * q, 1);
    const p = x.plain(t0);
    let rows = x.apply(L.reshape({ targetShape: [outer, r, inner], name: x.uniq("reduce_in") }), p.sym);
    if (outer > 1) rows = x.apply(L.permute({ perm: [1, 0, 2], name: x.uniq("reduce_rows") }), rows);
    const img = x.apply(L.reshape({ targetShape: [r, 1, outer * inner], name: x.uniq("reduce_image") }), rows);
    const sym = x.apply(pool(x.uniq("reduce")), img);
    const dims = keep ? d.map((v, i) => (i >= a0 && i < a1 ? 1 : v)) : d.filter((_, i) => i < a0 || i >= a1);
    return x.out({ kind: "tensor", sym, onnx: dims, ...(dims.length === 3 ? { plain: true as const } : {}) });
  }
  const t = x.asImage(t0);
  const [C] = x.image(t);
  const sym = x.apply(pool(x.uniq("globalpool")), t.sym);
  x.out({ kind: "tensor", sym, onnx: keep ? [C, 1, 1] : [C], ...(keep ? { plain: true as const } : {}) });
};

/**
 * ReduceSum, ReduceSumSquare, ReduceL2 and ReduceProd. Of a constant (shape arithmetic: the
 * element count of a Shape), folded. Of data, the nodes they equal: ReduceSum the ReduceMean over
 * the same axes times the count it averaged (the same sum, rounded through the mean: within float32
 * rounding of it), ReduceSumSquare a ReduceSum of x·x, ReduceL2 its Sqrt (F.normalize); a product
 * over data is refused.
 */
/** A reduction's axes (its axes input, or attribute; all of them by default), each in [0, rank). */
const reduceAxes = (x: ImportNode, rank: number) => (x.has(1) ? Array.from(x.constant(1).data, Number) : x.ints("axes", Array.from({ length: rank }, (_, i) => i))).map((a) => (a < 0 ? a + rank : a));

/** The reductions of a constant (shape arithmetic: the element count of a Shape; parameters exported without constant folding), folded in float64. */
function reduceConstant(x: ImportNode, v: ConstValue): ConstValue {
  const d = v.dims, axes = new Set(reduceAxes(x, d.length)), keep = x.int("keepdims", 1) === 1;
  const sum = (a: number, b: number) => a + b, square = (a: number, b: number) => a + b * b;
  const [f, init] = ({ ReduceSum: [sum, 0], ReduceMean: [sum, 0], ReduceSumSquare: [square, 0], ReduceL2: [square, 0], ReduceProd: [(a: number, b: number) => a * b, 1], ReduceMax: [(a: number, b: number) => (b > a || Number.isNaN(b) ? b : a), -Infinity] } as Record<string, [(a: number, b: number) => number, number]>)[x.op]!;
  const outDims = d.map((n, i) => (axes.has(i) ? 1 : n)), count = d.reduce((a, n, i) => a * (axes.has(i) ? n : 1), 1);
  const acc = new Float64Array(outDims.reduce((a, b) => a * b, 1)).fill(init);
  const strides = d.map((_, i) => d.slice(i + 1).reduce((a, b) => a * b, 1)), outStrides = outDims.map((_, i) => outDims.slice(i + 1).reduce((a, b) => a * b, 1));
  for (let k = 0; k < v.data.length; k++) {
    let o = 0;
    for (let i = 0; i < d.length; i++) if (!axes.has(i)) o += Math.floor(k / strides[i]!) % d[i]! * outStrides[i]!;
    acc[o] = f(acc[o]!, v.data[k]!);
  }
  const vals = x.op === "ReduceL2" ? Array.from(acc, Math.sqrt) : x.op === "ReduceMean" ? Array.from(acc, (s) => s / count) : Array.from(acc);
  return { kind: "const", dims: keep ? outDims : d.filter((_, i) => !axes.has(i)), data: v.data instanceof Float32Array || x.op === "ReduceMean" ? Float32Array.from(vals) : vals };
}

const reduceOther: Importer = (x) => {
  const v = x.get(0);
  const axesOf = (rank: number) => reduceAxes(x, rank);
  if (v.kind === "const") return x.out(reduceConstant(x, v));
  if (x.op === "ReduceProd") x.fail("a product over computed data is not supported (of constants and shapes it is folded)");
  const t0 = x.tensor(0), lead = x.g.lead, rank = x.rank(t0.onnx), axes = axesOf(rank);
  const base = `${x.n.output[0]}#${x.op.toLowerCase()}`, src = x.n.input[0]!, rest = x.n.input.slice(1);
  // the reductions keep the node's own axes and keepdims
  const reduction = (opType: string, input: string[], output: string) => subNode(x, opType, [...input, ...rest], output, x.n.attribute);
  if (axes.length === 0) x.fail("an empty list of axes (noop_with_empty_axes) is not supported");
  if (x.op !== "ReduceSum") {
    // x·x summed, then (L2) its root
    const sum = x.op === "ReduceL2" ? `${base}_sum` : x.n.output[0]!;
    return x.g.importNodes([
      subNode(x, "Mul", [src, src], `${base}_sq`), reduction("ReduceSum", [`${base}_sq`], sum),
      ...(x.op === "ReduceL2" ? [subNode(x, "Sqrt", [sum], x.n.output[0]!)] : []),
    ]);
  }
  const count = axes.reduce((a, ax) => a * (ax - lead >= 0 ? t0.onnx[ax - lead]! : 1), 1);
  x.g.values.set(`${base}_count`, { kind: "const", dims: [], data: Float32Array.of(count) });
  x.g.importNodes([reduction("ReduceMean", [src], `${base}_mean`), subNode(x, "Mul", [`${base}_mean`, `${base}_count`], x.n.output[0]!)]);
};

/**
 * ArgMax over one axis but the batch's: an image's channels are the argMax layer's last axis as
 * fovea holds it (a segmentation's class map); any other axis of the data [outer, r, inner] in
 * ONNX's order is moved last first ([outer, inner, r], a permute when inner > 1). The indices are
 * integer data held as floats (exact below 2^24).
 */
const argMax: Importer = (x) => {
  const t0 = x.tensor(0), rank = x.rank(t0.onnx), lead = x.g.lead;
  const a0 = x.int("axis", 0), axis = a0 < 0 ? a0 + rank : a0;
  if (axis < 0 || axis >= rank) x.fail(`axis ${a0} is outside [${-rank}, ${rank}) for a rank-${rank} input`);
  if (lead && axis === 0) x.mixesBatch("ArgMax over axis 0 compares the examples of a batch; fovea keeps them apart");
  const keep = x.int("keepdims", 1) === 1, last = x.int("select_last_index", 0) === 1;
  const d = t0.onnx, k = axis - lead, dims = keep ? d.map((v, i) => (i === k ? 1 : v)) : d.filter((_, i) => i !== k);
  const layer = () => L.argMax({ ...(last ? { selectLast: true } : {}), name: x.uniq("argmax") });
  const shaped = (sym: SymbolicTensor, held: boolean): TensorValue => {
    // [H, W, 1] held as an image is [1, H, W] in ONNX (keepdims); otherwise the values in ONNX's order
    if (held && keep) return { kind: "tensor", sym, onnx: dims, int: true };
    const out = same([...sym.shape], dims.length ? dims : [1]) ? sym : x.apply(L.reshape({ targetShape: dims.length ? dims : [1], name: x.uniq("argmax_out") }), sym);
    return { kind: "tensor", sym: out, onnx: dims, int: true, ...(dims.length === 3 ? { plain: true as const } : {}) };
  };
  if (isImage(t0) && k === 0) return x.out(shaped(x.apply(layer(), t0.sym), true));
  const outer = d.slice(0, k).reduce((p, q) => p * q, 1), r = d[k]!, inner = d.slice(k + 1).reduce((p, q) => p * q, 1);
  // [outer, inner, r]: the same order as [outer, r] where inner is 1
  let v = x.apply(L.reshape({ targetShape: inner > 1 ? [outer, r, inner] : [outer, 1, r], name: x.uniq("argmax_in") }), x.plain(t0).sym);
  if (inner > 1) v = x.apply(L.permute({ perm: [0, 2, 1], name: x.uniq("argmax_last") }), v);
  x.out(shaped(x.apply(layer(), v), false));
};

/**
 * ReduceMin, ArgMin, ReduceL1 and ReduceLogSumExp of data, as the nodes they equal: −ReduceMax(−x)
 * and ArgMax(−x) (negation is exact: the same values, ties and last-index picks), ReduceSum(|x|),
 * and m + log ReduceSum(exp(x − m)) with m = ReduceMax(x) (kept dims for the subtraction), as
 * onnxruntime computes it (no overflow where exp(x) would).
 */
const composed: Importer = (x) => {
  const base = `${x.n.output[0]}#${x.op.toLowerCase()}`, src = x.n.input[0]!, rest = x.n.input.slice(1), out = x.n.output[0]!;
  const node = (opType: string, input: string[], output: string, attrs = x.n.attribute) => subNode(x, opType, input, output, attrs);
  const keep = (k: number) => [...x.n.attribute.filter((a) => a.name !== "keepdims"), attribute("keepdims", { i: k })];
  x.g.values.set(`${base}_neg1`, { kind: "const", dims: [], data: Float32Array.of(-1) });
  const neg = (from: string, to: string) => node("Mul", [from, `${base}_neg1`], to, []);
  if (x.op === "ReduceMin") return x.g.importNodes([neg(src, `${base}_neg`), node("ReduceMax", [`${base}_neg`, ...rest], `${base}_max`), neg(`${base}_max`, out)]);
  if (x.op === "ArgMin") return x.g.importNodes([neg(src, `${base}_neg`), node("ArgMax", [`${base}_neg`], out)]);
  if (x.op === "ReduceL1") return x.g.importNodes([node("Abs", [src], `${base}_abs`, []), node("ReduceSum", [`${base}_abs`, ...rest], out)]);
  const k = x.int("keepdims", 1);
  x.g.importNodes([
    node("ReduceMax", [src, ...rest], `${base}_m`, keep(1)), node("Sub", [src, `${base}_m`], `${base}_d`, []), node("Exp", [`${base}_d`], `${base}_e`, []),
    node("ReduceSum", [`${base}_e`, ...rest], `${base}_s`, keep(k)), node("Log", [`${base}_s`], `${base}_l`, []),
    ...(k ? [] : [node("ReduceMax", [src, ...rest], `${base}_m0`, keep(0))]),
    node("Add", [`${base}_l`, k ? `${base}_m` : `${base}_m0`], out, []),
  ]);
};

export const importers: Record<string, Importer> = {
  ReduceMin: composed, ArgMin: composed, ReduceL1: composed, ReduceLogSumExp: composed,
  ArgMax: argMax, MaxPool: windowPool, AveragePool: windowPool, GlobalAveragePool: globalPool, GlobalMaxPool: globalPool, ReduceMean: reduce, ReduceMax: reduce,
  ReduceSum: reduceOther, ReduceSumSquare: reduceOther, ReduceL2: reduceOther, ReduceProd: reduceOther,
};

type PoolAxis = { n: number; k: number; s: number; d: number; pads: number; out: number };

/** Windows past the first along a pool axis by ONNX's size formula, unrounded: its output is this rounded down (or up, ceil_mode) plus 1. */
const span = (a: PoolAxis) => (a.n + a.pads - ((a.k - 1) * a.d + 1)) / a.s;

/**
 * Records pool `name` in g.ceilDrops where, on some axis, the size fovea computes (`out`) is less
 * than ONNX's ceil formula before opset 19 (the last window, starting past the input, dropped).
 */
function ceilDropped(g: ImportGraph, name: string, axes: readonly PoolAxis[]): void {
  if (axes.some((a) => Math.ceil(span(a)) + 1 > a.out)) g.ceilDrops.push(name);
}

/**
 * ONNX's ceil_mode for fovea's rounding. ONNX's ceil counts a last window that starts in the end
 * padding, which fovea (as PyTorch) drops; where that is all ceil adds on every axis, fovea's sizes
 * are floor's (ceil_mode 0). Otherwise ceil_mode 1, and `crop` slices the outputs past fovea's size
 * off ONNX's spatial axes (from 2) where it has more.
 */
function ceilMode(x: ExportNode, ceil: boolean, axes: PoolAxis[]): { mode: 0 | 1; crop: (v: string) => string } {
  const keep = (v: string) => v;
  if (!ceil) return { mode: 0, crop: keep };
  if (axes.every((a) => a.out === Math.floor(span(a)) + 1)) return { mode: 0, crop: keep };
  if (axes.every((a) => a.out === Math.ceil(span(a)) + 1)) return { mode: 1, crop: keep };
  const i64 = (w: number[]) => x.init([w.length], w, "i64");
  return { mode: 1, crop: (v) => x.op("Slice", [v, i64(axes.map(() => 0)), i64(axes.map((a) => a.out)), i64(axes.map((_, i) => 2 + i))]) };
}

const windowExport: Exporter = (x) => {
  const l = x.layer as Pool;
  const g = l.geometry(x.node.inShapes[0]!);
  const ceil = l.cfg.rounding === "ceil";
  const hw: PoolAxis[] = [
    { n: g.H, k: g.KH, s: g.SH, d: g.DH, pads: g.padTop + g.padBottom, out: g.OH },
    { n: g.W, k: g.KW, s: g.SW, d: g.DW, pads: g.padLeft + g.padRight, out: g.OW },
  ];
  if (l.is3d) {
    // fovea's [N, D, H, W, C] to ONNX's [N, C, D, H, W] and back
    const c3 = ceilMode(x, ceil, [{ n: g.D, k: g.KD, s: g.SD, d: g.DD, pads: g.padFront + g.padBack, out: g.OD }, ...hw]);
    const a3: Record<string, number | number[]> = {
      kernel_shape: [g.KD, g.KH, g.KW], strides: [g.SD, g.SH, g.SW], pads: [g.padFront, g.padTop, g.padLeft, g.padBack, g.padBottom, g.padRight],
      ceil_mode: c3.mode,
    };
    if (l.type === "avgPool3d") a3.count_include_pad = g.countIncludePad ? 1 : 0;
    else if (g.DD !== 1 || g.DH !== 1 || g.DW !== 1) a3.dilations = [g.DD, g.DH, g.DW];
    const ncdhw = x.op("Transpose", [x.inputs[0]!], { perm: [0, 4, 1, 2, 3] });
    const pooled = c3.crop(x.op(l.type === "maxPool3d" ? "MaxPool" : "AveragePool", [ncdhw], a3));
    return { out: x.op("Transpose", [pooled], { perm: [0, 2, 3, 4, 1] }) };
  }
  const c2 = ceilMode(x, ceil, hw);
  const attrs: Record<string, number | number[]> = { kernel_shape: [g.KH, g.KW], strides: [g.SH, g.SW], pads: [g.padTop, g.padLeft, g.padBottom, g.padRight], ceil_mode: c2.mode };
  if (l.type === "avgPool2d") attrs.count_include_pad = g.countIncludePad ? 1 : 0;
  if (g.DH !== 1 || g.DW !== 1) attrs.dilations = [g.DH, g.DW];
  if (l.type !== "maxPool2dIndices") return { out: c2.crop(x.op(l.type === "maxPool2d" ? "MaxPool" : "AveragePool", [x.inputs[0]!], attrs)) };
  // MaxPool's Indices count n·C·H·W + …: less each example's offset n·C·H·W, fovea's positions
  if ((l.cfg as Pool2dConfig).storageOrder === "column") attrs.storage_order = 1;
  const indices = c2.crop(x.opOutputs("MaxPool", [x.inputs[0]!], attrs, 2)[1]!);
  const i64 = (v: number[], dims: number[] = []) => x.init(dims, v, "i64");
  const n = x.op("Gather", [x.op("Shape", [x.inputs[0]!]), i64([0])], { axis: 0 });
  const offsets = x.op("Mul", [x.op("Range", [i64([0]), n, i64([1])]), i64([g.C * g.H * g.W])]);
  const within = x.op("Sub", [indices, x.op("Reshape", [offsets, i64([-1, 1, 1, 1], [4])])]);
  return { out: x.op("Cast", [within], { to: 1 }) };
};

const globalExport: Exporter = (x) => ({ out: x.op("Flatten", [x.op(x.layer.type === "globalAvgPool2d" ? "GlobalAveragePool" : "GlobalMaxPool", [x.inputs[0]!])], { axis: 1 }) });

export const exporters: Record<string, Exporter> = {
  maxPool2d: windowExport, avgPool2d: windowExport, maxPool2dIndices: windowExport, maxPool3d: windowExport, avgPool3d: windowExport,
  globalAvgPool2d: globalExport, globalMaxPool2d: globalExport,
  argMax(x) {
    // the last axis as fovea holds it: an image's channels (axis 1 of NCHW), else the last in fovea's order; the indices as floats
    const l = x.layer as ArgMax, s = x.node.inShapes[0]!;
    const input = s.length === 3 ? x.inputs[0]! : toFoveaOrder(x, x.inputs[0]!, s, x.inputFlatOf[0] ?? null);
    const am = x.op("ArgMax", [input], { axis: s.length === 3 ? 1 : s.length, keepdims: 1, ...(l.selectLast ? { select_last_index: 1 } : {}) });
    return { out: x.op("Cast", [am], { to: 1 }) };
  },
};
