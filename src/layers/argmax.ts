// argMax: the index of each example's largest value along its last axis — an image's channels (a
// segmentation's class map), a vector's features — held as a float (exact below 2^24), that axis
// kept as 1. Its gradient is zero: the outputs are piecewise constant.
import { ConfigError, ShapeError, show } from "../errors.js";
import { formatShape, type Shape } from "../tensor.js";
import { argMaxCalls } from "../ops/eltwise.js";
import { PlannedLayer, size, type LayerGrad, type PassCalls, type Planned } from "./layer.js";

export interface ArgMaxConfig {
  type: "argMax";
  name?: string;
  /** Of equal largest values, the last one's index (ONNX's select_last_index); default the first. */
  selectLast?: boolean;
}

export class ArgMax extends PlannedLayer {
  readonly type = "argMax";
  readonly selectLast: boolean;

  constructor(config: ArgMaxConfig, name: string) {
    super(name);
    for (const k of Object.keys(config)) if (!["type", "name", "selectLast"].includes(k)) throw new ConfigError(`argMax "${name}": unknown option "${k}"`);
    if (config.selectLast !== undefined && typeof config.selectLast !== "boolean") throw new ConfigError(`argMax "${name}": selectLast must be true or false, got ${show(config.selectLast)}`);
    this.selectLast = config.selectLast ?? false;
  }

  outputShape(inputs: Shape[]): Shape {
    const s = inputs[0]!;
    if (s.length === 0 || s[s.length - 1]! < 1) throw new ShapeError(`${this.label}: takes the largest along the last axis; the input ${formatShape(s)} has no values there`);
    return [...s.slice(0, -1), 1];
  }

  protected calls(r: LayerGrad<Planned<object>>): PassCalls {
    const s = r.inShapes[0]!, cols = s[s.length - 1]!;
    return argMaxCalls(r.be, (r.batch * size(s)) / cols, cols, this.selectLast, { x: r.x[0]!, y: r.y, dx: r.dx[0] ?? 0 });
  }

  /** Every example's outputs and gradients are its own; both passes are the calls built at bind. */
  override get perExample(): boolean {
    return true;
  }
  config() {
    return { type: this.type, name: this.name, ...(this.selectLast ? { selectLast: true } : {}) };
  }
}
