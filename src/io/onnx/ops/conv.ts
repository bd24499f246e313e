// Conv (grouped and depthwise, dilated, asymmetric and auto padding, a Pad folded in) ⇄ conv2d /
// depthwiseConv2d, weights OIHW ⇄ HWIO; ConvTranspose ⇄ conv2dTranspose (1-D and 2-D in, 2-D out),
// and on volumes ⇄ conv3dTranspose, weights [C_in, F, KD, KH, KW] ⇄ [KD, KH, KW, F, C_in].
import * as L from "../../../layers/index.js";
import type { Conv2d } from "../../../layers/conv.js";
import type { Conv2dTranspose } from "../../../layers/conv-transpose.js";
import type { Conv3dTranspose } from "../../../layers/conv-transpose3d.js";
import { floorRulePads } from "../../../ops/window.js";
import { dhwOiToIoDhw, hwioToOihw, ioDhwToDhwOi, oihwToHwio } from "../../layouts.js";
import type { Exporter, Importer, ImportNode } from "../context.js";

export const importers: Record<string, Importer> = {
  ConvTranspose(x) {
    // [N, C, D, H, W]: a 3-D transposed conv
    if (x.tensor(0).onnx.length === 4 && x.g.lead) return convTranspose3d(x);
    const t = x.windowInput(x.tensor(0)), w = x.constant(1), b = x.has(2) ? x.constant(2) : null;
    const [C] = x.image(t);
    if (w.dims.length !== (x.oneD ? 3 : 4)) x.fail(`weights [${w.dims.join(", ")}]: a ${x.oneD ? 1 : 2}-D transposed convolution has [C_in, C_out/group, ${x.oneD ? "K" : "KH, KW"}] weights`);
    const [CI, Cg, KH, KW] = (x.oneD ? [...w.dims, 1] : w.dims) as [number, number, number, number];
    const group = x.int("group", 1);
    if (CI !== C || C % group) x.fail(`weights [${w.dims.join(", ")}] with group ${group} do not fit ${C} input channels`);
    const strides = x.wints("strides", [1, 1]), dilations = x.wints("dilations", [1, 1]), op = x.wints("output_padding", [0, 0], 0);
    let pads = x.wints("pads", [0, 0, 0, 0]);
    for (const [what, v, n] of [["strides", strides, 2], ["dilations", dilations, 2], ["pads", pads, 4], ["output_padding", op, 2]] as const) if (v.length !== n) x.fail(`${what} [${v.join(", ")}]: ${n} values expected (2-D)`);
    // output_shape or auto_pad SAME_*: the pads that give that output (transposeSplit)
    const autoPad = x.str("auto_pad", "NOTSET"), shape = x.attr("output_shape") ? x.wints("output_shape", []).slice(-2) : null;
    if (autoPad !== "NOTSET" && autoPad !== "SAME_UPPER" && autoPad !== "SAME_LOWER" && autoPad !== "VALID") x.fail(`auto_pad ${autoPad} is not an ONNX value`);
    if (shape || autoPad === "SAME_UPPER" || autoPad === "SAME_LOWER") {
      const [, H, W] = t.onnx as [number, number, number], size = [H, W], k = [KH, KW];
      const out = shape ?? size.map((n, i) => n * strides[i]!);
      if (out.length !== 2) x.fail(`output_shape [${out.join(", ")}]: 2 values expected`);
      const begin: number[] = [], end: number[] = [];
      for (let i = 0; i < 2; i++) {
        const [b, e] = transposeSplit(x, autoPad, strides[i]! * (size[i]! - 1) + op[i]! + (k[i]! - 1) * dilations[i]! + 1 - out[i]!);
        begin.push(b);
        end.push(e);
      }
      if (end.some((e, i) => e < 0 && (-e + op[i]! >= strides[i]! || begin[i]! > 0))) x.fail(`output_shape [${out.join(", ")}] is larger than the full output by a stride or more`);
      end.forEach((e, i) => { if (e < 0) { op[i] = op[i]! - e; end[i] = 0; } });
      pads = [begin[0]!, begin[1]!, end[0]!, end[1]!];
    } else if (autoPad === "VALID") pads = [0, 0, 0, 0];
    const lname = x.uniq("convtranspose");
    const sym = x.apply(L.conv2dTranspose({
      filters: Cg * group, kernelSize: [KH, KW], strides: strides as [number, number], dilation: dilations as [number, number],
      padding: [pads[0]!, pads[2]!, pads[1]!, pads[3]!], outputPadding: op as [number, number], groups: group, useBias: !!b, name: lname,
    }), t.sym);
    // [C_in, C_out/group, KH, KW] are the OIHW weights of the conv it transposes
    // (its kernel is laid out as a conv's of the same weights: a conv and a transposed conv of one tensor, an
    // autoencoder's encoder and decoder, hold it alike and are tied)
    x.weight(lname, "kernel", oihwToHwio(w.data, CI, Cg, KH, KW), x.source(1, `oihw>hwio ${CI} ${Cg} ${KH} ${KW}`));
    if (b) x.weight(lname, "bias", b.data, x.source(2, "bias"));
    x.windowOut({ kind: "tensor", sym, onnx: [Cg * group, sym.shape[0]!, sym.shape[1]!] });
  },
  Conv(x) {
    const t = x.windowInput(x.tensor(0)), w = x.constant(1), b = x.has(2) ? x.constant(2) : null;
    const [C] = x.image(t);
    if (w.dims.length !== (x.oneD ? 3 : 4)) x.fail(`weights [${w.dims.join(", ")}]: a ${x.oneD ? "1-D convolution has OIK weights (rank 3)" : "2-D convolution has OIHW weights (rank 4)"}`);
    const [OC, Cg, KH, KW] = (x.oneD ? [...w.dims, 1] : w.dims) as [number, number, number, number];
    const ks = x.wints("kernel_shape", [KH, KW]);
    if (ks.length !== 2 || ks[0] !== KH || ks[1] !== KW) x.fail(`kernel_shape [${ks.join(", ")}] does not match the weights [${w.dims.join(", ")}]`);
    const group = x.int("group", 1);
    if (Cg * group !== C) x.fail(`weights [${w.dims.join(", ")}] with group ${group} do not fit ${C} input channels`);
    const strides = x.wints("strides", [1, 1]), dilations = x.wints("dilations", [1, 1]);
    const pads = x.windowPads(t, [KH, KW], strides, dilations);
    const extra = t.pad ?? [0, 0, 0, 0];
    const padding = [pads[0]! + extra[0], pads[2]! + extra[1], pads[1]! + extra[2], pads[3]! + extra[3]] as [number, number, number, number];
    const common = { kernelSize: [KH, KW] as [number, number], strides: strides as [number, number], dilation: dilations as [number, number], padding, useBias: !!b, rounding: "floor" as const };
    const lname = x.uniq("conv");
    const layer = group === C && Cg === 1 && group > 1
      ? L.depthwiseConv2d({ ...common, depthMultiplier: OC / C, name: lname })
      : L.conv2d({ ...common, filters: OC, groups: group, name: lname });
    const sym = x.apply(layer, t.sym);
    x.weight(lname, "kernel", oihwToHwio(w.data, OC, Cg, KH, KW), x.source(1, `oihw>hwio ${OC} ${Cg} ${KH} ${KW}`));
    if (b) x.weight(lname, "bias", b.data, x.source(2, "bias"));
    x.windowOut({ kind: "tensor", sym, onnx: [OC, sym.shape[0]!, sym.shape[1]!] });
  },
};

/** ConvTranspose on [N, C, D, H, W] (group 1) → conv3dTranspose on fovea's [D, H, W, C]; weights [C_in, F, KD, KH, KW] → [KD, KH, KW, F, C_in]. */
function convTranspose3d(x: ImportNode): void {
  const t = x.tensor(0), w = x.constant(1), b = x.has(2) ? x.constant(2) : null;
  const [C, D, H, W] = t.onnx as [number, number, number, number];
  if (w.dims.length !== 5) x.fail(`weights [${w.dims.join(", ")}]: a 3-D transposed convolution has [C_in, C_out/group, KD, KH, KW] weights`);
  const [CI, F, KD, KH, KW] = w.dims as [number, number, number, number, number];
  if (x.int("group", 1) !== 1) x.fail(`group ${x.int("group", 1)}: grouped 3-D transposed convolutions are not supported`);
  if (CI !== C) x.fail(`weights [${w.dims.join(", ")}] do not fit ${C} input channels`);
  if (b && b.data.length !== F) x.fail(`bias of ${b.data.length} values for ${F} output channels`);
  const three = (k: string, d: number[], n = 3) => {
    const v = x.ints(k, d);
    if (v.length !== n) x.fail(`${k} [${v.join(", ")}]: ${n} values expected (3-D)`);
    return v;
  };
  const ks = three("kernel_shape", [KD, KH, KW]);
  if (ks.join() !== [KD, KH, KW].join()) x.fail(`kernel_shape [${ks.join(", ")}] does not match the weights [${w.dims.join(", ")}]`);
  const strides = three("strides", [1, 1, 1]), dilations = three("dilations", [1, 1, 1]), op = three("output_padding", [0, 0, 0]);
  let pads = three("pads", [0, 0, 0, 0, 0, 0], 6);
  // output_shape or auto_pad SAME_*: the pads that give that output (ONNX's formula, as the 2-D case)
  const autoPad = x.str("auto_pad", "NOTSET"), shape = x.attr("output_shape") ? x.ints("output_shape", []).slice(-3) : null;
  if (autoPad !== "NOTSET" && autoPad !== "SAME_UPPER" && autoPad !== "SAME_LOWER" && autoPad !== "VALID") x.fail(`auto_pad ${autoPad} is not an ONNX value`);
  if (shape || autoPad === "SAME_UPPER" || autoPad === "SAME_LOWER") {
    const size = [D, H, W], k = [KD, KH, KW], out = shape ?? size.map((n, i) => n * strides[i]!);
    if (out.length !== 3) x.fail(`output_shape [${out.join(", ")}]: 3 values expected`);
    const begin: number[] = [], end: number[] = [];
    for (let i = 0; i < 3; i++) {
      const [b, e] = transposeSplit(x, autoPad, strides[i]! * (size[i]! - 1) + op[i]! + (k[i]! - 1) * dilations[i]! + 1 - out[i]!);
      begin.push(b);
      end.push(e);
    }
    if (end.some((e, i) => e < 0 && (-e + op[i]! >= strides[i]! || begin[i]! > 0))) x.fail(`output_shape [${out.join(", ")}] is larger than the full output by a stride or more`);
    end.forEach((e, i) => { if (e < 0) { op[i] = op[i]! - e; end[i] = 0; } });
    pads = [...begin, ...end];
  } else if (autoPad === "VALID") pads = [0, 0, 0, 0, 0, 0];
  const lname = x.uniq("convtranspose3d");
  const sym = x.apply(L.conv3dTranspose({
    filters: F, kernelSize: [KD, KH, KW], strides: strides as [number, number, number], dilation: dilations as [number, number, number],
    padding: [pads[0]!, pads[3]!, pads[1]!, pads[4]!, pads[2]!, pads[5]!], outputPadding: op as [number, number, number], useBias: !!b, name: lname,
  }), x.asVolume(t, [C, D, H, W]));
  x.weight(lname, "kernel", ioDhwToDhwOi(w.data, CI, F, KD, KH, KW), x.source(1, `convtranspose3d ${CI} ${F} ${KD} ${KH} ${KW}`));
  if (b) x.weight(lname, "bias", b.data, x.source(2, "bias"));
  const [OD, OH, OW] = sym.shape as [number, number, number, number];
  x.out(x.volumeOut(sym, [F, OD, OH, OW]));
}

/** conv3dTranspose: fovea's [N, D, H, W, C] to ONNX's [N, C, D, H, W], ConvTranspose, and back. */
const convTranspose3dExport: Exporter = (x) => {
  const g = (x.layer as Conv3dTranspose).geometry(x.node.inShapes[0]!);
  const ins = [x.op("Transpose", [x.inputs[0]!], { perm: [0, 4, 1, 2, 3] }), x.init([g.C, g.F, g.KD, g.KH, g.KW], dhwOiToIoDhw(x.w("kernel"), g.KD, g.KH, g.KW, g.F, g.C))];
  if (x.node.params[1]) ins.push(x.init([g.F], x.w("bias")));
  const y = x.op("ConvTranspose", ins, {
    kernel_shape: [g.KD, g.KH, g.KW], strides: [g.SD, g.SH, g.SW], dilations: [g.DD, g.DH, g.DW],
    pads: [g.pads[0], g.pads[2], g.pads[4], g.pads[1], g.pads[3], g.pads[5]], output_padding: g.outputPadding,
  });
  return { out: x.op("Transpose", [y], { perm: [0, 2, 3, 4, 1] }) };
};

/**
 * conv2dTranspose → ConvTranspose: weights [KH, KW, F/groups, C_in] → [C_in, F/groups, KH, KW] (the
 * OIHW weights of the conv it transposes); the output rows ONNX keeps are [pads_begin, full +
 * output_padding − pads_end), so one of pads_end / output_padding carries the end's difference.
 */
const convTransposeExport: Exporter = (x) => {
  const g = (x.layer as Conv2dTranspose).geometry(x.node.inShapes[0]!);
  const Fg = g.C / g.groups;
  const ins = [x.inputs[0]!, x.init([g.OC, Fg, g.KH, g.KW], hwioToOihw(x.w("kernel"), g.KH, g.KW, Fg, g.OC))];
  if (x.node.params[1]) ins.push(x.init([g.C], x.w("bias")));
  // the conv's input size is this layer's output: full size − begin − (end − output padding)
  const end = (S: number, I: number, K: number, D: number, begin: number, out: number) => S * (I - 1) + (K - 1) * D + 1 - begin - out;
  const eh = end(g.SH, g.OH, g.KH, g.DH, g.padTop, g.H), ew = end(g.SW, g.OW, g.KW, g.DW, g.padLeft, g.W);
  return {
    out: x.op("ConvTranspose", ins, {
      kernel_shape: [g.KH, g.KW], strides: [g.SH, g.SW], dilations: [g.DH, g.DW], group: g.groups,
      pads: [g.padTop, g.padLeft, Math.max(eh, 0), Math.max(ew, 0)], output_padding: [Math.max(-eh, 0), Math.max(-ew, 0)],
    }),
  };
};

const convExport: Exporter = (x) => {
  const l = x.layer as Conv2d;
  const g = l.geometry(x.node.inShapes[0]!);
  const [KH, KW, Cg, OC] = x.node.params[0]!.spec.shape as [number, number, number, number];
  // bottom/right padding that reproduces the output size under ONNX's floor rule (covers ceil rounding)
  const [pt, pb, pl, pr] = floorRulePads(g);
  const ins = [x.inputs[0]!, x.init([OC, Cg, KH, KW], hwioToOihw(x.w("kernel"), KH, KW, Cg, OC))];
  if (x.node.params[1]) ins.push(x.init([OC], x.w("bias")));
  return { out: x.act(x.op("Conv", ins, { kernel_shape: [KH, KW], strides: [g.SH, g.SW], dilations: [g.DH, g.DW], pads: [pt, pl, pb, pr], group: g.groups }), l.act) };
};

export const exporters: Record<string, Exporter> = { conv2d: convExport, depthwiseConv2d: convExport, conv2dTranspose: convTransposeExport, conv3dTranspose: convTranspose3dExport };

/**
 * ConvTranspose's [begin, end] pads on one axis for the padding `total` that output_shape or auto_pad
 * SAME_* asks for (ONNX's formula, the odd one at the end for SAME_UPPER, at the beginning
 * otherwise). A negative total (an output longer than the full one) is split the same way under
 * SAME_* — a negative end becomes output padding; a negative beginning, rows before the full
 * output's first, is refused — and goes to the end for output_shape alone, as PyTorch's
 * output_padding does.
 */
function transposeSplit(x: ImportNode, autoPad: string, total: number): [number, number] {
  const half = Math.floor(total / 2), same = autoPad === "SAME_UPPER" || autoPad === "SAME_LOWER";
  if (total < 0 && !same) return [0, total];
  const split: [number, number] = autoPad === "SAME_UPPER" ? [half, total - half] : [total - half, half];
  if (split[0] < 0) x.fail(`auto_pad ${autoPad} asks for an output ${-total} longer than the full one, ${-split[0]} of it before the first row or column (ONNX's split of the padding); fovea extends only the end: give output_padding or pads instead`);
  return split;
}
