// flatten and reshape. NHWC memory is already in flatten order, so both only change the shape:
// an inference plan reads the input's buffer as the output (Layer.view); training copies (the
// copy keeps every layer's output and gradient its own buffer).
import { ConfigError, ShapeError, show } from "../errors.js";
import { formatShape, type Shape } from "../tensor.js";
import { copyCall, permuteCalls } from "../ops/eltwise.js";
import { PlannedLayer, size, type LayerGrad, type PassCalls, type Planned } from "./layer.js";

export interface FlattenConfig { type: "flatten"; name?: string }
export interface ReshapeConfig { type: "reshape"; name?: string; targetShape: number[] }

export class Reshape extends PlannedLayer {
  readonly type: "flatten" | "reshape";
  readonly target: number[] | null;

  constructor(config: FlattenConfig | ReshapeConfig, name: string) {
    super(name);
    this.type = config.type;
    const allowed = config.type === "reshape" ? ["type", "name", "targetShape"] : ["type", "name"];
    for (const k of Object.keys(config)) if (!allowed.includes(k)) throw new ConfigError(`${config.type} "${name}": unknown option "${k}"`);
    if (config.type === "reshape") {
      const t = config.targetShape;
      if (!Array.isArray(t) || t.filter((d) => d === -1).length > 1 || !t.every((d) => d === -1 || (Number.isInteger(d) && d >= 1))) {
        throw new ConfigError(`reshape "${name}": targetShape must be whole numbers >= 1 with at most one -1, got ${show(t)}`);
      }
      this.target = [...t];
    } else this.target = null;
  }

  outputShape(inputs: Shape[]): Shape {
    const n = size(inputs[0]!);
    if (!this.target) return [n];
    const known = this.target.filter((d) => d !== -1).reduce((a, b) => a * b, 1);
    const out = this.target.map((d) => (d === -1 ? n / known : d));
    if (!out.every(Number.isInteger) || size(out) !== n) {
      throw new ShapeError(`${this.label}: cannot reshape ${formatShape(inputs[0]!)} (${n} values) to ${formatShape(this.target)}`);
    }
    return out;
  }

  protected calls(r: LayerGrad<Planned<object>>): PassCalls {
    const n = r.batch * size(r.outShape);
    return { fwd: [copyCall(n, r.x[0]!, r.y)], bwd: r.dx[0] ? [copyCall(n, r.dy, r.dx[0])] : [] };
  }


  /** Every example's outputs and gradients are its own; both passes are the calls built at bind. */
  override get perExample(): boolean {
    return true;
  }

  /** NHWC memory is already in flatten order: at inference the input's buffer is this layer's output. */
  override get view(): boolean {
    return true;
  }
  config() {
    return this.target ? { type: this.type, name: this.name, targetShape: this.target } : { type: this.type, name: this.name };
  }
}

export interface PermuteConfig {
  type: "permute";
  name?: string;
  /**
   * Output axis k is input axis perm[k] of each example [d0, d1, …] (one to six axes, as many as
   * the input has); [1, 2, 0] turns CHW (ONNX, PyTorch) into HWC.
   */
  perm: number[];
}

/** Reorders the axes of each example (e.g. NCHW input to fovea's NHWC; up to six axes). */
export class Permute extends PlannedLayer {
  readonly type = "permute";
  readonly perm: readonly number[];

  constructor(config: PermuteConfig, name: string) {
    super(name);
    for (const k of Object.keys(config)) if (!["type", "name", "perm"].includes(k)) throw new ConfigError(`permute "${name}": unknown option "${k}"`);
    const p: unknown = config.perm;
    if (!Array.isArray(p) || p.length < 1 || p.length > 6 || !p.every((v, _, a) => Number.isInteger(v) && v >= 0 && v < a.length) || new Set(p).size !== p.length) {
      throw new ConfigError(`permute "${name}": perm must be a permutation of [0, 1, …, k - 1] for 1 to 6 axes, got ${show(p)}`);
    }
    this.perm = [...(p as number[])];
  }

  outputShape(inputs: Shape[]): Shape {
    const s = this.rank(inputs, this.perm.length);
    return this.perm.map((a) => s[a]!);
  }

  protected calls(r: LayerGrad<Planned<object>>): PassCalls {
    return permuteCalls(r.be, r.batch, r.inShapes[0]!, this.perm, { x: r.x[0]!, y: r.y, dy: r.dy, dx: r.dx[0] ?? 0 });
  }


  /** Every example's outputs and gradients are its own; both passes are the calls built at bind. */
  override get perExample(): boolean {
    return true;
  }
  config() {
    return { type: this.type, name: this.name, perm: [...this.perm] };
  }
}
