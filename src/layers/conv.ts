// conv2d and depthwiseConv2d layers: HWIO weights, optional bias, fused ReLU/ReLU6.
import { ConfigError, show, checkBoolean } from "../errors.js";
import { pair } from "../ops/window.js";
import { actCode, type Activation } from "../ops/gemm.js";
import { conv2dGeometry, convBlock, convCalls, convPaths, poolFuses, pooledGradFits, runConvBackward, type ConvCalls, type ConvGeometry } from "../ops/conv.js";
import { ACT } from "../runtime/generated/layout.js";
import { geometryBlock, withScratchAlloc } from "../ops/split.js";
import type { Padding, Rounding } from "../ops/window.js";
import type { PoolGeometry } from "../ops/pool.js";
import type { Shape } from "../tensor.js";
import type { Backend } from "../runtime/backend.js";
import { checkInitializer, type Initializer } from "./initializers.js";
import { Layer, positiveInt, size, type LayerGrad, type LayerRun, type ParamSpec, type PrepareContext } from "./layer.js";

export interface Conv2dConfig {
  type: "conv2d";
  name?: string;
  filters: number;
  kernelSize: number | [number, number];
  strides?: number | [number, number];
  padding?: Padding;
  dilation?: number | [number, number];
  groups?: number;
  rounding?: Rounding;
  useBias?: boolean;
  /** Fused into the output store: "none" (default), "relu", "relu6". */
  activation?: Activation;
  kernelInitializer?: Initializer;
  biasInitializer?: Initializer;
}

export interface DepthwiseConv2dConfig extends Omit<Conv2dConfig, "type" | "filters" | "groups"> {
  type: "depthwiseConv2d";
  /** Output channels per input channel. Default 1. */
  depthMultiplier?: number;
}

const KEYS = ["type", "name", "filters", "kernelSize", "strides", "padding", "dilation", "groups", "rounding", "useBias", "activation", "kernelInitializer", "biasInitializer", "depthMultiplier"];

interface ConvState {
  g: ConvGeometry;
  /** Gradient through the fused activation (batch × output). */
  dyAct: number;
  /** Inference: the weights packed into gemm panels once per weight version (0: the kernel packs per call, or the Winograd forward's transform). */
  packed: number;
  packedVersion: number;
  /** Every kernel call of both passes, split for the thread pool (built by ops/conv at bind). */
  calls: ConvCalls | null;
}

export class Conv2d extends Layer<ConvState> {
  readonly type: "conv2d" | "depthwiseConv2d";
  readonly cfg: Required<Pick<Conv2dConfig, "kernelSize" | "useBias" | "activation">> & Conv2dConfig;
  readonly act: number;
  readonly depthMultiplier: number;

  constructor(config: Conv2dConfig | DepthwiseConv2dConfig, name: string) {
    super(name);
    this.type = config.type;
    const where = `${config.type} "${name}"`;
    for (const k of Object.keys(config)) if (!KEYS.includes(k) || (config.type === "conv2d" && k === "depthMultiplier") || (config.type === "depthwiseConv2d" && (k === "filters" || k === "groups"))) {
      throw new ConfigError(`${where}: unknown option "${k}"`);
    }
    this.depthMultiplier = config.type === "depthwiseConv2d" ? positiveInt(config.depthMultiplier ?? 1, "depthMultiplier", where) : 1;
    if (config.type === "conv2d") positiveInt(config.filters, "filters", where);
    if (config.kernelSize === undefined) throw new ConfigError(`${where}: kernelSize is required`);
    pair(config.kernelSize, 1, "kernelSize", where);
    checkBoolean(where, "useBias", config.useBias);
    this.cfg = { useBias: true, activation: "none", ...config } as Conv2d["cfg"];
    this.act = actCode(this.cfg.activation, where);
    checkInitializer(this.cfg.kernelInitializer ?? "heNormal", where);
    checkInitializer(this.cfg.biasInitializer ?? "zeros", where);
  }

  /** The conv over one example of `input` ([H, W, C]), or a batch. */
  geometry(input: Shape, batch = 1): ConvGeometry {
    const C = input[2]!;
    const [KH, KW] = typeof this.cfg.kernelSize === "number" ? [this.cfg.kernelSize, this.cfg.kernelSize] : this.cfg.kernelSize;
    const groups = this.type === "depthwiseConv2d" ? C : (this.cfg.groups ?? 1);
    const OC = this.type === "depthwiseConv2d" ? C * this.depthMultiplier : this.cfg.filters;
    return conv2dGeometry([batch, ...input], [KH, KW, C / groups, OC], {
      strides: this.cfg.strides, dilations: this.cfg.dilation, padding: this.cfg.padding ?? "valid",
      rounding: this.cfg.rounding, groups, name: this.name,
    });
  }

  outputShape(inputs: Shape[]): Shape {
    this.rank(inputs, 3);
    const g = this.geometry(inputs[0]!);
    return [g.OH, g.OW, g.OC];
  }

  override params(inputs: Shape[]): ParamSpec[] {
    const g = this.geometry(inputs[0]!);
    const p: ParamSpec[] = [{
      name: "kernel", shape: [g.KH, g.KW, g.C / g.groups, g.OC], init: this.cfg.kernelInitializer ?? "heNormal", trainable: true, regularize: true,
    }];
    if (this.cfg.useBias) p.push({ name: "bias", shape: [g.OC], init: this.cfg.biasInitializer ?? "zeros", trainable: true, regularize: false });
    return p;
  }

  override flops(inputs: Shape[]): number {
    const g = this.geometry(inputs[0]!);
    return 2 * g.OH * g.OW * g.OC * g.KH * g.KW * (g.C / g.groups);
  }

  override prepare(ctx: PrepareContext): ConvState {
    const g = this.geometry(ctx.inShapes[0]!, ctx.batch);
    const k = ctx.be.kernels;
    // the kernels size their scratch and packed panels from a geometry block (a temporary one here)
    const [scratch, packedFloats] = g.depthwise ? [0, 0]
      : withScratchAlloc(ctx.be, (alloc) => { const geo = geometryBlock(alloc, ctx.be, convBlock(g)); return [k.f32_conv2d_scratch_bytes(geo), k.f32_conv2d_packed_floats(geo)]; });
    ctx.needScratch(scratch);
    return {
      g,
      dyAct: 0, // (bind)
      packed: !ctx.training && !g.depthwise && convPaths(g).fwd === "direct" ? ctx.alloc(packedFloats * 4) : 0,
      packedVersion: -1,
      calls: null,
    };
  }

  override bind(r: LayerGrad<ConvState>, ctx: PrepareContext): void {
    const [kernel, bias] = r.params; // (a folded batch norm supplies a bias)
    // the gradient through the layer's own activation, where the layer applies that backward
    // itself: a max pool after it may (reluApplied), and then the buffer would never be written
    if (r.training && this.act !== ACT.NONE && !r.reluApplied && !r.state.dyAct) r.state.dyAct = ctx.alloc(ctx.batch * size(ctx.outShape) * 4);
    const f = r.fused; // (an inference plan's fused residual add, activation, max pool)
    r.state.calls = convCalls(ctx.be, r.state.g, ctx.alloc, {
      x: r.x[0]!, y: r.y, w: kernel!.w, packed: r.state.packed, bias: bias ? bias.w : 0, act: f?.act ?? this.act, res: f?.res, pool: f?.pool,
      training: r.training, dy: r.dy, dyAct: r.state.dyAct, dx: r.dx[0] ?? 0, dw: kernel!.g, db: bias ? bias.g : 0, reluApplied: r.reluApplied, pooledDy: r.pooledDy,
    });
    // (a fused pool's forward and the Winograd filter gradient size their scratch themselves)
    const c = r.state.calls;
    for (const k of [...c.fwd, ...c.bwdData, ...c.bwdFilter]) ctx.needScratch(k.scratchBytes ?? 0);
  }

  forward(r: LayerRun<ConvState>): void {
    const st = r.state, c = st.calls!;
    // training: the Winograd filter transforms and a depthwise conv's reversed taps every step (weights may change without a new version: gradCheck)
    if (c.pack.length && (r.training || st.packedVersion !== r.weightsVersion)) {
      r.be.run(c.pack);
      st.packedVersion = r.weightsVersion;
    }
    r.be.run(c.fwd);
  }

  backward(r: LayerGrad<ConvState>): void {
    runConvBackward(r.be, r.state.calls!);
  }

  override get absorbsChannelAffine(): boolean {
    return this.act === ACT.NONE;
  }

  override get endsInRelu(): boolean {
    return this.act === ACT.RELU;
  }

  override gradsFromPool(be: Backend, input: Shape, batch: number): boolean {
    return pooledGradFits(be, this.geometry(input, batch));
  }

  /**
   * Every forward kernel activates in its epilogue; the implicit and Winograd ones (not depthwise)
   * also add a residual, and take a max pool over their output where ops/conv poolFuses says so
   * (f32_conv2d_maxpool_fwd, f32_conv2d_maxpool_fwd_winograd).
   */
  override fusible(inputs: Shape[], batch: number): { act: boolean; residual: boolean; pool: ((pg: PoolGeometry) => boolean) | null } {
    const g = this.geometry(inputs[0]!, batch), act = this.act === ACT.NONE;
    return { act, residual: !g.depthwise && act, pool: g.depthwise ? null : (pg) => poolFuses(g, pg) };
  }

  /** Every example's outputs and gradients are its own; both passes are the calls built at bind. */
  override get perExample(): boolean {
    return true;
  }
  config() {
    return { ...this.cfg, type: this.type, name: this.name };
  }
}
