// binary: a op b elementwise (add, sub, mul, div, pow, max, min; equal, less, greater, lessOrEqual,
// greaterOrEqual: 1 or 0, gradient zero; idiv: integer division, toward zero, 0 for a divisor of 0,
// a zero gradient; mod / fmod: the remainder with the divisor's sign, Python's %, or the dividend's, C's fmod) with numpy broadcasting of the per-example
// shapes — of two computed tensors, or of one and a constant of its own (a parameter the optimiser
// leaves alone: an imported graph's divisor, exponent or offset). The examples of a batch stay
// apart: each example's a meets its own b; a constant meets every example. where: the choice
// between two tensors by a third.
import { ConfigError, ShapeError, show } from "../errors.js";
import { binaryCalls, broadcastShape, whereCalls, type BinaryOp } from "../ops/eltwise.js";
import { formatShape, type Shape } from "../tensor.js";
import { PlannedLayer, size, type LayerGrad, type ParamSpec, type PassCalls, type Planned, type PrepareContext } from "./layer.js";

export interface BinaryConfig {
  type: "binary";
  name?: string;
  op: BinaryOp;
  /** The shape of a constant operand (parameter "constant"): the layer then takes one input. */
  constantShape?: number[];
  /** The constant is the left operand (constant op x); default: the right (x op constant). */
  constantFirst?: boolean;
}

const OPS: readonly BinaryOp[] = ["add", "sub", "mul", "div", "pow", "equal", "max", "min", "less", "greater", "lessOrEqual", "greaterOrEqual", "idiv", "mod", "fmod"];

export class Binary extends PlannedLayer<{ ta: number; tb: number }> {
  readonly type = "binary";
  readonly op: BinaryOp;
  readonly constantShape: number[] | null;
  readonly constantFirst: boolean;

  constructor(config: BinaryConfig, name: string) {
    super(name);
    const where = `binary "${name}"`;
    for (const k of Object.keys(config)) if (!["type", "name", "op", "constantShape", "constantFirst"].includes(k)) throw new ConfigError(`${where}: unknown option "${k}"`);
    if (!OPS.includes(config.op)) throw new ConfigError(`${where}: op must be one of ${OPS.join(", ")}, got ${show(config.op)}`);
    this.op = config.op;
    const c = config.constantShape;
    if (c !== undefined && (!Array.isArray(c) || !c.every((d) => Number.isSafeInteger(d) && d >= 1))) throw new ConfigError(`${where}: constantShape must be whole numbers >= 1, got ${show(c)}`);
    if (config.constantFirst !== undefined && (typeof config.constantFirst !== "boolean" || !c)) throw new ConfigError(`${where}: constantFirst is a boolean and needs constantShape`);
    this.constantShape = c ? [...c] : null;
    this.constantFirst = config.constantFirst ?? false;
  }

  override get arity(): number {
    return this.constantShape ? 1 : 2;
  }

  /** The two operands' per-example shapes, in order. */
  private operands(inputs: Shape[]): [readonly number[], readonly number[]] {
    const c = this.constantShape;
    if (!c) return [inputs[0]!, inputs[1]!];
    return this.constantFirst ? [c, inputs[0]!] : [inputs[0]!, c];
  }

  outputShape(inputs: Shape[]): Shape {
    const [a, b] = this.operands(inputs);
    const out = broadcastShape(a, b);
    if (!out) throw new ShapeError(`${this.label}: shapes ${formatShape([...a])} and ${formatShape([...b])} do not broadcast (numpy's rule: equal, or 1, aligned from the right)`);
    return out;
  }

  override params(): ParamSpec[] {
    return this.constantShape ? [{ name: "constant", shape: this.constantShape, init: "zeros", trainable: false, regularize: false }] : [];
  }

  override flops(_inputs: Shape[], out: Shape): number {
    return size(out) * (this.op === "pow" ? 10 : 1);
  }

  protected override buffers(ctx: PrepareContext) {
    const n = ctx.training ? ctx.batch * size(ctx.outShape) * 4 : 0;
    // a gradient summed back to a broadcast operand's shape goes through a buffer of the output's size
    const [a, b] = this.operands(ctx.inShapes);
    const out = size(ctx.outShape);
    return { ta: n && size(a) !== out ? ctx.alloc(n) : 0, tb: n && size(b) !== out ? ctx.alloc(n) : 0 };
  }

  protected calls(r: LayerGrad<Planned<{ ta: number; tb: number }>>): PassCalls {
    const [as, bs] = this.operands(r.inShapes);
    const c = this.constantShape ? r.params[0]!.w : 0, first = this.constantFirst;
    const x0 = r.x[0]!, dx0 = r.dx[0] ?? 0;
    const { ta, tb } = r.state;
    return binaryCalls(this.op, r.batch, as, bs, !c || !first, !c || first, c
      ? (first ? { a: c, b: x0, y: r.y, dy: r.dy, da: 0, db: dx0, ta, tb } : { a: x0, b: c, y: r.y, dy: r.dy, da: dx0, db: 0, ta, tb })
      : { a: x0, b: r.x[1]!, y: r.y, dy: r.dy, da: dx0, db: r.dx[1] ?? 0, ta, tb });
  }

  config() {
    return { type: this.type, name: this.name, op: this.op, ...(this.constantShape ? { constantShape: this.constantShape, ...(this.constantFirst ? { constantFirst: true } : {}) } : {}) };
  }
}

export interface WhereConfig { type: "where"; name?: string }

/**
 * where: c ≠ 0 ? a : b elementwise, its three inputs (c, a, b) broadcast by numpy's rule per example.
 * Gradient: dy to a where c ≠ 0, to b elsewhere; none to c.
 */
export class Where extends PlannedLayer<{ ta: number; tb: number }> {
  readonly type = "where";

  constructor(config: WhereConfig, name: string) {
    super(name);
    for (const k of Object.keys(config)) if (!["type", "name"].includes(k)) throw new ConfigError(`where "${name}": unknown option "${k}"`);
  }

  override get arity(): number {
    return 3;
  }

  outputShape(inputs: Shape[]): Shape {
    const [c, a, b] = inputs as [Shape, Shape, Shape];
    const ab = broadcastShape(a, b), out = ab && broadcastShape(c, ab);
    if (!out) throw new ShapeError(`${this.label}: shapes ${formatShape([...c])}, ${formatShape([...a])} and ${formatShape([...b])} do not broadcast (numpy's rule)`);
    return out;
  }

  protected override buffers(ctx: PrepareContext) {
    const n = ctx.training ? ctx.batch * size(ctx.outShape) * 4 : 0, out = size(ctx.outShape);
    return { ta: n && size(ctx.inShapes[1]!) !== out ? ctx.alloc(n) : 0, tb: n && size(ctx.inShapes[2]!) !== out ? ctx.alloc(n) : 0 };
  }

  protected calls(r: LayerGrad<Planned<{ ta: number; tb: number }>>): PassCalls {
    const [cs, as, bs] = r.inShapes as [Shape, Shape, Shape];
    return whereCalls(r.batch, cs, as, bs, { c: r.x[0]!, a: r.x[1]!, b: r.x[2]!, y: r.y, dy: r.dy, da: r.dx[1] ?? 0, db: r.dx[2] ?? 0, ta: r.state.ta, tb: r.state.tb });
  }

  config() {
    return { type: this.type, name: this.name };
  }
}
