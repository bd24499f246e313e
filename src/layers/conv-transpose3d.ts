// conv3dTranspose: the transposed 3-D conv over [D, H, W, C] examples (volumes; ONNX ConvTranspose
// on [N, C, D, H, W]). Weights [KD, KH, KW, filters, input channels] (Keras's Conv3DTranspose
// layout) and an optional bias; its passes are ops/conv3d's convTranspose3dCalls.
import { ConfigError, show, checkBoolean } from "../errors.js";
import { convTranspose3dCalls, convTranspose3dGeometry, type ConvTranspose3dGeometry, type ConvTranspose3dOptions } from "../ops/conv3d.js";
import type { Shape } from "../tensor.js";
import { checkInitializer, type Initializer } from "./initializers.js";
import { PlannedLayer, positiveInt, type LayerGrad, type ParamSpec, type PassCalls, type Planned, type PrepareContext } from "./layer.js";

export interface Conv3dTransposeConfig {
  type: "conv3dTranspose";
  name?: string;
  /** Output channels. */
  filters: number;
  kernelSize: number | [number, number, number];
  strides?: number | [number, number, number];
  /** Cropped from the full output: a number, [d, h, w], or [front, back, top, bottom, left, right]. Default 0. */
  padding?: ConvTranspose3dOptions["padding"];
  /** Added at the back / bottom / right of the output, below the stride (ONNX output_padding). Default 0. */
  outputPadding?: number | [number, number, number];
  dilation?: number | [number, number, number];
  useBias?: boolean;
  kernelInitializer?: Initializer;
  biasInitializer?: Initializer;
}

const KEYS = ["type", "name", "filters", "kernelSize", "strides", "padding", "outputPadding", "dilation", "useBias", "kernelInitializer", "biasInitializer"];

export class Conv3dTranspose extends PlannedLayer {
  readonly type = "conv3dTranspose";
  readonly cfg: Conv3dTransposeConfig & { useBias: boolean };

  constructor(config: Conv3dTransposeConfig, name: string) {
    super(name);
    const where = `conv3dTranspose "${name}"`;
    for (const k of Object.keys(config)) if (!KEYS.includes(k)) throw new ConfigError(`${where}: unknown option "${k}"`);
    positiveInt(config.filters, "filters", where);
    if (config.kernelSize === undefined) throw new ConfigError(`${where}: kernelSize is required`);
    const k = config.kernelSize;
    if (!(Number.isSafeInteger(k) && (k as number) >= 1) && !(Array.isArray(k) && k.length === 3 && k.every((v) => Number.isSafeInteger(v) && v >= 1))) {
      throw new ConfigError(`${where}: kernelSize must be whole numbers >= 1 (a number or [d, h, w]), got ${show(k)}`);
    }
    checkBoolean(where, "useBias", config.useBias);
    this.cfg = { useBias: true, ...config };
    checkInitializer(this.cfg.kernelInitializer ?? "heNormal", where);
    checkInitializer(this.cfg.biasInitializer ?? "zeros", where);
  }

  /** The geometry for one example of `input` ([D, H, W, C]) or a batch. */
  geometry(input: Shape, batch = 1): ConvTranspose3dGeometry {
    const k = this.cfg.kernelSize, [KD, KH, KW] = typeof k === "number" ? [k, k, k] : k;
    return convTranspose3dGeometry([batch, ...input], [KD, KH, KW, this.cfg.filters, input[3]!], {
      strides: this.cfg.strides, dilations: this.cfg.dilation, padding: this.cfg.padding, outputPadding: this.cfg.outputPadding, name: this.name,
    });
  }

  outputShape(inputs: Shape[]): Shape {
    this.rank(inputs, 4);
    const g = this.geometry(inputs[0]!);
    return [g.OD, g.OH, g.OW, g.F];
  }

  override params(inputs: Shape[]): ParamSpec[] {
    const g = this.geometry(inputs[0]!);
    const p: ParamSpec[] = [{ name: "kernel", shape: [g.KD, g.KH, g.KW, g.F, g.C], init: this.cfg.kernelInitializer ?? "heNormal", trainable: true, regularize: true }];
    if (this.cfg.useBias) p.push({ name: "bias", shape: [g.F], init: this.cfg.biasInitializer ?? "zeros", trainable: true, regularize: false });
    return p;
  }

  override flops(inputs: Shape[]): number {
    const g = this.geometry(inputs[0]!);
    return 2 * g.D * g.H * g.W * g.C * g.KD * g.KH * g.KW * g.F;
  }

  protected calls(r: LayerGrad<Planned<object>>, ctx: PrepareContext): PassCalls {
    const [kernel, bias] = r.params;
    return convTranspose3dCalls(ctx.be, this.geometry(r.inShapes[0]!, r.batch), ctx.alloc, {
      x: r.x[0]!, y: r.y, w: kernel!.w, bias: bias ? bias.w : 0,
      dy: r.training ? r.dy : 0, dx: r.dx[0] ?? 0, dw: r.training ? kernel!.g : 0, db: r.training && bias ? bias.g : 0,
    });
  }

  /** Every example's outputs and gradients are its own; both passes are the calls built at bind. */
  override get perExample(): boolean {
    return true;
  }

  config() {
    return { ...this.cfg, type: this.type, name: this.name };
  }
}
