// pad: an image [H, W, C] padded by [top, bottom, left, right] with a constant value, the edge
// pixels, or the reflection (ONNX Pad's modes; zero padding before a conv is folded into the conv
// instead). No parameters; the backward sums each padded position's gradient into its source.
import { ConfigError, ShapeError, show } from "../errors.js";
import { padCalls } from "../ops/image.js";
import type { Shape } from "../tensor.js";
import { PlannedLayer, type LayerGrad, type PassCalls, type Planned, type PrepareContext } from "./layer.js";

export interface PadConfig {
  type: "pad";
  name?: string;
  /** [top, bottom, left, right], whole numbers >= 0. */
  padding: [number, number, number, number];
  /** Default "constant". */
  mode?: "constant" | "edge" | "reflect";
  /** The constant (mode "constant"). Default 0. */
  value?: number;
}

export class Pad extends PlannedLayer<{ fill: number }> {
  readonly type = "pad";
  readonly padding: [number, number, number, number];
  readonly mode: "constant" | "edge" | "reflect";
  readonly value: number;

  constructor(config: PadConfig, name: string) {
    super(name);
    const where = `pad "${name}"`;
    for (const k of Object.keys(config)) if (!["type", "name", "padding", "mode", "value"].includes(k)) throw new ConfigError(`${where}: unknown option "${k}"`);
    const p = config.padding;
    if (!Array.isArray(p) || p.length !== 4 || !p.every((v) => Number.isSafeInteger(v) && v >= 0)) throw new ConfigError(`${where}: padding must be [top, bottom, left, right] of whole numbers >= 0, got ${show(p)}`);
    this.padding = [p[0], p[1], p[2], p[3]];
    this.mode = config.mode ?? "constant";
    if (!["constant", "edge", "reflect"].includes(this.mode)) throw new ConfigError(`${where}: mode must be "constant", "edge" or "reflect", got ${show(config.mode)}`);
    this.value = config.value ?? 0;
    if (typeof this.value !== "number" || !Number.isFinite(this.value)) throw new ConfigError(`${where}: value must be a finite number, got ${show(config.value)}`);
    // no swallowed option: the border of edge and reflect comes from the image (savedPadConfig reads older files)
    if (this.mode !== "constant" && this.value !== 0) throw new ConfigError(`${where}: value ${this.value} pads in mode "constant" only; mode "${this.mode}" takes the border from the image`);
  }

  outputShape(inputs: Shape[]): Shape {
    const [H, W, C] = this.rank(inputs, 3) as [number, number, number], [t, b, l, r] = this.padding;
    if (this.mode === "reflect" && (t >= H || b >= H || l >= W || r >= W)) {
      throw new ShapeError(`${this.label}: reflect padding [${this.padding.join(", ")}] must be below the image's ${H}x${W}`);
    }
    return [H + t + b, W + l + r, C];
  }

  protected override buffers(ctx: PrepareContext) {
    return { fill: this.mode === "constant" ? ctx.alloc(ctx.outShape[1]! * ctx.outShape[2]! * 4) : 0 };
  }

  protected calls(r: LayerGrad<Planned<{ fill: number }>>): PassCalls {
    const [H, W, C] = r.inShapes[0]! as [number, number, number];
    if (r.state.fill) r.be.heap.f32(r.state.fill, r.outShape[1]! * C).fill(this.value);
    return padCalls(r.batch, H, W, C, this.padding, this.mode, r.state.fill, { x: r.x[0]!, y: r.y, dy: r.dy, dx: r.dx[0] ?? 0 });
  }

  config() {
    return { type: this.type, name: this.name, padding: [...this.padding], mode: this.mode, value: this.value };
  }
}

/**
 * A pad config as a saved model holds it: files written before a value outside mode "constant"
 * was refused may carry one that never did anything (the layer ignored it), so it reads as 0.
 */
export function savedPadConfig(c: { type: string; [key: string]: unknown }): { type: string; [key: string]: unknown } {
  return c.mode !== undefined && c.mode !== "constant" && typeof c.value === "number" ? { ...c, value: 0 } : c;
}
