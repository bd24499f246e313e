// maxPool2d (and its indices, maxPool2dIndices), avgPool2d, globalAvgPool2d, globalMaxPool2d.
import { ConfigError, show } from "../errors.js";
import { checkIndices, globalPoolCalls, pool2dGeometry, poolCalls, type PoolGeometry } from "../ops/pool.js";
import { pair, type Padding, type Rounding } from "../ops/window.js";
import type { Shape } from "../tensor.js";
import { PlannedLayer, size, type LayerGrad, type PassCalls, type Planned, type PrepareContext } from "./layer.js";

export interface Pool2dConfig {
  /**
   * maxPool2dIndices: per output element, the position of its window's maximum in the example's
   * NCHW order (c·H·W + h·W + w), as a float (exact: an example holds at most 2^24 values) — ONNX
   * MaxPool's Indices within each example; its gradient is zero.
   */
  type: "maxPool2d" | "avgPool2d" | "maxPool2dIndices";
  name?: string;
  poolSize: number | [number, number];
  /** Default: poolSize. */
  strides?: number | [number, number];
  padding?: Padding;
  rounding?: Rounding;
  /** maxPool2d only: spacing of a window's taps (default 1); the window spans (poolSize − 1)·dilations + 1 pixels. */
  dilations?: number | [number, number];
  /** avgPool2d only. */
  countIncludePad?: boolean;
  /** maxPool2dIndices only: "row" (default: c·H·W + h·W + w) or "column" (c·H·W + w·H + h; ONNX storage_order 1). */
  storageOrder?: "row" | "column";
}
export interface GlobalPoolConfig {
  type: "globalAvgPool2d" | "globalMaxPool2d";
  name?: string;
}

const KEYS = ["type", "name", "poolSize", "strides", "padding", "rounding", "dilations", "countIncludePad", "storageOrder"];


export class Pool2d extends PlannedLayer<{ argmax: number }> {
  readonly type: "maxPool2d" | "avgPool2d" | "maxPool2dIndices";
  readonly cfg: Pool2dConfig;

  constructor(config: Pool2dConfig, name: string) {
    super(name);
    this.type = config.type;
    for (const k of Object.keys(config)) {
      const own = k === "countIncludePad" ? config.type === "avgPool2d" : k === "dilations" ? config.type !== "avgPool2d" : k === "storageOrder" ? config.type === "maxPool2dIndices" : true;
      if (!KEYS.includes(k) || !own) throw new ConfigError(`${config.type} "${name}": unknown option "${k}"`);
    }
    if (config.poolSize === undefined) throw new ConfigError(`${config.type} "${name}": poolSize is required`);
    pair(config.poolSize, 1, "poolSize", `${config.type} "${name}"`);
    pair(config.dilations, 1, "dilations", `${config.type} "${name}"`);
    if (config.storageOrder !== undefined && config.storageOrder !== "row" && config.storageOrder !== "column") throw new ConfigError(`${config.type} "${name}": storageOrder must be "row" or "column", got ${show(config.storageOrder)}`);
    this.cfg = config;
  }

  /** The pooling over one example of `input` ([H, W, C]), or a batch. */
  geometry(input: Shape, batch = 1): PoolGeometry {
    return pool2dGeometry(this.type, [batch, ...input], {
      kernel: this.cfg.poolSize, strides: this.cfg.strides, padding: this.cfg.padding, rounding: this.cfg.rounding,
      ...(this.type === "avgPool2d" ? { countIncludePad: this.cfg.countIncludePad ?? false } : { dilations: this.cfg.dilations ?? 1 }), name: this.name,
    });
  }

  outputShape(inputs: Shape[]): Shape {
    this.rank(inputs, 3);
    const g = this.geometry(inputs[0]!);
    if (this.type === "maxPool2dIndices") checkIndices(`maxPool2dIndices "${this.name}"`, g, this.cfg.storageOrder === "column");
    return [g.OH, g.OW, g.C];
  }

  override flops(inputs: Shape[], out: Shape): number {
    const g = this.geometry(inputs[0]!);
    return size(out) * g.KD * g.KH * g.KW;
  }

  protected override buffers(ctx: PrepareContext) {
    return { argmax: this.type === "maxPool2d" && ctx.training ? ctx.alloc(ctx.batch * size(ctx.outShape) * 4) : 0 };
  }

  protected calls(r: LayerGrad<Planned<{ argmax: number }>>, ctx: PrepareContext): PassCalls {
    const kind = this.type === "maxPool2d" ? "max" : this.type === "avgPool2d" ? "avg" : "indices";
    return poolCalls(ctx.be, kind, this.geometry(r.inShapes[0]!, r.batch), ctx.alloc, {
      x: r.x[0]!, y: r.y, argmax: r.state.argmax, dy: r.dy, dx: r.dx[0] ?? 0, training: r.training, reluMask: r.reluMask,
      columnMajor: this.cfg.storageOrder === "column",
    });
  }


  /** Every example's outputs and gradients are its own; both passes are the calls built at bind. */
  override get perExample(): boolean {
    return true;
  }
  config() {
    return { ...this.cfg, name: this.name };
  }
}

export class GlobalPool2d extends PlannedLayer<{ argmax: number }> {
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

  protected override buffers(ctx: PrepareContext) {
    return { argmax: this.type === "globalMaxPool2d" ? ctx.alloc(ctx.batch * size(ctx.outShape) * 4) : 0 };
  }

  protected calls(r: LayerGrad<Planned<{ argmax: number }>>): PassCalls {
    const [H, W, C] = r.inShapes[0]! as [number, number, number];
    return globalPoolCalls(this.type === "globalAvgPool2d" ? "avg" : "max", r.batch, H * W, C, { x: r.x[0]!, y: r.y, argmax: r.state.argmax, dy: r.dy, dx: r.dx[0] ?? 0 });
  }


  /** Every example's outputs and gradients are its own; both passes are the calls built at bind. */
  override get perExample(): boolean {
    return true;
  }
  config() {
    return { type: this.type, name: this.name };
  }
}
