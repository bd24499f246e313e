// conv2dTranspose: the transpose of a conv2d (its backward-data pass as a layer; "deconvolution"
// in Zeiler–Fergus's and FCN's sense). Weights [KH, KW, filters/groups, input channels], the HWIO
// weights of the conv it transposes (Keras's Conv2DTranspose layout), and an optional bias.
import { ConfigError, show, checkBoolean } from "../errors.js";
import { convBlock, convTransposeCalls, convTransposeGeometry, runConvTranspose, runConvTransposeBackward, type ConvGeometry, type ConvTransposeCalls } from "../ops/conv.js";
import { geometryBlock, withScratchAlloc } from "../ops/split.js";
import { pair, type Padding } from "../ops/window.js";
import type { Shape } from "../tensor.js";
import { checkInitializer, type Initializer } from "./initializers.js";
import { Layer, positiveInt, type LayerGrad, type LayerRun, type ParamSpec, type PrepareContext } from "./layer.js";

export interface Conv2dTransposeConfig {
  type: "conv2dTranspose";
  name?: string;
  /** Output channels. */
  filters: number;
  kernelSize: number | [number, number];
  strides?: number | [number, number];
  /** Cropped from the full output: "valid" (default: none), a number, [h, w], [top, bottom, left, right]; "same": output = input × stride. */
  padding?: Padding;
  /** Added at the bottom / right of the output, below the stride (ONNX output_padding). Default 0. */
  outputPadding?: number | [number, number];
  dilation?: number | [number, number];
  groups?: number;
  useBias?: boolean;
  kernelInitializer?: Initializer;
  biasInitializer?: Initializer;
}

const KEYS = ["type", "name", "filters", "kernelSize", "strides", "padding", "outputPadding", "dilation", "groups", "useBias", "kernelInitializer", "biasInitializer"];

interface State {
  /** The geometry of the conv this layer transposes (its input is this layer's output). */
  g: ConvGeometry;
  calls: ConvTransposeCalls | null;
}

export class Conv2dTranspose extends Layer<State> {
  readonly type = "conv2dTranspose";
  readonly cfg: Conv2dTransposeConfig & { useBias: boolean };

  constructor(config: Conv2dTransposeConfig, name: string) {
    super(name);
    const where = `conv2dTranspose "${name}"`;
    for (const k of Object.keys(config)) if (!KEYS.includes(k)) throw new ConfigError(`${where}: unknown option "${k}"`);
    positiveInt(config.filters, "filters", where);
    if (config.kernelSize === undefined) throw new ConfigError(`${where}: kernelSize is required`);
    pair(config.kernelSize, 1, "kernelSize", where);
    positiveInt(config.groups ?? 1, "groups", where);
    if (config.filters % (config.groups ?? 1) !== 0) throw new ConfigError(`${where}: ${config.groups} groups must divide filters ${config.filters}`);
    checkBoolean(where, "useBias", config.useBias);
    this.cfg = { useBias: true, ...config };
    checkInitializer(this.cfg.kernelInitializer ?? "heNormal", where);
    checkInitializer(this.cfg.biasInitializer ?? "zeros", where);
  }

  /** The geometry of the conv this layer transposes, for one example of `input` ([H, W, C]) or a batch. */
  geometry(input: Shape, batch = 1): ConvGeometry {
    const [KH, KW] = pair(this.cfg.kernelSize, 1, "kernelSize", this.label);
    const groups = this.cfg.groups ?? 1;
    return convTransposeGeometry([batch, ...input], [KH, KW, this.cfg.filters / groups, input[2]!], {
      strides: this.cfg.strides, dilations: this.cfg.dilation, padding: this.cfg.padding ?? "valid",
      outputPadding: this.cfg.outputPadding, groups, name: this.name,
    });
  }

  outputShape(inputs: Shape[]): Shape {
    this.rank(inputs, 3);
    const g = this.geometry(inputs[0]!);
    return [g.H, g.W, g.C];
  }

  override params(inputs: Shape[]): ParamSpec[] {
    const g = this.geometry(inputs[0]!);
    const p: ParamSpec[] = [{
      name: "kernel", shape: [g.KH, g.KW, g.C / g.groups, g.OC], init: this.cfg.kernelInitializer ?? "heNormal", trainable: true, regularize: true,
    }];
    if (this.cfg.useBias) p.push({ name: "bias", shape: [g.C], init: this.cfg.biasInitializer ?? "zeros", trainable: true, regularize: false });
    return p;
  }

  override flops(inputs: Shape[]): number {
    const g = this.geometry(inputs[0]!);
    return 2 * g.OH * g.OW * g.OC * g.KH * g.KW * (g.C / g.groups);
  }

  override prepare(ctx: PrepareContext): State {
    const g = this.geometry(ctx.inShapes[0]!, ctx.batch);
    // the conv kernels size their scratch from a geometry block (a temporary one here)
    ctx.needScratch(withScratchAlloc(ctx.be, (alloc) => ctx.be.kernels.f32_conv2d_scratch_bytes(geometryBlock(alloc, ctx.be, convBlock(g)))));
    return { g, calls: null };
  }

  override bind(r: LayerGrad<State>, ctx: PrepareContext): void {
    const [kernel, bias] = r.params;
    r.state.calls = convTransposeCalls(ctx.be, r.state.g, ctx.alloc, {
      x: r.x[0]!, y: r.y, w: kernel!.w, bias: bias ? bias.w : 0,
      dy: r.training ? r.dy : 0, dx: r.dx[0] ?? 0, dw: kernel!.g, db: bias ? bias.g : 0,
    });
  }

  forward(r: LayerRun<State>): void {
    runConvTranspose(r.be, r.state.calls!);
  }

  backward(r: LayerGrad<State>): void {
    runConvTransposeBackward(r.be, r.state.calls!);
  }


  /** Every example's outputs and gradients are its own; both passes are the calls built at bind. */
  override get perExample(): boolean {
    return true;
  }
  config() {
    return { ...this.cfg, type: this.type, name: this.name };
  }
}
