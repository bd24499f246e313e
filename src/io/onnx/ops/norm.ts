// BatchNormalization (inference, moving statistics) ⇄ batchNorm, LRN ⇄ lrn; the scale layer
// exports as Mul + Add by per-channel constants (it imports from those, see merge.ts).
import * as L from "../../../layers/index.js";
import type { BatchNorm, Lrn } from "../../../layers/norm.js";
import type { Exporter, Importer } from "../context.js";

export const importers: Record<string, Importer> = {
  BatchNormalization(x) {
    if (x.int("training_mode", 0) !== 0 || x.n.output.filter(Boolean).length > 1) {
      x.fail("training_mode=1 (normalising by the batch's own statistics, and its running-statistics outputs) is not supported: fovea imports inference graphs");
    }
    if (x.opset < 9 && x.int("spatial", 1) !== 1) x.fail("spatial=0 (statistics per position) is not supported");
    const t0 = x.tensor(0), t = t0.onnx.length === 3 ? x.asImage(t0) : x.plain(t0);
    if (t.onnx.length !== 1 && t.onnx.length !== 3) x.fail(`input [N, ${t.onnx.join(", ")}]: batch normalisation of images [N, C, H, W] or features [N, C] is supported`);
    x.noPad(t);
    const lname = x.uniq("bn");
    const sym = x.apply(L.batchNorm({ epsilon: x.flt("epsilon", 1e-5), name: lname }), t.sym);
    ["gamma", "beta", "movingMean", "movingVariance"].forEach((p, i) => x.weight(lname, p, x.constant(i + 1).data));
    x.out({ ...t, sym });
  },
  LRN(x) {
    const t = x.asImage(x.tensor(0));
    x.noPad(t);
    const sym = x.apply(L.lrn({ size: x.int("size", 5), alpha: x.flt("alpha", 1e-4), beta: x.flt("beta", 0.75), k: x.flt("bias", 1), name: x.uniq("lrn") }), t.sym);
    x.out({ ...t, sym });
  },
};

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
