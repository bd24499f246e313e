// Constants, shape arithmetic and layout: Constant, Identity/Dropout/Cast, Shape, Gather,
// (Un)Squeeze, Reshape/Flatten, Transpose, Pad — and the export of flatten, permute and dropout.
import { ConfigError, show } from "../../../errors.js";
import * as L from "../../../layers/index.js";
import type { Permute } from "../../../layers/reshape.js";
import type { Exporter, Importer } from "../context.js";
import { N, num, same, tensorValues } from "../model.js";

export const importers: Record<string, Importer> = {
  Constant(x) {
    const t = x.attr("value")?.t ?? x.fail("only the `value` tensor form is supported");
    x.out({ kind: "const", dims: t.dims.map(num), data: tensorValues(t, x.where) });
  },
  Identity: (x) => x.out(x.get(0)),
  Dropout: (x) => x.out(x.get(0)),
  Cast: (x) => x.out(x.get(0)),
  Shape(x) {
    const t = x.tensor(0);
    x.out({ kind: "const", dims: [t.onnx.length + 1], data: [N, ...t.onnx] });
  },
  Gather(x) {
    const d = x.constant(0), idx = x.constant(1);
    if (x.int("axis", 0) !== 0 || d.dims.length !== 1) x.fail("only gathering from a 1-D constant is supported");
    x.out({ kind: "const", dims: idx.dims, data: Array.from(idx.data, (i) => d.data[i < 0 ? i + d.data.length : i]!) });
  },
  Unsqueeze: squeeze,
  Squeeze: squeeze,
  Reshape: flatten,
  Flatten: flatten,
  Transpose(x) {
    const c = x.get(0);
    if (c.kind === "const") {
      // constant folding (weights stored transposed)
      const r = c.dims.length, p = x.ints("perm") ?? Array.from({ length: r }, (_, i) => r - 1 - i);
      if (!same([...p].sort((a, b) => a - b), Array.from({ length: r }, (_, i) => i))) x.fail(`perm [${p.join(", ")}] is not a permutation of ${r} axes`);
      const dims = p.map((a) => c.dims[a]!);
      const inStride = c.dims.map((_, i) => c.dims.slice(i + 1).reduce((a, b) => a * b, 1));
      const data = new Float32Array(c.data.length);
      const idx = new Array<number>(r).fill(0);
      for (let o = 0; o < data.length; o++) {
        let from = 0;
        for (let k = 0; k < r; k++) from += idx[k]! * inStride[p[k]!]!;
        data[o] = c.data[from]!;
        for (let k = r - 1; k >= 0 && ++idx[k]! === dims[k]; k--) idx[k] = 0;
      }
      x.out({ kind: "const", dims, data });
      return;
    }
    // on tensors, layout changes only: NCHW ⇄ NHWC around a flatten or at the input, identity perms
    const t = x.tensor(0);
    x.noPad(t);
    const perm = x.ints("perm") ?? Array.from({ length: t.onnx.length + 1 }, (_, i) => t.onnx.length - i);
    const rank = perm.length;
    if (same(perm, Array.from({ length: rank }, (_, i) => i))) x.out(t);
    // a globally pooled [N, C, 1, 1] (held as [C] features): any order of C and the 1s is the same data
    else if (t.onnx.length === 1 && rank === 4 && perm[0] === 0 && same([...perm].sort(), [0, 1, 2, 3])) x.out(t);
    else if (rank === 4 && !t.nhwc && same(perm, [0, 2, 3, 1])) {
      const [C, H, W] = t.onnx as [number, number, number];
      x.out({ ...t, onnx: [H, W, C], nhwc: true });
    } else if (rank === 4 && t.nhwc && same(perm, [0, 3, 1, 2])) {
      const [H, W, C] = t.onnx as [number, number, number];
      const { nhwc: _, ...rest } = t;
      x.out({ ...rest, onnx: [C, H, W] });
    } else x.fail(`perm [${perm.join(", ")}] of [N, ${t.onnx.join(", ")}] is not a layout change fovea can absorb (NCHW ⇄ NHWC only)`);
  },
  Pad(x) {
    const t = x.tensor(0);
    const mode = x.str("mode", "constant");
    const pads = x.has(1) ? Array.from(x.constant(1).data) : x.ints("pads", []);
    const value = x.has(2) ? Array.from(x.constant(2).data)[0] ?? 0 : x.flt("value", 0);
    if (mode !== "constant" || value !== 0) x.fail(`only zero padding is supported (mode ${mode}, value ${value})`);
    if (pads.length !== 8 || pads[0] || pads[1] || pads[4] || pads[5]) x.fail("only spatial padding of NCHW images is supported");
    const prev = t.pad ?? [0, 0, 0, 0];
    x.out({ ...t, pad: [prev[0] + pads[2]!, prev[1] + pads[6]!, prev[2] + pads[3]!, prev[3] + pads[7]!] });
  },
};

function squeeze(x: Parameters<Importer>[0]): void {
  const d = x.get(0);
  if (d.kind !== "const") x.fail("only constants (shape arithmetic) are supported");
  x.out({ kind: "const", dims: [d.data.length], data: d.data });
}

function flatten(x: Parameters<Importer>[0]): void {
  const t = x.tensor(0);
  x.noPad(t);
  let target: number[];
  if (x.op === "Flatten") {
    if (x.int("axis", 1) !== 1) x.fail("only axis 1 (keep the batch) is supported");
    target = [N, -1];
  } else target = Array.from(x.constant(1).data);
  const size = t.onnx.reduce((a, b) => a * b, 1);
  const rest = target.slice(1);
  const flat = (target[0] === N || target[0] === 0 || target[0] === -1) && rest.length === 1 && (rest[0] === -1 || rest[0] === size);
  if (!flat) x.fail(`reshape to ${show(target.map((d) => (d === N ? "N" : d)))}: only flattening to [N, features] is supported`);
  if (t.onnx.length === 1) x.out(t);
  else if (t.nhwc) {
    // ONNX flattens H, W, C in that order: fovea's own order, so the Gemm after needs no permutation
    x.out({ kind: "tensor", sym: x.apply(L.flatten({ name: x.uniq("flatten") }), t.sym), onnx: [size] });
  } else {
    const [C, H, W] = x.image(t);
    // a 1×1 image flattens the same way in NCHW and NHWC
    const sym = x.apply(L.flatten({ name: x.uniq("flatten") }), t.sym);
    x.out({ kind: "tensor", sym, onnx: [size], ...(H * W > 1 ? { flatOf: [C, H, W] as [number, number, number] } : {}) });
  }
}

const flattenExport: Exporter = (x) => {
  if (x.layer.type !== "flatten") throw new ConfigError(`${x.label}: reshape does not export (only flatten)`);
  const s = x.node.inShapes[0]!;
  return {
    out: s.length === 1 ? x.inputs[0]! : x.op("Flatten", [x.inputs[0]!], { axis: 1 }),
    flatOf: s.length === 3 && s[0]! * s[1]! > 1 ? [s[2]!, s[0]!, s[1]!] : null,
  };
};

export const exporters: Record<string, Exporter> = {
  flatten: flattenExport,
  reshape: flattenExport,
  permute(x) {
    // the ONNX input is NCHW: only the model's leading NCHW → NHWC permute exports (as nothing)
    if (!(x.index === 0 && (x.layer as Permute).perm.join() === "1,2,0")) throw new ConfigError(`${x.label}: only a leading NCHW→NHWC permute exports (the ONNX input is NCHW)`);
    return { out: x.inputs[0]! };
  },
  dropout: (x) => ({ out: x.inputs[0]!, flatOf: x.inputFlatOf[0] }),
};
