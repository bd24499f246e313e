// Gemm / MatMul by a constant ⇄ dense. After a flatten of an image, the weights' rows go from
// ONNX's CHW feature order to fovea's HWC order (and back on export).
import * as L from "../../../layers/index.js";
import type { Dense } from "../../../layers/dense.js";
import { hwcRowOfChwFeature } from "../../layouts.js";
import type { Exporter, Importer } from "../context.js";

const gemm: Importer = (x) => {
  const isGemm = x.op === "Gemm";
  const a0 = x.tensor(0), a = a0.flatOf ? a0 : x.plain(a0), bw = x.constant(1), c = isGemm && x.has(2) ? x.constant(2) : null;
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
