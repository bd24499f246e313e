// conv2d: NHWC input, HWIO weights [KH, KW, C/groups, OC]. Shape inference and validation here;
// forward, backward-data, backward-filter and bias gradient side by side. Depthwise convs
// (groups == C) go to the direct depthwise kernels, everything else to the implicit-gemm or the
// Winograd forward and, per pass, the backward kernel that convPaths chooses. (Past 400 lines:
// convPaths' measurements are written next to the rule they justify.)

import { ConfigError, ShapeError, checkOptionKeys } from "../errors.js";
import type { Backend } from "../runtime/backend.js";
import { ACT, CONV } from "../runtime/generated/layout.js";
import { argOf, call, setArg, type KernelCall } from "../runtime/calls.js";
import { balanced } from "../runtime/balance.js";
import { geometryBlock, rowBand, splitRange, threadsFor, windowParts, wholePart, withScratchAlloc, type Part } from "./split.js";
import { poolBlock, type PoolGeometry } from "./pool.js";
import { Tensor, checkTensors, formatShape, type Shape } from "../tensor.js";
import { actCode, fusedActivationBwd, type Activation } from "./gemm.js";
import { explicitPads, pair, window2d, type Padding, type Rounding } from "./window.js";

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
  const b = new Array<number>(CONV.FIELDS).fill(0);
  b[CONV.N] = g.N; b[CONV.H] = g.H; b[CONV.W] = g.W; b[CONV.C] = g.C;
  b[CONV.OH] = g.OH; b[CONV.OW] = g.OW; b[CONV.OC] = g.OC; b[CONV.KH] = g.KH; b[CONV.KW] = g.KW;
  b[CONV.SH] = g.SH; b[CONV.SW] = g.SW; b[CONV.DH] = g.DH; b[CONV.DW] = g.DW;
  b[CONV.PT] = g.padTop; b[CONV.PL] = g.padLeft; b[CONV.G] = g.groups;
  return b;
}

function checkBias(bias: Tensor | undefined, OC: number, label: string): void {
  if (bias && (bias.rank !== 1 || bias.shape[0] !== OC)) {
    throw new ShapeError(`${label}: bias must have shape [${OC}], got ${formatShape(bias.shape)}`);
  }
}

/** y = act(conv2d(x, w) + bias). */
export function conv2d(x: Tensor, w: Tensor, bias?: Tensor, options: Conv2dOptions = {}): Tensor {
  checkTensors("conv2d", { x, w, bias }, ["bias"]);
  const g = conv2dGeometry(x.shape, w.shape, options);
  checkBias(bias, g.OC, `conv2d${options.name ? ` "${options.name}"` : ""}`);
  const be = x.backend;
  const act = actCode(options.activation, "conv2d");
  const y = Tensor.zeros(g.outShape, be);
  withScratchAlloc(be, (alloc) => {
    const c = convCalls(be, g, alloc, { ...NO_BUFFERS, x: x.ptr, y: y.ptr, w: w.ptr, bias: bias ? bias.ptr : 0, act });
    be.run(c.pack);
    be.run(c.fwd);
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
  checkTensors("conv2dBackward", { x, w, dy });
  const g = conv2dGeometry(x.shape, w.shape, options);
  const label = `conv2d${options.name ? ` "${options.name}"` : ""}`;
  if (formatShape(dy.shape) !== formatShape(g.outShape)) {
    throw new ShapeError(`${label}: dy must have the output shape ${formatShape(g.outShape)}, got ${formatShape(dy.shape)}`);
  }
  const be = x.backend;
  const dx = Tensor.zeros(x.shape, be), dw = Tensor.zeros(w.shape, be), db = Tensor.zeros([g.OC], be);
  withScratchAlloc(be, (alloc) => {
    const c = convCalls(be, g, alloc, { ...NO_BUFFERS, x: x.ptr, w: w.ptr, training: true, dy: dy.ptr, dx: dx.ptr, dw: dw.ptr, db: db.ptr });
    be.run(c.pack); // (a plan runs it in the forward pass)
    runConvBackward(be, c);
  });
  return { dx, dw, db };
}

/** FLOPs of one forward pass (2 per multiply-add). */
export function conv2dFlops(g: ConvGeometry): number {
  return 2 * g.N * g.OH * g.OW * g.OC * g.KH * g.KW * (g.C / g.groups);
}

/**
 * What a depthwise conv's FLOPs weigh in the pool's split threshold (threadsFor): its kernels run
 * at 8–12 GMAC/s against the gemm's ~30 (MobileNetV2's layers, one thread), so the same work takes
 * about 3x as long. MobileNetV2's 7²×960 depthwise convs (0.85 MFLOP, 56 µs) ran on one thread.
 */
const DEPTHWISE_FLOP_WEIGHT = 3;

/** The buffers of a conv: pointers into wasm memory, 0 where absent. */
export interface ConvBuffers {
  x: number; y: number; w: number;
  /** Packed weight panels (inference plans; 0: the kernel reads w). */
  packed: number;
  bias: number;
  /** Fused activation code (ACT), applied after bias and residual. */
  act: number;
  /** Inference: a tensor shaped like y added in the epilogue before the activation (an add layer's other operand), 0: none. */
  res?: number;
  /** Inference: a max pool over the conv's output, fused in (poolFuses): y is then the pool's output (f32_conv2d_maxpool_fwd, or f32_conv2d_maxpool_fwd_winograd on the Winograd path). */
  pool?: PoolGeometry | null;
  training: boolean;
  /** Gradient w.r.t. the activated output, and where the fused activation's backward puts the pre-activation gradient. */
  dy: number; dyAct: number;
  /** Training: dy is already the pre-activation gradient (a max pool after the conv applied its ReLU's backward). */
  reluApplied?: boolean;
  /**
   * Training: the output gradient of a 2×2, stride-2 max pool over this conv's ReLU output
   * (pooledGradFits): the data, filter and bias gradients are taken from it and y in one call a
   * part (f32_conv2d_bwd_pooled), and dy is not read.
   */
  pooledDy?: number;
  dx: number; dw: number; db: number;
}
const NO_BUFFERS: ConvBuffers = { x: 0, y: 0, w: 0, packed: 0, bias: 0, act: 0, training: false, dy: 0, dyAct: 0, dx: 0, dw: 0, db: 0 };

/** Every kernel call of one conv2d (gemm-based or depthwise), in the order they run. */
export interface ConvCalls {
  /**
   * Packs w into `packed`, transforms it for the Winograd passes, or reverses a depthwise conv's
   * taps for its data gradient (run when the weights changed; a training plan runs it every step,
   * an eager op every call).
   */
  pack: KernelCall[];
  fwd: KernelCall[];
  actBwd: KernelCall[];
  /** bwd-data (split by images only: bands of rows would write overlapping input rows; none with pooledDy, whose call is in bwdFilter). */
  bwdData: KernelCall[];
  /** bwd-filter: part t > 0 writes a partial sum, which `reduce` adds into dw, in turn; with pooledDy each part's f32_conv2d_bwd_pooled also writes its images' dx and a partial db. */
  bwdFilter: KernelCall[];
  reduce: KernelCall[];
  biasBwd: KernelCall[];
}

/** Which kernel runs each pass of a (non-depthwise) conv: convPaths chooses, tests and benches may name one. */
export interface ConvPaths {
  /**
   * "direct": f32_conv2d_fwd (the implicit gemm); "winograd": f32_conv2d_fwd_winograd (3×3 or 5×5,
   * stride 1, dilation 1, one group: winogradFits), over filters transformed once per weight version.
   */
  fwd: "direct" | "winograd";
  /**
   * "implicit": f32_conv2d_bwd_filter_implicit; "im2col": f32_conv2d_bwd_filter (im2col + gemm, a
   * plain gemm when pointwise); "winograd": f32_conv2d_bwd_filter_winograd (3×3 only; F(2×2)
   * where `tile` is 2, else F(4×4)).
   */
  bwdFilter: "implicit" | "im2col" | "winograd";
  /**
   * "implicit": f32_conv2d_bwd_data_implicit (stride 1, padding at most the kernel's reach − 1: the
   * forward conv of dy with the flipped weights); "direct": f32_conv2d_bwd_data_direct (stride 1,
   * OC/groups a multiple of 4: dot products over the output channels); "im2col":
   * f32_conv2d_bwd_data (gemm + col2im); "winograd": f32_conv2d_bwd_data_winograd (the forward
   * Winograd kernel on dy with the flipped, transposed filters; winogradFits, any padding).
   */
  bwdData: "implicit" | "direct" | "im2col" | "winograd";
  /**
   * The Winograd tile: m×m outputs a tile, F(m×m, 3×3) with m = 2, 4 or 6, F(4×4, 5×5) for 5×5
   * filters (winogradTiles; used where fwd or bwdData is "winograd"; bwdFilter takes F(2) for 2, else F(4)).
   */
  tile: 2 | 4 | 6;
  /**
   * How a forward of fewer images than threads splits across them: "channels", ranges of 8-channel
   * output panels (each thread streams its share of the packed or transformed weights; a Winograd
   * input transform is repeated per thread), or by output positions, each thread streaming all the
   * weights: "rows", bands of output rows (direct), or "tiles", ranges of output tiles (Winograd).
   * "channels" needs 16 output channels or more, one group and (direct) weights packed by the plan
   * (inference), or a depthwise conv of multiplier 1 (ranges of 8 channels, as the conv before it
   * splits); elsewhere the forward splits by positions.
   */
  split: "rows" | "channels" | "tiles";
}

/** Whether the Winograd forward and data-gradient kernels take this geometry (their preconditions): 3×3 or 5×5, stride 1, dilation 1, one group. */
export const winogradFits = (g: ConvGeometry): boolean =>
  (g.KH === 3 || g.KH === 5) && g.KW === g.KH && g.SH === 1 && g.SW === 1 && g.DH === 1 && g.DW === 1 && g.groups === 1;

/** The Winograd tiles (m of F(m×m, r×r)) the kernels have for this kernel size: 2, 4, 6 for 3×3; 4 for 5×5. */
export const winogradTiles = (g: ConvGeometry): readonly number[] => (g.KH === 5 ? [4] : [2, 4, 6]);

/**
 * Whether f32_conv2d_maxpool_fwd_winograd pools this max pool over the conv's output: 2×2, stride
 * 2, no padding, the output rounded down (every Winograd tile is even, so it holds whole windows).
 */
export const winogradPoolFits = (g: ConvGeometry, pg: PoolGeometry): boolean =>
  pg.D === 1 && pg.KD === 1 && pg.KH === 2 && pg.KW === 2 && pg.SH === 2 && pg.SW === 2 && pg.DH === 1 && pg.DW === 1 &&
  pg.padTop === 0 && pg.padLeft === 0 && pg.OH === g.OH >> 1 && pg.OW === g.OW >> 1;

/** Whether a conv's forward on `path` can take the max pool `pg` over its output into its kernel (ConvBuffers.pool). */
export function poolFuses(g: ConvGeometry, pg: PoolGeometry, path: ConvPaths["fwd"] = convPaths(g).fwd): boolean {
  if (g.depthwise || pg.N !== g.N || pg.H !== g.OH || pg.W !== g.OW || pg.C !== g.OC) return false;
  // f32_conv2d_maxpool_fwd pools 2-D windows of adjacent taps
  return path === "winograd" ? winogradPoolFits(g, pg) : pg.D === 1 && pg.KD === 1 && pg.DH === 1 && pg.DW === 1;
}

/** Whether f32_conv2d_bwd_data_direct takes this geometry (its preconditions). */
export const directDataFits = (g: ConvGeometry): boolean => g.SH === 1 && g.SW === 1 && (g.OC / g.groups) % 4 === 0;

/** Whether f32_conv2d_bwd_data_implicit takes this geometry (its preconditions). */
export const implicitDataFits = (g: ConvGeometry): boolean =>
  g.SH === 1 && g.SW === 1 && g.padTop <= g.DH * (g.KH - 1) && g.padLeft <= g.DW * (g.KW - 1);

/**
 * The kernels for a conv by shape, from measured costs (batch 64, one thread, relaxed build).
 * Filter gradient: the implicit kernel (no im2col, dy read in place) measured 1.5–8x faster than
 * im2col + gemm where a group has few channels (LeNet's C1 28²×1→6 5×5 5.7x, 28²×1→8 3×3 8x,
 * 32²×3→16 5×5 1.9x, C3 14²×6→16 5×5 1.6x, 14²×8→16 3×3 1.6x) and level with it up to 32×32
 * channels per group (16²×32→64 3×3: 0.97x); above that, and for pointwise convs (one gemm),
 * the gemm path. Where Winograd fits (3×3, stride 1, dilation 1, one group), its filter gradient
 * (the forward's transforms on x and dy, one product per point with the tiles as its depth; a
 * quarter of the multiplies with F(4×4)) ran against the implicit kernel (ms, batch 64 unless
 * stated, blocks of 2 MiB; its 512 KiB blocks then ran level or faster): 14²×16→32 7.3 → 5.8
 * (8.2 → 5.0 and 8.7 → 5.7 with 512 KiB), 28²×16→16 15.5 → 11.0, 28²×8→16 8.0 → 6.3, 8²×32→32 6.0 → 3.0,
 * 16×4²×64→64 1.8 → 0.7 (F(2)), batch 8 56²×64→64 123 → 37, batch 2 14²×256→256 36 → 16; and
 * lost where the channels are few, its transforms then outweighing the products: 14²×8→8 0.96 →
 * 1.24, 32²×3→16 4.2 → 6.2, 28²×1→16 1.4 → 4.9; and where a call has few tiles, as the
 * (m+2)²·C·OC sums it adds up are then most of its memory traffic: batch 1 7²×512 (4 tiles of
 * 4×4) 15.7 → 21.8 against im2col, where batch 4 (16 tiles) ran 73 → 52 and batch 4 4²×64 (16
 * tiles of 2×2) 0.30 → 0.24. So it is taken where the harmonic mean of C and OC is at least 10
 * (8 and 16: 10.7; 8 and 8: 8; 3 and 16: 5) and a call (the batch, or a thread's share of its
 * images: convCalls) has at least 16 tiles, with F(2×2)
 * where the Winograd tile is 2, else F(4×4) (F(6×6)'s larger coefficients would cost precision
 * over a sum of many tiles). Data gradient: at stride 1 the implicit kernel (the forward kernel on dy, no
 * col2im) skips the taps that fall outside dy tile by tile, so even a "valid" conv whose input
 * has twice the output's pixels (C3 14²→10²) ran 1.3–1.5x faster than gemm + col2im; "same"
 * convs ran level or faster; it is not chosen past 4x the output's pixels (mostly skipped taps
 * of partial tiles), nor for pointwise convs (one gemm). Where a group has at most 4 input
 * channels the implicit kernel's 8-channel output tiles are mostly empty, and the direct kernel
 * (dot products over the output channels, stride 1, OC/groups a multiple of 4) ran 1.4–2.5x
 * faster (28²×1→8 3×3, 32²×3→16 5×5, 28²×3→32 3×3, batch 64 14²×4→16 5×5 "valid" 1.75 → 0.99 ms).
 * With 5 or 6 input channels it is taken too (batch 64, ms implicit → direct, one thread,
 * alternating, on an Intel Xeon host: "valid" 5×5 14²×6→16 2.21 → 1.94 with 4 + 2 channel
 * blocks, a 6-channel block 1.17–1.23x faster again; on an AMD EPYC host, with pixels also paired
 * with the one below, the 6-channel block — twelve accumulators — was 8% slower than 4 + 2, which
 * the kernel now uses (data.ts); 14²×6→32
 * 6.96 → 4.17; 3×3 "same" 14²×6→16 1.80 → 1.52, 28²×6→16 7.57 → 6.41, 14²×5→16 1.87 → 1.45);
 * from 8 input channels up it was 0.6–1.0x the implicit one (14²×8→16, 7²×16→32, 16²×32→64),
 * which keeps those.
 * Winograd (3×3, stride 1, dilation 1, one group: 2.25 multiplies an output for F(4×4), 1.78 for
 * F(6×6), against 9), forward with bias and ReLU (medians of alternating runs, batch 1 unless
 * stated, one thread, relaxed build; µs direct → F(4)): 56²×64 4,600 → 1,750, 28²×128 4,550 →
 * 1,500, 14²×256 4,650 → 1,700–2,000, 7²×512 5,000 → 2,200, 224²×64 77,700 → 32,800, 28²×512
 * 90,000–116,000 → 28,000; with few channels 56²×8→16 232 → 174, 8×28²×8→16 376 → 336,
 * 32²×16→16 115 → 92, 8²×32→32 37 → 19. The data gradient (Winograd on dy against the implicit
 * kernel): 8×56²×64 50,500 → 19,700, 56²×16→16 391 → 284, 8×28²×8→16 633 → 560, 4²×64 111 → 28
 * (F(2)). So both passes take it from 8 channels in and out; with 3 input channels (a first
 * layer, 224²×3→64) F(4) ran at 0.6x. Tile: F(2×2) where the map has at most 4 rows or columns
 * (4²×64: F(2) 26 µs, direct 39, F(4) 45); F(6×6) where its tiles waste little of the map
 * (transformed points ceil(OH/6)·ceil(OW/6)·64 at most 0.92 of F(4)'s), the map is at least 48
 * wide and there are at most 128 channels: 56²×64 1,750 → 1,580, 2×56²×64 4,220 → 3,590,
 * 112²×128 25,600 → 23,400, 224²×64 32,800 → 27,000; at 28² (a partial tile in 5) level or 20 %
 * slower, and with more channels its 64 transformed filter sets (against 36) outgrow the caches
 * (56²×256 27 → 37 ms). F(4) everywhere else. Accuracy, max |Δ| / max |y| against float64
 * (test/winograd.test.ts): F(2) 5.3e-7, F(4) 1.3e-5, F(6) 2.3e-5 on a 203-channel sweep (the
 * implicit kernels ~5e-7). The filter transforms run once per weight version for inference, once
 * per step in training: 1–2 µs a 64×64 layer, 11.5 ms each (forward, data) for a 512×512 one, whose
 * transformed filters (37.7 MB for F(4)) outgrow the caches — about five 7²×512 images' forward,
 * paid back from a training batch of ~8. So `training` (filters transformed every step) takes
 * Winograd only where a pass writes at least TRAIN_WINOGRAD_PIXELS pixels a step (8 images of 7²).
 * With fewer images than threads (batch 1), a forward splits by output positions, each thread
 * streaming all the weights, or by ranges of output channels, each streaming its share (a Winograd
 * one repeating the input transform). Winograd, two threads against one, ResNet-18's maps
 * (relaxed build, ms, medians of 30 alternating runs; positions as bands of rows then): 56²×64
 * F(6) 4.02 → rows 2.31 / channels 2.79; 28²×128 3.82 → 2.12 / 2.25; 14²×256 4.45 → 2.51 / 2.49;
 * 7²×512 6.41 → 6.47 / 3.50 (rows did not scale: 37.7 MB of filters read twice). So channels
 * where there are at least 16 output channels per tile of the map. Positions are now ranges of
 * tiles, equal to a tile: 28²×128's 7 rows of F(4) tiles made bands of 4 and 3 (paired ratios
 * tiles / rows, 2 threads, one process: 0.92–1.00, and ResNet-18 0.95–0.97 with the direct split
 * below). The direct kernel's rule is the same with its 4-pixel tiles: ResNet-18's 14²→7² 3×3
 * stride-2 conv 256→512 (13 tiles; bands of 4 and 3 rows) 0.94–0.96 by channels, its 1×1
 * shortcut level (0.97), while the 56²→28² and 28²→14² stride-2 convs and their shortcuts ran
 * 1.0–1.5x slower by channels than by rows.
 * 5×5 filters take F(4×4, 5×5) (4 multiplies an output against 25; F(2×2, 5×5), 9, ran slower
 * than F(4×4) on every map tried: C3 batch 64 0.83 against 0.55 ms). Forward, direct → F(4×4), ms,
 * one thread, relaxed build, bias and ReLU, alternating in one process: batch 64 LeNet's C3
 * 14²×6→16 "valid" 0.63 → 0.55 (with its 2×2 pool fused 0.65 → 0.51), 32²×3→16 3.48 → 3.19,
 * 16²×16→20 6.05 → 2.92, 8²×20→20 1.88 → 0.61, 28²×32→64 99.9 → 25.9, 28²×6→6 2.65 → 2.05,
 * 28²×8→4 3.21 → 2.09; batch 1 8²×20→20 0.033 → 0.013, 7²×32→32 0.057 → 0.024, 8²×64→64 "valid"
 * (one tile) 0.066 → 0.048, 32²×3→16 0.056 → 0.048; and lost with one or two input channels
 * (28²×1→16 1.18 → 2.55, 28²×2→16 1.93 → 2.26; batch 1 28²×1→16 0.020 → 0.034, 28²×2→16 0.031
 * → 0.035). With few channels and a small map at batch 1 it runs level or loses microseconds
 * (C3 at batch 1, 9 tiles, 0.011 both ways, pooled 0.011 → 0.010; batch 2 0.021 → 0.019, batch 4
 * 0.040 → 0.034; 10²×3→8 "same" 0.004 → 0.006, 12²×4→4 "valid" 0.003 both; a packed V, tried
 * there first, had made C3 at batch 1 0.029: PACKED_CHANNELS in winograd.ts). So from 3 input
 * channels and 4 output channels, whatever the batch (a rule on the batch would make predictions
 * depend on the batch size). The data
 * gradient (Winograd on dy against convPaths' other choice, batch 64): 16²×16→20 4.79 → 1.93
 * (implicit), 28²×6→16 4.92 → 3.49 (direct), 14²×32→32 11.6 → 4.48, 32²×3→16 level (4.02 → 4.05),
 * by the same rule with the channels exchanged; not for a "valid" conv whose data gradient pads
 * dy out to a larger map (C3: 0.72 direct → 1.94, most tiles over the padding), so only where the
 * input has at most 1.5x the output's pixels. Accuracy (test/winograd.test.ts): 3.0e-5 forward,
 * 7.8e-6 data gradient. Training takes the 5×5 forward from 16 input channels only: with LeNet's
 * C3 (6 channels) on it, the LeNet-5-with-batch-norm step ran 2.75 → 2.57 ms (batch 64, one
 * thread, alternating in one process), but `npm start`'s run (seed 1) ended at 0.64% test error
 * instead of 0.58%, past the 0.6% the main job is held to — the same sums rounded differently,
 * which moves a seed by a few hundredths (docs/main-job.md); the ConvNetJS CIFAR-10 net's 16- and 20-channel
 * convs keep it (its step 21.9 → 16.1 ms, 15.1 with its 3-channel conv on it too).
 */
export function convPaths(g: ConvGeometry, training = false): ConvPaths {
  const perStep = (pixels: number) => !training || g.N * pixels >= TRAIN_WINOGRAD_PIXELS;
  const tile = winogradTile(g);
  // training keeps a 5×5 conv of fewer than 16 input channels on the direct forward (the comment above: LeNet's C3 and the main job)
  const fwd = winogradPays(g, g.C, g.OC, g.OH, g.OW) && perStep(g.OH * g.OW) && !(training && g.KH === 5 && g.C < 16) ? "winograd" : "direct";
  return {
    fwd,
    bwdFilter: winogradFilterPays(g, tile, g.N) ? "winograd" : gemmFilterPath(g),
    bwdData: winogradPays(g, g.OC, g.C, g.H, g.W) && perStep(g.H * g.W) && (g.KH === 3 || g.H * g.W <= 1.5 * g.OH * g.OW) ? "winograd" : gemmDataPath(g),
    tile,
    split: forwardSplit(g, fwd, tile),
  };
}

/** Training: pixels a Winograd pass must write per step to pay for its filter transform then (convPaths). */
const TRAIN_WINOGRAD_PIXELS = 8 * 7 * 7;

/** The filter-gradient path among the gemm-based kernels (convPaths' choice where Winograd is not). */
function gemmFilterPath(g: ConvGeometry): ConvPaths["bwdFilter"] {
  return !isPointwise(g) && (g.C / g.groups) * (g.OC / g.groups) <= 1024 ? "implicit" : "im2col";
}

/** The Winograd filter gradient's tile for a Winograd tile (ConvPaths.tile). */
const filterTile = (tile: ConvPaths["tile"]): 2 | 4 => (tile === 2 ? 2 : 4);

/** Whether the Winograd filter gradient pays for a call over `images` images (convPaths' comment). */
function winogradFilterPays(g: ConvGeometry, tile: ConvPaths["tile"], images: number): boolean {
  const m = filterTile(tile);
  return winogradFits(g) && g.KH === 3 && 2 * g.C * g.OC >= 10 * (g.C + g.OC) && images * Math.ceil(g.OH / m) * Math.ceil(g.OW / m) >= 16;
}

/** The data-gradient path among the gemm-based kernels (convPaths' choice where Winograd is not). */
function gemmDataPath(g: ConvGeometry): ConvPaths["bwdData"] {
  const dataRatio = (g.H * g.W) / (g.OH * g.OW); // the implicit data pass's multiply-adds over the forward's
  const direct = g.C / g.groups <= 6;
  return isPointwise(g) ? "im2col" : directDataFits(g) && direct ? "direct" : implicitDataFits(g) && dataRatio <= 4 ? "implicit" : "im2col";
}

/** Whether a Winograd pass reading C channels and writing OC channels of OH×OW pixels (per image) beats the direct kernels (convPaths' comment). */
function winogradPays(g: ConvGeometry, C: number, OC: number, OH: number, OW: number): boolean {
  if (!winogradFits(g)) return false;
  if (g.KH === 3) return C >= 8 && OC >= 8 && OH >= 2 && OW >= 2;
  // 5×5, F(4×4): from 3 input channels (the same rule at every batch size, so predictions do not depend on it)
  return C >= 3 && OC >= 4;
}

/** How a forward of one image on the path `fwd` splits across threads (convPaths' comment). */
function forwardSplit(g: ConvGeometry, fwd: ConvPaths["fwd"], m: number): ConvPaths["split"] {
  const winograd = fwd === "winograd";
  const tiles = winograd ? Math.ceil(g.OH / m) * Math.ceil(g.OW / m) : Math.ceil((g.OH * g.OW) / 4);
  return g.OC >= 16 * tiles ? "channels" : winograd ? "tiles" : "rows";
}

/** The Winograd tile for the map (convPaths' comment). */
function winogradTile(g: ConvGeometry): ConvPaths["tile"] {
  if (g.KH === 5) return 4;
  const points = (m: number) => Math.ceil(g.OH / m) * Math.ceil(g.OW / m) * (m + 2) ** 2;
  if (Math.min(g.OH, g.OW) <= 4) return 2;
  return Math.max(g.C, g.OC) <= 128 && Math.min(g.OH, g.OW) >= 48 && points(6) <= 0.92 * points(4) ? 6 : 4;
}

/** Balance.move for a split by two arguments of the kernel (a range's start and end), named as its parameters. */
const moveArgs = (start: string, end: string) => (c: KernelCall, a: number, b: number) => {
  setArg(c, start, a);
  setArg(c, end, b);
};

/**
 * The calls of a conv2d over `p`'s buffers, split for the pool: forward by images or, with fewer
 * images than threads, as `ConvPaths.split` says (bands of output rows or ranges of Winograd
 * tiles or of output channels; a depthwise conv of multiplier 1, ranges of its channels); backward by images. `alloc` gives memory that lives as long as
 * the calls.
 */
export function convCalls(
  be: Backend, g: ConvGeometry, alloc: (bytes: number) => number, p: ConvBuffers, limit = be.threads, paths: Partial<ConvPaths> = {},
): ConvCalls {
  const path: ConvPaths = { ...convPaths(g, p.training), ...paths };
  // a forward path named without a split splits as that path would by default
  if (paths.fwd && !paths.split) path.split = forwardSplit(g, path.fwd, path.tile);
  if (path.split === (path.fwd === "winograd" ? "rows" : "tiles")) throw new ConfigError(`conv2d: the ${path.fwd} forward does not split by ${path.split} (${path.fwd === "winograd" ? "tiles" : "rows"} or channels)`);
  if (path.bwdData === "implicit" && !implicitDataFits(g)) throw new ConfigError("conv2d: the implicit data gradient needs stride 1 and padding within the kernel's reach");
  if (path.bwdData === "direct" && !directDataFits(g)) throw new ConfigError("conv2d: the direct data gradient needs stride 1 and output channels per group a multiple of 4");
  if ((path.fwd === "winograd" || path.bwdData === "winograd") && !winogradFits(g)) throw new ConfigError("conv2d: the Winograd kernels need a 3x3 or 5x5 kernel, stride 1, dilation 1 and one group");
  if (path.bwdFilter === "winograd" && !(winogradFits(g) && g.KH === 3)) throw new ConfigError("conv2d: the Winograd filter gradient needs a 3x3 kernel, stride 1, dilation 1 and one group");
  const tiles = winogradTiles(g);
  if (!tiles.includes(path.tile)) throw new ConfigError(`conv2d: the Winograd tile of a ${g.KH}x${g.KW} kernel must be ${tiles.join(", ")}; got ${path.tile}`);
  const T = threadsFor(be, conv2dFlops(g) * (g.depthwise ? DEPTHWISE_FLOP_WEIGHT : 1), Math.max(g.N, g.OH), limit);
  const reach = (g.KH - 1) * g.DH + 1;
  // a part's geometry (its images, or a band of rows) and where it reads and writes
  const fields = (q: Part) => convBlock({ ...g, N: q.N, H: q.H, OH: q.OH, padTop: q.PT });
  const block = (q: Part) => geometryBlock(alloc, be, fields(q));
  const at = (q: Part) => ({ x: p.x + 4 * q.xOff, y: p.y + 4 * q.yOff, res: p.res ? p.res + 4 * q.yOff : 0 });
  const scratch = (geo: number) => (g.depthwise ? 0 : be.kernels.f32_conv2d_scratch_bytes(geo));
  const whole = () => block(wholePart(g.N, g.H, g.OH, g.padTop));
  const m = path.tile, k = be.kernels;
  if ((p.res || p.pool) && (g.depthwise || p.training)) throw new ConfigError("conv2d: a fused residual or max pool is for the forward of an inference plan's non-depthwise conv");
  if (p.pool && !poolFuses(g, p.pool, path.fwd)) {
    throw new ConfigError(`conv2d: a max pool fused into the ${path.fwd} forward must read the conv's output` +
      (path.fwd === "winograd" ? " with 2x2 windows, stride 2, no padding, rounded down" : " with 2-D windows of adjacent taps"));
  }
  // Winograd: the filters transformed into memory that lives as long as the calls
  const wino = (data: 0 | 1) => {
    const geo = whole(), u = alloc(k.f32_conv2d_winograd_floats(geo, m, data) * 4);
    return { u, pack: call(data ? "f32_conv2d_pack_winograd_data" : "f32_conv2d_pack_winograd", geo, m, p.w, u) };
  };
  const wf = p.y !== 0 && path.fwd === "winograd" ? wino(0) : null;
  const wd = p.training && p.dx !== 0 && path.bwdData === "winograd" && !p.pooledDy ? wino(1) : null; // (a pooled conv's data gradient is its own)
  // a depthwise conv's data gradient at stride 1 (multiplier 1, padding within the window's
  // reach) is its forward kernel on dy with the taps reversed and the padding the reach's rest:
  // dx[i] = Σ_k dy[i + P − k·D]·w[k] = Σ_k' dy[i − ((K−1)·D − P) + k'·D]·w[K−1−k'] (the tap order
  // reversed, kept per step in flipped by a pack call, as the Winograd data filters are) — unless
  // the caller names the data pass's kernel, as convTransposeCalls does, which runs no pack calls
  const flipped = p.training && p.dx !== 0 && !paths.bwdData && depthwiseDataByForward(g) ? alloc(g.KH * g.KW * g.OC * 4) : 0;
  const pack = wf || wd ? [wf, wd].flatMap((t) => (t ? [t.pack] : []))
    : p.packed && !g.depthwise ? [call("f32_conv2d_pack_weights", whole(), p.w, p.packed)]
    : flipped ? [call("f32_copy_rows", p.w + 4 * (g.KH * g.KW - 1) * g.OC, -g.OC, flipped, g.OC, g.KH * g.KW, g.OC, 0)] : [];
  // fewer images than threads: ranges of output channels, or of Winograd tiles (every tile is
  // computed as on one thread), or bands of output rows; else by images
  const few = g.N < T && T > 1, byChannels = few && path.split === "channels" && g.OC >= 16 && !g.depthwise && g.groups === 1 && (wf !== null || p.packed !== 0);
  // a depthwise conv (multiplier 1) by ranges of channels, as the conv before it splits its output
  const dwByChannels = few && path.split === "channels" && g.depthwise && g.OC === g.C;
  // one forward call over part q (its images, or a band of rows): output channels [c0, c1) of each
  // group, Winograd tiles [t0, t1) of the part's
  // a depthwise forward over channels [c0, c1) of every pixel
  const dwCall = (geo: number, x: number, y: number, c0: number, c1: number): KernelCall => call("f32_depthwise_conv2d_fwd", geo, x, p.w, p.bias, p.act, y, c0, c1);
  const fwdCall = (q: Part, c0: number, c1: number, t0: number, t1: number): KernelCall => {
    const geo = block(q), { x, y, res } = at(q);
    if (g.depthwise) return dwCall(geo, x, y, 0, g.C);
    // a fused pool's output: the part's images' windows (parts are whole images or tiles of all of them)
    const yPool = p.pool ? p.y + 4 * (q.yOff / (g.OH * g.OW * g.OC)) * p.pool.OH * p.pool.OW * g.OC : 0;
    return {
      ...(wf && p.pool ? call("f32_conv2d_maxpool_fwd_winograd", geo, m, x, wf.u, p.bias, p.act, yPool, c0, c1, t0, t1, 0)
        : wf ? call("f32_conv2d_fwd_winograd", geo, m, x, wf.u, p.bias, p.act, res, y, c0, c1, t0, t1, 0)
        : call("f32_conv2d_fwd", geo, x, p.w, p.packed, p.bias, p.act, res, y, c0, c1, 0)),
      scratchBytes: scratch(geo),
    };
  };
  const all = wholePart(g.N, g.H, g.OH, g.padTop), imageTiles = Math.ceil(g.OH / m) * Math.ceil(g.OW / m), OCg = g.OC / g.groups;
  // one image in bands of output rows (windowParts'), whose cuts move: a moved band's call gets
  // the band's geometry, written over its block, and pointers; every band the whole image's
  // scratch, so that a band moved later fits its thread's block
  const rowBands = (): KernelCall[] => {
    const parts = windowParts(g.N, g.H, g.W, g.C, g.OH, g.OW, g.OC, g.SH, g.padTop, reach, T);
    if (parts.length < 2) return parts.map((q) => fwdCall(q, 0, OCg, 0, imageTiles)); // a band of pure padding: not split
    const band = (r0: number, r1: number) => rowBand(g.H, g.W, g.C, g.OW, g.OC, g.SH, g.padTop, reach, r0, r1);
    const most = scratch(whole()), first = (q: Part) => q.yOff / (g.OW * g.OC);
    return balanced(parts.map((q) => [first(q), first(q) + q.OH] as const), g.OH, 1, (a, b) => {
      const c = fwdCall(band(a, b)!, 0, OCg, 0, imageTiles);
      return g.depthwise ? c : { ...c, scratchBytes: most };
    }, (c, a, b) => {
      const q = band(a, b)!, f = fields(q), ptr = at(q);
      be.heap.i32(argOf(c, "g"), f.length).set(f);
      setArg(c, "x", ptr.x);
      setArg(c, "y", ptr.y);
      if (p.res) setArg(c, "res", ptr.res);
    }, (a, b) => band(a, b) !== null);
  };
  // fewer images than threads: the parts' cuts move with the threads' speeds (runtime/balance.ts)
  const fwd: KernelCall[] = p.y === 0 ? [] : p.pool && !wf ? pooledFwd(be, g, p.pool, alloc, p, T)
    : byChannels ? balanced(splitRange(g.OC, T, 8), g.OC, 8, (c0, c1) => fwdCall(all, c0, c1, 0, g.N * imageTiles), moveArgs("oc0", "oc1"))
    : dwByChannels ? ((geo) => balanced(splitRange(g.C, T, 8), g.C, 8, (c0, c1) => dwCall(geo, p.x, p.y, c0, c1), moveArgs("c0", "c1")))(whole())
    : wf && few ? balanced(splitRange(g.N * imageTiles, T), g.N * imageTiles, 1, (t0, t1) => fwdCall(all, 0, OCg, t0, t1), moveArgs("tile0", "tile1"))
    : few && g.N === 1 ? rowBands()
    : windowParts(g.N, g.H, g.W, g.C, g.OH, g.OW, g.OC, g.SH, g.padTop, reach, T).map((q) => fwdCall(q, 0, OCg, 0, q.N * imageTiles));
  const out: ConvCalls = { pack, fwd, actBwd: [], bwdData: [], bwdFilter: [], reduce: [], biasBwd: [] };
  if (!p.training) return out;
  out.actBwd = p.reluApplied ? [] : fusedActivationBwd(p.act, p.y, p.dy, p.dyAct, g.N * g.OH * g.OW * g.OC);
  const dy = out.actBwd.length ? p.dyAct : p.dy;
  const imgParts = g.N >= 2 && T > 1 ? windowParts(g.N, g.H, g.W, g.C, g.OH, g.OW, g.OC, g.SH, g.padTop, reach, Math.min(T, g.N)) : [wholePart(g.N, g.H, g.OH, g.padTop)];
  // convPaths weighs the Winograd filter gradient for the whole batch; each part here has its share of the images
  const filterPath = paths.bwdFilter ?? (path.bwdFilter === "winograd" && !winogradFilterPays(g, m, Math.min(...imgParts.map((q) => q.N))) ? gemmFilterPath(g) : path.bwdFilter);
  const wSize = g.KH * g.KW * (g.C / g.groups) * g.OC;
  if (p.pooledDy && (!pooledGradFits(be, g) || p.act !== ACT.RELU || !p.reluApplied)) throw new ConfigError("conv2d: gradients through a max pool's windows need one group, column dilation 1, at least 4 output channels and 2x2 outputs, its own ReLU (whose backward the pool applies) and images whose scratch fits the cache");
  imgParts.forEach((q, t) => {
    const geo = block(q);
    // dw 0: no filter gradient wanted (a transposed conv at inference runs only the data pass)
    const dw = !p.dw ? 0 : t === 0 ? p.dw : alloc(wSize * 4);
    if (dw && t > 0) out.reduce.push(call("f32_add_fwd", p.dw, dw, p.dw, wSize));
    if (g.depthwise) {
      if (p.dx && flipped) {
        const back = geometryBlock(alloc, be, convBlock({ ...g, N: q.N, H: g.OH, W: g.OW, OH: g.H, OW: g.W, padTop: (g.KH - 1) * g.DH - g.padTop, padLeft: (g.KW - 1) * g.DW - g.padLeft }));
        out.bwdData.push(call("f32_depthwise_conv2d_fwd", back, dy + 4 * q.yOff, flipped, 0, 0, p.dx + 4 * q.xOff, 0, g.C));
      } else if (p.dx) out.bwdData.push(call("f32_depthwise_conv2d_bwd_data", geo, dy + 4 * q.yOff, p.w, p.dx + 4 * q.xOff));
      if (dw) out.bwdFilter.push(call("f32_depthwise_conv2d_bwd_filter", geo, p.x + 4 * q.xOff, dy + 4 * q.yOff, dw));
    } else {
      const sb = () => scratch(geo);
      if (p.dx && !p.pooledDy) {
        const c = wd ? call("f32_conv2d_bwd_data_winograd", geo, m, dy + 4 * q.yOff, wd.u, p.dx + 4 * q.xOff, 0)
          : call(DATA_KERNELS[path.bwdData as Exclude<ConvPaths["bwdData"], "winograd">], geo, dy + 4 * q.yOff, p.w, p.dx + 4 * q.xOff, 0);
        out.bwdData.push({ ...c, scratchBytes: sb() });
      }
      if (p.pooledDy) {
        // every gradient from the pool's over image part q's windows (its data gradient in one pass with the others)
        const db = !p.db ? 0 : t === 0 ? p.db : alloc(g.OC * 4);
        if (db && t > 0) out.reduce.push(call("f32_add_fwd", p.db, db, p.db, g.OC));
        const first = q.yOff / (g.OH * g.OW * g.OC), dp = p.pooledDy + 4 * first * (g.OH >> 1) * (g.OW >> 1) * g.OC, dx = p.dx ? p.dx + 4 * q.xOff : 0;
        if (dx || dw || db) out.bwdFilter.push({ ...call("f32_conv2d_bwd_pooled", geo, p.x + 4 * q.xOff, p.y + 4 * q.yOff, dp, p.w, dx, dw, db, 0), scratchBytes: k.f32_conv2d_bwd_pooled_scratch_bytes(geo) });
      } else if (dw && filterPath === "winograd") {
        const fm = filterTile(m);
        out.bwdFilter.push({ ...call("f32_conv2d_bwd_filter_winograd", geo, fm, p.x + 4 * q.xOff, dy + 4 * q.yOff, dw, 0), scratchBytes: k.f32_conv2d_bwd_filter_winograd_scratch_bytes(geo, fm) });
      } else if (dw) {
        out.bwdFilter.push({ ...call(filterPath === "implicit" ? "f32_conv2d_bwd_filter_implicit" : "f32_conv2d_bwd_filter", geo, p.x + 4 * q.xOff, dy + 4 * q.yOff, dw, 0), scratchBytes: sb() });
      }
    }
  });
  if (p.db && !p.pooledDy) out.biasBwd = [call("f32_bias_bwd", dy, g.N * g.OH * g.OW, g.OC, p.db)];
  return out;
}


/** Whether a depthwise conv's data gradient runs as its forward kernel on dy with the taps reversed (convCalls): stride 1, one output per channel, padding within the window's reach. */
function depthwiseDataByForward(g: ConvGeometry): boolean {
  return g.depthwise && g.OC === g.C && g.SH === 1 && g.SW === 1 && g.padTop <= (g.KH - 1) * g.DH && g.padLeft <= (g.KW - 1) * g.DW;
}

/** Scratch f32_conv2d_bwd_pooled may take for one image, at most: what the second-level cache holds beside the rest (measured: LeNet-5's C1 20 KB, C3 33 KB; the ConvNetJS CIFAR-10 net's convs 73–125 KB). */
const POOLED_SCRATCH_BYTES = 256 * 1024;

/**
 * Whether a conv's data, filter and bias gradients may come from the 2×2, stride-2 max pool over
 * its ReLU output (ConvBuffers.pooledDy; the plan decides, model/fuse.ts pooledGradients): one
 * group, column dilation 1, at least 4 output channels and 2×2 outputs, and the kernel's scratch
 * for one image (its frames, windows and sums, f32_conv2d_bwd_pooled_scratch_bytes) within
 * POOLED_SCRATCH_BYTES. Its sums run over the pool's windows (a quarter of the conv's outputs)
 * where the dense kernels run over every output, most of whose gradients are the zeros the pool
 * leaves.
 */
export function pooledGradFits(be: Backend, g: ConvGeometry): boolean {
  if (g.groups !== 1 || g.depthwise || g.DW !== 1 || g.OC < 4 || g.OH < 2 || g.OW < 2) return false;
  return withScratchAlloc(be, (alloc) => be.kernels.f32_conv2d_bwd_pooled_scratch_bytes(geometryBlock(alloc, be, convBlock(g)))) <= POOLED_SCRATCH_BYTES;
}

/**
 * The forward of a conv with the max pool over its output fused in: split like the pool's forward
 * (by images, or at batch 1 by bands of pool rows), each part computing just the conv rows its
 * pool windows read.
 */
function pooledFwd(be: Backend, g: ConvGeometry, pg: PoolGeometry, alloc: (bytes: number) => number, p: ConvBuffers, T: number): KernelCall[] {
  const reach = (g.KH - 1) * g.DH + 1;
  const imgs = (a: number, b: number): [Part, Part] => [
    { N: b - a, H: g.H, OH: g.OH, PT: g.padTop, xOff: a * g.H * g.W * g.C, yOff: 0, hpDelta: 0 },
    { N: b - a, H: pg.H, OH: pg.OH, PT: pg.padTop, xOff: 0, yOff: a * pg.OH * pg.OW * pg.C, hpDelta: 0 },
  ];
  const fields = (c: Part, q: Part) => ({ conv: convBlock({ ...g, N: c.N, H: c.H, OH: c.OH, padTop: c.PT }), pool: poolBlock({ ...pg, N: q.N, H: q.H, OH: q.OH, padTop: q.PT }) });
  const make = ([c, q]: [Part, Part], scratch?: number): KernelCall => {
    const f = fields(c, q), geo = geometryBlock(alloc, be, f.conv), pgeo = geometryBlock(alloc, be, f.pool);
    return { ...call("f32_conv2d_maxpool_fwd", geo, pgeo, p.x + 4 * c.xOff, p.w, p.packed, p.bias, p.act, p.y + 4 * q.yOff, 0), scratchBytes: scratch ?? be.kernels.f32_conv2d_maxpool_scratch_bytes(geo, pgeo) };
  };
  if (g.N > 1 || T <= 1) return splitRange(g.N, g.N >= T ? T : 1).map(([a, b]) => make(imgs(a, b)));
  // one image: bands of pool rows, each with the band of conv rows its windows read, whose cuts
  // move with the threads' speeds (runtime/balance.ts): a moved band's call gets the bands'
  // geometry, written over its blocks, and pointers; every band the whole image's scratch
  const band = (a: number, b: number): [Part, Part] | null => {
    const q = rowBand(pg.H, pg.W, pg.C, pg.OW, pg.C, pg.SH, pg.padTop, pg.KH, a, b);
    const c = q && rowBand(g.H, g.W, g.C, g.OW, g.OC, g.SH, g.padTop, reach, q.hpDelta, q.hpDelta + q.H);
    return q && c ? [c, q] : null;
  };
  const ranges = splitRange(pg.OH, T);
  if (!ranges.every(([a, b]) => band(a, b))) return [make(imgs(0, 1))]; // a band of pure padding: not split
  const most = make(imgs(0, 1)).scratchBytes;
  return balanced(ranges, pg.OH, 1, (a, b) => make(band(a, b)!, most), (k, a, b) => {
    const [c, q] = band(a, b)!, f = fields(c, q);
    be.heap.i32(argOf(k, "g"), f.conv.length).set(f.conv);
    be.heap.i32(argOf(k, "pg"), f.pool.length).set(f.pool);
    setArg(k, "x", p.x + 4 * c.xOff);
    setArg(k, "y", p.y + 4 * q.yOff);
  }, (a, b) => band(a, b) !== null);
}

const DATA_KERNELS = { implicit: "f32_conv2d_bwd_data_implicit", direct: "f32_conv2d_bwd_data_direct", im2col: "f32_conv2d_bwd_data" } as const;

/** True for a 1×1, stride-1, unpadded, ungrouped conv: its kernels are plain gemms on the activations. */
const isPointwise = (g: ConvGeometry): boolean =>
  g.KH === 1 && g.KW === 1 && g.SH === 1 && g.SW === 1 && g.padTop === 0 && g.padLeft === 0 && g.groups === 1 && g.OH === g.H && g.OW === g.W;

/** Runs a conv's backward calls in order (the partial filter gradients are added one after another). */
export function runConvBackward(be: Backend, c: ConvCalls): void {
  be.run(c.actBwd);
  be.run(c.bwdData);
  be.run(c.bwdFilter);
  be.runInTurn(c.reduce);
  be.run(c.biasBwd);
}

// ---- conv2dTranspose: the data-gradient of a conv as an op of its own ----
// A transposed conv of x [N, H, W, C] with weights [KH, KW, F/groups, C] (the HWIO weights of the
// conv it transposes, Keras's Conv2DTranspose layout; ONNX ConvTranspose's [C, F/groups, KH, KW]
// permuted) is that conv's backward-data pass: its output [N, OH, OW, F] is the conv's input, x
// the conv's output. So its backward is that conv's forward (for dx) and filter gradient (for dw).

export interface ConvTransposeOptions {
  strides?: number | [number, number];
  dilations?: number | [number, number];
  /** Cropped from the full output: "valid" (default: none), a number, [h, w], [top, bottom, left, right]; "same": OH = H·stride. */
  padding?: Padding;
  /** Rows / columns added at the bottom / right of the output, each < its stride (ONNX output_padding). */
  outputPadding?: number | [number, number];
  groups?: number;
  /** Layer name for error messages. */
  name?: string;
}
const CONV_TRANSPOSE_KEYS = ["strides", "dilations", "padding", "outputPadding", "groups", "name"] as const;

/**
 * Shape inference for conv2dTranspose: the geometry of the conv it transposes (input: the
 * transposed conv's output, output: its input), so its kernels and shapes are that conv's.
 * Output size per axis: (H − 1)·stride − padBefore − padAfter + (K − 1)·dilation + 1 + outputPadding.
 */
export function convTransposeGeometry(xShape: Shape, wShape: Shape, options: ConvTransposeOptions = {}): ConvGeometry {
  checkOptionKeys("conv2dTranspose", options, CONV_TRANSPOSE_KEYS);
  const label = `conv2dTranspose${options.name ? ` "${options.name}"` : ""}`;
  if (xShape.length !== 4) throw new ShapeError(`${label}: input must be NHWC (rank 4), got ${formatShape(xShape)}`);
  if (wShape.length !== 4) throw new ShapeError(`${label}: weights must be [KH, KW, filters/groups, input channels] (rank 4), got ${formatShape(wShape)}`);
  const [N, H, W, C] = xShape as [number, number, number, number];
  const [KH, KW, Fg, Cw] = wShape as [number, number, number, number];
  const groups = options.groups ?? 1;
  if (!Number.isInteger(groups) || groups < 1) throw new ConfigError(`${label}: groups must be a whole number >= 1, got ${groups}`);
  if (Cw !== C) throw new ShapeError(`${label}: weights ${formatShape(wShape)} take ${Cw} input channels (their last axis), the input ${formatShape(xShape)} has ${C}`);
  if (C % groups !== 0) throw new ShapeError(`${label}: ${groups} groups must divide the input channels ${C}`);
  if (KH < 1 || KW < 1 || Fg < 1) throw new ShapeError(`${label}: weights ${formatShape(wShape)} have an empty dimension`);
  const strides = pair(options.strides, 1, "strides", label);
  const dilations = pair(options.dilations, 1, "dilations", label);
  const op = options.outputPadding === undefined ? [0, 0] : typeof options.outputPadding === "number" ? [options.outputPadding, options.outputPadding] : options.outputPadding;
  if (!Array.isArray(op) || op.length !== 2 || !op.every((v, i) => Number.isInteger(v) && v >= 0 && v < strides[i]!)) {
    throw new ConfigError(`${label}: outputPadding must be whole numbers >= 0 and below the strides ${strides.join("x")}, got ${JSON.stringify(options.outputPadding)}`);
  }
  const padding = options.padding ?? "valid";
  let OH: number, OW: number, pads: Padding;
  if (padding === "same") {
    if (op[0] !== 0 || op[1] !== 0) throw new ConfigError(`${label}: padding "same" (output = input × stride) takes no outputPadding, got ${op.join("x")}`);
    [OH, OW, pads] = [H * strides[0], W * strides[1], "same"];
  } else {
    const [t, b, l, r] = padding === "valid" ? [0, 0, 0, 0] : explicitPads(padding, label);
    OH = (H - 1) * strides[0] - t - b + (KH - 1) * dilations[0] + 1 + op[0]!;
    OW = (W - 1) * strides[1] - l - r + (KW - 1) * dilations[1] + 1 + op[1]!;
    if (OH < 1 || OW < 1) {
      throw new ShapeError(`${label}: padding ${t}+${b} × ${l}+${r} crops a ${H}x${W} input under a ${KH}x${KW} kernel with stride ${strides.join("x")} to ${OH}x${OW}`);
    }
    pads = [t, b, l, r]; // the output padding: the last rows the conv it transposes never reaches (floor rounding)
  }
  const g = conv2dGeometry([N, OH, OW, Fg * groups], [KH, KW, Fg, C], { strides, dilations, padding: pads, rounding: "floor", groups, name: options.name });
  if (g.OH !== H || g.OW !== W) throw new ShapeError(`${label}: the conv it transposes maps ${OH}x${OW} to ${g.OH}x${g.OW}, not the input's ${H}x${W}`);
  return g;
}

/** Output shape [N, OH, OW, F] of a transposed conv with the geometry of the conv it transposes. */
export const convTransposeOutShape = (g: ConvGeometry): [number, number, number, number] => [g.N, g.H, g.W, g.C];

/** The buffers of a transposed conv: pointers into wasm memory, 0 where absent (dx, dw, db: no such gradient). */
export interface ConvTransposeBuffers {
  x: number; y: number; w: number; bias: number;
  dy: number; dx: number; dw: number; db: number;
}

/** Every kernel call of one transposed conv, in the order they run (runConvTranspose / runConvTransposeBackward). */
export interface ConvTransposeCalls {
  /** The conv's backward-data pass (split by images), then the bias, in turn. */
  fwd: KernelCall[];
  bias: KernelCall[];
  /** dx: the conv's forward pass over dy (by images, or bands of rows at batch 1). */
  bwdData: KernelCall[];
  /** dw: the conv's filter gradient with x and dy exchanged; part t > 0 a partial sum that `reduce` adds. */
  bwdFilter: KernelCall[];
  reduce: KernelCall[];
  biasBwd: KernelCall[];
}

/**
 * The calls of a transposed conv with geometry g (convTransposeGeometry) over p's buffers: those of
 * the conv it transposes (convCalls) with the roles of the buffers exchanged — its forward is the
 * conv's backward-data pass, its dx the conv's forward, its dw the conv's filter gradient.
 */
export function convTransposeCalls(be: Backend, g: ConvGeometry, alloc: (bytes: number) => number, p: ConvTransposeBuffers): ConvTransposeCalls {
  // the gemm-based paths: a Winograd pass (or a depthwise data pass on reversed filters) would need
  // its filter transform run before it, which these calls do not schedule, and the Winograd filter
  // gradient its own scratch, which the layer does not hold
  const c = convCalls(be, g, alloc, {
    x: p.dy, y: p.dx, w: p.w, packed: 0, bias: 0, act: 0, training: true, dy: p.x, dyAct: 0, dx: p.y, dw: p.dy ? p.dw : 0, db: 0,
  }, be.threads, { fwd: "direct", bwdData: gemmDataPath(g), bwdFilter: gemmFilterPath(g) });
  const rows = g.N * g.H * g.W;
  return {
    fwd: c.bwdData, bias: p.bias ? [call("f32_bias_add_fwd", p.y, p.bias, p.y, rows, g.C)] : [],
    bwdData: p.dy ? c.fwd : [], bwdFilter: c.bwdFilter, reduce: c.reduce,
    biasBwd: p.dy && p.db ? [call("f32_bias_bwd", p.dy, rows, g.C, p.db)] : [],
  };
}

/** Runs a transposed conv's forward calls. */
export function runConvTranspose(be: Backend, c: ConvTransposeCalls): void {
  be.run(c.fwd);
  be.run(c.bias);
}

/** Runs a transposed conv's backward calls (the partial filter gradients are added one after another). */
export function runConvTransposeBackward(be: Backend, c: ConvTransposeCalls): void {
  be.run(c.bwdData);
  be.run(c.bwdFilter);
  be.runInTurn(c.reduce);
  be.run(c.biasBwd);
}

/** y = conv2dTranspose(x, w) + bias: x [N, H, W, C], w [KH, KW, F/groups, C], y [N, OH, OW, F]. */
export function conv2dTranspose(x: Tensor, w: Tensor, bias?: Tensor, options: ConvTransposeOptions = {}): Tensor {
  checkTensors("conv2dTranspose", { x, w, bias }, ["bias"]);
  const g = convTransposeGeometry(x.shape, w.shape, options);
  checkBias(bias, g.C, `conv2dTranspose${options.name ? ` "${options.name}"` : ""}`);
  const be = x.backend;
  const y = Tensor.zeros(convTransposeOutShape(g), be);
  withScratchAlloc(be, (alloc) => runConvTranspose(be, convTransposeCalls(be, g, alloc, { x: x.ptr, y: y.ptr, w: w.ptr, bias: bias ? bias.ptr : 0, dy: 0, dx: 0, dw: 0, db: 0 })));
  return y;
}

/** Gradients of a transposed conv (no bias term needed for dx, dw; db = Σ dy) given dy of the output's shape. */
export function conv2dTransposeBackward(x: Tensor, w: Tensor, dy: Tensor, options: ConvTransposeOptions = {}): Conv2dGradients {
  checkTensors("conv2dTransposeBackward", { x, w, dy });
  const g = convTransposeGeometry(x.shape, w.shape, options);
  const label = `conv2dTranspose${options.name ? ` "${options.name}"` : ""}`;
  const outShape = convTransposeOutShape(g);
  if (formatShape(dy.shape) !== formatShape(outShape)) throw new ShapeError(`${label}: dy must have the output shape ${formatShape(outShape)}, got ${formatShape(dy.shape)}`);
  const be = x.backend;
  const dx = Tensor.zeros(x.shape, be), dw = Tensor.zeros(w.shape, be), db = Tensor.zeros([g.C], be);
  withScratchAlloc(be, (alloc) => runConvTransposeBackward(be, convTransposeCalls(be, g, alloc, { x: x.ptr, y: 0, w: w.ptr, bias: 0, dy: dy.ptr, dx: dx.ptr, dw: dw.ptr, db: db.ptr })));
  return { dx, dw, db };
}
