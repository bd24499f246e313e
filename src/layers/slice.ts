// slice: a range of the last axis (channels of an image, features), e.g. a channel split, or one of
// several inputs packed into one (a model imported with several inputs takes them one after
// another in each example).
import { ConfigError, ShapeError, show } from "../errors.js";
import { sliceCalls } from "../ops/eltwise.js";
import { formatShape, type Shape } from "../tensor.js";
import { PlannedLayer, size, type LayerGrad, type PassCalls, type Planned, type PrepareContext } from "./layer.js";

export interface SliceConfig {
  type: "slice";
  name?: string;
  /** The first index taken along the last axis. */
  begin: number;
  /** How many are taken. */
  size: number;
}

export class Slice extends PlannedLayer<{ zeros: number }> {
  readonly type = "slice";
  readonly begin: number;
  readonly size: number;

  constructor(config: SliceConfig, name: string) {
    super(name);
    for (const k of Object.keys(config)) if (!["type", "name", "begin", "size"].includes(k)) throw new ConfigError(`slice "${name}": unknown option "${k}"`);
    if (!Number.isSafeInteger(config.begin) || config.begin < 0) throw new ConfigError(`slice "${name}": begin must be a whole number >= 0, got ${show(config.begin)}`);
    if (!Number.isSafeInteger(config.size) || config.size < 1) throw new ConfigError(`slice "${name}": size must be a whole number >= 1, got ${show(config.size)}`);
    this.begin = config.begin;
    this.size = config.size;
  }

  outputShape(inputs: Shape[]): Shape {
    const s = inputs[0]!, last = s[s.length - 1]!;
    if (this.begin + this.size > last) throw new ShapeError(`${this.label}: [${this.begin}, ${this.begin + this.size}) of the last axis of an input ${formatShape(s)} (${last})`);
    return [...s.slice(0, -1), this.size];
  }

  protected override buffers(ctx: PrepareContext) {
    const s = ctx.inShapes[0]!;
    return { zeros: ctx.training ? ctx.alloc(s[s.length - 1]! * 4) : 0 };
  }

  protected calls(r: LayerGrad<Planned<{ zeros: number }>>): PassCalls {
    const s = r.inShapes[0]!, last = s[s.length - 1]!;
    return sliceCalls(r.batch * size(s) / last, last, this.begin, this.size, r.state.zeros, { x: r.x[0]!, y: r.y, dy: r.dy, dx: r.dx[0] ?? 0 });
  }

  config() {
    return { type: this.type, name: this.name, begin: this.begin, size: this.size };
  }
}
