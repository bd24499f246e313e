// Gemm / MatMul by a constant ⇄ dense (a MatMul over the last axis of larger data: a 1×1 conv; of
// two computed tensors: the matmul layer, exported as MatMul). After a flatten of an image, the weights' rows go from
// ONNX's CHW feature order to fovea's HWC order (and back on export).
import { ConfigError } from "../../../errors.js";
import * as L from "../../../layers/index.js";
import type { Dense } from "../../../layers/dense.js";
import { hwcRowOfChwFeature } from "../../layouts.js";
import { transposed } from "../../../tensor.js";
import { broadcastShape } from "../../../ops/eltwise.js";
import { attribute, subNode, type Exporter, type ImportNode, type Importer } from "../context.js";
import { same, type ConstValue, type TensorValue } from "../model.js";

/** MatMul of data [N, …, K] (rank 3 or 4) by a constant [K, U]: a 1×1 conv over the last axis, the data in ONNX's order held as an NHWC image. */
function matmulLastAxis(x: ImportNode, t: TensorValue, bw: ConstValue): void {
  if (bw.dims.length !== 2) x.fail(`weights [${bw.dims.join(", ")}]: a matrix (rank 2) is supported`);
  const [K, U] = bw.dims as [number, number], d = t.onnx;
  if (d[d.length - 1] !== K) x.fail(`weights [${bw.dims.join(", ")}] do not fit the last axis of [N, ${d.join(", ")}]`);
  const p = x.plain(t), held = d.length === 2 ? [d[0]!, 1, K] : d;
  const img = same([...p.sym.shape], held) ? p.sym : x.apply(L.reshape({ targetShape: held, name: x.uniq("matmul_in") }), p.sym);
  const lname = x.uniq("matmul");
  const sym = x.apply(L.conv2d({ filters: U, kernelSize: 1, useBias: false, name: lname }), img);
  x.weight(lname, "kernel", Float32Array.from(bw.data), x.source(1, "matmul")); // [K, U] is the HWIO kernel [1, 1, K, U]
  const dims = [...d.slice(0, -1), U];
  x.out({ kind: "tensor", sym, onnx: dims, ...(dims.length === 3 ? { plain: true as const } : {}) });
}

/** MatMul of two computed tensors [..., M, K] · [..., K, N] with the same leading axes: a matmul layer. */
function matmulData(x: ImportNode, a0: TensorValue, b0: TensorValue): void {
  const a = x.plain(a0), b = x.plain(b0), da = a.onnx, db = b.onnx, r = da.length;
  if (r < 2 || db.length !== r || !same(da.slice(0, -2), db.slice(0, -2)) || da[r - 1] !== db[r - 2]) {
    x.fail(`shapes [N, ${da.join(", ")}] · [N, ${db.join(", ")}]: [N, ..., M, K] · [N, ..., K, N'] with the same leading axes are supported (no broadcasting)`);
  }
  const sym = x.apply(L.matmul({ name: x.uniq("matmul") }), a.sym, b.sym);
  const dims = [...da.slice(0, -1), db[r - 1]!];
  x.out({ kind: "tensor", sym, onnx: dims, ...(dims.length === 3 ? { plain: true as const } : {}) });
}

/**
 * Gemm of one whole matrix A [M, K] (an input taken whole: see import.ts) by a constant: op(A)
 * (transA: a permute) as the image [M, 1, K] through a 1×1 conv by α·op(B), then β·C broadcast to
 * [M, N] added by a binary layer.
 */
function gemmWhole(x: ImportNode, t0: TensorValue): void {
  if (t0.onnx.length !== 2) x.fail(`A ${x.dims(t0)}: a matrix is supported`);
  const bw = x.constant(1), c = x.has(2) ? x.constant(2) : null;
  const transA = x.int("transA", 0), transB = x.int("transB", 0), alpha = x.flt("alpha", 1), beta = x.flt("beta", 1);
  const [r0, c0] = t0.onnx as [number, number], [M, K] = transA ? [c0, r0] : [r0, c0];
  if (bw.dims.length !== 2) x.fail(`B [${bw.dims.join(", ")}]: a matrix (rank 2) is supported`);
  const [K2, N] = (transB ? [bw.dims[1], bw.dims[0]] : bw.dims) as [number, number];
  if (K2 !== K) x.fail(`op(A) [${M}, ${K}] · op(B) [${K2}, ${N}]: the inner sizes differ`);
  const p = x.plain(t0);
  let a = x.apply(L.reshape({ targetShape: [1, r0, c0], name: x.uniq("gemm_a") }), p.sym);
  if (transA) a = x.apply(L.permute({ perm: [0, 2, 1], name: x.uniq("gemm_transpose_a") }), a);
  const img = x.apply(L.reshape({ targetShape: [M, 1, K], name: x.uniq("gemm_rows") }), a);
  const lname = x.uniq("gemm");
  let sym = x.apply(L.conv2d({ filters: N, kernelSize: 1, useBias: false, name: lname }), img);
  x.weight(lname, "kernel", Float32Array.from({ length: K * N }, (_, i) => alpha * (transB ? bw.data[(i % N) * K + Math.floor(i / N)]! : bw.data[i]!)), x.source(1, `gemm rows ${alpha} ${transB}`));
  sym = x.apply(L.reshape({ targetShape: [M, N], name: x.uniq("gemm_out") }), sym);
  if (c) {
    const dims = broadcastShape([M, N], c.dims);
    if (!dims || dims.join() !== [M, N].join()) x.fail(`C [${c.dims.join(", ")}] does not broadcast to [${M}, ${N}]`);
    const bname = x.uniq("gemm_c");
    sym = x.apply(L.binary({ op: "add", constantShape: c.dims.length ? c.dims : [1], name: bname }), sym);
    x.weight(bname, "constant", Float32Array.from(c.data, (v) => beta * v));
  }
  x.out({ kind: "tensor", sym, onnx: [M, N] });
}

/**
 * MatMul(C, X) of a constant matrix C [M, K] and data X [.., K, P]: (Xᵀ·Cᵀ)ᵀ, the last two axes of
 * the data swapped before and after a MatMul by the constant (the same products; `torch.matmul(w, x)`).
 */
function matmulConstantFirst(x: ImportNode, c: ConstValue, t: TensorValue): void {
  const rank = x.rank(t.onnx), base = `${x.n.output[0]}#matmul`;
  if (c.dims.length !== 2) x.fail(`a constant first operand of shape [${c.dims.join(", ")}]: a matrix (rank 2) is supported`);
  if (rank - x.g.lead < 2) x.fail(`a constant matrix times ${x.dims(t)}: the data needs two axes of its own [K, P]`);
  const [M, K] = c.dims as [number, number];
  const perm = Array.from({ length: rank }, (_, i) => (i === rank - 2 ? rank - 1 : i === rank - 1 ? rank - 2 : i));
  x.g.values.set(`${base}_ct`, { kind: "const", dims: [K, M], data: transposed(c.data, M, K) });
  x.g.importNodes([
    subNode(x, "Transpose", [x.n.input[1]!], `${base}_xt`, [attribute("perm", { ints: perm })]),
    subNode(x, "MatMul", [`${base}_xt`, `${base}_ct`], `${base}_p`),
    subNode(x, "Transpose", [`${base}_p`], x.n.output[0]!, [attribute("perm", { ints: perm })]),
  ]);
}

const gemm: Importer = (x) => {
  const isGemm = x.op === "Gemm";
  const a0v = x.get(0), b0v = x.get(1);
  if (!isGemm && a0v.kind === "const" && b0v.kind === "tensor") return matmulConstantFirst(x, x.value(a0v), b0v);
  const t0 = x.tensor(0);
  if (isGemm && !x.g.lead) return gemmWhole(x, t0);
  const b1 = x.get(1);
  if (!isGemm && b1.kind === "tensor") return matmulData(x, t0, b1);
  if (!isGemm && !t0.flatOf && (t0.onnx.length === 2 || t0.onnx.length === 3)) return matmulLastAxis(x, t0, x.constant(1));
  const a0 = t0, a = a0.flatOf ? a0 : x.plain(a0), bw = x.constant(1), c = isGemm && x.has(2) ? x.constant(2) : null;
  if (a.onnx.length !== 1) x.fail(`needs features [F], got [${a.onnx.join(", ")}] (flatten first)`);
  if (isGemm && x.int("transA", 0)) x.mixesBatch("transA transposes the batch axis of A [N, F]; fovea keeps the examples of a batch apart");
  const transB = isGemm ? x.int("transB", 0) : 0;
  const alpha = isGemm ? x.flt("alpha", 1) : 1, beta = isGemm ? x.flt("beta", 1) : 1;
  if (bw.dims.length !== 2) x.fail(`weights [${bw.dims.join(", ")}]: a matrix (rank 2) is supported`);
  const [r, cc] = bw.dims as [number, number];
  const [F, U] = transB ? [cc, r] : [r, cc];
  if (F !== a.onnx[0]) x.fail(`weights [${bw.dims.join(", ")}] do not fit ${a.onnx[0]} input features`);
  const kernel = new Float32Array(F * U), d = bw.data, flat = a.flatOf;
  // row f of op(B) goes to fovea's row of feature f; in blocks of 64 × 64, so that a transposed B
  // (PyTorch's Linear: transB) is read and written a cache line at a time (a 16384 × 4096 matrix:
  // the element-by-element loop took 1.3 s of a 4.4 s import)
  const rows = Int32Array.from({ length: F }, (_, f) => (flat ? hwcRowOfChwFeature(f, ...flat) : f));
  const BLOCK = 64;
  for (let f0 = 0; f0 < F; f0 += BLOCK) {
    const f1 = Math.min(F, f0 + BLOCK);
    for (let u0 = 0; u0 < U; u0 += BLOCK) {
      const u1 = Math.min(U, u0 + BLOCK);
      for (let f = f0; f < f1; f++) {
        const o = rows[f]! * U;
        if (transB) for (let u = u0; u < u1; u++) kernel[o + u] = alpha * d[u * F + f]!;
        else for (let u = u0; u < u1; u++) kernel[o + u] = alpha * d[f * U + u]!;
      }
    }
  }
  const lname = x.uniq("dense");
  const sym = x.apply(L.dense({ units: U, useBias: !!c, name: lname }), a.sym);
  x.weight(lname, "kernel", kernel, x.source(1, `dense ${alpha} ${transB} ${flat ? flat.join(" ") : ""}`));
  if (c) {
    if (c.dims.length === 2 && c.dims[0] !== 1) x.mixesBatch(`C [${c.dims.join(", ")}] varies along the batch axis of A; fovea keeps the examples of a batch apart`);
    if (c.data.length !== U && c.data.length !== 1) x.fail(`bias of ${c.data.length} values for ${U} units`);
    x.weight(lname, "bias", Float32Array.from({ length: U }, (_, u) => beta * c.data[c.data.length === 1 ? 0 : u]!), x.source(2, `dense bias ${beta} ${c.data.length} ${U}`));
  }
  x.out({ kind: "tensor", sym, onnx: [U] });
};

export const importers: Record<string, Importer> = { Gemm: gemm, MatMul: gemm };

/** dense takes features flattened from an image as ONNX holds them (CHW order): it permutes its weight rows to match. */
export const flatAware = ["dense"];

export const exporters: Record<string, Exporter> = {
  matmul(x) {
    // [M, K] · [K, N] per example ([N, M, K] in ONNX); higher ranks are images to the exporter
    if (x.node.inShapes[0]!.length !== 2) throw new ConfigError(`${x.label}: a matmul of rank-${x.node.inShapes[0]!.length} examples does not export (rank 2 does)`);
    return { out: x.op("MatMul", x.inputs.slice(0, 2)) };
  },
  dense(x) {
    const [F, U] = x.node.params[0]!.spec.shape as [number, number];
    const src = x.w("kernel"), kernel = new Float32Array(src.length);
    const from = x.inputFlatOf[0];
    for (let f = 0; f < F; f++) {
      const row = from ? hwcRowOfChwFeature(f, ...from) : f;
      for (let u = 0; u < U; u++) kernel[f * U + u] = src[row * U + u]!;
    }
    const ins = [x.inputs[0]!, x.init([F, U], kernel)];
    if (x.node.params[1]) ins.push(x.init([U], x.w("bias")));
    return { out: x.act(x.op("Gemm", ins), (x.layer as Dense).act) };
  },
};
