// Gemm / MatMul by a constant ⇄ dense. After a flatten of an image, the weights' rows go from
// ONNX's CHW feature order to fovea's HWC order (and back on export).
import * as L from "../../../layers/index.js";
import type { Dense } from "../../../layers/dense.js";
import { hwcRowOfChwFeature } from "../../layouts.js";
import type { Exporter, ImportNode, Importer } from "../context.js";
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
  x.weight(lname, "kernel", Float32Array.from(bw.data)); // [K, U] is the HWIO kernel [1, 1, K, U]
  const dims = [...d.slice(0, -1), U];
  x.out({ kind: "tensor", sym, onnx: dims, ...(dims.length === 3 ? { plain: true as const } : {}) });
}

const gemm: Importer = (x) => {
  const isGemm = x.op === "Gemm";
  const t0 = x.tensor(0);
  if (!isGemm && !t0.flatOf && (t0.onnx.length === 2 || t0.onnx.length === 3)) return matmulLastAxis(x, t0, x.constant(1));
  const a0 = t0, a = a0.flatOf ? a0 : x.plain(a0), bw = x.constant(1), c = isGemm && x.has(2) ? x.constant(2) : null;
  if (a.onnx.length !== 1) x.fail(`needs features [F], got [${a.onnx.join(", ")}] (flatten first)`);
  if (isGemm && x.int("transA", 0)) x.fail("transA is not supported");
  const transB = isGemm ? x.int("transB", 0) : 0;
  const alpha = isGemm ? x.flt("alpha", 1) : 1, beta = isGemm ? x.flt("beta", 1) : 1;
  if (bw.dims.length !== 2) x.fail(`weights [${bw.dims.join(", ")}]: a matrix (rank 2) is supported`);
  const [r, cc] = bw.dims as [number, number];
  const [F, U] = transB ? [cc, r] : [r, cc];
  if (F !== a.onnx[0]) x.fail(`weights [${bw.dims.join(", ")}] do not fit ${a.onnx[0]} input features`);
  const kernel = new Float32Array(F * U);
  const at = (f: number) => (a.flatOf ? hwcRowOfChwFeature(f, ...a.flatOf) : f);
  for (let f = 0; f < F; f++) for (let u = 0; u < U; u++) kernel[at(f) * U + u] = alpha * (transB ? bw.data[u * F + f]! : bw.data[f * U + u]!);
  const lname = x.uniq("dense");
  const sym = x.apply(L.dense({ units: U, useBias: !!c, name: lname }), a.sym);
  x.weight(lname, "kernel", kernel);
  if (c) {
    if (c.data.length !== U && c.data.length !== 1) x.fail(`bias of ${c.data.length} values for ${U} units`);
    x.weight(lname, "bias", Float32Array.from({ length: U }, (_, u) => beta * c.data[c.data.length === 1 ? 0 : u]!));
  }
  x.out({ kind: "tensor", sym, onnx: [U] });
};

export const importers: Record<string, Importer> = { Gemm: gemm, MatMul: gemm };

export const exporters: Record<string, Exporter> = {
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
