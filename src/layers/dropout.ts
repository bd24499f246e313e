// Inverted dropout: in training each value is kept with probability 1 − rate and scaled by
// 1/(1 − rate); at inference the layer is the identity. The mask comes from the model's seeded RNG.
import { ConfigError } from "../errors.js";
import type { Shape } from "../tensor.js";
import { copyCall, mulCall } from "../ops/eltwise.js";
import { PlannedLayer, inRange, size, type LayerGrad, type LayerRun, type PassCalls, type Planned, type PrepareContext } from "./layer.js";

export interface DropoutConfig { type: "dropout"; name?: string; rate: number }

export class Dropout extends PlannedLayer<{ mask: number }> {
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

  protected override buffers(ctx: PrepareContext) {
    return { mask: ctx.training ? ctx.alloc(ctx.batch * size(ctx.outShape) * 4) : 0 };
  }

  /** Inference, or rate 0: a copy. Training: y = x ⊙ mask, dx = dy ⊙ mask, the mask drawn each step. */
  protected calls(r: LayerGrad<Planned<{ mask: number }>>): PassCalls {
    const n = r.batch * size(r.outShape), dx = r.dx[0] ?? 0;
    if (!r.training || this.rate === 0) return { fwd: [copyCall(n, r.x[0]!, r.y)], bwd: dx ? [copyCall(n, r.dy, dx)] : [] };
    return { fwd: [mulCall(r.x[0]!, r.state.mask, r.y, n)], bwd: dx ? [mulCall(r.dy, r.state.mask, dx, n)] : [] };
  }

  override forward(r: LayerRun<Planned<{ mask: number }>>): void {
    if (r.training && this.rate !== 0) this.drawMask(r);
    super.forward(r);
  }

  private drawMask(r: LayerRun<Planned<{ mask: number }>>): void {
    const n = r.batch * size(r.outShape);
    const m = r.be.heap.f32(r.state.mask, n);
    if (this.maskSource) m.set(this.maskSource(n));
    else {
      const keep = 1 - this.rate, scale = 1 / keep;
      for (let i = 0; i < n; i++) m[i] = r.rng.uniform() < keep ? scale : 0;
    }
  }

  config() {
    return { type: this.type, name: this.name, rate: this.rate };
  }
}
