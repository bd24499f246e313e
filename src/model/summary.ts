// model.summary(): layers, output shapes, parameter counts, FLOPs and activation memory.
import { counted, size } from "../layers/layer.js";
import { formatShape } from "../tensor.js";
import { checkModel } from "../errors.js";
import type { ModelView } from "./view.js";

export interface SummaryRow {
  name: string;
  type: string;
  outputShape: number[];
  params: number;
  /** Per example, 2 per multiply-add. */
  flops: number;
}

export function summaryRows(m: ModelView): SummaryRow[] {
  checkModel(m, "summaryRows");
  return m.nodes.map((n) => ({
    name: n.layer.name,
    type: n.layer.type,
    outputShape: [...n.outShape],
    params: n.params.filter((p) => p.spec.trainable).reduce((a, p) => a + p.size, 0),
    flops: n.layer.flops(n.inShapes, n.outShape),
  }));
}

const num = (v: number) => v.toLocaleString("en-US");
const human = (v: number) => (v >= 1e9 ? `${(v / 1e9).toFixed(2)} G` : v >= 1e6 ? `${(v / 1e6).toFixed(2)} M` : v >= 1e3 ? `${(v / 1e3).toFixed(1)} k` : `${v}`);

export function summaryText(m: ModelView): string {
  const rows = summaryRows(m);
  const head = ["layer (type)", "output shape", "params", "FLOPs"];
  const lines = [head, ...rows.map((r) => [`${r.name} (${r.type})`, formatShape([-1, ...r.outputShape]).replace("-1", "N"), num(r.params), human(r.flops)])];
  const w = head.map((_, i) => Math.max(...lines.map((l) => l[i]!.length)));
  const fmt = (l: string[]) => l.map((c, i) => (i === 0 ? c.padEnd(w[i]!) : c.padStart(w[i]!))).join("  ");
  const rule = "-".repeat(w.reduce((a, b) => a + b + 2, -2));
  const trainable = m.countParams(true), all = m.countParams(false);
  // a tied group (Model.tie) is one tensor: counted once in the totals (each layer's row counts its copy)
  const frozen = m.params.filter((p) => p.frozen && p.spec.trainable && counted(p)).reduce((a, p) => a + p.size, 0);
  const shared = m.params.filter((p) => !counted(p)).reduce((a, p) => a + p.size, 0);
  // the rest is not trained: batch norms' moving statistics, and constants (an imported graph's: a constant layer, a binary layer's operand)
  const stats = m.nodes.filter((n) => n.layer.type === "batchNorm").reduce((a, n) => a + n.params.filter((p) => !p.spec.trainable && counted(p)).reduce((b, p) => b + p.size, 0), 0);
  const constants = all - trainable - frozen - stats;
  const acts = rows.reduce((a, r) => a + size(r.outputShape), 0);
  const flops = rows.reduce((a, r) => a + r.flops, 0);
  return [
    `model "${m.name}": input [N, ${m.inputShape.join(", ")}]`,
    rule, fmt(lines[0]!), rule, ...lines.slice(1).map(fmt), rule,
    `trainable params: ${num(trainable)}${frozen ? `   frozen: ${num(frozen)}` : ""}${stats ? `   non-trainable (batch-norm statistics): ${num(stats)}` : ""}${constants ? `   constants: ${num(constants)}` : ""}${shared ? `   tied (read by several layers, counted once): ${num(shared)} in the rows' copies` : ""}`,
    `FLOPs per example: ${human(flops)}   activations per example: ${num(acts)} floats (${human(acts * 4)}B)`,
  ].join("\n");
}
