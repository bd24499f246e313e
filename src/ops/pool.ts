// 2-D pooling on NHWC tensors: max (argmax kept for the backward), average (with or without
// counting padding), global average / max. Shape inference and validation here.

import { ConfigError, ShapeError, checkOptionKeys } from "../errors.js";
import type { Backend } from "../runtime/backend.js";
import { Tensor, formatShape, type Shape } from "../tensor.js";
import { pair, window2d, type Padding, type Rounding } from "./window.js";

export interface Pool2dOptions {
  kernel: number | [number, number];
  /** Default: the kernel size. */
  strides?: number | [number, number];
  /** "valid" (default), "same", a number, [h, w], or [top, bottom, left, right]. */
  padding?: Padding;
  /** "exact" (default: a partial window is a ShapeError), "floor", or "ceil" (ceil_mode). */
  rounding?: Rounding;
  /** Average pooling only: divide by the window including padding (PyTorch's default). Default false. */
  countIncludePad?: boolean;
  name?: string;
}
const POOL_KEYS = ["kernel", "strides", "padding", "rounding", "countIncludePad", "name"] as const;

export interface PoolGeometry {
  N: number; H: number; W: number; C: number; OH: number; OW: number;
  KH: number; KW: number; SH: number; SW: number;
  padTop: number; padBottom: number; padLeft: number; padRight: number;
  countIncludePad: boolean;
  outShape: [number, number, number, number];
}

export function pool2dGeometry(kind: string, xShape: Shape, options: Pool2dOptions): PoolGeometry {
  checkOptionKeys(kind, options, POOL_KEYS);
  const label = `${kind}${options.name ? ` "${options.name}"` : ""}`;
  if (xShape.length !== 4) throw new ShapeError(`${label}: input must be NHWC (rank 4), got ${formatShape(xShape)}`);
  if (options.kernel === undefined) throw new ConfigError(`${label}: kernel is required`);
  const [N, H, W, C] = xShape as [number, number, number, number];
  const kernel = pair(options.kernel, 1, "kernel", label);
  const strides = pair(options.strides ?? kernel, 1, "strides", label);
  const rounding = options.rounding ?? "exact";
  if (!["exact", "floor", "ceil"].includes(rounding)) throw new ConfigError(`${label}: rounding must be exact, floor or ceil`);
  const { h, w } = window2d(label, H, W, kernel, strides, [1, 1], options.padding ?? "valid", rounding);
  if (h.padBefore >= kernel[0] || w.padBefore >= kernel[1] || h.padAfter >= kernel[0] || w.padAfter >= kernel[1]) {
    throw new ShapeError(`${label}: padding [${h.padBefore}, ${h.padAfter}, ${w.padBefore}, ${w.padAfter}] must be smaller than the ${kernel[0]}x${kernel[1]} window (a window would hold only padding)`);
  }
  return {
    N, H, W, C, OH: h.out, OW: w.out, KH: kernel[0], KW: kernel[1], SH: strides[0], SW: strides[1],
    padTop: h.padBefore, padBottom: h.padAfter, padLeft: w.padBefore, padRight: w.padAfter,
    countIncludePad: options.countIncludePad ?? false, outShape: [N, h.out, w.out, C],
  };
}

export function poolBlock(g: PoolGeometry): number[] {
  return [
    g.N, g.H, g.W, g.C, g.OH, g.OW, g.KH, g.KW, g.SH, g.SW, g.padTop, g.padLeft, g.countIncludePad ? 1 : 0,
    g.H + g.padTop + g.padBottom, g.W + g.padLeft + g.padRight,
  ];
}

function withGeometry<T>(be: Backend, g: PoolGeometry, f: (geo: number) => T): T {
  const geo = be.geometry(poolBlock(g));
  try {
    return f(geo);
  } finally {
    be.heap.free(geo);
  }
}

/** Max pooling result: the output and, per output element, the flat input index of its maximum. */
export interface MaxPoolResult {
  y: Tensor;
  /** Int32 indices into x (ties: the first maximum in window scan order). */
  argmax: Int32Array;
  argmaxPtr: number;
  free(): void;
}

export function maxPool2d(x: Tensor, options: Pool2dOptions): MaxPoolResult {
  const g = pool2dGeometry("maxPool2d", x.shape, options);
  const be = x.backend;
  const y = Tensor.zeros(g.outShape, be);
  const argmaxPtr = be.heap.alloc(y.size * 4);
  withGeometry(be, g, (geo) => be.kernels.f32_maxpool2d_fwd(geo, x.ptr, y.ptr, argmaxPtr));
  return {
    y, argmaxPtr, argmax: be.heap.i32(argmaxPtr, y.size).slice(),
    free() { be.heap.free(argmaxPtr); y.free(); },
  };
}

/** Gradient of max pooling. With `x` instead of the forward's argmax, the maxima are recomputed. */
export function maxPool2dBackward(x: Tensor, dy: Tensor, options: Pool2dOptions, fwd?: MaxPoolResult): Tensor {
  const g = pool2dGeometry("maxPool2d", x.shape, options);
  checkDy("maxPool2d", dy, g.outShape);
  const be = x.backend;
  const dx = Tensor.zeros(x.shape, be);
  withGeometry(be, g, (geo) => {
    if (fwd) be.kernels.f32_maxpool2d_bwd(geo, dy.ptr, fwd.argmaxPtr, dx.ptr);
    else be.kernels.f32_maxpool2d_bwd_recompute(geo, x.ptr, dy.ptr, dx.ptr);
  });
  return dx;
}

export function avgPool2d(x: Tensor, options: Pool2dOptions): Tensor {
  const g = pool2dGeometry("avgPool2d", x.shape, options);
  const be = x.backend;
  const y = Tensor.zeros(g.outShape, be);
  withGeometry(be, g, (geo) => be.kernels.f32_avgpool2d_fwd(geo, x.ptr, y.ptr));
  return y;
}

export function avgPool2dBackward(xShape: Shape, dy: Tensor, options: Pool2dOptions): Tensor {
  const g = pool2dGeometry("avgPool2d", xShape, options);
  checkDy("avgPool2d", dy, g.outShape);
  const be = dy.backend;
  const dx = Tensor.zeros(xShape, be);
  withGeometry(be, g, (geo) => be.kernels.f32_avgpool2d_bwd(geo, dy.ptr, dx.ptr));
  return dx;
}

function checkDy(kind: string, dy: Tensor, outShape: Shape): void {
  if (formatShape(dy.shape) !== formatShape(outShape)) {
    throw new ShapeError(`${kind}: dy must have the output shape ${formatShape(outShape)}, got ${formatShape(dy.shape)}`);
  }
}

function nhwc(kind: string, x: Shape): [number, number, number, number] {
  if (x.length !== 4) throw new ShapeError(`${kind}: input must be NHWC (rank 4), got ${formatShape(x)}`);
  if (x[1]! * x[2]! === 0) throw new ShapeError(`${kind}: input ${formatShape(x)} has no pixels`);
  return x as [number, number, number, number];
}

/** [N, H, W, C] → [N, C]: the mean over pixels. */
export function globalAvgPool(x: Tensor): Tensor {
  const [N, H, W, C] = nhwc("globalAvgPool", x.shape);
  const y = Tensor.zeros([N, C], x.backend);
  x.backend.kernels.f32_global_avgpool_fwd(x.ptr, N, H * W, C, y.ptr);
  return y;
}

export function globalAvgPoolBackward(xShape: Shape, dy: Tensor): Tensor {
  const [N, H, W, C] = nhwc("globalAvgPool", xShape);
  checkDy("globalAvgPool", dy, [N, C]);
  const dx = Tensor.zeros(xShape, dy.backend);
  dy.backend.kernels.f32_global_avgpool_bwd(dy.ptr, N, H * W, C, dx.ptr);
  return dx;
}

/** [N, H, W, C] → [N, C]: the max over pixels, with argmax for the backward. */
export function globalMaxPool(x: Tensor): MaxPoolResult {
  const [N, H, W, C] = nhwc("globalMaxPool", x.shape);
  const be = x.backend;
  const y = Tensor.zeros([N, C], be);
  const argmaxPtr = be.heap.alloc(N * C * 4);
  be.kernels.f32_global_maxpool_fwd(x.ptr, N, H * W, C, y.ptr, argmaxPtr);
  return {
    y, argmaxPtr, argmax: be.heap.i32(argmaxPtr, N * C).slice(),
    free() { be.heap.free(argmaxPtr); y.free(); },
  };
}

export function globalMaxPoolBackward(xShape: Shape, dy: Tensor, fwd: MaxPoolResult): Tensor {
  const [N, H, W, C] = nhwc("globalMaxPool", xShape);
  checkDy("globalMaxPool", dy, [N, C]);
  const dx = Tensor.zeros(xShape, dy.backend);
  dy.backend.kernels.f32_global_maxpool_bwd(dy.ptr, fwd.argmaxPtr, N, H * W, C, dx.ptr);
  return dx;
}
