// Add / Sub / Mul / Div: of two computed tensors (Add only: residual connections) ⇄ add, or of a
// tensor and a per-channel constant → a scale layer. Concat: of constants (shape arithmetic,
// folded), or of tensors on the channel axis ⇄ concat. maxout exports as Reshape + ReduceMax.
import * as L from "../../../layers/index.js";
import type { Maxout } from "../../../layers/activation.js";
import type { Exporter, Importer } from "../context.js";

const arithmetic: Importer = (x) => {
  const [a0, b0] = [x.get(0), x.get(1)];
  if (a0.kind === "tensor" && b0.kind === "tensor") {
    if (x.op !== "Add") x.fail("only Add of two computed tensors is supported (residual connections)");
    [a0, b0].forEach((t) => x.noPad(t));
    if (a0.onnx.join() !== b0.onnx.join()) x.fail(`shapes [${a0.onnx.join(", ")}] and [${b0.onnx.join(", ")}] differ (broadcasting is not supported)`);
    x.out({ ...a0, sym: x.apply(L.add({ name: x.uniq("add") }), a0.sym, b0.sym) });
    return;
  }
  // a tensor and a constant that broadcasts per channel (scalar, [C], [C,1,1] or [1,C,1,1]): a scale layer
  const tIdx = a0.kind === "tensor" ? 0 : 1;
  const t = x.tensor(tIdx), c = x.constant(1 - tIdx);
  x.noPad(t);
  const C = t.onnx[0]!, rank = t.onnx.length + 1;
  const cd = [...c.dims];
  while (cd.length < rank) cd.unshift(1); // numpy broadcasting aligns from the right
  const perChannel = c.data.length === 1 || (cd.length === rank && cd.every((d, i) => (i === 1 ? d === C : d === 1)));
  if (!perChannel) x.fail(`a constant of shape [${c.dims.join(", ")}] does not broadcast per channel over [N, ${t.onnx.join(", ")}]`);
  const v = (i: number) => c.data[c.data.length === 1 ? 0 : i]!;
  const sc = new Float32Array(C).fill(1), sh = new Float32Array(C);
  for (let i = 0; i < C; i++) {
    if (x.op === "Mul") sc[i] = v(i);
    else if (x.op === "Add") sh[i] = v(i);
    else if (x.op === "Sub") {
      if (tIdx === 0) sh[i] = -v(i);
      else { sc[i] = -1; sh[i] = v(i); }
    } else {
      if (tIdx !== 0) x.fail("dividing a constant by a tensor is not supported");
      sc[i] = 1 / v(i);
    }
  }
  const lname = x.uniq("scale");
  x.weight(lname, "scale", sc);
  x.weight(lname, "shift", sh);
  x.out({ ...t, sym: x.apply(L.scale({ name: lname }), t.sym) });
};

export const importers: Record<string, Importer> = {
  Add: arithmetic, Sub: arithmetic, Mul: arithmetic, Div: arithmetic,
  Concat(x) {
    const vs = Array.from({ length: x.inputs }, (_, i) => x.get(i));
    if (vs.every((v) => v.kind === "const")) {
      x.out({ kind: "const", dims: [vs.reduce((a, v) => a + (v as { data: ArrayLike<number> }).data.length, 0)], data: vs.flatMap((v) => Array.from((v as { data: ArrayLike<number> }).data)) });
      return;
    }
    const ts = vs.map((_, i) => x.tensor(i));
    const axis = x.int("axis", 1), rank = ts[0]!.onnx.length + 1;
    if ((axis < 0 ? axis + rank : axis) !== 1) x.fail(`concat on axis ${axis}: only the channel / feature axis (1) is supported`);
    ts.forEach((t) => x.noPad(t));
    const sym = x.apply(L.concat({ name: x.uniq("concat") }), ...ts.map((t) => t.sym));
    x.out({ kind: "tensor", sym, onnx: [ts.reduce((a, t) => a + t.onnx[0]!, 0), ...ts[0]!.onnx.slice(1)] });
  },
};

export const exporters: Record<string, Exporter> = {
  add(x) {
    let out = x.op("Add", x.inputs.slice(0, 2));
    for (const i of x.inputs.slice(2)) out = x.op("Add", [out, i]);
    return { out };
  },
  concat: (x) => ({ out: x.op("Concat", x.inputs, { axis: 1 }) }),
  maxout(x) {
    // groups of `pieces` consecutive channels: [N, C, (H, W)] → [N, C/k, k, (H, W)], max over the k axis
    const s = x.node.inShapes[0]!, C = s[s.length - 1]!, k = (x.layer as Maxout).pieces;
    const spatial = s.length === 3 ? [s[0]!, s[1]!] : [];
    const grouped = x.op("Reshape", [x.inputs[0]!, x.init([3 + spatial.length], [0, C / k, k, ...spatial], "i64")]);
    return { out: x.op("ReduceMax", [grouped], { axes: [2], keepdims: 0 }) };
  },
};
