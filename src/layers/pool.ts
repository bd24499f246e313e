// maxPool2d, avgPool2d, globalAvgPool2d, globalMaxPool2d.
import { ConfigError } from "../errors.js";
import { poolCalls, type PoolSplit } from "../ops/parallel.js";
import { pool2dGeometry, poolBlock, type PoolGeometry } from "../ops/pool.js";
import type { Padding, Rounding } from "../ops/window.js";
import type { Shape } from "../tensor.js";
import { Layer, size, type LayerGrad, type LayerRun, type PrepareContext } from "./layer.js";

export interface Pool2dConfig {
  type: "maxPool2d" | "avgPool2d";
  name?: string;
  poolSize: number | [number, number];
  /** Default: poolSize. */
  strides?: number | [number, number];
  padding?: Padding;
  rounding?: Rounding;
  /** avgPool2d only. */
  countIncludePad?: boolean;
}
export interface GlobalPoolConfig {
  type: "globalAvgPool2d" | "globalMaxPool2d";
  name?: string;
}

const KEYS = ["type", "name", "poolSize", "strides", "padding", "rounding", "countIncludePad"];

interface PoolState { g: PoolGeometry; geo: number; argmax: number; split: PoolSplit | null }

export class Pool2d extends Layer<PoolState> {
  readonly type: "maxPool2d" | "avgPool2d";
  readonly cfg: Pool2dConfig;

  constructor(config: Pool2dConfig, name: string) {
    super(name);
    this.type = config.type;
    for (const k of Object.keys(config)) {
      if (!KEYS.includes(k) || (k === "countIncludePad" && config.type === "maxPool2d")) throw new ConfigError(`${config.type} "${name}": unknown option "${k}"`);
    }
    if (config.poolSize === undefined) throw new ConfigError(`${config.type} "${name}": poolSize is required`);
    this.cfg = config;
  }

  /** The pooling over one example of `input` ([H, W, C]), or a batch. */
  geometry(input: Shape, batch = 1): PoolGeometry {
    return pool2dGeometry(this.type, [batch, ...input], {
      kernel: this.cfg.poolSize, strides: this.cfg.strides, padding: this.cfg.padding, rounding: this.cfg.rounding,
      ...(this.type === "avgPool2d" ? { countIncludePad: this.cfg.countIncludePad ?? false } : {}), name: this.name,
    });
  }

  outputShape(inputs: Shape[]): Shape {
    this.rank(inputs, 3);
    const g = this.geometry(inputs[0]!);
    return [g.OH, g.OW, g.C];
  }

  override flops(inputs: Shape[], out: Shape): number {
    const g = this.geometry(inputs[0]!);
    return size(out) * g.KH * g.KW;
  }

  override prepare(ctx: PrepareContext): PoolState {
    const g = this.geometry(ctx.inShapes[0]!, ctx.batch);
    const block = poolBlock(g);
    const geo = ctx.alloc(block.length * 4);
    ctx.be.heap.i32(geo, block.length).set(block);
    const argmax = this.type === "maxPool2d" && ctx.training ? ctx.alloc(ctx.batch * size(ctx.outShape) * 4) : 0;
    return { g, geo, argmax, split: null };
  }

  override bind(r: LayerGrad<PoolState>, ctx: PrepareContext): void {
    if (ctx.be.threads < 2) return;
    r.state.split = poolCalls(ctx.be, this.type === "maxPool2d" ? "max" : "avg", r.state.g, ctx.alloc, {
      x: r.x[0]!, y: r.y, argmax: r.state.argmax, dy: r.dy, dx: r.dx[0] ?? 0, training: r.training,
    });
  }

  forward(r: LayerRun<PoolState>): void {
    if (r.state.split && r.state.split.fwd.length > 1) return r.be.run(r.state.split.fwd);
    if (this.type === "maxPool2d") r.k.f32_maxpool2d_fwd(r.state.geo, r.x[0]!, r.y, r.state.argmax);
    else r.k.f32_avgpool2d_fwd(r.state.geo, r.x[0]!, r.y);
  }

  backward(r: LayerGrad<PoolState>): void {
    if (!r.dx[0]) return;
    if (r.state.split && r.state.split.bwd.length > 1) return r.be.run(r.state.split.bwd);
    if (this.type === "maxPool2d") r.k.f32_maxpool2d_bwd(r.state.geo, r.dy, r.state.argmax, r.dx[0]);
    else r.k.f32_avgpool2d_bwd(r.state.geo, r.dy, r.dx[0]);
  }

  config() {
    return { ...this.cfg, name: this.name };
  }
}

export class GlobalPool2d extends Layer<{ argmax: number }> {
  readonly type: "globalAvgPool2d" | "globalMaxPool2d";

  constructor(config: GlobalPoolConfig, name: string) {
    super(name);
    this.type = config.type;
    for (const k of Object.keys(config)) if (k !== "type" && k !== "name") throw new ConfigError(`${config.type} "${name}": unknown option "${k}"`);
  }

  outputShape(inputs: Shape[]): Shape {
    const s = this.rank(inputs, 3);
    return [s[2]!];
  }

  override flops(inputs: Shape[]): number {
    return size(inputs[0]!);
  }

  override prepare(ctx: PrepareContext) {
    return { argmax: this.type === "globalMaxPool2d" ? ctx.alloc(ctx.batch * size(ctx.outShape) * 4) : 0 };
  }

  forward(r: LayerRun<{ argmax: number }>): void {
    const [H, W, C] = r.inShapes[0]! as [number, number, number];
    if (this.type === "globalAvgPool2d") r.k.f32_global_avgpool_fwd(r.x[0]!, r.batch, H * W, C, r.y);
    else r.k.f32_global_maxpool_fwd(r.x[0]!, r.batch, H * W, C, r.y, r.state.argmax);
  }

  backward(r: LayerGrad<{ argmax: number }>): void {
    if (!r.dx[0]) return;
    const [H, W, C] = r.inShapes[0]! as [number, number, number];
    if (this.type === "globalAvgPool2d") r.k.f32_global_avgpool_bwd(r.dy, r.batch, H * W, C, r.dx[0]);
    else r.k.f32_global_maxpool_bwd(r.dy, r.state.argmax, r.batch, H * W, C, r.dx[0]);
  }

  config() {
    return { type: this.type, name: this.name };
  }
}
