// add (residual) and concat (channel axis, inception): two or more inputs.
import { ConfigError, ShapeError } from "../errors.js";
import { formatShape, type Shape } from "../tensor.js";
import { Layer, size, type LayerGrad, type LayerRun } from "./layer.js";

export interface AddConfig { type: "add"; name?: string }
export interface ConcatConfig { type: "concat"; name?: string }

export class Add extends Layer {
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
  forward(r: LayerRun<unknown>): void {
    const n = r.batch * size(r.outShape);
    r.k.f32_add_fwd(r.x[0]!, r.x[1]!, r.y, n);
    for (let i = 2; i < r.x.length; i++) r.k.f32_add_fwd(r.y, r.x[i]!, r.y, n);
  }
  backward(r: LayerGrad<unknown>): void {
    const n = r.batch * size(r.outShape);
    for (const dx of r.dx) if (dx) r.k.f32_axpby(n, 1, r.dy, 0, dx);
  }
  config() {
    return { type: this.type, name: this.name };
  }
}

export class Concat extends Layer {
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
  forward(r: LayerRun<unknown>): void {
    const out = r.outShape[r.outShape.length - 1]!, rows = r.batch * size(r.outShape) / out;
    let off = 0;
    r.inShapes.forEach((s, i) => {
      const c = s[s.length - 1]!;
      r.k.f32_copy_rows(r.x[i]!, c, r.y + off * 4, out, rows, c, 0);
      off += c;
    });
  }
  backward(r: LayerGrad<unknown>): void {
    const out = r.outShape[r.outShape.length - 1]!, rows = r.batch * size(r.outShape) / out;
    let off = 0;
    r.inShapes.forEach((s, i) => {
      const c = s[s.length - 1]!;
      if (r.dx[i]) r.k.f32_copy_rows(r.dy + off * 4, out, r.dx[i]!, c, rows, c, 0);
      off += c;
    });
  }
  config() {
    return { type: this.type, name: this.name };
  }
}
