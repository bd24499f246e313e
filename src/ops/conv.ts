// conv2d: NHWC input, HWIO weights [KH, KW, C/groups, OC]. Shape inference and validation here;
// forward, backward-data, backward-filter and bias gradient side by side. Depthwise convs
// (groups == C) go to the direct depthwise kernels, everything else to the gemm-based kernels.

import { ConfigError, ShapeError, checkOptionKeys } from "../errors.js";
import type { Backend } from "../runtime/backend.js";
import { Tensor, formatShape, type Shape } from "../tensor.js";
import { actCode, type Activation } from "./gemm.js";
import { pair, window2d, type Padding, type Rounding } from "./window.js";

export interface Conv2dOptions {
  strides?: number | [number, number];
  dilations?: number | [number, number];
  /** "valid" (default), "same", a number, [h, w], or [top, bottom, left, right]. */
  padding?: Padding;
  /** Output sizes that are not whole: "exact" (default) throws a ShapeError; "floor" or "ceil". */
  rounding?: Rounding;
  groups?: number;
  /** Fused into the forward output store. */
  activation?: Activation;
  /** Layer name for error messages. */
  name?: string;
}
const CONV_KEYS = ["strides", "dilations", "padding", "rounding", "groups", "activation", "name"] as const;

/** Everything a conv2d kernel needs, derived and validated once. */
export interface ConvGeometry {
  N: number; H: number; W: number; C: number;
  OH: number; OW: number; OC: number;
  KH: number; KW: number;
  SH: number; SW: number; DH: number; DW: number;
  padTop: number; padBottom: number; padLeft: number; padRight: number;
  groups: number;
  /** groups == C: the direct depthwise kernels run. */
  depthwise: boolean;
  outShape: [number, number, number, number];
}

/** Shape inference for conv2d: validates and returns the geometry (throws ShapeError / ConfigError). */
export function conv2dGeometry(xShape: Shape, wShape: Shape, options: Conv2dOptions = {}): ConvGeometry {
  checkOptionKeys("conv2d", options, CONV_KEYS);
  const label = `conv2d${options.name ? ` "${options.name}"` : ""}`;
  if (xShape.length !== 4) throw new ShapeError(`${label}: input must be NHWC (rank 4), got ${formatShape(xShape)}`);
  if (wShape.length !== 4) throw new ShapeError(`${label}: weights must be HWIO (rank 4), got ${formatShape(wShape)}`);
  const [N, H, W, C] = xShape as [number, number, number, number];
  const [KH, KW, Cg, OC] = wShape as [number, number, number, number];
  const groups = options.groups ?? 1;
  if (!Number.isInteger(groups) || groups < 1) throw new ConfigError(`${label}: groups must be a whole number >= 1, got ${groups}`);
  if (C % groups !== 0 || OC % groups !== 0) {
    throw new ShapeError(`${label}: ${groups} groups must divide both input channels ${C} and output channels ${OC}`);
  }
  if (Cg !== C / groups) {
    throw new ShapeError(
      `${label}: weights ${formatShape(wShape)} expect ${Cg} input channels per group, but the input ${formatShape(xShape)} ` +
        `has ${C} channels in ${groups} group${groups > 1 ? "s" : ""} (${C / groups} per group)`,
    );
  }
  if (KH < 1 || KW < 1 || OC < 1) throw new ShapeError(`${label}: weights ${formatShape(wShape)} have an empty dimension`);
  const strides = pair(options.strides, 1, "strides", label);
  const dilations = pair(options.dilations, 1, "dilations", label);
  const rounding = options.rounding ?? "exact";
  if (!["exact", "floor", "ceil"].includes(rounding)) throw new ConfigError(`${label}: rounding must be exact, floor or ceil`);
  const { h, w } = window2d(label, H, W, [KH, KW], strides, dilations, options.padding ?? "valid", rounding);
  actCode(options.activation, label);
  return {
    N, H, W, C, OH: h.out, OW: w.out, OC, KH, KW, SH: strides[0], SW: strides[1], DH: dilations[0], DW: dilations[1],
    padTop: h.padBefore, padBottom: h.padAfter, padLeft: w.padBefore, padRight: w.padAfter, groups,
    depthwise: groups === C && groups > 1, outShape: [N, h.out, w.out, OC],
  };
}

/** The i32 geometry block the kernels read (assembly/common/geometry.ts, CONV_*). */
export function convBlock(g: ConvGeometry): number[] {
  return [g.N, g.H, g.W, g.C, g.OH, g.OW, g.OC, g.KH, g.KW, g.SH, g.SW, g.DH, g.DW, g.padTop, g.padLeft, g.groups];
}

function withGeometry<T>(be: Backend, g: ConvGeometry, f: (geo: number, scratch: number) => T): T {
  const geo = be.geometry(convBlock(g));
  try {
    const scratch = g.depthwise ? 0 : be.scratch(be.kernels.f32_conv2d_scratch_bytes(geo));
    return f(geo, scratch);
  } finally {
    be.heap.free(geo);
  }
}

function checkBias(bias: Tensor | undefined, OC: number, label: string): void {
  if (bias && (bias.rank !== 1 || bias.shape[0] !== OC)) {
    throw new ShapeError(`${label}: bias must have shape [${OC}], got ${formatShape(bias.shape)}`);
  }
}

/** y = act(conv2d(x, w) + bias). */
export function conv2d(x: Tensor, w: Tensor, bias?: Tensor, options: Conv2dOptions = {}): Tensor {
  const g = conv2dGeometry(x.shape, w.shape, options);
  checkBias(bias, g.OC, `conv2d${options.name ? ` "${options.name}"` : ""}`);
  const be = x.backend;
  const act = actCode(options.activation, "conv2d");
  const y = Tensor.zeros(g.outShape, be);
  withGeometry(be, g, (geo, scratch) => {
    if (g.depthwise) be.kernels.f32_depthwise_conv2d_fwd(geo, x.ptr, w.ptr, bias ? bias.ptr : 0, act, y.ptr);
    else be.kernels.f32_conv2d_fwd(geo, x.ptr, w.ptr, 0, bias ? bias.ptr : 0, act, y.ptr, scratch);
  });
  return y;
}

export interface Conv2dGradients {
  dx: Tensor;
  dw: Tensor;
  db: Tensor;
}

/**
 * Gradients of a conv2d (without fused activation: apply the activation's backward to dy first)
 * with respect to its input, weights and bias, given dy of the output's shape.
 */
export function conv2dBackward(x: Tensor, w: Tensor, dy: Tensor, options: Conv2dOptions = {}): Conv2dGradients {
  const g = conv2dGeometry(x.shape, w.shape, options);
  const label = `conv2d${options.name ? ` "${options.name}"` : ""}`;
  if (formatShape(dy.shape) !== formatShape(g.outShape)) {
    throw new ShapeError(`${label}: dy must have the output shape ${formatShape(g.outShape)}, got ${formatShape(dy.shape)}`);
  }
  const be = x.backend;
  const dx = Tensor.zeros(x.shape, be), dw = Tensor.zeros(w.shape, be), db = Tensor.zeros([g.OC], be);
  withGeometry(be, g, (geo, scratch) => {
    if (g.depthwise) {
      be.kernels.f32_depthwise_conv2d_bwd_data(geo, dy.ptr, w.ptr, dx.ptr);
      be.kernels.f32_depthwise_conv2d_bwd_filter(geo, x.ptr, dy.ptr, dw.ptr);
    } else {
      be.kernels.f32_conv2d_bwd_data(geo, dy.ptr, w.ptr, dx.ptr, scratch);
      be.kernels.f32_conv2d_bwd_filter(geo, x.ptr, dy.ptr, dw.ptr, scratch);
    }
    be.kernels.f32_bias_bwd(dy.ptr, g.N * g.OH * g.OW, g.OC, db.ptr);
  });
  return { dx, dw, db };
}

/** FLOPs of one forward pass (2 per multiply-add). */
export function conv2dFlops(g: ConvGeometry): number {
  return 2 * g.N * g.OH * g.OW * g.OC * g.KH * g.KW * (g.C / g.groups);
}
