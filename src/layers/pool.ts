// maxPool2d (and its indices, maxPool2dIndices), avgPool2d, maxPool3d, avgPool3d, globalAvgPool2d,
// globalMaxPool2d.
import { ConfigError, show, checkBoolean } from "../errors.js";
import { checkIndices, globalPoolCalls, pool2dGeometry, pool3dGeometry, poolCalls, type Pool2dOptions, type Pool3dOptions, type PoolGeometry } from "../ops/pool.js";
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
  /** avgPool2d only: whether padded positions count in a window's average (default false; PyTorch's count_include_pad defaults to true). */
  countIncludePad?: boolean;
  /** maxPool2dIndices only: "row" (default: c·H·W + h·W + w) or "column" (c·H·W + w·H + h; ONNX storage_order 1). */
  storageOrder?: "row" | "column";
}
/** 3-D pooling of per-example [D, H, W, C] (NDHWC batches): the 2-D options along depth, height and width. */
export interface Pool3dConfig {
  type: "maxPool3d" | "avgPool3d";
  name?: string;
  poolSize: number | [number, number, number];
  /** Default: poolSize. */
  strides?: number | [number, number, number];
  /** "valid" (default), "same", a number, [d, h, w], or [front, back, top, bottom, left, right]. */
  padding?: Pool3dOptions["padding"];
  rounding?: Rounding;
  /** maxPool3d only: spacing of a window's taps along depth, height and width (default 1). */
  dilations?: number | [number, number, number];
  /** avgPool3d only. */
  countIncludePad?: boolean;
}
export interface GlobalPoolConfig {
  type: "globalAvgPool2d" | "globalMaxPool2d";
  name?: string;
}

const KEYS = ["type", "name", "poolSize", "strides", "padding", "rounding", "dilations", "countIncludePad", "storageOrder"];


/** A windowed pool: 2-D over [H, W, C] examples, 3-D over [D, H, W, C] ones (the same kernels). */
export class Pool extends PlannedLayer {
  readonly type: Pool2dConfig["type"] | Pool3dConfig["type"];
  readonly cfg: Pool2dConfig | Pool3dConfig;

  constructor(config: Pool2dConfig | Pool3dConfig, name: string) {
    super(name);
    this.type = config.type;
    const avg = config.type.startsWith("avg");
    for (const k of Object.keys(config)) {
      const own = k === "countIncludePad" ? avg : k === "dilations" ? !avg : k === "storageOrder" ? config.type === "maxPool2dIndices" : true;
      if (!KEYS.includes(k) || !own) throw new ConfigError(`${config.type} "${name}": unknown option "${k}"`);
    }
    if (config.poolSize === undefined) throw new ConfigError(`${config.type} "${name}": poolSize is required`);
    const cip = (config as { countIncludePad?: unknown }).countIncludePad;
    checkBoolean(`${config.type} "${name}"`, "countIncludePad", cip);
    this.cfg = config;
    if (!this.is3d) {
      pair(config.poolSize as Pool2dConfig["poolSize"], 1, "poolSize", `${config.type} "${name}"`);
      pair(config.dilations as Pool2dConfig["dilations"], 1, "dilations", `${config.type} "${name}"`);
    }
    const order = (config as Pool2dConfig).storageOrder;
    if (order !== undefined && order !== "row" && order !== "column") throw new ConfigError(`${config.type} "${name}": storageOrder must be "row" or "column", got ${show(order)}`);
  }

  get is3d(): boolean {
    return this.type.endsWith("3d");
  }

  /** The pooling over one example of `input` ([H, W, C], or [D, H, W, C] for a 3-D pool), or a batch. */
  geometry(input: Shape, batch = 1): PoolGeometry {
    const c = this.cfg, avg = this.type.startsWith("avg");
    const common = { strides: c.strides, rounding: c.rounding, ...(avg ? { countIncludePad: c.countIncludePad ?? false } : { dilations: c.dilations ?? 1 }), name: this.name };
    return this.is3d
      ? pool3dGeometry(this.type, [batch, ...input], { kernel: c.poolSize, padding: c.padding, ...common } as Pool3dOptions)
      : pool2dGeometry(this.type, [batch, ...input], { kernel: c.poolSize, padding: c.padding, ...common } as Pool2dOptions);
  }

  outputShape(inputs: Shape[]): Shape {
    this.rank(inputs, this.is3d ? 4 : 3);
    const g = this.geometry(inputs[0]!);
    if (this.type === "maxPool2dIndices") checkIndices(`maxPool2dIndices "${this.name}"`, g, (this.cfg as Pool2dConfig).storageOrder === "column");
    return this.is3d ? [g.OD, g.OH, g.OW, g.C] : [g.OH, g.OW, g.C];
  }

  override flops(inputs: Shape[], out: Shape): number {
    const g = this.geometry(inputs[0]!);
    return size(out) * g.KD * g.KH * g.KW;
  }

  private get kind(): "max" | "avg" | "indices" {
    return this.type === "maxPool2dIndices" ? "indices" : this.type.startsWith("max") ? "max" : "avg";
  }

  protected calls(r: LayerGrad<Planned<object>>, ctx: PrepareContext): PassCalls {
    // a training max pool keeps argmax for its backward (allocated here, at bind, once the plan
    // knows its fusions); one whose backward the norm before it does keeps its windows' tap codes
    // for it instead (the plan's buffer), and builds no backward; nor does one whose dy the conv
    // before it takes its gradients from, which keeps nothing
    const byNorm = r.tapCodes !== undefined, noBackward = byNorm || r.gradByConv === true;
    const argmax = this.kind === "max" && ctx.training && !noBackward ? ctx.alloc(ctx.batch * size(ctx.outShape) * 4) : 0;
    return poolCalls(ctx.be, this.kind, this.geometry(r.inShapes[0]!, r.batch), ctx.alloc, {
      x: r.x[0]!, y: r.y, argmax, dy: r.dy, dx: noBackward ? 0 : (r.dx[0] ?? 0), training: r.training, reluMask: r.reluMask, reluIn: r.reluIn, affineIn: r.affineIn,
      ...(byNorm ? { codes: r.tapCodes } : {}),
      columnMajor: (this.cfg as Pool2dConfig).storageOrder === "column",
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
