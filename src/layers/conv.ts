// conv2d and depthwiseConv2d layers: HWIO weights, optional bias, fused ReLU/ReLU6.
import { ConfigError } from "../errors.js";
import { actCode, type Activation } from "../ops/gemm.js";
import { conv2dGeometry, convBlock, type ConvGeometry } from "../ops/conv.js";
import { bwdFilterReduce, convCalls, type ConvSplit } from "../ops/parallel.js";
import type { Padding, Rounding } from "../ops/window.js";
import type { Shape } from "../tensor.js";
import { checkInitializer, type Initializer } from "../train/initializers.js";
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
  geo: number;
  scratchBytes: number;
  /** Gradient through the fused activation (batch × output). */
  dyAct: number;
  /** Inference: the weights packed into gemm panels once per weight version (0: pack per call). */
  packed: number;
  packedVersion: number;
  /** The calls per pass, split across the thread pool (bind). */
  split: ConvSplit | null;
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
    const geo = ctx.alloc(64);
    ctx.be.heap.i32(geo, 16).set(convBlock(g));
    const scratchBytes = g.depthwise ? 0 : ctx.be.kernels.f32_conv2d_scratch_bytes(geo);
    ctx.needScratch(scratchBytes);
    return {
      g, geo, scratchBytes,
      dyAct: ctx.training && this.act !== 0 ? ctx.alloc(ctx.batch * size(ctx.outShape) * 4) : 0,
      packed: !ctx.training && !g.depthwise ? ctx.alloc(ctx.be.kernels.f32_conv2d_packed_floats(geo) * 4) : 0,
      packedVersion: -1,
      split: null,
    };
  }

  override bind(r: LayerGrad<ConvState>, ctx: PrepareContext): void {
    if (ctx.be.threads < 2) return;
    const bias = r.params[1] ? r.params[1].w : 0;
    r.state.split = convCalls(ctx.be, r.state.g, ctx.alloc, {
      x: r.x[0]!, y: r.y, w: r.params[0]!.w, packed: r.state.packed, bias, act: this.act,
      dy: this.act !== 0 ? r.state.dyAct : r.dy, dx: r.dx[0] ?? 0, dw: r.params[0]!.g, training: r.training,
    });
  }

  forward(r: LayerRun<ConvState>): void {
    const { g, geo } = r.state;
    const bias = r.params[1] ? r.params[1].w : 0; // (a folded batch norm supplies a bias)
    if (g.depthwise) {
      if (r.state.split && r.state.split.fwd.length > 1) return r.be.run(r.state.split.fwd);
      return r.k.f32_depthwise_conv2d_fwd(geo, r.x[0]!, r.params[0]!.w, bias, this.act, r.y);
    }
    const st = r.state;
    if (st.packed && st.packedVersion !== r.weightsVersion) {
      r.k.f32_conv2d_pack_weights(geo, r.params[0]!.w, st.packed);
      st.packedVersion = r.weightsVersion;
    }
    if (st.split && st.split.fwd.length > 1) return r.be.run(st.split.fwd);
    r.k.f32_conv2d_fwd(geo, r.x[0]!, r.params[0]!.w, st.packed, bias, this.act, r.y, r.be.scratch(st.scratchBytes));
  }

  backward(r: LayerGrad<ConvState>): void {
    const { g, geo } = r.state;
    let dy = r.dy;
    const n = r.batch * size(r.outShape);
    if (this.act === 1) r.k.f32_relu_bwd(r.y, dy, (dy = r.state.dyAct), n);
    else if (this.act === 2) r.k.f32_relu6_bwd(r.y, r.dy, (dy = r.state.dyAct), n);
    const [kernel, bias] = r.params;
    const sp = r.state.split;
    if (sp && sp.bwdFilter.length > 1) {
      if (r.dx[0]) r.be.run(sp.bwdData);
      r.be.run(sp.bwdFilter);
      bwdFilterReduce(r.be, sp, kernel!.g, kernel!.size);
    } else if (g.depthwise) {
      if (r.dx[0]) r.k.f32_depthwise_conv2d_bwd_data(geo, dy, kernel!.w, r.dx[0]);
      r.k.f32_depthwise_conv2d_bwd_filter(geo, r.x[0]!, dy, kernel!.g);
    } else {
      const scratch = r.be.scratch(r.state.scratchBytes);
      if (r.dx[0]) r.k.f32_conv2d_bwd_data(geo, dy, kernel!.w, r.dx[0], scratch);
      r.k.f32_conv2d_bwd_filter(geo, r.x[0]!, dy, kernel!.g, scratch);
    }
    if (bias) r.k.f32_bias_bwd(dy, r.batch * g.OH * g.OW, g.OC, bias.g);
  }

  config() {
    return { ...this.cfg, type: this.type, name: this.name };
  }
}
