// batchNorm (batch statistics + moving averages in training, moving statistics at inference)
// and lrn (AlexNet's across-channel local response normalisation). Both normalise the last axis.
import { ConfigError, show } from "../errors.js";
import { mulCall } from "../ops/eltwise.js";
import { call } from "../runtime/calls.js";
import { batchNormAffine, batchNormPartRows, batchNormPatterns, batchNormTrainCalls, channelAffine, lrnCalls, updateMovingStats, type BatchNormPatterns, type Steps } from "../ops/norm.js";
import type { Shape } from "../tensor.js";
import type { Backend } from "../runtime/backend.js";
import { Layer, PlannedLayer, inRange, positiveInt, size, type LayerGrad, type LayerRun, type ParamSpec, type PassCalls, type Planned, type PrepareContext, type SliceStep } from "./layer.js";

export interface BatchNormConfig {
  type: "batchNorm";
  name?: string;
  /** moving = momentum·moving + (1 − momentum)·batch. Default 0.9. */
  momentum?: number;
  /** Default 1e-5. */
  epsilon?: number;
}
export interface LrnConfig {
  type: "lrn";
  name?: string;
  /** Channels in the window. Default 5. */
  size?: number;
  /** y = x / (k + alpha/size · Σ x² over the window)^beta, as PyTorch's nn.LocalResponseNorm. Default 1e-4. */
  alpha?: number;
  /** Default 0.75. */
  beta?: number;
  /** Default 2 (AlexNet's; PyTorch's default is 1). */
  k?: number;
}

/**
 * pats: training's per-channel patterns (null at inference); fwd / bwd: the passes as steps (built
 * at bind; the forward's combine also updates the moving statistics); sliced: the parts are the
 * plan's slices (PrepareContext.slices), so a plan run in slices runs the parts in its programs.
 */
interface BnState { mean: number; invstd: number; variance: number; scale: number; shift: number; pats: BatchNormPatterns | null; fwd: SliceStep[]; bwd: SliceStep[]; sliced: boolean }

export class BatchNorm extends Layer<BnState> {
  readonly type = "batchNorm";
  readonly momentum: number;
  readonly epsilon: number;

  constructor(config: BatchNormConfig, name: string) {
    super(name);
    const where = `batchNorm "${name}"`;
    for (const k of Object.keys(config)) if (!["type", "name", "momentum", "epsilon"].includes(k)) throw new ConfigError(`${where}: unknown option "${k}"`);
    this.momentum = inRange(config.momentum ?? 0.9, 0, 1, "momentum", where);
    this.epsilon = inRange(config.epsilon ?? 1e-5, 0, Infinity, "epsilon", where, true);
  }

  outputShape(inputs: Shape[]): Shape {
    this.rank(inputs, [1, 3]);
    return inputs[0]!;
  }

  override params(inputs: Shape[]): ParamSpec[] {
    const C = inputs[0]![inputs[0]!.length - 1]!;
    return [
      { name: "gamma", shape: [C], init: "ones", trainable: true, regularize: false },
      { name: "beta", shape: [C], init: "zeros", trainable: true, regularize: false },
      { name: "movingMean", shape: [C], init: "zeros", trainable: false, regularize: false, running: true },
      { name: "movingVariance", shape: [C], init: "ones", trainable: false, regularize: false, running: true },
    ];
  }

  override flops(inputs: Shape[]): number {
    return 2 * size(inputs[0]!);
  }

  override prepare(ctx: PrepareContext): BnState {
    const C = ctx.outShape[ctx.outShape.length - 1]!;
    return { mean: ctx.alloc(C * 4), invstd: ctx.alloc(C * 4), variance: ctx.training ? ctx.alloc(C * 4) : 0, scale: ctx.alloc(C * 4), shift: ctx.alloc(C * 4), pats: ctx.training ? batchNormPatterns(ctx.be, ctx.alloc, C) : null, fwd: [], bwd: [], sliced: false };
  }

  /**
   * Training: y = (x − sub)·A + K per channel, as the patterns the forward writes, for a max pool
   * after the norm that applies them itself (LayerGrad.outputUnread); null at inference.
   */
  affineOf(r: LayerRun<unknown>): { sub: number; A: number; K: number } | null {
    const p = (r.state as BnState | undefined)?.pats;
    return p ? { sub: p.mean, A: p.scale, K: p.shift } : null;
  }

  override bind(r: LayerGrad<BnState>, ctx: PrepareContext): void {
    const C = r.outShape[r.outShape.length - 1]!, perExample = size(r.outShape) / C, rows = r.batch * perExample;
    const [gamma, beta, mMean, mVar] = r.params;
    const st = r.state, be = ctx.be;
    if (!r.training) {
      st.fwd = [[[channelAffine(r.x[0]!, rows, C, st.scale, st.shift, r.y)]]];
      return;
    }
    // a plan run in slices: the parts are the slices where each starts on a channel period
    const per = batchNormPartRows(be, C);
    const parts = ctx.slices?.map(([a, b]) => [a * perExample, b * perExample] as const);
    st.sliced = parts !== undefined && parts.every(([r0]) => r0 % per === 0);
    const calls = batchNormTrainCalls(be, ctx.alloc, rows, C, this.epsilon, {
      x: r.x[0]!, y: r.y, gamma: gamma!.w, beta: beta!.w, mean: st.mean, invstd: st.invstd, variance: st.variance,
      // the kernel writes dx, dγ and dβ together: a buffer of its own when no dx is wanted
      dy: r.dy, dx: r.dy ? r.dx[0] || ctx.alloc(rows * C * 4) : 0, dgamma: gamma!.g, dbeta: beta!.g,
      pats: st.pats!, poolApplies: r.outputUnread === true, ...(r.poolGrad ? { poolGrad: r.poolGrad } : {}),
      ...(st.sliced ? { parts: parts! } : {}),
    });
    // a combine's call list made once here, not every step
    const steps = (s: Steps, after?: () => void): SliceStep[] => s.map((x) => {
      if ("parts" in x) return x.parts;
      const combine = [x.combine];
      return () => {
        be.runInTurn(combine);
        after?.();
      };
    });
    st.fwd = steps(calls.fwd, () => updateMovingStats(be.heap, C, rows, this.momentum, st.mean, st.variance, mMean!.w, mVar!.w));
    st.bwd = steps(calls.bwd);
  }

  override sliceSteps(r: LayerGrad<BnState>, pass: "fwd" | "bwd"): SliceStep[] | null {
    return r.state.sliced ? r.state[pass] : null;
  }

  forward(r: LayerRun<BnState>): void {
    const st = r.state;
    if (!r.training) {
      const [gamma, beta, mMean, mVar] = r.params;
      batchNormAffine(r.be.heap, r.outShape[r.outShape.length - 1]!, this.epsilon, gamma!.w, beta!.w, mMean!.w, mVar!.w, st.scale, st.shift);
    }
    runSliceSteps(r.be, st.fwd);
  }

  backward(r: LayerGrad<BnState>): void {
    runSliceSteps(r.be, r.state.bwd);
  }

  config() {
    return { type: this.type, name: this.name, momentum: this.momentum, epsilon: this.epsilon };
  }
}

/** Steps on the whole batch: each program step's programs at the same time, functions here. */
function runSliceSteps(be: Backend, steps: readonly SliceStep[]): void {
  for (const s of steps) typeof s === "function" ? s() : be.runPrograms(s);
}

export class Lrn extends PlannedLayer<{ s: number }> {
  readonly type = "lrn";
  readonly size: number;
  readonly alpha: number;
  readonly beta: number;
  readonly k: number;

  constructor(config: LrnConfig, name: string) {
    super(name);
    const where = `lrn "${name}"`;
    for (const k of Object.keys(config)) if (!["type", "name", "size", "alpha", "beta", "k"].includes(k)) throw new ConfigError(`${where}: unknown option "${k}"`);
    this.size = positiveInt(config.size ?? 5, "size", where);
    // the kernel takes a 32-bit size; a window wider than any channel count is refused, not wrapped
    if (this.size > 65535) throw new ConfigError(`${where}: size must be at most 65535 channels, got ${this.size}`);
    this.alpha = inRange(config.alpha ?? 1e-4, 0, Infinity, "alpha", where);
    this.beta = inRange(config.beta ?? 0.75, 0, Infinity, "beta", where);
    this.k = inRange(config.k ?? 2, 0, Infinity, "k", where, true);
  }

  outputShape(inputs: Shape[]): Shape {
    this.rank(inputs, 3);
    return inputs[0]!;
  }

  override flops(inputs: Shape[]): number {
    return size(inputs[0]!) * (this.size + 3);
  }

  protected override buffers(ctx: PrepareContext) {
    return { s: ctx.alloc(ctx.batch * size(ctx.outShape) * 4) };
  }

  protected calls(r: LayerGrad<Planned<{ s: number }>>): PassCalls {
    const C = r.outShape[2]!, rows = r.batch * size(r.outShape) / C;
    return lrnCalls(rows, C, this.size, this.alpha, this.beta, this.k, { x: r.x[0]!, y: r.y, s: r.state.s, dy: r.dy, dx: r.dx[0] ?? 0 });
  }


  /** Every example's outputs and gradients are its own; both passes are the calls built at bind. */
  override get perExample(): boolean {
    return true;
  }
  config() {
    return { type: this.type, name: this.name, size: this.size, alpha: this.alpha, beta: this.beta, k: this.k };
  }
}

export interface ScaleConfig {
  type: "scale";
  name?: string;
  /**
   * The parameters the optimiser trains: an imported model's learned per-channel values (a PReLU's
   * slope, the bias a Linear over a sequence adds after its MatMul, an InstanceNorm's or GroupNorm's
   * affine). Default none: the constants of an exported graph (input normalisation, for one).
   */
  trainable?: ("scale" | "shift")[];
}

/**
 * y = x·scale + shift per channel (the last axis): the elementwise Mul / Add / Sub / Div by
 * constants that exported graphs carry (input normalisation, for one), not trained, or learned
 * values that are (`trainable`). Gradients: dx = dy·scale, dscale = Σ dy·x, dshift = Σ dy.
 */
export class Scale extends PlannedLayer<{ zeros: number; tmp: number }> {
  readonly type = "scale";
  readonly trainable: readonly ("scale" | "shift")[];

  constructor(config: ScaleConfig, name: string) {
    super(name);
    for (const k of Object.keys(config)) if (!["type", "name", "trainable"].includes(k)) throw new ConfigError(`scale "${name}": unknown option "${k}"`);
    const t = config.trainable ?? [];
    if (!Array.isArray(t) || !t.every((v) => v === "scale" || v === "shift") || new Set(t).size !== t.length) throw new ConfigError(`scale "${name}": trainable must list "scale" and / or "shift" once each, got ${show(config.trainable)}`);
    this.trainable = [...t];
  }

  outputShape(inputs: Shape[]): Shape {
    return inputs[0]!;
  }

  override params(inputs: Shape[]): ParamSpec[] {
    const C = inputs[0]![inputs[0]!.length - 1]!;
    return [
      { name: "scale", shape: [C], init: "ones", trainable: this.trainable.includes("scale"), regularize: false },
      { name: "shift", shape: [C], init: "zeros", trainable: this.trainable.includes("shift"), regularize: false },
    ];
  }

  override flops(inputs: Shape[]): number {
    return 2 * size(inputs[0]!);
  }

  protected override buffers(ctx: PrepareContext) {
    const t = ctx.training, C = ctx.outShape[ctx.outShape.length - 1]!;
    return { zeros: t ? ctx.alloc(C * 4) : 0, tmp: t && this.trainable.includes("scale") ? ctx.alloc(ctx.batch * size(ctx.outShape) * 4) : 0 };
  }

  protected calls(r: LayerGrad<Planned<{ zeros: number; tmp: number }>>): PassCalls {
    const C = r.outShape[r.outShape.length - 1]!, rows = (r.batch * size(r.outShape)) / C;
    const [scale, shift] = r.params;
    // the parameters' gradients first (dx may be written over dy): dscale = Σ dy·x, dshift = Σ dy over the rows
    // (every parameter has a gradient buffer in training, trained or not: the trained ones' only are written)
    const learns = (p: "scale" | "shift") => r.training && r.dy !== 0 && this.trainable.includes(p);
    const dscale = learns("scale") ? [mulCall(r.dy, r.x[0]!, r.state.tmp, rows * C), call("f32_bias_bwd", r.state.tmp, rows, C, scale!.g)] : [];
    const dshift = learns("shift") ? [call("f32_bias_bwd", r.dy, rows, C, shift!.g)] : [];
    return {
      fwd: [channelAffine(r.x[0]!, rows, C, scale!.w, shift!.w, r.y)],
      bwd: [...dscale, ...dshift, ...(r.dx[0] ? [channelAffine(r.dy, rows, C, scale!.w, r.state.zeros, r.dx[0])] : [])], // dx = dy·scale
    };
  }


  /** Every example's outputs and gradients are its own; both passes are the calls built at bind. */
  override get perExample(): boolean {
    return true;
  }
  config() {
    return { type: this.type, name: this.name, ...(this.trainable.length ? { trainable: [...this.trainable] } : {}) };
  }
}
