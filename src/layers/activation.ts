// Activation layers (relu, relu6, leakyRelu, elu, sigmoid, tanh, softmax, gelu, softplus, softsign; erf, sqrt, exp, log, floor / ceil / round / sign (gradient zero) and the
// values a cast to float16 / bfloat16 keeps, the elementwise functions of imported graphs) and maxout.
import { ConfigError, ShapeError } from "../errors.js";
import { activationCalls, maxoutCalls } from "../ops/eltwise.js";
import { formatShape, type Shape } from "../tensor.js";
import { PlannedLayer, inRange, positiveInt, size, type LayerGrad, type PassCalls, type Planned, type PrepareContext } from "./layer.js";

export type ActivationType = "relu" | "relu6" | "leakyRelu" | "elu" | "sigmoid" | "tanh" | "softmax" | "logSoftmax" | "gelu" | "erf" | "sqrt" | "softplus" | "softsign" | "exp" | "log" | "floor" | "ceil" | "round" | "sign" | "toFloat16" | "toBfloat16";
export interface ActivationConfig {
  type: ActivationType;
  name?: string;
  /** leakyRelu (default 0.01) and elu (default 1) only. */
  alpha?: number;
}
export interface MaxoutConfig {
  type: "maxout";
  name?: string;
  /** Channels per group; the output has channels / pieces channels. */
  pieces: number;
}

export class ActivationLayer extends PlannedLayer {
  readonly type: ActivationType;
  readonly alpha: number;

  constructor(config: ActivationConfig, name: string) {
    super(name);
    this.type = config.type;
    const where = `${config.type} "${name}"`;
    for (const k of Object.keys(config)) {
      if (!["type", "name", "alpha"].includes(k) || (k === "alpha" && config.type !== "leakyRelu" && config.type !== "elu")) {
        throw new ConfigError(`${where}: unknown option "${k}"`);
      }
    }
    this.alpha = config.type === "leakyRelu" ? inRange(config.alpha ?? 0.01, 0, Infinity, "alpha", where)
      : config.type === "elu" ? inRange(config.alpha ?? 1, 0, Infinity, "alpha", where) : 0;
  }

  outputShape(inputs: Shape[]): Shape {
    return inputs[0]!;
  }

  override flops(inputs: Shape[]): number {
    return size(inputs[0]!) * (this.type === "softmax" || this.type === "logSoftmax" || this.type === "sigmoid" || this.type === "tanh" || this.type === "elu" || this.type === "gelu" || this.type === "erf" || this.type === "softplus" || this.type === "exp" || this.type === "log" ? 4 : 1);
  }

  protected calls(r: LayerGrad<Planned<object>>): PassCalls {
    return activationCalls(this.type, this.alpha, r.batch * size(r.outShape), r.outShape[r.outShape.length - 1]!, { x: r.x[0]!, y: r.y, dy: r.dy, dx: r.dx[0] ?? 0 });
  }


  /** Every example's outputs and gradients are its own; both passes are the calls built at bind. */
  override get perExample(): boolean {
    return true;
  }
  config() {
    return { type: this.type, name: this.name, ...(this.type === "leakyRelu" || this.type === "elu" ? { alpha: this.alpha } : {}) };
  }
}

export class Maxout extends PlannedLayer<{ argmax: number }> {
  readonly type = "maxout";
  readonly pieces: number;

  constructor(config: MaxoutConfig, name: string) {
    super(name);
    for (const k of Object.keys(config)) if (!["type", "name", "pieces"].includes(k)) throw new ConfigError(`maxout "${name}": unknown option "${k}"`);
    this.pieces = positiveInt(config.pieces, "pieces", `maxout "${name}"`);
  }

  outputShape(inputs: Shape[]): Shape {
    const s = inputs[0]!;
    const c = s[s.length - 1]!;
    if (c % this.pieces !== 0) {
      throw new ShapeError(`${this.label}: ${c} channels of input ${formatShape(s)} do not split into groups of ${this.pieces}`);
    }
    return [...s.slice(0, -1), c / this.pieces];
  }

  protected override buffers(ctx: PrepareContext) {
    return { argmax: ctx.alloc(ctx.batch * size(ctx.outShape) * 4) };
  }

  protected calls(r: LayerGrad<Planned<{ argmax: number }>>): PassCalls {
    const out = r.outShape[r.outShape.length - 1]!;
    return maxoutCalls(r.batch * size(r.outShape) / out, out, this.pieces, { x: r.x[0]!, y: r.y, argmax: r.state.argmax, dy: r.dy, dx: r.dx[0] ?? 0 });
  }


  /** Every example's outputs and gradients are its own; both passes are the calls built at bind. */
  override get perExample(): boolean {
    return true;
  }
  config() {
    return { type: this.type, name: this.name, pieces: this.pieces };
  }
}
