// constant: every example's output is the layer's fixed tensor (parameter "value", not trained),
// whatever its input — an imported graph whose output is computed from shapes alone (a Shape of the
// input). The input only places it in the graph; its gradient is zero.
import { ConfigError, show } from "../errors.js";
import { copyCall } from "../ops/eltwise.js";
import { call } from "../runtime/calls.js";
import type { Shape } from "../tensor.js";
import { PlannedLayer, size, type LayerGrad, type ParamSpec, type PassCalls, type Planned, type PrepareContext } from "./layer.js";

export interface ConstantConfig {
  type: "constant";
  name?: string;
  /** The shape of every example's output. */
  shape: number[];
}

export class Constant extends PlannedLayer<{ zeros: number }> {
  readonly type = "constant";
  readonly shape: number[];

  constructor(config: ConstantConfig, name: string) {
    super(name);
    for (const k of Object.keys(config)) if (!["type", "name", "shape"].includes(k)) throw new ConfigError(`constant "${name}": unknown option "${k}"`);
    const s = config.shape;
    if (!Array.isArray(s) || s.length === 0 || !s.every((d) => Number.isSafeInteger(d) && d >= 0)) throw new ConfigError(`constant "${name}": shape must be whole numbers >= 0, got ${show(s)}`);
    this.shape = [...s];
  }

  override get emptyOutput(): boolean {
    return true;
  }

  outputShape(): Shape {
    return this.shape;
  }

  override params(): ParamSpec[] {
    return [{ name: "value", shape: this.shape, init: "zeros", trainable: false, regularize: false }];
  }

  protected override buffers(ctx: PrepareContext) {
    return { zeros: ctx.training ? ctx.alloc(size(ctx.inShapes[0]!) * 4) : 0 };
  }

  protected calls(r: LayerGrad<Planned<{ zeros: number }>>): PassCalls {
    const n = size(this.shape), inN = size(r.inShapes[0]!);
    return {
      fwd: n ? Array.from({ length: r.batch }, (_, e) => copyCall(n, r.params[0]!.w, r.y + 4 * e * n)) : [],
      // the output does not depend on the input
      bwd: r.dx[0] ? Array.from({ length: r.batch }, (_, e) => call("f32_copy_rows", r.state.zeros, 0, r.dx[0]! + 4 * e * inN, inN, 1, inN, 0)) : [],
      inTurn: true,
    };
  }

  config() {
    return { type: this.type, name: this.name, shape: this.shape };
  }
}
