// Activation layers (relu, relu6, leakyRelu, elu, sigmoid, tanh, softmax) and maxout.
import { ConfigError, ShapeError } from "../errors.js";
import { formatShape, type Shape } from "../tensor.js";
import { Layer, inRange, positiveInt, size, type LayerGrad, type LayerRun, type PrepareContext } from "./layer.js";

export type ActivationType = "relu" | "relu6" | "leakyRelu" | "elu" | "sigmoid" | "tanh" | "softmax" | "logSoftmax";
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

export class ActivationLayer extends Layer {
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
    return size(inputs[0]!) * (this.type === "softmax" || this.type === "logSoftmax" || this.type === "sigmoid" || this.type === "tanh" || this.type === "elu" ? 4 : 1);
  }

  forward(r: LayerRun<unknown>): void {
    const n = r.batch * size(r.outShape), x = r.x[0]!, k = r.k;
    switch (this.type) {
      case "relu": return k.f32_relu_fwd(x, r.y, n);
      case "relu6": return k.f32_relu6_fwd(x, r.y, n);
      case "leakyRelu": return k.f32_leaky_relu_fwd(x, r.y, n, this.alpha);
      case "elu": return k.f32_elu_fwd(x, r.y, n, this.alpha);
      case "sigmoid": return k.f32_sigmoid_fwd(x, r.y, n);
      case "tanh": return k.f32_tanh_fwd(x, r.y, n);
      case "softmax": {
        const cols = r.outShape[r.outShape.length - 1]!;
        return k.f32_softmax_fwd(x, r.y, n / cols, cols);
      }
      case "logSoftmax": {
        const cols = r.outShape[r.outShape.length - 1]!;
        return k.f32_log_softmax_fwd(x, r.y, n / cols, cols);
      }
    }
  }

  backward(r: LayerGrad<unknown>): void {
    const dx = r.dx[0];
    if (!dx) return;
    const n = r.batch * size(r.outShape), k = r.k;
    switch (this.type) {
      case "relu": return k.f32_relu_bwd(r.y, r.dy, dx, n);
      case "relu6": return k.f32_relu6_bwd(r.y, r.dy, dx, n);
      case "leakyRelu": return k.f32_leaky_relu_bwd(r.y, r.dy, dx, n, this.alpha);
      case "elu": return k.f32_elu_bwd(r.y, r.dy, dx, n, this.alpha);
      case "sigmoid": return k.f32_sigmoid_bwd(r.y, r.dy, dx, n);
      case "tanh": return k.f32_tanh_bwd(r.y, r.dy, dx, n);
      case "softmax": {
        const cols = r.outShape[r.outShape.length - 1]!;
        return k.f32_softmax_bwd(r.y, r.dy, dx, n / cols, cols);
      }
      case "logSoftmax": {
        const cols = r.outShape[r.outShape.length - 1]!;
        return k.f32_log_softmax_bwd(r.y, r.dy, dx, n / cols, cols);
      }
    }
  }

  config() {
    return { type: this.type, name: this.name, ...(this.type === "leakyRelu" || this.type === "elu" ? { alpha: this.alpha } : {}) };
  }
}

export class Maxout extends Layer<{ argmax: number }> {
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

  override prepare(ctx: PrepareContext) {
    return { argmax: ctx.alloc(ctx.batch * size(ctx.outShape) * 4) };
  }

  forward(r: LayerRun<{ argmax: number }>): void {
    const out = r.outShape[r.outShape.length - 1]!;
    r.k.f32_maxout_fwd(r.x[0]!, r.batch * size(r.outShape) / out, out, this.pieces, r.y, r.state.argmax);
  }

  backward(r: LayerGrad<{ argmax: number }>): void {
    if (!r.dx[0]) return;
    const out = r.outShape[r.outShape.length - 1]!;
    r.k.f32_maxout_bwd(r.dy, r.state.argmax, r.batch * size(r.outShape) / out, out, this.pieces, r.dx[0]);
  }

  config() {
    return { type: this.type, name: this.name, pieces: this.pieces };
  }
}
