// add (residual) and concat (channel axis, inception): two or more inputs.
import { ConfigError, ShapeError } from "../errors.js";
import { formatShape, type Shape } from "../tensor.js";
import { addCalls, concatCalls } from "../ops/eltwise.js";
import { PlannedLayer, size, type LayerGrad, type PassCalls, type Planned } from "./layer.js";

export interface AddConfig { type: "add"; name?: string }
export interface ConcatConfig { type: "concat"; name?: string }

export class Add extends PlannedLayer {
  readonly type = "add";
  constructor(config: AddConfig, name: string) {
    super(name);
    for (const k of Object.keys(config)) if (k !== "type" && k !== "name") throw new ConfigError(`add "${name}": unknown option "${k}"`);
  }
  override get arity(): number {
    return -1;
  }
  outputShape(inputs: Shape[]): Shape {
    const s = formatShape(inputs[0]!);
    inputs.forEach((x, i) => {
      if (formatShape(x) !== s) throw new ShapeError(`${this.label}: input ${i} has shape ${formatShape(x)}, but input 0 has ${s}; add needs equal shapes`);
    });
    return inputs[0]!;
  }
  override flops(inputs: Shape[]): number {
    return size(inputs[0]!) * (inputs.length - 1);
  }
  protected calls(r: LayerGrad<Planned<object>>): PassCalls {
    return addCalls(r.batch * size(r.outShape), r.x, r.y, r.dy, r.dx);
  }

  /** Every example's outputs and gradients are its own; both passes are the calls built at bind. */
  override get perExample(): boolean {
    return true;
  }
  config() {
    return { type: this.type, name: this.name };
  }
}

export class Concat extends PlannedLayer {
  readonly type = "concat";
  constructor(config: ConcatConfig, name: string) {
    super(name);
    for (const k of Object.keys(config)) if (k !== "type" && k !== "name") throw new ConfigError(`concat "${name}": unknown option "${k}"`);
  }
  override get arity(): number {
    return -1;
  }
  outputShape(inputs: Shape[]): Shape {
    const lead = formatShape(inputs[0]!.slice(0, -1));
    inputs.forEach((x, i) => {
      if (x.length !== inputs[0]!.length || formatShape(x.slice(0, -1)) !== lead) {
        throw new ShapeError(`${this.label}: input ${i} has shape ${formatShape(x)}; concat joins the last axis and needs the others equal to input 0's ${formatShape(inputs[0]!)}`);
      }
    });
    const s = inputs[0]!;
    return [...s.slice(0, -1), inputs.reduce((a, x) => a + x[x.length - 1]!, 0)];
  }
  protected calls(r: LayerGrad<Planned<object>>): PassCalls {
    const out = r.outShape[r.outShape.length - 1]!;
    return concatCalls(r.be, r.batch * size(r.outShape) / out, r.inShapes.map((s) => s[s.length - 1]!), r.x, r.y, r.dy, r.dx);
  }

  /** Every example's outputs and gradients are its own; both passes are the calls built at bind. */
  override get perExample(): boolean {
    return true;
  }
  config() {
    return { type: this.type, name: this.name };
  }
}
