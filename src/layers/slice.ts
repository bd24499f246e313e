// slice: a range of each example's values (flattened), e.g. one of several inputs packed into one
// (a model imported with several inputs takes them one after another in each example).
import { ConfigError, ShapeError, show } from "../errors.js";
import { sliceCalls } from "../ops/eltwise.js";
import { formatShape, type Shape } from "../tensor.js";
import { PlannedLayer, size, type LayerGrad, type PassCalls, type Planned, type PrepareContext } from "./layer.js";

export interface SliceConfig {
  type: "slice";
  name?: string;
  /** The first value taken of each example's flattened values. */
  begin: number;
  /** The output's per-example shape; it takes size(shape) values from `begin` on. */
  shape: number[];
}

export class Slice extends PlannedLayer<{ zeros: number }> {
  readonly type = "slice";
  readonly begin: number;
  readonly shape: number[];

  constructor(config: SliceConfig, name: string) {
    super(name);
    for (const k of Object.keys(config)) if (!["type", "name", "begin", "shape"].includes(k)) throw new ConfigError(`slice "${name}": unknown option "${k}"`);
    if (!Number.isSafeInteger(config.begin) || config.begin < 0) throw new ConfigError(`slice "${name}": begin must be a whole number >= 0, got ${show(config.begin)}`);
    if (!Array.isArray(config.shape) || config.shape.length === 0 || !config.shape.every((d) => Number.isSafeInteger(d) && d >= 1)) {
      throw new ConfigError(`slice "${name}": shape must be whole numbers >= 1, got ${show(config.shape)}`);
    }
    this.begin = config.begin;
    this.shape = [...config.shape];
  }

  outputShape(inputs: Shape[]): Shape {
    const total = size(inputs[0]!), n = size(this.shape);
    if (this.begin + n > total) throw new ShapeError(`${this.label}: values [${this.begin}, ${this.begin + n}) of an input ${formatShape(inputs[0]!)} (${total} values)`);
    return [...this.shape];
  }

  protected override buffers(ctx: PrepareContext) {
    return { zeros: ctx.training ? ctx.alloc(size(ctx.inShapes[0]!) * 4) : 0 };
  }

  protected calls(r: LayerGrad<Planned<{ zeros: number }>>): PassCalls {
    return sliceCalls(r.batch, size(r.inShapes[0]!), this.begin, size(this.shape), r.state.zeros, { x: r.x[0]!, y: r.y, dy: r.dy, dx: r.dx[0] ?? 0 });
  }

  config() {
    return { type: this.type, name: this.name, begin: this.begin, shape: [...this.shape] };
  }
}
