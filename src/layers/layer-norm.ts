// layerNorm: normalisation over the last axis of each position (channels of an NHWC image, the
// features of a vector) with a learnt scale γ and shift β per channel — ConvNeXt's LayerNorm,
// ONNX LayerNormalization over the last axis.
import { ConfigError, checkBoolean } from "../errors.js";
import { layerNormCalls } from "../ops/norm.js";
import type { Shape } from "../tensor.js";
import { PlannedLayer, inRange, size, type LayerGrad, type ParamSpec, type PassCalls, type Planned, type PrepareContext } from "./layer.js";

export interface LayerNormConfig {
  type: "layerNorm";
  name?: string;
  /** Added to the variance. Default 1e-5 (PyTorch's nn.LayerNorm; ConvNeXt uses 1e-6). */
  epsilon?: number;
  /**
   * Whether γ and β are learned (PyTorch's elementwise_affine). Default true; false keeps them at 1
   * and 0, not trained: an imported InstanceNorm or GroupNorm normalises so, its own affine per channel after it.
   */
  affine?: boolean;
}

export class LayerNorm extends PlannedLayer<{ mean: number; rstd: number }> {
  readonly type = "layerNorm";
  readonly epsilon: number;
  readonly affine: boolean;

  constructor(config: LayerNormConfig, name: string) {
    super(name);
    const where = `layerNorm "${name}"`;
    for (const k of Object.keys(config)) if (!["type", "name", "epsilon", "affine"].includes(k)) throw new ConfigError(`${where}: unknown option "${k}"`);
    this.epsilon = inRange(config.epsilon ?? 1e-5, 0, Infinity, "epsilon", where, true);
    this.affine = config.affine ?? true;
    checkBoolean(where, "affine", this.affine);
  }

  outputShape(inputs: Shape[]): Shape {
    return inputs[0]!;
  }

  override params(inputs: Shape[]): ParamSpec[] {
    const C = inputs[0]![inputs[0]!.length - 1]!;
    return [
      { name: "gamma", shape: [C], init: "ones", trainable: this.affine, regularize: false },
      { name: "beta", shape: [C], init: "zeros", trainable: this.affine, regularize: false },
    ];
  }

  override flops(inputs: Shape[]): number {
    return 6 * size(inputs[0]!);
  }

  protected override buffers(ctx: PrepareContext) {
    const rows = (ctx.batch * size(ctx.outShape)) / ctx.outShape[ctx.outShape.length - 1]!;
    return { mean: ctx.alloc(rows * 4), rstd: ctx.alloc(rows * 4) };
  }

  protected calls(r: LayerGrad<Planned<{ mean: number; rstd: number }>>): PassCalls {
    const C = r.outShape[r.outShape.length - 1]!, rows = (r.batch * size(r.outShape)) / C;
    const [gamma, beta] = r.params;
    return layerNormCalls(r.be, rows, C, this.epsilon, {
      x: r.x[0]!, y: r.y, gamma: gamma!.w, beta: beta!.w, mean: r.state.mean, rstd: r.state.rstd,
      dy: r.dy, dx: r.dx[0] ?? 0, dgamma: r.training && this.affine ? gamma!.g : 0, dbeta: r.training && this.affine ? beta!.g : 0,
    });
  }

  config() {
    return { type: this.type, name: this.name, epsilon: this.epsilon, ...(this.affine ? {} : { affine: false }) };
  }
}
