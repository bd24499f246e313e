// batchNorm (batch statistics + moving averages in training, moving statistics at inference)
// and lrn (AlexNet's across-channel local response normalisation). Both normalise the last axis.
import { ConfigError } from "../errors.js";
import type { Shape } from "../tensor.js";
import { Layer, inRange, positiveInt, size, type LayerGrad, type LayerRun, type ParamSpec, type PrepareContext } from "./layer.js";

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
  alpha?: number;
  beta?: number;
  k?: number;
}

interface BnState { mean: number; invstd: number; scale: number; shift: number }

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
      { name: "movingMean", shape: [C], init: "zeros", trainable: false, regularize: false },
      { name: "movingVariance", shape: [C], init: "ones", trainable: false, regularize: false },
    ];
  }

  override flops(inputs: Shape[]): number {
    return 2 * size(inputs[0]!);
  }

  override prepare(ctx: PrepareContext): BnState {
    const C = ctx.outShape[ctx.outShape.length - 1]!;
    return { mean: ctx.alloc(C * 4), invstd: ctx.alloc(C * 4), scale: ctx.alloc(C * 4), shift: ctx.alloc(C * 4) };
  }

  forward(r: LayerRun<BnState>): void {
    const C = r.outShape[r.outShape.length - 1]!, rows = r.batch * size(r.outShape) / C;
    const [gamma, beta, mMean, mVar] = r.params as [typeof r.params[0], typeof r.params[0], typeof r.params[0], typeof r.params[0]];
    const h = r.be.heap;
    if (r.training) {
      r.k.f32_batchnorm_fwd(r.x[0]!, rows, C, gamma.w, beta.w, this.epsilon, r.y, r.state.mean, r.state.invstd);
      const mean = h.f32(r.state.mean, C), inv = h.f32(r.state.invstd, C), mm = h.f32(mMean.w, C), mv = h.f32(mVar.w, C);
      const m = this.momentum, bessel = rows > 1 ? rows / (rows - 1) : 1;
      for (let c = 0; c < C; c++) {
        const v = (1 / (inv[c]! * inv[c]!) - this.epsilon) * bessel;
        mm[c] = m * mm[c]! + (1 - m) * mean[c]!;
        mv[c] = m * mv[c]! + (1 - m) * Math.max(v, 0);
      }
    } else {
      const g = h.f32(gamma.w, C), b = h.f32(beta.w, C), mm = h.f32(mMean.w, C), mv = h.f32(mVar.w, C);
      const sc = h.f32(r.state.scale, C), sh = h.f32(r.state.shift, C);
      for (let c = 0; c < C; c++) {
        sc[c] = g[c]! / Math.sqrt(mv[c]! + this.epsilon);
        sh[c] = b[c]! - mm[c]! * sc[c]!;
      }
      r.k.f32_channel_affine(r.x[0]!, rows, C, r.state.scale, r.state.shift, r.y);
    }
  }

  backward(r: LayerGrad<BnState>): void {
    const C = r.outShape[r.outShape.length - 1]!, rows = r.batch * size(r.outShape) / C;
    const [gamma, beta] = r.params;
    // dx is always computed (the kernel produces the three gradients together)
    const dx = r.dx[0] || r.be.scratch(rows * C * 4);
    r.k.f32_batchnorm_bwd(r.x[0]!, r.dy, rows, C, gamma!.w, r.state.mean, r.state.invstd, dx, gamma!.g, beta!.g);
  }

  config() {
    return { type: this.type, name: this.name, momentum: this.momentum, epsilon: this.epsilon };
  }
}

export class Lrn extends Layer<{ s: number }> {
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

  override prepare(ctx: PrepareContext) {
    return { s: ctx.alloc(ctx.batch * size(ctx.outShape) * 4) };
  }

  forward(r: LayerRun<{ s: number }>): void {
    const C = r.outShape[2]!, rows = r.batch * size(r.outShape) / C;
    r.k.f32_lrn_fwd(r.x[0]!, rows, C, this.size, this.alpha, this.beta, this.k, r.y, r.state.s);
  }

  backward(r: LayerGrad<{ s: number }>): void {
    if (!r.dx[0]) return;
    const C = r.outShape[2]!, rows = r.batch * size(r.outShape) / C;
    r.k.f32_lrn_bwd(r.x[0]!, r.dy, r.state.s, rows, C, this.size, this.alpha, this.beta, r.dx[0]);
  }

  config() {
    return { type: this.type, name: this.name, size: this.size, alpha: this.alpha, beta: this.beta, k: this.k };
  }
}

export interface ScaleConfig {
  type: "scale";
  name?: string;
}

/**
 * y = x·scale + shift per channel (the last axis), with constant (non-trainable) parameters:
 * the elementwise Mul / Add / Sub / Div by constants that exported graphs carry (input
 * normalisation, for one). Gradient: dx = dy·scale.
 */
export class Scale extends Layer<{ zeros: number }> {
  readonly type = "scale";

  constructor(config: ScaleConfig, name: string) {
    super(name);
    for (const k of Object.keys(config)) if (!["type", "name"].includes(k)) throw new ConfigError(`scale "${name}": unknown option "${k}"`);
  }

  outputShape(inputs: Shape[]): Shape {
    return inputs[0]!;
  }

  override params(inputs: Shape[]): ParamSpec[] {
    const C = inputs[0]![inputs[0]!.length - 1]!;
    return [
      { name: "scale", shape: [C], init: "ones", trainable: false, regularize: false },
      { name: "shift", shape: [C], init: "zeros", trainable: false, regularize: false },
    ];
  }

  override flops(inputs: Shape[]): number {
    return 2 * size(inputs[0]!);
  }

  override prepare(ctx: PrepareContext) {
    return { zeros: ctx.training ? ctx.alloc(ctx.outShape[ctx.outShape.length - 1]! * 4) : 0 };
  }

  forward(r: LayerRun<{ zeros: number }>): void {
    const C = r.outShape[r.outShape.length - 1]!;
    r.k.f32_channel_affine(r.x[0]!, (r.batch * size(r.outShape)) / C, C, r.params[0]!.w, r.params[1]!.w, r.y);
  }

  backward(r: LayerGrad<{ zeros: number }>): void {
    if (!r.dx[0]) return;
    const C = r.outShape[r.outShape.length - 1]!;
    r.k.f32_channel_affine(r.dy, (r.batch * size(r.outShape)) / C, C, r.params[0]!.w, r.state.zeros, r.dx[0]);
  }

  config() {
    return { type: this.type, name: this.name };
  }
}
