// multiply: the elementwise product of two tensors — of the same shape (gates: SiLU's x·σ(x),
// HardSwish), or the second one value per channel, broadcast over the first's positions
// (squeeze-and-excitation).
import { ConfigError, ShapeError } from "../errors.js";
import { multiplyCalls } from "../ops/eltwise.js";
import { formatShape, type Shape } from "../tensor.js";
import { PlannedLayer, size, type LayerGrad, type PassCalls, type Planned, type PrepareContext } from "./layer.js";

export interface MultiplyConfig { type: "multiply"; name?: string }

export class Multiply extends PlannedLayer<{ zeros: number; tmp: number }> {
  readonly type = "multiply";

  constructor(config: MultiplyConfig, name: string) {
    super(name);
    for (const k of Object.keys(config)) if (k !== "type" && k !== "name") throw new ConfigError(`multiply "${name}": unknown option "${k}"`);
  }

  override get arity(): number {
    return 2;
  }

  outputShape(inputs: Shape[]): Shape {
    const [a, b] = inputs as [Shape, Shape];
    const C = a[a.length - 1]!;
    if (formatShape(a) !== formatShape(b) && size(b) !== C) {
      throw new ShapeError(`${this.label}: input 1 ${formatShape(b)} is neither input 0's shape ${formatShape(a)} nor one value per channel (${C})`);
    }
    return [...a];
  }

  override flops(inputs: Shape[]): number {
    return size(inputs[0]!);
  }

  private broadcast(inputs: Shape[]): boolean {
    return formatShape(inputs[0]!) !== formatShape(inputs[1]!);
  }

  protected override buffers(ctx: PrepareContext) {
    const a = ctx.inShapes[0]!, C = a[a.length - 1]!, bc = this.broadcast(ctx.inShapes);
    return { zeros: bc ? ctx.alloc(C * 4) : 0, tmp: bc && ctx.training ? ctx.alloc(ctx.batch * size(a) * 4) : 0 };
  }

  protected calls(r: LayerGrad<Planned<{ zeros: number; tmp: number }>>): PassCalls {
    const a = r.inShapes[0]!, C = a[a.length - 1]!;
    return multiplyCalls(r.batch, size(a) / C, C, this.broadcast(r.inShapes), r.state.zeros, r.state.tmp,
      { a: r.x[0]!, b: r.x[1]!, y: r.y, dy: r.dy, da: r.dx[0] ?? 0, db: r.dx[1] ?? 0 });
  }

  config() {
    return { type: this.type, name: this.name };
  }
}
