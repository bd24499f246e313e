// maxPool2d, avgPool2d, globalAvgPool2d, globalMaxPool2d.
import { ConfigError } from "../errors.js";
import { globalPoolCalls, pool2dGeometry, poolCalls, type PoolCalls, type PoolGeometry } from "../ops/pool.js";
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

interface GlobalPoolState { argmax: number; calls: PoolCalls | null }
interface PoolState { g: PoolGeometry; argmax: number; calls: PoolCalls | null }

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
    const argmax = this.type === "maxPool2d" && ctx.training ? ctx.alloc(ctx.batch * size(ctx.outShape) * 4) : 0;
    return { g, argmax, calls: null };
  }

  override bind(r: LayerGrad<PoolState>, ctx: PrepareContext): void {
    r.state.calls = poolCalls(ctx.be, this.type === "maxPool2d" ? "max" : "avg", r.state.g, ctx.alloc, {
      x: r.x[0]!, y: r.y, argmax: r.state.argmax, dy: r.dy, dx: r.dx[0] ?? 0, training: r.training,
    });
  }

  forward(r: LayerRun<PoolState>): void {
    r.be.run(r.state.calls!.fwd);
  }

  backward(r: LayerGrad<PoolState>): void {
    r.be.run(r.state.calls!.bwd);
  }

  config() {
    return { ...this.cfg, name: this.name };
  }
}

export class GlobalPool2d extends Layer<GlobalPoolState> {
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

  override prepare(ctx: PrepareContext): GlobalPoolState {
    return { argmax: this.type === "globalMaxPool2d" ? ctx.alloc(ctx.batch * size(ctx.outShape) * 4) : 0, calls: null };
  }

  override bind(r: LayerGrad<GlobalPoolState>): void {
    const [H, W, C] = r.inShapes[0]! as [number, number, number];
    r.state.calls = globalPoolCalls(this.type === "globalAvgPool2d" ? "avg" : "max", r.batch, H * W, C, {
      x: r.x[0]!, y: r.y, argmax: r.state.argmax, dy: r.dy, dx: r.dx[0] ?? 0,
    });
  }

  forward(r: LayerRun<GlobalPoolState>): void {
    r.be.run(r.state.calls!.fwd);
  }

  backward(r: LayerGrad<GlobalPoolState>): void {
    r.be.run(r.state.calls!.bwd);
  }

  config() {
    return { type: this.type, name: this.name };
  }
}
