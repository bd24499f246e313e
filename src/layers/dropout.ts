// Inverted dropout: in training each value is kept with probability 1 − rate and scaled by
// 1/(1 − rate); at inference the layer is the identity. The mask comes from the model's seeded RNG.
import { ConfigError } from "../errors.js";
import type { Shape } from "../tensor.js";
import { Layer, inRange, size, type LayerGrad, type LayerRun, type PrepareContext } from "./layer.js";

export interface DropoutConfig { type: "dropout"; name?: string; rate: number }

export class Dropout extends Layer<{ mask: number }> {
  readonly type = "dropout";
  readonly rate: number;
  /** Tests fix the mask: called instead of the RNG when set. */
  maskSource: ((n: number) => Float32Array) | null = null;

  constructor(config: DropoutConfig, name: string) {
    super(name);
    for (const k of Object.keys(config)) if (!["type", "name", "rate"].includes(k)) throw new ConfigError(`dropout "${name}": unknown option "${k}"`);
    this.rate = inRange(config.rate, 0, 1, "rate", `dropout "${name}"`, false, true);
  }

  outputShape(inputs: Shape[]): Shape {
    return inputs[0]!;
  }

  override prepare(ctx: PrepareContext) {
    return { mask: ctx.training ? ctx.alloc(ctx.batch * size(ctx.outShape) * 4) : 0 };
  }

  forward(r: LayerRun<{ mask: number }>): void {
    const n = r.batch * size(r.outShape);
    if (!r.training || this.rate === 0) return r.k.f32_axpby(n, 1, r.x[0]!, 0, r.y);
    const m = r.be.heap.f32(r.state.mask, n);
    if (this.maskSource) m.set(this.maskSource(n));
    else {
      const keep = 1 - this.rate, scale = 1 / keep;
      for (let i = 0; i < n; i++) m[i] = r.rng.uniform() < keep ? scale : 0;
    }
    r.k.f32_mul_fwd(r.x[0]!, r.state.mask, r.y, n);
  }

  backward(r: LayerGrad<{ mask: number }>): void {
    if (!r.dx[0]) return;
    const n = r.batch * size(r.outShape);
    if (this.rate === 0) r.k.f32_axpby(n, 1, r.dy, 0, r.dx[0]);
    else r.k.f32_mul_fwd(r.dy, r.state.mask, r.dx[0], n);
  }

  config() {
    return { type: this.type, name: this.name, rate: this.rate };
  }
}
