// The transposed 3-D convolution on NDHWC tensors (conv3dTranspose): shape inference, validation,
// and its kernel calls (assembly/conv/transpose3d.ts), forward and backward side by side.

import { ConfigError, ShapeError, checkOptionKeys, show } from "../errors.js";
import type { Backend } from "../runtime/backend.js";
import { CT3 } from "../runtime/generated/layout.js";
import { call, type KernelCall } from "../runtime/calls.js";
import { geometryBlock, withScratchAlloc } from "./split.js";
import { Tensor, checkTensors, formatShape, type Shape } from "../tensor.js";
import { MAX_EXTENT } from "./window.js";


export interface ConvTranspose3dOptions {
  strides?: number | [number, number, number];
  dilations?: number | [number, number, number];
  /** Cropped from the full output: a number, [d, h, w], or [front, back, top, bottom, left, right]. Default 0. */
  padding?: number | [number, number, number] | [number, number, number, number, number, number];
  /** Added at the back / bottom / right of the output, below the stride (ONNX output_padding). Default 0. */
  outputPadding?: number | [number, number, number];
  name?: string;
}
const KEYS = ["strides", "dilations", "padding", "outputPadding", "name"] as const;

/** Input [N, D, H, W, C], output [N, OD, OH, OW, F], weights [KD, KH, KW, F, C]. */
export interface ConvTranspose3dGeometry {
  N: number; D: number; H: number; W: number; C: number; OD: number; OH: number; OW: number; F: number;
  KD: number; KH: number; KW: number; SD: number; SH: number; SW: number; DD: number; DH: number; DW: number;
  /** [front, back, top, bottom, left, right] cropped from the full output. */
  pads: [number, number, number, number, number, number];
  outputPadding: [number, number, number];
  outShape: [number, number, number, number, number];
}

function triple(v: unknown, dflt: number, min: number, what: string, label: string): [number, number, number] {
  const t = v === undefined ? [dflt, dflt, dflt] : typeof v === "number" ? [v, v, v] : Array.isArray(v) && v.length === 3 ? [...v] : [NaN];
  if (t.length !== 3 || !t.every((x) => Number.isInteger(x) && x >= min)) throw new ConfigError(`${label}: ${what} must be whole numbers >= ${min} (a number or [d, h, w]), got ${show(v)}`);
  return t as [number, number, number];
}

export function convTranspose3dGeometry(xShape: Shape, wShape: Shape, options: ConvTranspose3dOptions = {}): ConvTranspose3dGeometry {
  checkOptionKeys("conv3dTranspose", options, KEYS);
  const label = `conv3dTranspose${options.name ? ` "${options.name}"` : ""}`;
  if (xShape.length !== 5) throw new ShapeError(`${label}: input must be NDHWC (rank 5), got ${formatShape(xShape)}`);
  if (wShape.length !== 5) throw new ShapeError(`${label}: weights must be [KD, KH, KW, filters, input channels] (rank 5), got ${formatShape(wShape)}`);
  const [N, D, H, W, C] = xShape as [number, number, number, number, number];
  const [KD, KH, KW, F, Cw] = wShape as [number, number, number, number, number];
  if (Cw !== C) throw new ShapeError(`${label}: weights ${formatShape(wShape)} take ${Cw} input channels (their last axis), the input ${formatShape(xShape)} has ${C}`);
  if (KD < 1 || KH < 1 || KW < 1 || F < 1) throw new ShapeError(`${label}: weights ${formatShape(wShape)} have an empty dimension`);
  const s = triple(options.strides, 1, 1, "strides", label), dl = triple(options.dilations, 1, 1, "dilations", label);
  const op = triple(options.outputPadding, 0, 0, "outputPadding", label);
  if (op.some((v, i) => v >= s[i]!)) throw new ConfigError(`${label}: outputPadding ${op.join("x")} must be below the strides ${s.join("x")}`);
  const pd = options.padding ?? 0;
  const p = typeof pd === "number" ? [pd, pd, pd, pd, pd, pd] : Array.isArray(pd) && pd.length === 3 ? [pd[0], pd[0], pd[1], pd[1], pd[2], pd[2]] : Array.isArray(pd) && pd.length === 6 ? [...pd] : null;
  if (!p || !p.every((v) => Number.isInteger(v) && v >= 0)) throw new ConfigError(`${label}: padding must be a number, [d, h, w] or [front, back, top, bottom, left, right] of whole numbers >= 0, got ${show(pd)}`);
  const k = [KD, KH, KW], size = [D, H, W];
  const out = [0, 1, 2].map((i) => (size[i]! - 1) * s[i]! + (k[i]! - 1) * dl[i]! + 1 + op[i]! - p[2 * i]! - p[2 * i + 1]!);
  if (out.some((o) => o < 1)) throw new ShapeError(`${label}: padding [${p.join(", ")}] crops the ${size.join("x")} input's full ${out.map((o, i) => o + p[2 * i]! + p[2 * i + 1]!).join("x")} output to nothing`);
  if (Math.max(...out, ...size.map((v, i) => v * s[i]!), ...k.map((v, i) => v * dl[i]!)) > MAX_EXTENT) throw new ShapeError(`${label}: sizes must stay within ${MAX_EXTENT}`);
  const [OD, OH, OW] = out as [number, number, number];
  return {
    N, D, H, W, C, OD, OH, OW, F, KD, KH, KW, SD: s[0], SH: s[1], SW: s[2], DD: dl[0], DH: dl[1], DW: dl[2],
    pads: p as ConvTranspose3dGeometry["pads"], outputPadding: op, outShape: [N, OD, OH, OW, F],
  };
}

export function convTranspose3dBlock(g: ConvTranspose3dGeometry): number[] {
  const b = new Array<number>(CT3.FIELDS).fill(0);
  b[CT3.N] = g.N; b[CT3.D] = g.D; b[CT3.H] = g.H; b[CT3.W] = g.W; b[CT3.C] = g.C;
  b[CT3.OD] = g.OD; b[CT3.OH] = g.OH; b[CT3.OW] = g.OW; b[CT3.F] = g.F;
  b[CT3.KD] = g.KD; b[CT3.KH] = g.KH; b[CT3.KW] = g.KW; b[CT3.SD] = g.SD; b[CT3.SH] = g.SH; b[CT3.SW] = g.SW;
  b[CT3.DD] = g.DD; b[CT3.DH] = g.DH; b[CT3.DW] = g.DW; b[CT3.PF] = g.pads[0]; b[CT3.PT] = g.pads[2]; b[CT3.PL] = g.pads[4];
  return b;
}

/**
 * The calls of a transposed 3-D conv over the given buffers (one part: the kernels are direct
 * loops): forward y = convT(x, w) + bias; backward dx (if dx), dw and db (if db) from dy.
 */
export function convTranspose3dCalls(be: Backend, g: ConvTranspose3dGeometry, alloc: (bytes: number) => number, p: {
  x: number; y: number; w: number; bias: number; dy: number; dx: number; dw: number; db: number;
}): { fwd: KernelCall[]; bwd: KernelCall[] } {
  const geo = geometryBlock(alloc, be, convTranspose3dBlock(g));
  const bwd: KernelCall[] = [];
  if (p.dy) {
    if (p.dx) bwd.push(call("f32_conv3d_transpose_bwd_data", geo, p.dy, p.w, p.dx));
    if (p.dw) bwd.push(call("f32_conv3d_transpose_bwd_filter", geo, p.x, p.dy, p.dw));
    if (p.db) bwd.push(call("f32_bias_bwd", p.dy, g.N * g.OD * g.OH * g.OW, g.F, p.db));
  }
  return { fwd: p.y ? [call("f32_conv3d_transpose_fwd", geo, p.x, p.w, p.bias, p.y)] : [], bwd };
}

/** y = conv3dTranspose(x, w) (+ bias): x [N, D, H, W, C], w [KD, KH, KW, F, C]. */
export function conv3dTranspose(x: Tensor, w: Tensor, bias: Tensor | null, options: ConvTranspose3dOptions = {}): Tensor {
  checkTensors("conv3dTranspose", { x, w, bias }, ["bias"]);
  const g = convTranspose3dGeometry(x.shape, w.shape, options);
  if (bias && (bias.shape.length !== 1 || bias.shape[0] !== g.F)) throw new ShapeError(`conv3dTranspose: bias must be [${g.F}], got ${formatShape(bias.shape)}`);
  const be = x.backend, y = Tensor.zeros(g.outShape, be);
  withScratchAlloc(be, (alloc) => be.run(convTranspose3dCalls(be, g, alloc, { x: x.ptr, y: y.ptr, w: w.ptr, bias: bias ? bias.ptr : 0, dy: 0, dx: 0, dw: 0, db: 0 }).fwd));
  return y;
}

/** The gradients of conv3dTranspose with respect to x, w and the bias, from dy. */
export function conv3dTransposeBackward(x: Tensor, w: Tensor, dy: Tensor, options: ConvTranspose3dOptions = {}): { dx: Tensor; dw: Tensor; db: Tensor } {
  checkTensors("conv3dTransposeBackward", { x, w, dy });
  const g = convTranspose3dGeometry(x.shape, w.shape, options);
  if (formatShape(dy.shape) !== formatShape(g.outShape)) throw new ShapeError(`conv3dTranspose: dy must have the output shape ${formatShape(g.outShape)}, got ${formatShape(dy.shape)}`);
  const be = x.backend, dx = Tensor.zeros(x.shape, be), dw = Tensor.zeros(w.shape, be), db = Tensor.zeros([g.F], be);
  withScratchAlloc(be, (alloc) => be.runInTurn(convTranspose3dCalls(be, g, alloc, { x: x.ptr, y: 0, w: w.ptr, bias: 0, dy: dy.ptr, dx: dx.ptr, dw: dw.ptr, db: db.ptr }).bwd));
  return { dx, dw, db };
}
