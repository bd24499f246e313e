// 2-D and 3-D pooling on NHWC / NDHWC tensors: max (argmax kept for the backward; its indices),
// average (with or without counting padding), global average / max. Shape inference and validation here.

import { ConfigError, ShapeError, checkOptionKeys, show } from "../errors.js";
import type { Backend } from "../runtime/backend.js";
import { POOL } from "../runtime/generated/layout.js";
import { call, type KernelCall } from "../runtime/calls.js";
import { geometryBlock, splitRange, threadsForMemory, windowParts, wholePart, withScratchAlloc, type Part } from "./split.js";
import { Tensor, checkShape, checkTensors, formatShape, type Shape } from "../tensor.js";
import { pair, window2d, windowAxis, type Axis, type Padding, type Rounding } from "./window.js";

export interface Pool2dOptions {
  kernel: number | [number, number];
  /** Default: the kernel size. */
  strides?: number | [number, number];
  /** "valid" (default), "same", a number, [h, w], or [top, bottom, left, right]. */
  padding?: Padding;
  /** "exact" (default: a partial window is a ShapeError), "floor", or "ceil" (ceil_mode). */
  rounding?: Rounding;
  /** Spacing of a window's taps (default 1: adjacent pixels); a window spans (kernel − 1)·dilation + 1 pixels. */
  dilations?: number | [number, number];
  /** Average pooling only: divide by the window including padding (PyTorch's default). Default false. */
  countIncludePad?: boolean;
  name?: string;
}
const POOL_KEYS = ["kernel", "strides", "padding", "rounding", "dilations", "countIncludePad", "name"] as const;

/**
 * A pooling window over NDHWC activations: a 2-D pool (NHWC) has D = OD = KD = SD = DD = 1 and no
 * depth padding. Along each axis, output o's window has the taps o·stride − pad_before + k·dilation
 * for k in [0, kernel); taps in the padding are skipped.
 */
export interface PoolGeometry {
  N: number; D: number; H: number; W: number; C: number; OD: number; OH: number; OW: number;
  KD: number; KH: number; KW: number; SD: number; SH: number; SW: number; DD: number; DH: number; DW: number;
  padFront: number; padBack: number; padTop: number; padBottom: number; padLeft: number; padRight: number;
  countIncludePad: boolean;
  /** [N, OH, OW, C] (2-D) or [N, OD, OH, OW, C] (3-D). */
  outShape: number[];
}

export function pool2dGeometry(kind: string, xShape: Shape, options: Pool2dOptions): PoolGeometry {
  checkOptionKeys(kind, options, POOL_KEYS);
  const label = `${kind}${options.name ? ` "${options.name}"` : ""}`;
  if (xShape.length !== 4) throw new ShapeError(`${label}: input must be NHWC (rank 4), got ${formatShape(xShape)}`);
  if (options.kernel === undefined) throw new ConfigError(`${label}: kernel is required`);
  const [N, H, W, C] = xShape as [number, number, number, number];
  const kernel = pair(options.kernel, 1, "kernel", label);
  const strides = pair(options.strides ?? kernel, 1, "strides", label);
  const dil = pair(options.dilations, 1, "dilations", label);
  const rounding = options.rounding ?? "exact";
  if (!["exact", "floor", "ceil"].includes(rounding)) throw new ConfigError(`${label}: rounding must be exact, floor or ceil`);
  if (!kind.startsWith("maxPool") && (dil[0] > 1 || dil[1] > 1)) throw new ConfigError(`${label}: dilations ${dil.join("x")}: dilated windows are for max pooling`);
  const { h, w } = window2d(label, H, W, kernel, strides, dil, options.padding ?? "valid", rounding);
  if (h.padBefore >= kernel[0] || w.padBefore >= kernel[1] || h.padAfter >= kernel[0] || w.padAfter >= kernel[1]) {
    throw new ShapeError(`${label}: padding [${h.padBefore}, ${h.padAfter}, ${w.padBefore}, ${w.padAfter}] must be smaller than the ${kernel[0]}x${kernel[1]} window (a window would hold only padding)`);
  }
  checkTaps(label, "row", h);
  checkTaps(label, "column", w);
  return {
    N, D: 1, H, W, C, OD: 1, OH: h.out, OW: w.out, KD: 1, KH: kernel[0], KW: kernel[1], SD: 1, SH: strides[0], SW: strides[1],
    DD: 1, DH: dil[0], DW: dil[1], padFront: 0, padBack: 0, padTop: h.padBefore, padBottom: h.padAfter, padLeft: w.padBefore, padRight: w.padAfter,
    countIncludePad: options.countIncludePad ?? false, outShape: [N, h.out, w.out, C],
  };
}

export interface Pool3dOptions {
  kernel: number | [number, number, number];
  /** Default: the kernel size. */
  strides?: number | [number, number, number];
  /** "valid" (default), "same", a number, [d, h, w], or [front, back, top, bottom, left, right]. */
  padding?: "valid" | "same" | number | [number, number, number] | [number, number, number, number, number, number];
  rounding?: Rounding;
  /** Max pooling only: spacing of a window's taps along depth, height and width (default 1). */
  dilations?: number | [number, number, number];
  /** Average pooling only: divide by the window including padding. Default false. */
  countIncludePad?: boolean;
  name?: string;
}

function triple(v: number | readonly number[] | undefined, dflt: number, what: string, where: string): [number, number, number] {
  const t = v === undefined ? [dflt, dflt, dflt] : typeof v === "number" ? [v, v, v] : Array.isArray(v) && v.length === 3 ? [...v] : [NaN];
  if (t.length !== 3 || !t.every((x) => Number.isInteger(x) && x >= 1)) throw new ConfigError(`${where}: ${what} must be whole numbers >= 1 (a number or [d, h, w]), got ${show(v)}`);
  return t as [number, number, number];
}

/** 3-D pooling over NDHWC input [N, D, H, W, C]: the 2-D rules along each of the three axes. */
export function pool3dGeometry(kind: string, xShape: Shape, options: Pool3dOptions): PoolGeometry {
  checkOptionKeys(kind, options, POOL_KEYS);
  const label = `${kind}${options.name ? ` "${options.name}"` : ""}`;
  if (xShape.length !== 5) throw new ShapeError(`${label}: input must be NDHWC (rank 5), got ${formatShape(xShape)}`);
  if (options.kernel === undefined) throw new ConfigError(`${label}: kernel is required`);
  const [N, D, H, W, C] = xShape as [number, number, number, number, number];
  const k = triple(options.kernel, 1, "kernel", label);
  const st = triple(options.strides ?? k, 1, "strides", label);
  const dil = triple(options.dilations, 1, "dilations", label);
  const rounding = options.rounding ?? "exact";
  if (!["exact", "floor", "ceil"].includes(rounding)) throw new ConfigError(`${label}: rounding must be exact, floor or ceil`);
  if (!kind.startsWith("maxPool") && dil.some((d) => d > 1)) throw new ConfigError(`${label}: dilations ${dil.join("x")}: dilated windows are for max pooling`);
  const sizes = [D, H, W], kdesc = k.join("x"), idesc = sizes.join("x");
  const pad = options.padding ?? "valid";
  let pads: ["valid" | "same" | [number, number], "valid" | "same" | [number, number], "valid" | "same" | [number, number]];
  if (pad === "valid" || pad === "same") pads = [pad, pad, pad];
  else {
    const p = typeof pad === "number" ? [pad, pad, pad, pad, pad, pad] : Array.isArray(pad) && pad.length === 3 ? [pad[0], pad[0], pad[1], pad[1], pad[2], pad[2]] : Array.isArray(pad) && pad.length === 6 ? [...pad] : null;
    if (!p || !p.every((v) => Number.isInteger(v) && v >= 0)) throw new ConfigError(`${label}: padding must be "valid", "same", a number, [d, h, w] or [front, back, top, bottom, left, right] of whole numbers >= 0, got ${show(pad)}`);
    pads = [[p[0]!, p[1]!], [p[2]!, p[3]!], [p[4]!, p[5]!]];
  }
  const axes = [0, 1, 2].map((i) => windowAxis(label, sizes[i]!, k[i]!, st[i]!, dil[i]!, pads[i]!, rounding, kdesc, idesc));
  axes.forEach((a, i) => {
    if (a.padBefore >= a.kernel || a.padAfter >= a.kernel) throw new ShapeError(`${label}: padding [${axes.map((b) => `${b.padBefore}, ${b.padAfter}`).join(", ")}] must be smaller than the ${kdesc} window (a window would hold only padding)`);
    checkTaps(label, ["depth slice", "row", "column"][i]!, a);
  });
  const [d, h, w] = axes as [Axis, Axis, Axis];
  return {
    N, D, H, W, C, OD: d.out, OH: h.out, OW: w.out, KD: k[0], KH: k[1], KW: k[2], SD: st[0], SH: st[1], SW: st[2],
    DD: dil[0], DH: dil[1], DW: dil[2], padFront: d.padBefore, padBack: d.padAfter, padTop: h.padBefore, padBottom: h.padAfter, padLeft: w.padBefore, padRight: w.padAfter,
    countIncludePad: options.countIncludePad ?? false, outShape: [N, d.out, h.out, w.out, C],
  };
}

/** Every window of the axis holds an input tap (dilated taps can all fall in the padding, or step over a small input). */
function checkTaps(label: string, what: string, a: Axis): void {
  for (let o = 0; o < a.out; o++) {
    const s = o * a.stride - a.padBefore, k0 = s >= 0 ? 0 : Math.ceil(-s / a.dilation);
    if (k0 >= a.kernel || s + k0 * a.dilation >= a.size) {
      throw new ShapeError(`${label}: window ${o} along the ${what}s (taps ${s}, ${s + a.dilation}, … ${s + (a.kernel - 1) * a.dilation}) holds no input ${what} of ${a.size} (padding ${a.padBefore}+${a.padAfter}, dilation ${a.dilation})`);
    }
  }
}

export function poolBlock(g: PoolGeometry): number[] {
  const b = new Array<number>(POOL.FIELDS).fill(0);
  b[POOL.N] = g.N; b[POOL.H] = g.H; b[POOL.W] = g.W; b[POOL.C] = g.C; b[POOL.OH] = g.OH; b[POOL.OW] = g.OW;
  b[POOL.KH] = g.KH; b[POOL.KW] = g.KW; b[POOL.SH] = g.SH; b[POOL.SW] = g.SW; b[POOL.PT] = g.padTop; b[POOL.PL] = g.padLeft;
  b[POOL.COUNT_PAD] = g.countIncludePad ? 1 : 0;
  b[POOL.HP] = g.H + g.padTop + g.padBottom;
  b[POOL.WP] = g.W + g.padLeft + g.padRight;
  b[POOL.D] = g.D; b[POOL.OD] = g.OD; b[POOL.KD] = g.KD; b[POOL.SD] = g.SD; b[POOL.PF] = g.padFront;
  b[POOL.DP] = g.D + g.padFront + g.padBack;
  b[POOL.DD] = g.DD; b[POOL.DH] = g.DH; b[POOL.DW] = g.DW;
  return b;
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
  checkTensors("maxPool2d", { x });
  return maxPoolRun(x, pool2dGeometry("maxPool2d", x.shape, options));
}

/** 3-D max pooling of NDHWC x [N, D, H, W, C], with argmax for the backward. */
export function maxPool3d(x: Tensor, options: Pool3dOptions): MaxPoolResult {
  checkTensors("maxPool3d", { x });
  return maxPoolRun(x, pool3dGeometry("maxPool3d", x.shape, options));
}

function maxPoolRun(x: Tensor, g: PoolGeometry): MaxPoolResult {
  const be = x.backend;
  const y = Tensor.zeros(g.outShape, be);
  const argmaxPtr = be.heap.alloc(y.size * 4);
  // one part: the argmax handed back indexes the whole x
  withScratchAlloc(be, (alloc) => be.run(poolCalls(be, "max", g, alloc, { x: x.ptr, y: y.ptr, argmax: argmaxPtr, dy: 0, dx: 0, training: true }, 1).fwd));
  return {
    y, argmaxPtr, argmax: be.heap.i32(argmaxPtr, y.size).slice(),
    free() { be.heap.free(argmaxPtr); y.free(); },
  };
}

/** Gradient of max pooling. With `x` instead of the forward's argmax, the maxima are recomputed. */
export function maxPool2dBackward(x: Tensor, dy: Tensor, options: Pool2dOptions, fwd?: MaxPoolResult): Tensor {
  checkTensors("maxPool2dBackward", { x, dy });
  return maxPoolBackwardRun("maxPool2d", x, dy, pool2dGeometry("maxPool2d", x.shape, options), fwd);
}

/** Gradient of 3-D max pooling: from the forward's argmax, or without it recomputed from x. */
export function maxPool3dBackward(x: Tensor, dy: Tensor, options: Pool3dOptions, fwd?: MaxPoolResult): Tensor {
  checkTensors("maxPool3dBackward", { x, dy });
  return maxPoolBackwardRun("maxPool3d", x, dy, pool3dGeometry("maxPool3d", x.shape, options), fwd);
}

function maxPoolBackwardRun(kind: string, x: Tensor, dy: Tensor, g: PoolGeometry, fwd?: MaxPoolResult): Tensor {
  checkDy(kind, dy, g.outShape);
  const be = x.backend;
  const dx = Tensor.zeros(x.shape, be);
  withScratchAlloc(be, (alloc) => {
    if (fwd) be.run(poolCalls(be, "max", g, alloc, { x: x.ptr, y: 0, argmax: fwd.argmaxPtr, dy: dy.ptr, dx: dx.ptr, training: true }, 1).bwd);
    else be.run([call("f32_maxpool_bwd_recompute", geometryBlock(alloc, be, poolBlock(g)), x.ptr, dy.ptr, dx.ptr)]);
  });
  return dx;
}

export function avgPool2d(x: Tensor, options: Pool2dOptions): Tensor {
  checkTensors("avgPool2d", { x });
  return avgPoolRun(x, pool2dGeometry("avgPool2d", x.shape, options));
}

/** 3-D average pooling of NDHWC x [N, D, H, W, C]. */
export function avgPool3d(x: Tensor, options: Pool3dOptions): Tensor {
  checkTensors("avgPool3d", { x });
  return avgPoolRun(x, pool3dGeometry("avgPool3d", x.shape, options));
}

function avgPoolRun(x: Tensor, g: PoolGeometry): Tensor {
  const be = x.backend;
  const y = Tensor.zeros(g.outShape, be);
  withScratchAlloc(be, (alloc) => be.run(poolCalls(be, "avg", g, alloc, { x: x.ptr, y: y.ptr, argmax: 0, dy: 0, dx: 0, training: false }).fwd));
  return y;
}

export function avgPool2dBackward(xShape: Shape, dy: Tensor, options: Pool2dOptions): Tensor {
  checkTensors("avgPool2dBackward", { dy });
  checkShape(xShape, "avgPool2dBackward");
  return avgPoolBackwardRun("avgPool2d", xShape, dy, pool2dGeometry("avgPool2d", xShape, options));
}

export function avgPool3dBackward(xShape: Shape, dy: Tensor, options: Pool3dOptions): Tensor {
  checkTensors("avgPool3dBackward", { dy });
  checkShape(xShape, "avgPool3dBackward");
  return avgPoolBackwardRun("avgPool3d", xShape, dy, pool3dGeometry("avgPool3d", xShape, options));
}

function avgPoolBackwardRun(kind: string, xShape: Shape, dy: Tensor, g: PoolGeometry): Tensor {
  checkDy(kind, dy, g.outShape);
  const be = dy.backend;
  const dx = Tensor.zeros(xShape, be);
  withScratchAlloc(be, (alloc) => be.run(poolCalls(be, "avg", g, alloc, { x: 0, y: 0, argmax: 0, dy: dy.ptr, dx: dx.ptr, training: true }).bwd));
  return dx;
}

function checkDy(kind: string, dy: Tensor, outShape: Shape): void {
  if (formatShape(dy.shape) !== formatShape(outShape)) {
    throw new ShapeError(`${kind}: dy must have the output shape ${formatShape(outShape)}, got ${formatShape(dy.shape)}`);
  }
}

function nhwc(kind: string, x: Shape): [number, number, number, number] {
  checkShape(x, kind);
  if (x.length !== 4) throw new ShapeError(`${kind}: input must be NHWC (rank 4), got ${formatShape(x)}`);
  if (x[1]! * x[2]! === 0) throw new ShapeError(`${kind}: input ${formatShape(x)} has no pixels`);
  return x as [number, number, number, number];
}

/** [N, H, W, C] → [N, C]: the mean over pixels. */
export function globalAvgPool(x: Tensor): Tensor {
  checkTensors("globalAvgPool", { x });
  const [N, H, W, C] = nhwc("globalAvgPool", x.shape);
  const y = Tensor.zeros([N, C], x.backend);
  x.backend.run(globalPoolCalls("avg", N, H * W, C, { x: x.ptr, y: y.ptr, argmax: 0, dy: 0, dx: 0 }).fwd);
  return y;
}

export function globalAvgPoolBackward(xShape: Shape, dy: Tensor): Tensor {
  checkTensors("globalAvgPoolBackward", { dy });
  const [N, H, W, C] = nhwc("globalAvgPool", xShape);
  checkDy("globalAvgPool", dy, [N, C]);
  const dx = Tensor.zeros(xShape, dy.backend);
  dy.backend.run(globalPoolCalls("avg", N, H * W, C, { x: 0, y: 0, argmax: 0, dy: dy.ptr, dx: dx.ptr }).bwd);
  return dx;
}

/** [N, H, W, C] → [N, C]: the max over pixels, with argmax for the backward. */
export function globalMaxPool(x: Tensor): MaxPoolResult {
  checkTensors("globalMaxPool", { x });
  const [N, H, W, C] = nhwc("globalMaxPool", x.shape);
  const be = x.backend;
  const y = Tensor.zeros([N, C], be);
  const argmaxPtr = be.heap.alloc(N * C * 4);
  be.run(globalPoolCalls("max", N, H * W, C, { x: x.ptr, y: y.ptr, argmax: argmaxPtr, dy: 0, dx: 0 }).fwd);
  return {
    y, argmaxPtr, argmax: be.heap.i32(argmaxPtr, N * C).slice(),
    free() { be.heap.free(argmaxPtr); y.free(); },
  };
}

export function globalMaxPoolBackward(xShape: Shape, dy: Tensor, fwd: MaxPoolResult): Tensor {
  checkTensors("globalMaxPoolBackward", { dy });
  const [N, H, W, C] = nhwc("globalMaxPool", xShape);
  checkDy("globalMaxPool", dy, [N, C]);
  const dx = Tensor.zeros(xShape, dy.backend);
  dy.backend.run(globalPoolCalls("max", N, H * W, C, { x: 0, y: 0, argmax: fwd.argmaxPtr, dy: dy.ptr, dx: dx.ptr }).bwd);
  return dx;
}

/**
 * 2×2 windows with stride 2 inside a 2-D input of at least 4 channels: the pool kernels' unrolled
 * case (isTwoByTwo in assembly/pool/pool.ts), the one f32_batchnorm_pool_bwd_* take.
 */
export function twoByTwo(g: PoolGeometry): boolean {
  return g.D === 1 && g.OD === 1 && g.KD === 1 && g.KH === 2 && g.KW === 2 && g.SH === 2 && g.SW === 2 && g.padTop === 0 && g.padLeft === 0 &&
    g.DH === 1 && g.DW === 1 && 2 * g.OH <= g.H && 2 * g.OW <= g.W && g.C >= 4;
}

/** The kernel calls of a pooling op, forward and backward, one per part. */
export interface PoolCalls { fwd: KernelCall[]; bwd: KernelCall[] }

/**
 * Max/avg pooling over the given buffers: forward by images or (one image, inference) bands of
 * output rows, backward by the same image parts. `limit` caps the parts (default: the threads).
 */
export function poolCalls(be: Backend, kind: "max" | "avg" | "indices", g: PoolGeometry, alloc: (bytes: number) => number, p: {
  x: number; y: number; argmax: number; dy: number; dx: number; training: boolean;
  /** Max: x is a ReLU's output; the backward applies the ReLU's backward too (dx·[x > 0], f32_maxpool_bwd_relu: where y > 0). */
  reluMask?: boolean;
  /** Max: x is a ReLU's input, and the forward applies the ReLU to the maxima (the ReLU's output is never written). */
  reluIn?: boolean;
  /** Max: x is a batch norm's input, whose output (x − sub)·A + K per channel (patterns of at least C floats) the forward pools. */
  affineIn?: { sub: number; A: number; K: number };
  /** Indices: the positions column-major (ONNX storage_order 1: c·H·W + w·H + h; 2-D only). */
  columnMajor?: boolean;
  /** Max, training, 2×2 windows with reluIn and affineIn: instead of argmax, a byte per output here naming its window's tap (f32_maxpool_fwd_codes) for the norm's backward; no backward of its own. */
  codes?: number;
}, limit = be.threads): PoolCalls {
  if (kind === "indices") checkIndices("maxPool indices", g, p.columnMajor ?? false);
  if (p.codes && !(kind === "max" && p.training && p.reluIn && p.affineIn && twoByTwo(g) && !p.argmax && !p.dx)) {
    throw new ConfigError("max pool: tap codes are for the training forward of a 2x2, stride-2 pool over a batch norm's output through a ReLU, with no argmax or backward of its own");
  }
  const work = g.N * g.OD * g.OH * g.OW * g.C * g.KD * g.KH * g.KW;
  const T = threadsForMemory(be, work, Math.max(g.N, g.OH), limit);
  const block = (q: Part) => {
    const b = poolBlock({ ...g, N: q.N, H: q.H, OH: q.OH, padTop: q.PT });
    // the padded height that count_include_pad clips to keeps its distance from the band's top
    b[POOL.HP] = g.H + g.padBottom + q.PT - q.hpDelta;
    return geometryBlock(alloc, be, b);
  };
  const mk = (q: Part, fwd: boolean): KernelCall => {
    const geo = block(q);
    // argmax indices are flat indices into the part's x: the backward uses the same parts
    if (kind === "indices") return fwd ? call("f32_maxpool_indices_fwd", geo, p.x + 4 * q.xOff, p.y + 4 * q.yOff, p.columnMajor ? 1 : 0) : call("f32_maxpool_indices_bwd", geo, p.dx + 4 * q.xOff);
    if (fwd && p.codes) return call("f32_maxpool_fwd_codes", geo, p.x + 4 * q.xOff, p.y + 4 * q.yOff, p.codes + q.yOff, p.affineIn!.sub, p.affineIn!.A, p.affineIn!.K);
    if (fwd) return kind === "max"
      ? call("f32_maxpool_fwd", geo, p.x + 4 * q.xOff, p.y + 4 * q.yOff, p.argmax ? p.argmax + 4 * q.yOff : 0, p.reluIn ? 1 : 0, p.affineIn?.sub ?? 0, p.affineIn?.A ?? 0, p.affineIn?.K ?? 0)
      : call("f32_avgpool_fwd", geo, p.x + 4 * q.xOff, p.y + 4 * q.yOff);
    if (kind === "max" && p.reluMask) return call("f32_maxpool_bwd_relu", geo, p.dy + 4 * q.yOff, p.argmax + 4 * q.yOff, p.y + 4 * q.yOff, p.dx + 4 * q.xOff);
    return kind === "max"
      ? call("f32_maxpool_bwd", geo, p.dy + 4 * q.yOff, p.argmax + 4 * q.yOff, p.dx + 4 * q.xOff)
      : call("f32_avgpool_bwd", geo, p.dy + 4 * q.yOff, p.dx + 4 * q.xOff);
  };
  // training keeps argmax per image part, so forward and backward split the same way: by images;
  // a 3-D pool splits by images alone (its depth slices are the images' rows here)
  // (indices: positions within the image, so its parts are whole images too)
  const reach = (g.KH - 1) * g.DH + 1, imagesOnly = p.training || g.D > 1 || g.OD > 1 || kind === "indices";
  const parts = imagesOnly
    ? (g.N >= 2 && T > 1
      ? splitRange(g.N, Math.min(T, g.N)).map(([a, b]): Part => ({ N: b - a, H: g.H, OH: g.OH, PT: g.padTop, xOff: a * g.D * g.H * g.W * g.C, yOff: a * g.OD * g.OH * g.OW * g.C, hpDelta: 0 }))
      : [wholePart(g.N, g.H, g.OH, g.padTop)])
    : windowParts(g.N, g.H, g.W, g.C, g.OH, g.OW, g.C, g.SH, g.padTop, reach, T);
  return { fwd: parts.map((q) => mk(q, true)), bwd: p.training && p.dx ? parts.map((q) => mk(q, false)) : [] };
}

/** The largest position a float32 holds exactly (every integer up to it is a float32). */
export const MAX_EXACT_INDEX = 2 ** 24;

/** Indices are positions in an example of C·D·H·W values, as floats: exact up to 2^24. */
export function checkIndices(label: string, g: PoolGeometry, columnMajor: boolean): void {
  const per = g.C * g.D * g.H * g.W;
  if (per > MAX_EXACT_INDEX) throw new ShapeError(`${label}: an example of ${g.C}x${g.D > 1 ? `${g.D}x` : ""}${g.H}x${g.W} = ${per} values has positions above 2^24 = ${MAX_EXACT_INDEX}, which float32 outputs do not hold exactly`);
  if (columnMajor && (g.D > 1 || g.OD > 1)) throw new ConfigError(`${label}: column-major indices are for 2-D pools`);
}

/**
 * Max pooling's indices: per output element, the position of its window's maximum within the
 * example in NCHW order (c·H·W + h·W + w; column-major c·H·W + w·H + h), as floats. Gradient zero.
 */
export function maxPool2dIndices(x: Tensor, options: Pool2dOptions, order: "row" | "column" = "row"): Tensor {
  checkTensors("maxPool2dIndices", { x });
  const g = pool2dGeometry("maxPool2d", x.shape, options);
  const be = x.backend;
  const y = Tensor.zeros(g.outShape, be);
  withScratchAlloc(be, (alloc) => be.run(poolCalls(be, "indices", g, alloc, { x: x.ptr, y: y.ptr, argmax: 0, dy: 0, dx: 0, training: false, columnMajor: order === "column" }).fwd));
  return y;
}

/** Global average / max pooling [N, HW, C] → [N, C] (argmax for max), forward and backward. */
export function globalPoolCalls(kind: "max" | "avg", N: number, HW: number, C: number, p: { x: number; y: number; argmax: number; dy: number; dx: number }): PoolCalls {
  return kind === "avg"
    ? { fwd: [call("f32_global_avgpool_fwd", p.x, N, HW, C, p.y)], bwd: p.dx ? [call("f32_global_avgpool_bwd", p.dy, N, HW, C, p.dx)] : [] }
    : { fwd: [call("f32_global_maxpool_fwd", p.x, N, HW, C, p.y, p.argmax)], bwd: p.dx ? [call("f32_global_maxpool_bwd", p.dy, p.argmax, N, HW, C, p.dx)] : [] };
}
